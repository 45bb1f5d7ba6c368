// Gatehouse's Prometheus metrics: sessions (active, started, refused), bytes each way, connect
// latency by phase, AWS calls, certificates and web logins, plus Node's process metrics. Each daemon
// owns its own Registry, never prom-client's global one, because several daemons run in one test
// process. Names and labels are documented in docs/metrics.md; labels never carry user names.
//
// The relay is the hot path, so nothing here is called per message: a session is registered once
// when it becomes ready and once when it ends, and the byte counters and the active gauge are
// computed at scrape time (collect()) from the live sessions' own counts plus a running total of
// the ended ones. A counter only ever grows that way: a session's final count, moved into the
// total when it ends, is at least what any earlier scrape read from it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ConnectTimer } from './connect-timer.js';
import type { AwsCallMetrics, RelayedBytes, SessionMetrics, WebMetrics } from './hooks.js';

export interface GatehouseMetricsOptions {
  /** The configured database names, so their series exist (at 0) before their first session. */
  readonly databases?: () => readonly string[];
  /** A monotonic clock in ms for connect timings; default performance.now. */
  readonly now?: () => number;
  /** Node's process metrics (memory, event-loop lag, GC, …); default true. */
  readonly defaultMetrics?: boolean;
}

/** Plain totals for `gatehouse status` (through the admin status route). */
export interface MetricsSummary {
  readonly sessions_active: number;
  readonly sessions_started: number;
  readonly sessions_refused: number;
  readonly bytes_from_client: number;
  readonly bytes_to_client: number;
  readonly certs_issued: number;
  [name: string]: number;
}

interface LiveSession {
  readonly database: string;
  readonly bytes: RelayedBytes;
}

interface ByteTotals {
  fromClient: number;
  toClient: number;
}

const CONNECT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const AWS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class GatehouseMetrics implements SessionMetrics, AwsCallMetrics, WebMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;
  private readonly databases: () => readonly string[];
  private readonly live = new Set<LiveSession>();
  /** Bytes of ended sessions, per database. */
  private readonly endedBytes = new Map<string, ByteTotals>();
  private readonly totals = { started: 0, refused: 0, certsIssued: 0 };

  private readonly started: Counter<'database'>;
  private readonly refused: Counter<'code' | 'sqlstate' | 'database'>;
  private readonly connectSeconds: Histogram<'database' | 'phase'>;
  private readonly awsSeconds: Histogram<'operation' | 'outcome'>;
  private readonly awsErrors: Counter<'operation' | 'error'>;
  private readonly certs: Counter<'kind'>;
  private readonly logins: Counter<'outcome' | 'code'>;

  constructor(options: GatehouseMetricsOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.databases = options.databases ?? (() => []);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];

    // Computed at scrape time (see the top of this file).
    const active: Gauge<'database'> = new Gauge({
      name: 'gatehouse_sessions_active',
      help: 'Sessions relaying now, per database.',
      labelNames: ['database'],
      registers,
      collect: () => {
        active.reset();
        for (const database of this.knownDatabases()) active.set({ database }, 0);
        for (const session of this.live) active.inc({ database: session.database });
      },
    });
    const started: Counter<'database'> = new Counter({
      name: 'gatehouse_sessions_started_total',
      help: 'Sessions that became ready (logged in upstream and relaying), per database.',
      labelNames: ['database'],
      registers,
      // Configured databases show 0 before their first session, so rate() works from the start.
      collect: () => {
        for (const database of this.databases()) started.inc({ database }, 0);
      },
    });
    this.started = started;
    this.refused = new Counter({
      name: 'gatehouse_sessions_refused_total',
      help: 'Connections refused with an ErrorResponse, by GH_ERR_* code, the SQLSTATE sent and the database ("" before it is known).',
      labelNames: ['code', 'sqlstate', 'database'],
      registers,
    });
    const bytesCounter = (name: string, help: string, pick: (bytes: ByteTotals) => number) => {
      const counter: Counter<'database'> = new Counter({
        name,
        help,
        labelNames: ['database'],
        registers,
        collect: () => {
          counter.reset();
          for (const [database, bytes] of this.bytesByDatabase()) counter.inc({ database }, pick(bytes));
        },
      });
    };
    bytesCounter('gatehouse_bytes_from_client_total', 'Bytes relayed from clients to databases, live sessions included, per database.', (bytes) => bytes.fromClient);
    bytesCounter('gatehouse_bytes_to_client_total', 'Bytes relayed from databases to clients, live sessions included, per database.', (bytes) => bytes.toClient);
    this.connectSeconds = new Histogram({
      name: 'gatehouse_connect_duration_seconds',
      help: 'Time from the client\'s StartupMessage to ready, by phase: credentials (identify, authorize, credentials, endpoint), dial (TCP and SSLRequest), tls, auth (upstream login), total.',
      labelNames: ['database', 'phase'],
      buckets: CONNECT_BUCKETS,
      registers,
    });
    this.awsSeconds = new Histogram({
      name: 'gatehouse_aws_call_duration_seconds',
      help: 'AWS API calls and credential resolutions, by operation and outcome (ok, error), retries included.',
      labelNames: ['operation', 'outcome'],
      buckets: AWS_BUCKETS,
      registers,
    });
    this.awsErrors = new Counter({
      name: 'gatehouse_aws_call_errors_total',
      help: 'Failed AWS calls and credential resolutions, by operation and AWS error name.',
      labelNames: ['operation', 'error'],
      registers,
    });
    this.certs = new Counter({
      name: 'gatehouse_certs_issued_total',
      help: 'Certificates the web API signed, by kind (identity, database).',
      labelNames: ['kind'],
      registers,
    });
    this.logins = new Counter({
      name: 'gatehouse_web_logins_total',
      help: 'Login attempts at POST /v1/login, by outcome (success, failure) and the GH_ERR_* code of a failure.',
      labelNames: ['outcome', 'code'],
      registers,
    });
  }

  /** The Prometheus text format of everything in the registry. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  connectTimer(): ConnectTimer {
    return new ConnectTimer(this.now);
  }

  sessionStarted(database: string, bytes: RelayedBytes, timer?: ConnectTimer): () => void {
    this.totals.started += 1;
    this.started.inc({ database });
    if (timer !== undefined) {
      for (const { phase, seconds } of timer.laps) this.connectSeconds.observe({ database, phase }, seconds);
      this.connectSeconds.observe({ database, phase: 'total' }, timer.elapsedSeconds());
    }
    const session: LiveSession = { database, bytes };
    this.live.add(session);
    return () => {
      if (!this.live.delete(session)) return;
      const ended = this.endedBytesOf(database);
      ended.fromClient += bytes.bytesFromClient;
      ended.toClient += bytes.bytesToClient;
    };
  }

  sessionRefused(code: string, sqlState: string, database?: string): void {
    this.totals.refused += 1;
    this.refused.inc({ code, sqlstate: sqlState, database: database ?? '' });
  }

  awsCall(operation: string, seconds: number, error?: string): void {
    this.awsSeconds.observe({ operation, outcome: error === undefined ? 'ok' : 'error' }, seconds);
    if (error !== undefined) this.awsErrors.inc({ operation, error });
  }

  certIssued(kind: 'identity' | 'database'): void {
    this.totals.certsIssued += 1;
    this.certs.inc({ kind });
  }

  login(success: boolean, code?: string): void {
    this.logins.inc({ outcome: success ? 'success' : 'failure', code: success ? '' : (code ?? '') });
  }

  summary(): MetricsSummary {
    let fromClient = 0;
    let toClient = 0;
    for (const bytes of this.bytesByDatabase().values()) {
      fromClient += bytes.fromClient;
      toClient += bytes.toClient;
    }
    return {
      sessions_active: this.live.size,
      sessions_started: this.totals.started,
      sessions_refused: this.totals.refused,
      bytes_from_client: fromClient,
      bytes_to_client: toClient,
      certs_issued: this.totals.certsIssued,
    };
  }

  /** Configured databases and every database that has had a session. */
  private knownDatabases(): Set<string> {
    return new Set([...this.databases(), ...this.endedBytes.keys()]);
  }

  /** Ended sessions' bytes plus live sessions' bytes so far, per known database. */
  private bytesByDatabase(): Map<string, ByteTotals> {
    const totals = new Map<string, ByteTotals>();
    for (const database of this.knownDatabases()) {
      const ended = this.endedBytes.get(database);
      totals.set(database, { fromClient: ended?.fromClient ?? 0, toClient: ended?.toClient ?? 0 });
    }
    for (const session of this.live) {
      let sum = totals.get(session.database);
      if (sum === undefined) {
        sum = { fromClient: 0, toClient: 0 };
        totals.set(session.database, sum);
      }
      sum.fromClient += session.bytes.bytesFromClient;
      sum.toClient += session.bytes.bytesToClient;
    }
    return totals;
  }

  private endedBytesOf(database: string): ByteTotals {
    let ended = this.endedBytes.get(database);
    if (ended === undefined) {
      ended = { fromClient: 0, toClient: 0 };
      this.endedBytes.set(database, ended);
    }
    return ended;
  }
}
