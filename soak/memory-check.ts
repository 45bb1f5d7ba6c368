// Gatehouse's memory when idle, measured the same way before the load and after it: a full garbage
// collection in every Gatehouse process (gc-probe.mjs), which then reports its RSS and live heap,
// and a sample of /metrics and /proc. After the load this repeats until RSS and the live heap are
// back within MEMORY_RETURN_RATIO of the start, or the settle time is up. Then, last of all, the
// heap census counts any session object left behind (heap-census.ts).
import { MEMORY_RETURN_RATIO } from './figures.js';
import { probeProcesses } from './gc-probe-client.js';
import type { GatehouseSample } from './gatehouse-metrics.js';
import type { GatehouseProcess } from './gatehouse.js';
import { takeHeapCensus, type HeapCensus } from './heap-census.js';
import { processTree } from './process-tree.js';
import type { Sampler } from './sampler.js';

const SETTLE_SAMPLE_MS = 5_000;

export interface IdleMemory {
  readonly sample: GatehouseSample;
  /** Summed over every Gatehouse process right after a full collection; undefined without /proc. */
  readonly collected: { readonly processes: number; readonly rssBytes: number; readonly heapUsedBytes: number } | undefined;
}

export async function measureIdleMemory(gatehouse: GatehouseProcess, sampler: Sampler, probeDir: string): Promise<IdleMemory> {
  const pids = processTree(gatehouse.pid);
  let collected: IdleMemory['collected'];
  if (pids.length > 0) {
    const answers = await probeProcesses(pids, probeDir, 'gc');
    collected = {
      processes: answers.length,
      rssBytes: answers.reduce((sum, answer) => sum + answer.rss, 0),
      heapUsedBytes: answers.reduce((sum, answer) => sum + answer.heapUsed, 0),
    };
  }
  return { collected, sample: await sampler.once() };
}

export interface SettledMemory {
  readonly after: IdleMemory;
  /** Seconds from `closedAt` until RSS and the live heap were both back; undefined: not within settleMs. */
  readonly returnedAfterS: number | undefined;
  /** Measurements while waiting, first to last. */
  readonly trace: readonly IdleMemory[];
}

export async function waitForMemoryToReturn(gatehouse: GatehouseProcess, sampler: Sampler, probeDir: string, before: IdleMemory, closedAt: number, settleMs: number): Promise<SettledMemory> {
  const trace: IdleMemory[] = [];
  for (;;) {
    const after = await measureIdleMemory(gatehouse, sampler, probeDir);
    trace.push(after);
    if (memoryReturned(before, after)) return { after, returnedAfterS: (Date.now() - closedAt) / 1000, trace };
    if (Date.now() - closedAt >= settleMs) return { after, returnedAfterS: undefined, trace };
    await new Promise((resolve) => setTimeout(resolve, SETTLE_SAMPLE_MS));
  }
}

/** RSS and the live heap after a collection where the probe ran; otherwise RSS and heap used from the sample. */
export function memoryReturned(before: IdleMemory, now: IdleMemory): boolean {
  const within = (start: number | undefined, current: number | undefined) => start === undefined || current === undefined || current <= start * MEMORY_RETURN_RATIO;
  if (before.collected !== undefined && now.collected !== undefined) {
    return within(before.collected.rssBytes, now.collected.rssBytes) && within(before.collected.heapUsedBytes, now.collected.heapUsedBytes);
  }
  return now.sample.rssBytes !== undefined && within(before.sample.rssBytes, now.sample.rssBytes) && within(before.sample.heapUsedBytes, now.sample.heapUsedBytes);
}

/** The census of every Gatehouse process; undefined where /proc cannot be read. Last thing before stopping Gatehouse. */
export async function finalHeapCensus(gatehouse: GatehouseProcess, probeDir: string): Promise<HeapCensus | undefined> {
  const pids = processTree(gatehouse.pid);
  return pids.length === 0 ? undefined : takeHeapCensus(pids, probeDir);
}
