// What a load generator is asked to do and what it reports, shared by the pgbench driver and the
// pg fallback, plus the connection details every target offers both kinds of client.
import type pg from 'pg';

export type TargetName = 'direct' | 'pgbouncer' | 'gatehouse';
export const TARGET_ORDER: readonly TargetName[] = ['direct', 'pgbouncer', 'gatehouse'];

export interface Target {
  readonly name: TargetName;
  /** For tables: "direct TLS", "PgBouncer 1.18.0", "Gatehouse". */
  readonly label: string;
  /** libpq environment for pgbench (PGHOST, PGPORT, PGSSLMODE, ...), without the rest of process.env. */
  readonly libpqEnv: Readonly<Record<string, string>>;
  /** node-postgres settings for the same connection. */
  readonly pgConfig: pg.ClientConfig;
  /** The proxy process, whose CPU time is measured; undefined for the direct connection. */
  readonly proxyPid?: number;
}

export interface LoadSpec {
  readonly kind: 'select' | 'tpcb';
  readonly clients: number;
  readonly protocol: 'simple' | 'prepared';
  /** A new connection for every transaction (pgbench -C). */
  readonly reconnect: boolean;
  readonly durationS: number;
  /** Transactions per second to aim at (pgbench -R); absent: as many as the target can take. */
  readonly rate?: number;
}

export interface LoadResult {
  readonly tps: number;
  readonly transactions: number;
  readonly failed: number;
  readonly latencyMs?: number;
}

export interface LoadGenerator {
  /** "pgbench 15.18" or "pg load generator". */
  readonly name: string;
  /** Creates and fills the pgbench tables through the direct connection. */
  initialise(direct: Target, scale: number): Promise<void>;
  run(target: Target, spec: LoadSpec): Promise<LoadResult>;
}

/** Statements in one transaction: what "per 1,000 queries" divides by. */
export function queriesPerTransaction(spec: LoadSpec): number {
  return spec.kind === 'select' ? 1 : 7;
}
