// Time to first query: how long a new client waits from opening the TCP connection until the
// answer to its first `SELECT 1` arrives (TLS, certificate checks, authentication, the upstream
// login a proxy makes, the query). One connection at a time, so it is latency, not queueing.
import pg from 'pg';
import type { Target } from './load.js';
import { percentile } from './stats.js';

export interface LatencyResult {
  readonly p50: number;
  readonly p99: number;
  readonly samplesMs: readonly number[];
}

export async function timeToFirstQuery(target: Target, connections: number): Promise<LatencyResult> {
  const samplesMs: number[] = [];
  for (let index = 0; index < connections; index++) {
    const client = new pg.Client(target.pgConfig);
    const started = performance.now();
    try {
      await client.connect();
      await client.query('SELECT 1');
      samplesMs.push(performance.now() - started);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { p50: percentile(samplesMs, 50) ?? Number.NaN, p99: percentile(samplesMs, 99) ?? Number.NaN, samplesMs };
}
