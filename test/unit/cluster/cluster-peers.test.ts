// ClusterPeers: LocalPeers (one process) answers from its own handlers; WorkerPeers asks the
// primary, which gathers from every worker. ClusterMetrics sums the workers' registries.
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { answerMetrics, ClusterMetrics, clusterSummary } from '../../../src/cluster/cluster-metrics.js';
import { LocalPeers, type ClusterPeers, type GatherResult } from '../../../src/cluster/cluster-peers.js';
import { IpcChannel } from '../../../src/cluster/ipc-channel.js';
import { Ops, peerOp, type GatherPayload } from '../../../src/cluster/protocol.js';
import { WorkerPeers } from '../../../src/cluster/worker-peers.js';
import { workerCount } from '../../../src/cluster/worker-count.js';
import { portPair } from './port-pair.js';

/** Two workers and a primary that gathers from both, as src/cluster/primary.ts wires it. */
function cluster(): { workers: [WorkerPeers, WorkerPeers] } {
  const links = [0, 1].map((index) => {
    const ports = portPair();
    return { index, primarySide: new IpcChannel(ports.a, `worker ${index}`), workerSide: new IpcChannel(ports.b, 'the primary') };
  });
  for (const link of links) {
    link.primarySide.handle(Ops.gather, async (payload) => {
      const { op, payload: inner } = payload as GatherPayload;
      const settled = await Promise.allSettled(links.map((each) => each.primarySide.request(peerOp(op), inner)));
      const result: GatherResult<unknown> = {
        answers: settled.flatMap((outcome, worker) => (outcome.status === 'fulfilled' ? [{ worker, value: outcome.value }] : [])),
        failed: settled.flatMap((outcome, worker) => (outcome.status === 'rejected' ? [{ worker, error: (outcome.reason as Error).message }] : [])),
      };
      return result;
    });
  }
  return { workers: [new WorkerPeers(links[0]!.workerSide, 0), new WorkerPeers(links[1]!.workerSide, 1)] };
}

describe('LocalPeers', () => {
  it('gathers its own answer alone', async () => {
    const peers = new LocalPeers();
    peers.handle('sessions', () => ['s1', 's2']);
    expect(await peers.gather('sessions')).toEqual({ answers: [{ worker: 0, value: ['s1', 's2'] }], failed: [] });
    expect(peers.workerIndex).toBeUndefined();
  });

  it('reports a failing or missing handler as failed, not as an answer', async () => {
    const peers = new LocalPeers();
    peers.handle('kill', () => {
      throw new Error('no such session');
    });
    expect(await peers.gather('kill')).toEqual({ answers: [], failed: [{ worker: 0, error: 'no such session' }] });
    expect(await peers.gather('nothing')).toEqual({ answers: [], failed: [{ worker: 0, error: 'nothing answers nothing here' }] });
  });
});

describe('WorkerPeers', () => {
  it('gathers every worker’s answer, its own included, from either worker', async () => {
    const { workers } = cluster();
    workers.forEach((peers, index) => peers.handle('sessions', (payload) => ({ index, asked: payload })));
    const fromFirst = await workers[0].gather('sessions', { user: 'alice' });
    expect(fromFirst).toEqual({
      answers: [
        { worker: 0, value: { index: 0, asked: { user: 'alice' } } },
        { worker: 1, value: { index: 1, asked: { user: 'alice' } } },
      ],
      failed: [],
    });
    expect((await workers[1].gather('sessions')).answers).toHaveLength(2);
  });

  it('lists a worker whose handler fails under failed, and keeps the others’ answers', async () => {
    const { workers } = cluster();
    workers[0].handle('kill', () => true);
    workers[1].handle('kill', () => {
      throw new Error('worker busy');
    });
    expect(await workers[1].gather('kill', { id: 'x' })).toEqual({ answers: [{ worker: 0, value: true }], failed: [{ worker: 1, error: 'worker busy' }] });
  });
});

describe('ClusterMetrics', () => {
  function workerRegistry(peers: ClusterPeers, sessions: number, refused: number): Registry {
    const registry = new Registry();
    new Gauge({ name: 'gatehouse_sessions_active', help: 'active', labelNames: ['database'], registers: [registry] }).set({ database: 'main' }, sessions);
    new Counter({ name: 'gatehouse_sessions_refused_total', help: 'refused', registers: [registry] }).inc(refused);
    answerMetrics(peers, registry, () => ({ sessions_active: sessions, sessions_refused: refused }));
    return registry;
  }

  it('renders the sum of every worker’s registry, from whichever worker is scraped', async () => {
    const { workers } = cluster();
    const first = workerRegistry(workers[0], 2, 1);
    workerRegistry(workers[1], 3, 4);
    const text = await new ClusterMetrics(workers[0], first).render();
    expect(text).toContain('gatehouse_sessions_active{database="main"} 5');
    expect(text).toContain('gatehouse_sessions_refused_total 5');
    expect(new ClusterMetrics(workers[0], first).contentType).toBe(first.contentType);
  });

  it('adds up the workers’ summaries', async () => {
    const { workers } = cluster();
    workerRegistry(workers[0], 2, 1);
    workerRegistry(workers[1], 3, 4);
    expect(await clusterSummary(workers[1])).toEqual({ sessions_active: 5, sessions_refused: 5 });
  });
});

describe('workerCount', () => {
  it('is the number given, or the CPUs for auto, at most 64 and at least 1', () => {
    expect(workerCount(3, () => 16)).toBe(3);
    expect(workerCount('auto', () => 6)).toBe(6);
    expect(workerCount('auto', () => 200)).toBe(64);
    expect(workerCount('auto', () => 0)).toBe(1);
  });
});
