// The network fuzzer's run: start the environment, throw `cases` fuzz cases at the daemon from
// `concurrency` workers, then judge the daemon. Figures: cases tried (by kind and how they ended),
// crashes (daemon exits; a crashed daemon is restarted so the run goes on and reports them all),
// unexpected log lines (error level, or stderr that is not a log line), TCP connections the daemon
// still holds once every client has gone, RSS before, at peak and after, and whether a normal
// `pg` session still works. `npm run fuzz` prints the report; the CI test asserts on it.
import pg from 'pg';
import { checkAudit, type AuditFigures } from './audit-check.js';
import { runCase, type CaseKind, type CaseResult, type CaseTarget } from './cases.js';
import type { DaemonExit, DaemonProcess, OpenConnections } from './daemon-process.js';
import { FUZZ_DB_NAME, FUZZ_DB_USER, startEnvironment, type FuzzEnvironment } from './environment.js';
import { captureClientHellos } from './tls-records.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly cases: number;
  readonly concurrency: number;
  /** The first case number (to replay one case: --from N --cases 1). */
  readonly from?: number;
  /** Progress lines; silent when absent. */
  readonly log?: (line: string) => void;
  /** Log every case as it ends. */
  readonly verbose?: boolean;
  /** Aborting it stops the run after the cases in flight; the report covers the cases tried. */
  readonly signal?: AbortSignal;
  /** How long to wait for Gatehouse to close its side of every connection after the run. */
  readonly drainTimeoutMs?: number;
}

export interface KindFigures {
  cases: number;
  closedByGatehouse: number;
  quiet: number;
  busy: number;
  unreachable: number;
}

export interface Crash {
  /** Cases that were running when the daemon exited (one of them caused it). */
  readonly casesInFlight: number[];
  readonly exit: DaemonExit;
}

export interface FuzzReport {
  readonly seed: number;
  readonly from: number;
  readonly cases: number;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly byKind: Record<CaseKind, KindFigures>;
  /** Post-login cases whose login reached ReadyForQuery, and those whose login did not. */
  readonly logins: { readonly succeeded: number; readonly failed: number };
  readonly crashes: Crash[];
  readonly unexpectedLogLines: string[];
  /** The first warn-level lines (not failures: refusals Gatehouse logs as warnings). */
  readonly warnings: string[];
  /** Log lines by pino level (40 warn, 50 error, 60 fatal), over every daemon of the run. */
  readonly logLevels: Record<string, number>;
  readonly connectionsBefore: OpenConnections;
  /** What the daemon still held after the drain wait: must be all zero. */
  readonly connectionsAfter: OpenConnections;
  readonly rssBeforeBytes: number;
  readonly rssPeakBytes: number;
  readonly rssAfterBytes: number;
  /** Errors inside the fuzzer itself (not Gatehouse's answers). */
  readonly harnessErrors: string[];
  /** What the audit trail says about the run (sessions not ended and queries after an end must be 0). */
  readonly audit: AuditFigures;
  /** 'ok', or why a normal pg session through Gatehouse failed after the run. */
  readonly sessionAfterRun: string;
  readonly passed: boolean;
}

const KINDS: CaseKind[] = ['startup', 'tls', 'post-login'];

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const from = options.from ?? 0;
  const started = Date.now();
  log('starting PostgreSQL and Gatehouse (dist/cli/gatehouse.js start)');
  const environment = await startEnvironment();
  try {
    return await fuzzAgainst(environment, options, from, started, log);
  } finally {
    await environment.stop();
  }
}

async function fuzzAgainst(environment: FuzzEnvironment, options: FuzzOptions, from: number, started: number, log: (line: string) => void): Promise<FuzzReport> {
  const clientHellos = await captureClientHellos();
  const daemons: DaemonProcess[] = [environment.daemon];
  const crashes: Crash[] = [];
  const inFlight = new Set<number>();
  const harnessErrors: string[] = [];
  let restarting: Promise<unknown> | undefined;
  /** Set once the cases are done: a daemon that exits from then on is reported, not restarted. */
  let winding = false;
  const stopCases = new AbortController();
  const watch = (daemon: DaemonProcess) =>
    daemon.onUnexpectedExit((exit) => {
      crashes.push({ casesInFlight: [...inFlight].sort((a, b) => a - b), exit });
      if (exit.worker !== undefined) {
        // The primary replaces a worker that exits; the run goes on against the same daemon.
        log(`CRASH: Gatehouse worker process ${exit.worker} exited with cases ${[...inFlight].join(', ')} in flight`);
        return;
      }
      log(`CRASH: Gatehouse exited (code ${exit.code}, signal ${exit.signal}) with cases ${[...inFlight].join(', ')} in flight${winding ? '' : '; restarting it'}`);
      if (winding) return;
      restarting = environment.restartDaemon().then(
        (next) => {
          daemons.push(next);
          watch(next);
        },
        (error: unknown) => {
          harnessErrors.push(`Gatehouse could not be restarted after a crash: ${error instanceof Error ? error.message : String(error)}`);
          stopCases.abort();
        },
      );
    });
  watch(environment.daemon);
  const target = (): CaseTarget => ({
    port: environment.daemon.port,
    hostCaPem: environment.hostCaPem,
    client: environment.client,
    foreign: environment.foreign,
    clientHellos,
  });

  const warmUp = await checkSession(environment);
  if (warmUp !== 'ok') throw new Error(`a normal pg session through Gatehouse failed before fuzzing: ${warmUp}`);
  const connectionsBefore = environment.daemon.openConnections();
  const rssBeforeBytes = environment.daemon.rssBytes() ?? 0;
  let rssPeakBytes = rssBeforeBytes;
  const sampler = setInterval(() => {
    rssPeakBytes = Math.max(rssPeakBytes, environment.daemon.rssBytes() ?? 0);
  }, 500);

  const byKind = Object.fromEntries(KINDS.map((kind) => [kind, { cases: 0, closedByGatehouse: 0, quiet: 0, busy: 0, unreachable: 0 }])) as Record<CaseKind, KindFigures>;
  const logins = { succeeded: 0, failed: 0 };
  const tally = (index: number, result: CaseResult) => {
    const figures = byKind[result.kind];
    figures.cases++;
    if (result.ending === 'closed') figures.closedByGatehouse++;
    else figures[result.ending]++;
    if (result.loggedIn === true) logins.succeeded++;
    if (result.loggedIn === false && result.ending !== 'unreachable') logins.failed++;
    if (options.verbose === true) log(`case ${index}: ${result.kind}/${result.variant} ${result.ending}`);
  };

  log(`fuzzing: ${options.cases} cases from ${from}, seed ${options.seed}, concurrency ${options.concurrency}`);
  let next = from;
  const end = from + options.cases;
  let done = 0;
  const tried = () => done;
  let lastProgress = Date.now();
  const worker = async () => {
    while (next < end && options.signal?.aborted !== true && !stopCases.signal.aborted) {
      const index = next++;
      if (restarting !== undefined) await restarting;
      inFlight.add(index);
      try {
        tally(index, await runCase(options.seed, index, target()));
      } catch (error) {
        harnessErrors.push(`case ${index}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      } finally {
        inFlight.delete(index);
      }
      done++;
      if (Date.now() - lastProgress >= 10_000) {
        lastProgress = Date.now();
        log(`  ${done}/${options.cases} cases, ${crashes.length} crashes, RSS ${mib(environment.daemon.rssBytes() ?? 0)}, connections ${describe(environment.daemon.openConnections())}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  clearInterval(sampler);
  if (restarting !== undefined) await restarting;
  winding = true;

  log('waiting for Gatehouse to close its side of every connection');
  const connectionsAfter = await drained(environment, options.drainTimeoutMs ?? 20_000);
  const rssAfterBytes = environment.daemon.rssBytes() ?? 0;
  const sessionAfterRun = await checkSession(environment);
  // The audit trail is written in batches at least every 100 ms; give the last one time to land.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const audit = checkAudit(environment.auditFile);
  const unexpectedLogLines = daemons.flatMap((daemon) => daemon.unexpectedLines);
  const logLevels: Record<string, number> = {};
  for (const daemon of daemons) for (const [level, count] of daemon.levelCounts) logLevels[level] = (logLevels[level] ?? 0) + count;
  const leftover = connectionsAfter.clients + connectionsAfter.upstream + connectionsAfter.other;
  return {
    seed: options.seed,
    from,
    cases: tried(),
    concurrency: options.concurrency,
    durationMs: Date.now() - started,
    byKind,
    logins,
    crashes,
    unexpectedLogLines,
    warnings: daemons.flatMap((daemon) => daemon.warnings).slice(0, 50),
    logLevels,
    connectionsBefore,
    connectionsAfter,
    rssBeforeBytes,
    rssPeakBytes,
    rssAfterBytes,
    harnessErrors,
    audit,
    sessionAfterRun,
    passed:
      crashes.length === 0 &&
      leftover === 0 &&
      unexpectedLogLines.length === 0 &&
      sessionAfterRun === 'ok' &&
      harnessErrors.length === 0 &&
      audit.sessionsNotEnded === 0 &&
      audit.queriesAfterEnd === 0 &&
      audit.unreadableLines === 0,
  };
}

/** Polls until the daemon holds no TCP connection, or the timeout; returns the last count. */
async function drained(environment: FuzzEnvironment, timeoutMs: number): Promise<OpenConnections> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = environment.daemon.openConnections();
    if (open.clients + open.upstream + open.other === 0 || Date.now() >= deadline) return open;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A normal session through Gatehouse, as a person would run one: connect, query, end. */
async function checkSession(environment: FuzzEnvironment): Promise<string> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: environment.daemon.port,
    user: FUZZ_DB_USER,
    database: FUZZ_DB_NAME,
    ssl: { ca: environment.hostCaPem, cert: environment.client.certPem, key: environment.client.keyPem, servername: 'localhost' },
    connectionTimeoutMillis: 15_000,
  });
  try {
    await client.connect();
    const result = await client.query<{ one: number; user: string }>('SELECT 1 AS one, current_user AS user');
    const row = result.rows[0];
    if (row?.one !== 1 || row.user !== FUZZ_DB_USER) return `unexpected answer ${JSON.stringify(result.rows)}`;
    await client.query('SELECT count(*) FROM fuzz_t');
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function describe(open: OpenConnections): string {
  return `${open.clients} client, ${open.upstream} upstream, ${open.other} other`;
}
