// The soak itself, phase by phase: its own PostgreSQL and Gatehouse (a process from dist/); a
// warm-up through every operation so code loaded on first use is not mistaken for growth; memory
// measured once Gatehouse is idle again ("before"); every session opened; the random mix for the
// whole duration while Gatehouse is sampled; every session closed (listeners first collect what
// they are owed); the audit trail read; memory watched until it comes back; the rows checked
// directly in PostgreSQL; Gatehouse stopped with SIGTERM. Returns the figures and the verdict.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { makeTempDir } from '../test/support/temp-dir.js';
import { readAuditTrail, type AuditFigures } from './audit-check.js';
import { BackendObserver } from './backend-observer.js';
import { buildFigures, mib, type SoakFigures } from './figures.js';
import type { GatehouseSample } from './gatehouse-metrics.js';
import { GatehouseProcess } from './gatehouse.js';
import { probeEnvironment } from './gc-probe-client.js';
import { finalHeapCensus, measureIdleMemory, waitForMemoryToReturn, type IdleMemory } from './memory-check.js';
import { NotificationLedger } from './notifications.js';
import type { SlotState } from './operation-context.js';
import { thinkMsFor, type SoakOptions } from './options.js';
import { startSoakPostgres } from './postgres.js';
import { describeAllocators, processTreeUsage } from './process-tree.js';
import { Random } from './random.js';
import { Sampler } from './sampler.js';
import { checkFinalRows, createSoakTables } from './schema.js';
import type { GatehouseAddress } from './soak-client.js';
import { SoakSession } from './soak-session.js';
import { OPERATIONS, Tally } from './tally.js';

/** Warm-up sessions: a tenth of the sessions, at most this many. */
const WARMUP_SESSIONS = 20;
/** Sessions opening at once: enough to ramp quickly, few enough not to queue TLS handshakes for seconds. */
const RAMP_CONCURRENCY = 32;
const SAMPLE_INTERVAL_MS = 5_000;
/** The relay destroys a closed session's sockets 5 s after it ends; memory is read after that. */
const IDLE_SETTLE_MS = 6_000;
const PROGRESS_INTERVAL_MS = 30_000;
const AUDIT_WAIT_MS = 30_000;
/** One session in ten LISTENs: every NOTIFY wakes every listening backend of the database. */
const LISTENER_EVERY = 10;

export type Log = (line: string) => void;

export interface SoakResult {
  readonly figures: SoakFigures;
  /** Kept when the run failed: Gatehouse's config, log and audit trail. */
  readonly keptDir: string | undefined;
}

export async function runSoak(options: SoakOptions, log: Log): Promise<SoakResult> {
  const date = new Date().toISOString();
  const checkMemory = options.checkMemory !== false;
  const temp = makeTempDir('soak');
  const postgres = await startSoakPostgres(temp.path, options.sessions + WARMUP_SESSIONS).catch((error: unknown) => {
    temp.remove();
    throw error;
  });
  let gatehouse: GatehouseProcess | undefined;
  let figures: SoakFigures | undefined;
  try {
    const admin = await postgres.connect();
    await createSoakTables(admin);
    const probeDir = join(temp.path, 'probe');
    mkdirSync(probeDir);
    gatehouse = await GatehouseProcess.start({
      dir: temp.path,
      postgresPort: postgres.port,
      dbCaFile: postgres.caFile,
      password: postgres.password,
      env: { ...options.gatehouseEnv, ...probeEnvironment(probeDir, options.gatehouseEnv?.NODE_OPTIONS) },
    });
    const startedAt = Date.now();
    const sampler = new Sampler(gatehouse, startedAt);
    const cold = await sampler.once();
    log(`PostgreSQL on 127.0.0.1:${postgres.port}, Gatehouse (pid ${gatehouse.pid}) on 127.0.0.1:${gatehouse.port}; figures from ${cold.source === 'metrics' ? '/metrics' : '/proc (no /metrics in this build)'}; seed ${options.seed}`);
    const tally = new Tally();
    const ledger = new NotificationLedger();
    const address: GatehouseAddress = { host: '127.0.0.1', port: gatehouse.port, secureContext: gatehouse.clientTls, servername: 'localhost' };
    const master = new Random(options.seed);
    const slot = (index: number): SlotState => ({
      slot: index,
      random: new Random(master.derive()),
      listener: index % LISTENER_EVERY === 0,
      rows: new Map(),
      nextSeq: 1,
      nextCopyBatch: 1,
      rowsUncertain: false,
    });
    const deps = { gatehouse: address, tally, ledger, observer: new BackendObserver(admin) };

    // Warm-up: sessions numbered after the main ones, each operation once.
    let phaseStart = Date.now();
    const warmupCount = Math.min(WARMUP_SESSIONS, Math.ceil(options.sessions / 10));
    const warmup = Array.from({ length: warmupCount }, (_, index) => new SoakSession(slot(options.sessions + index), deps));
    await Promise.all(warmup.map((session) => session.open().catch((error: unknown) => tally.error('connect', error))));
    await Promise.all(warmup.map(async (session) => {
      for (const operation of OPERATIONS) {
        const skip = operation === 'reconnect' || (operation === 'copy-out' && session.state.listener);
        if (!skip) await session.runOnce(operation);
      }
    }));
    tally.notificationsLost += (await Promise.all(warmup.map((session) => session.close()))).reduce((sum, lost) => sum + lost, 0);
    let before: IdleMemory = { sample: await sampler.once(), collected: undefined };
    if (checkMemory) {
      await waitForIdleGatehouse(sampler);
      await delay(IDLE_SETTLE_MS);
      before = await measureIdleMemory(gatehouse, sampler, probeDir);
    }
    const warmupS = seconds(phaseStart);
    const allocator = describeAllocators(gatehouse.pid);
    log(`warm-up: ${warmupCount} sessions, every operation once; Gatehouse idle${checkMemory ? ' after a full GC' : ''}: ${describeIdle(before)} (cold start: RSS ${mib(cold.rssBytes)}); ${allocator}`);

    // Ramp: every session open before the clock starts.
    phaseStart = Date.now();
    const sessions = Array.from({ length: options.sessions }, (_, index) => new SoakSession(slot(index), deps));
    await forEachLimited(sessions, RAMP_CONCURRENCY, (session) => session.open().catch((error: unknown) => tally.error('connect', error)));
    const rampS = seconds(phaseStart);
    log(`${options.sessions} sessions open in ${rampS.toFixed(1)} s; running the mix for ${options.durationMs / 1000} s`);

    // Load.
    phaseStart = Date.now();
    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();
    const clientCpuStart = process.cpuUsage();
    const gatehouseCpuStart = processTreeUsage(gatehouse.pid)?.cpuSeconds;
    sampler.start(SAMPLE_INTERVAL_MS);
    let running = true;
    const stopTimer = setTimeout(() => (running = false), options.durationMs);
    const progress = setInterval(() => log(progressLine(tally, sampler.samples.at(-1))), PROGRESS_INTERVAL_MS);
    await Promise.all(sessions.map((session) => session.run(() => running, thinkMsFor(options))));
    clearTimeout(stopTimer);
    clearInterval(progress);
    const loadS = seconds(phaseStart);
    const gatehouseCpuEnd = processTreeUsage(gatehouse.pid)?.cpuSeconds;
    const clientCpu = process.cpuUsage(clientCpuStart);
    clientLoop.disable();
    await sampler.stop();

    // Close: listeners first collect the notifications they are owed.
    phaseStart = Date.now();
    tally.notificationsLost += (await Promise.all(sessions.map((session) => session.close()))).reduce((sum, lost) => sum + lost, 0);
    const closeS = seconds(phaseStart);
    const closedAt = Date.now();
    log(`all sessions closed in ${closeS.toFixed(1)} s; reading the audit trail${checkMemory ? ' and waiting for memory to come back' : ''}`);
    await waitForIdleGatehouse(sampler);
    const audit = await settledAudit(gatehouse.auditFile, tally);
    log(`audit trail read ${seconds(closedAt).toFixed(1)} s after the last session closed: ${audit.lines} lines`);

    // Memory: until it is back within the ratio or the settle time is up; then the heap census.
    if (checkMemory) await delay(IDLE_SETTLE_MS);
    const settled = checkMemory
      ? await waitForMemoryToReturn(gatehouse, sampler, probeDir, before, closedAt, options.settleMs)
      : { after: { sample: await sampler.once(), collected: undefined }, returnedAfterS: undefined, trace: [] };
    const sinceClosed = (idle: IdleMemory) => `${((idle.sample.atMs - (closedAt - startedAt)) / 1000).toFixed(0)} s: ${describeIdle(idle)}`;
    if (checkMemory) log(`after the sessions closed, after a full GC: ${settled.trace.filter((_, index) => index % 6 === 0 || index === settled.trace.length - 1).map(sinceClosed).join('; ')}`);
    phaseStart = Date.now();
    const census = checkMemory ? await finalHeapCensus(gatehouse, probeDir) : undefined;
    if (census !== undefined) log(`heap census of ${census.processes} Gatehouse processes in ${seconds(phaseStart).toFixed(1)} s: ${Object.entries(census.perSessionObjects).map(([name, count]) => `${name} ${count}`).join(', ')}`);

    const slotsChecked = await checkFinalRows(admin, [...sessions, ...warmup].map((session) => session.state), tally);
    await admin.end();
    phaseStart = Date.now();
    const exitCode = await gatehouse.stop();
    log(`Gatehouse stopped with exit code ${exitCode} in ${seconds(phaseStart).toFixed(1)} s`);
    const peakOf = (pick: (sample: GatehouseSample) => number | undefined) => sampler.peak(pick);
    figures = buildFigures({
      options,
      date,
      phases: { warmupS, rampS, loadS, closeS },
      warmupSessions: warmupCount,
      tally,
      slotsChecked,
      audit,
      cold,
      before,
      peak: {
        rssBytes: peakOf((sample) => sample.rssBytes),
        treeRssBytes: peakOf((sample) => sample.treeRssBytes),
        mallocArenaBytes: peakOf((sample) => sample.mallocArenaBytes),
        heapUsedBytes: peakOf((sample) => sample.heapUsedBytes),
      },
      timeline: sampler.samples.filter((_, index) => index % 6 === 0).map((sample) => ({ atS: Math.round(sample.atMs / 1000), rssBytes: sample.rssBytes, heapUsedBytes: sample.heapUsedBytes, eventLoopP99Ms: sample.eventLoopP99Ms })),
      after: settled.after,
      census,
      memoryReturnedAfterS: settled.returnedAfterS,
      eventLoop: {
        worst: peakOf((sample) => sample.eventLoopP99Ms),
        median: sampler.median((sample) => sample.eventLoopP99Ms),
        max: peakOf((sample) => sample.eventLoopMaxMs),
        windowS: SAMPLE_INTERVAL_MS / 1000,
      },
      gatehouseCpuS: gatehouseCpuStart === undefined || gatehouseCpuEnd === undefined ? undefined : gatehouseCpuEnd - gatehouseCpuStart,
      exitCode,
      allocator,
      client: { eventLoopP99Ms: clientLoop.percentile(99) / 1e6, cpuSecondsDuringLoad: (clientCpu.user + clientCpu.system) / 1e6 },
    });
    return { figures, keptDir: figures.verdict.passed ? undefined : temp.path };
  } finally {
    if (gatehouse?.running) {
      log(`stopping Gatehouse; its log ends with:\n${gatehouse.logTail(10)}`);
      await gatehouse.stop();
    }
    await postgres.stop().catch((error: unknown) => log(`could not stop PostgreSQL: ${String(error)}`));
    if (figures?.verdict.passed === true) temp.remove();
    else log(`kept ${temp.path} (Gatehouse's config, log and audit trail are in gatehouse/)`);
  }
}

/** Until Gatehouse reports no live sessions (when it has /metrics); at most AUDIT_WAIT_MS. */
async function waitForIdleGatehouse(sampler: Sampler): Promise<void> {
  const deadline = Date.now() + AUDIT_WAIT_MS;
  for (;;) {
    const sample = await sampler.once();
    if (sample.sessionsActive === undefined || sample.sessionsActive === 0 || Date.now() > deadline) return;
    await delay(250);
  }
}

/** The audit trail once it has caught up with the soak (it is flushed every 100 ms), or as it is after AUDIT_WAIT_MS. */
async function settledAudit(file: string, tally: Tally): Promise<AuditFigures> {
  const deadline = Date.now() + AUDIT_WAIT_MS;
  for (;;) {
    await delay(500);
    const audit = await readAuditTrail(file);
    const caughtUp = audit.unmatchedStarts === 0 && audit.sessionsStarted >= tally.sessionsOpened && audit.queryRecords >= tally.queryMessages && audit.bindRecords >= tally.bindMessages;
    if (caughtUp || Date.now() > deadline) return audit;
    await delay(4_500);
  }
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function progressLine(tally: Tally, sample: GatehouseSample | undefined): string {
  const p99 = sample?.eventLoopP99Ms === undefined ? 'unavailable' : `${sample.eventLoopP99Ms.toFixed(1)} ms`;
  return `  ${tally.queries} queries, ${tally.errors} errors, ${tally.totalMismatches} mismatches, ${tally.notificationsReceived}/${tally.notificationsSent} notifications, ${tally.cancelsConfirmed} cancels; Gatehouse RSS ${mib(sample?.rssBytes)}, heap ${mib(sample?.heapUsedBytes)}, event-loop p99 ${p99}`;
}

function describeIdle(idle: IdleMemory): string {
  const { collected, sample } = idle;
  if (collected === undefined) return `RSS ${mib(sample.rssBytes)}, heap ${mib(sample.heapUsedBytes)}`;
  return `RSS ${mib(collected.rssBytes)}, heap ${mib(collected.heapUsedBytes)} (${collected.processes} processes)`;
}

function seconds(since: number): number {
  return (Date.now() - since) / 1000;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
