// The narrow interfaces through which the rest of Gatehouse reports to its metrics. Each part
// (sessions, the AWS calls, the web API) depends only on its own hook, never on prom-client, and
// each hook is optional where it is used, so tests and tools can build those parts without metrics.
// GatehouseMetrics implements all of them. None of them is called per relayed message: bytes are
// read from the live sessions at scrape time instead.
import type { ConnectTimer } from './connect-timer.js';

/** Bytes a running session has relayed so far; read at scrape time, never pushed per chunk. */
export interface RelayedBytes {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
}

export interface SessionMetrics {
  /** A stopwatch for one connection's way to ready, started now (after the client's startup). */
  connectTimer(): ConnectTimer;
  /**
   * A session is ready and relaying: counts it as started and active, records its connect timings,
   * and reads `bytes` at every scrape. The returned function (idempotent) marks its end.
   */
  sessionStarted(database: string, bytes: RelayedBytes, timer?: ConnectTimer): () => void;
  /** A session was refused: its GH_ERR_* code, the SQLSTATE the client got, the database when known. */
  sessionRefused(code: string, sqlState: string, database?: string): void;
}

export interface AwsCallMetrics {
  /** One AWS call (or credential resolution) and how long it took; `error`: the AWS error name when it failed. */
  awsCall(operation: string, seconds: number, error?: string): void;
}

export interface WebMetrics {
  /** A certificate signed by the web API. */
  certIssued(kind: 'identity' | 'database'): void;
  /** A login attempt at POST /v1/login; `code`: the GH_ERR_* code of a refusal. */
  login(success: boolean, code?: string): void;
}
