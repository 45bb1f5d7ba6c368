// Gatehouse as the benchmark measures it: a process of its own running the built daemon from
// dist/ (the code `gatehouse start` runs), so its CPU time and RSS are its alone. It answers the
// parent over IPC: its memory after a full garbage collection (node --expose-gc) and its live
// session count, and it stops cleanly on request so `node --cpu-prof` can write its profile.
// Run as: node --expose-gc --import tsx bench/gatehouse-child.ts CONFIG.yaml
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildReply, ChildRequest } from './gatehouse-process.js';

type DaemonModule = typeof import('../src/daemon.js');
type LoadModule = typeof import('../src/config/load.js');
type LoggingModule = typeof import('../src/logging.js');
type PrimaryModule = typeof import('../src/cluster/primary.js');

// GATEHOUSE_BENCH_DIST: another build to run instead of dist/ (bench/ab.ts compares builds).
const dist = process.env.GATEHOUSE_BENCH_DIST === undefined ? new URL('../dist/', import.meta.url) : pathToFileURL(`${resolve(process.env.GATEHOUSE_BENCH_DIST)}/`);
const { Daemon } = (await import(new URL('daemon.js', dist).href)) as DaemonModule;
const { loadConfigFile } = (await import(new URL('config/load.js', dist).href)) as LoadModule;
const { createLogger } = (await import(new URL('logging.js', dist).href)) as LoggingModule;

const configFile = process.argv[2];
if (configFile === undefined || process.send === undefined) {
  console.error('usage: node --expose-gc --import tsx bench/gatehouse-child.ts CONFIG (started by bench/gatehouse-process.ts)');
  process.exit(2);
}
const send = (reply: ChildReply) => process.send?.(reply);
const config = loadConfigFile(configFile);
const logger = createLogger(config.log.level);
// proxy.workers > 1 (GATEHOUSE_BENCH_WORKERS): the primary of that many workers, as `gatehouse start` runs it.
// Its memory and session count are the primary's own: the memory figures mean nothing then.
const workers = typeof config.proxy.workers === 'number' ? config.proxy.workers : 1;
const daemon =
  workers > 1
    ? await ((await import(new URL('cluster/primary.js', dist).href)) as PrimaryModule).ClusterPrimary.start({ configFile, logger, workers }).then((primary) => ({
        postgresAddress: primary.postgresAddress,
        activeSessionCount: Number.NaN,
        stop: () => primary.stop({ graceMs: 0 }),
      }))
    : await Daemon.start({ config, logger });
let stopping: Promise<unknown> | undefined;

const stop = () => {
  stopping ??= daemon.stop().finally(() => process.exit(0));
  return stopping;
};

async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  // Several passes with turns of the event loop between them, so finalizers and weak callbacks run.
  for (let pass = 0; pass < 3; pass++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

process.on('message', (request: ChildRequest) => {
  if (request.type === 'stop') {
    void stop();
    return;
  }
  void collectGarbage().then(() => {
    const usage = process.memoryUsage();
    send({
      type: 'memory',
      id: request.id,
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      sessions: daemon.activeSessionCount,
    });
  });
});
// The parent is gone (crashed or interrupted): do not outlive it.
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
send({ type: 'ready', port: daemon.postgresAddress.port, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' });
