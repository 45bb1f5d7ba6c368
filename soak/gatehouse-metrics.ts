// Reads Gatehouse's own figures while the soak runs: resident memory, V8 heap in use, the event
// loop's delay and its live session count from its Prometheus endpoint (GET /metrics, with
// prom-client's default process metrics, summed or averaged over the workers), and the process
// tree's RSS, allocator arena and CPU from /proc. A build without /metrics still gives RSS from
// /proc; the other figures are then reported as unavailable rather than guessed.
import type { GatehouseProcess } from './gatehouse.js';
import { processTreeUsage } from './process-tree.js';

export interface GatehouseSample {
  /** Milliseconds since the soak started. */
  readonly atMs: number;
  /** process_resident_memory_bytes (the serving processes), or the process tree's when /metrics is missing. */
  readonly rssBytes: number | undefined;
  /** Every Gatehouse process (primary and workers) from /proc. */
  readonly treeRssBytes: number | undefined;
  /** Resident part of the C allocator's main arena ([heap] in /proc/PID/smaps), summed over the processes. */
  readonly mallocArenaBytes: number | undefined;
  readonly processes: number | undefined;
  readonly cpuSeconds: number | undefined;
  readonly heapUsedBytes: number | undefined;
  /** prom-client resets its event-loop histogram at every scrape: this is the p99 since the previous one. */
  readonly eventLoopP99Ms: number | undefined;
  readonly eventLoopMaxMs: number | undefined;
  /** gatehouse_sessions_active, summed over databases. */
  readonly sessionsActive: number | undefined;
  readonly source: 'metrics' | 'proc';
}

export const METRIC_NAMES = {
  rss: 'process_resident_memory_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
  eventLoopP99: 'nodejs_eventloop_lag_p99_seconds',
  eventLoopMax: 'nodejs_eventloop_lag_max_seconds',
  sessionsActive: 'gatehouse_sessions_active',
} as const;

export async function sampleGatehouse(gatehouse: GatehouseProcess, startedAt: number): Promise<GatehouseSample> {
  const atMs = Date.now() - startedAt;
  const response = await gatehouse.get('/metrics').catch(() => undefined);
  const tree = processTreeUsage(gatehouse.pid);
  const fromProc = {
    treeRssBytes: tree?.rssBytes,
    mallocArenaBytes: tree?.mallocArenaBytes,
    processes: tree?.processes,
    cpuSeconds: tree?.cpuSeconds,
  };
  if (response?.status === 200) {
    const values = parsePrometheusText(response.body);
    const milliseconds = (name: string) => {
      const value = values.get(name);
      return value === undefined ? undefined : value * 1000;
    };
    return {
      atMs,
      ...fromProc,
      rssBytes: values.get(METRIC_NAMES.rss) ?? tree?.rssBytes,
      heapUsedBytes: values.get(METRIC_NAMES.heapUsed),
      eventLoopP99Ms: milliseconds(METRIC_NAMES.eventLoopP99),
      eventLoopMaxMs: milliseconds(METRIC_NAMES.eventLoopMax),
      sessionsActive: values.get(METRIC_NAMES.sessionsActive),
      source: 'metrics',
    };
  }
  const unavailable = { heapUsedBytes: undefined, eventLoopP99Ms: undefined, eventLoopMaxMs: undefined, sessionsActive: undefined };
  // No answer at all (a scrape timed out under load): nothing from /metrics this time, and no
  // stand-in either, so a peak never mixes the serving processes' RSS with the whole tree's.
  if (response === undefined) return { atMs, ...fromProc, ...unavailable, rssBytes: undefined, source: 'metrics' };
  // A build without /metrics (404): RSS from /proc, the rest unavailable.
  return { atMs, ...fromProc, ...unavailable, rssBytes: tree?.rssBytes, source: 'proc' };
}

/** Sample values by metric name, summed over label sets (`name{a="b"} 1` and `name 2` give 3). */
export function parsePrometheusText(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name = '', raw = ''] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    values.set(name, (values.get(name) ?? 0) + value);
  }
  return values;
}
