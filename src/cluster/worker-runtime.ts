// One worker of a multi-process Gatehouse (proxy.workers > 1): it waits for the primary's init
// (its index, the validated config, the embedded databases' addresses and logins), runs a Daemon
// on the shared listeners, and does what the primary says: drain, stop now, reload, deliver a
// cancel. Signals are the primary's to act on: a terminal's Ctrl+C reaches the whole process group,
// and a worker acting on it as well would count it twice (the second SIGINT ends the drain).
import { appendFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { PinoAuditLog } from '../audit/pino-audit-log.js';
import { parseConfig } from '../config/load.js';
import type { GatehouseConfig } from '../config/types.js';
import type { Daemon } from '../daemon.js';
import type { EmbeddedDatabase } from '../embedded/embedded-database.js';
import { createLogger } from '../logging.js';
import { AdmittedInOtherWorkers } from './admission-counts.js';
import { IpcChannel, type IpcPort } from './ipc-channel.js';
import { LineDestination } from './line-destination.js';
import {
  Ops,
  WORKER_EXIT_CUT_OFF,
  WORKER_EXIT_DRAINED,
  type AdmissionChange,
  type AdmissionReport,
  type CancelPayload,
  type DrainPayload,
  type InitPayload,
  type OutputStream,
  type ReadyPayload,
  type ThrottlePayload,
  type WorkerGonePayload,
} from './protocol.js';
import { SharedLoginThrottle } from './shared-login-throttle.js';
import type { ClusterWorkerContext } from './worker-context.js';
import { WorkerPeers } from './worker-peers.js';

/** A worker that could not start, or lost its primary before it served. */
const WORKER_EXIT_FAILED = 1;

/** Audit lines go to the primary like PinoAuditLog batches its own writes: 64 KiB or a tenth of a second. */
const AUDIT_FLUSH_MS = 100;
const AUDIT_BATCH_CHARS = 64 * 1024;

export function runWorker(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  const primary = new IpcChannel(processPort(), 'the primary');
  const worker = new WorkerProcess(primary);
  primary.handle(Ops.init, (payload) => worker.start(payload as InitPayload));
  primary.on(Ops.drain, (payload) => worker.drain((payload as DrainPayload).graceMs));
  primary.on(Ops.stopNow, () => worker.stopNow());
  primary.on(Ops.reload, () => worker.reload());
  // The primary is gone (killed): nobody will tell this worker to stop, so it drains by itself.
  process.once('disconnect', () => {
    primary.close();
    worker.orphaned();
  });
  primary.notify(Ops.hello);
}

class WorkerProcess {
  private daemon: Daemon | undefined;
  private config: GatehouseConfig | undefined;
  private logger: Logger | undefined;
  private logDestination: LineDestination | undefined;
  private stopping = false;
  private readonly interrupt = new AbortController();
  /** Set when a drain arrives while the daemon is still starting. */
  private drainWhenStarted: number | undefined;

  constructor(private readonly primary: IpcChannel) {}

  async start(init: InitPayload): Promise<ReadyPayload> {
    // Before anything is awaited: the other workers' admissions sent from now on must not be missed.
    const admittedElsewhere = this.admissions(init);
    const config = parseConfig(init.configText, init.configFile, { cwd: init.cwd });
    this.config = config;
    this.logDestination = this.destination('log', config, 0);
    const logger = createLogger(config.log.level, this.logDestination).child({ worker: init.index });
    this.logger = logger;
    const audit = new PinoAuditLog(config.audit, this.destination('audit', config, AUDIT_FLUSH_MS, AUDIT_BATCH_CHARS));
    // Loaded here, not at the top: the daemon pulls in the AWS SDK (as in cli/start.ts).
    const { Daemon } = await import('../daemon.js');
    const daemon = await Daemon.start({ config, logger, audit, worker: this.context(init, admittedElsewhere) });
    this.daemon = daemon;
    // The others may have reloaded since the primary read the text: catch up (an invalid file is logged, and changes nothing).
    if (init.replacement) daemon.reload();
    if (this.drainWhenStarted !== undefined) this.drain(this.drainWhenStarted);
    return { postgres: daemon.postgresAddress, web: daemon.webAddress };
  }

  drain(graceMs: number): void {
    const daemon = this.daemon;
    if (daemon === undefined) {
      this.drainWhenStarted = graceMs;
      return;
    }
    if (this.stopping) return;
    this.stopping = true;
    daemon.stop({ graceMs, interrupt: this.interrupt.signal }).then(
      ({ drained }) => this.exit(drained ? WORKER_EXIT_DRAINED : WORKER_EXIT_CUT_OFF),
      (error: unknown) => {
        this.logger?.error({ err: error }, 'worker could not stop cleanly');
        this.exit(WORKER_EXIT_CUT_OFF);
      },
    );
  }

  stopNow(): void {
    this.interrupt.abort();
    if (this.daemon === undefined) this.drainWhenStarted = 0;
  }

  reload(): void {
    this.daemon?.reloadOnSignal();
  }

  orphaned(): void {
    if (this.daemon === undefined) process.exit(WORKER_EXIT_FAILED);
    this.logger?.warn('the primary process is gone; draining and stopping');
    this.drain(this.config?.proxy.shutdown_grace_ms ?? 0);
  }

  /** What the daemon gets from the cluster instead of setting it up itself. */
  private admissions(init: InitPayload): AdmittedInOtherWorkers {
    const primary = this.primary;
    const others = new AdmittedInOtherWorkers(init.admitted, (user, delta) => {
      const report: AdmissionReport = { user, delta };
      primary.notify(Ops.admission, report);
    });
    primary.on(Ops.admission, (payload) => others.apply(payload as AdmissionChange));
    primary.on(Ops.workerGone, (payload) => others.forget((payload as WorkerGonePayload).worker));
    return others;
  }

  private context(init: InitPayload, admittedElsewhere: AdmittedInOtherWorkers): ClusterWorkerContext {
    const primary = this.primary;
    const embedded = new Map<string, EmbeddedDatabase>();
    // The primary stops them, after every worker has stopped.
    for (const database of init.embedded) embedded.set(database.name, { target: database.target, credentials: database.credentials, stop: async () => undefined });
    return {
      index: init.index,
      embedded,
      admittedElsewhere,
      peers: new WorkerPeers(primary, init.index),
      passCancel: (owner, processId, secretKey) => {
        this.logger?.debug({ owner }, 'cancel request passed on to the worker that issued its key');
        const cancel: CancelPayload = { worker: owner, processId, secretKey: secretKey.toString('hex') };
        primary.notify(Ops.cancel, cancel);
      },
      onCancel: (deliver) => primary.on(Ops.cancel, (payload) => {
        const cancel = payload as CancelPayload;
        deliver(cancel.processId, Buffer.from(cancel.secretKey, 'hex'));
      }),
      loginThrottle: (options) => {
        const throttle = new SharedLoginThrottle(options, (outcome) => primary.notify(Ops.throttle, outcome));
        primary.on(Ops.throttle, (payload) => throttle.recordElsewhere(payload as ThrottlePayload));
        return throttle;
      },
    };
  }

  private destination(stream: OutputStream, config: GatehouseConfig, flushAfterMs: number, maxBatchChars?: number): LineDestination {
    return new LineDestination(stream, {
      send: (target, text, sent) => this.primary.notify(Ops.output, { stream: target, text }, sent),
      connected: () => !this.primary.isClosed,
      fallback: stream === 'log' ? (text) => void process.stderr.write(text) : auditFallback(config.audit.output),
      flushAfterMs,
      maxBatchChars,
    });
  }

  /** Once the audit trail (closed by daemon.stop) and the last log lines are with the primary. */
  private exit(code: number): void {
    const destination = this.logDestination;
    if (destination === undefined) process.exit(code);
    destination.flush(() => process.exit(code));
  }
}

/** Where audit lines go when the primary is gone: straight to audit.output. */
function auditFallback(output: string): (text: string) => void {
  if (output === 'stdout') return (text) => void process.stdout.write(text);
  if (output === 'stderr') return (text) => void process.stderr.write(text);
  return (text) => appendFileSync(output, text);
}

/** `process` as an IpcPort: its IPC channel to the primary. */
function processPort(): IpcPort {
  return {
    send: (message, callback) => {
      if (process.send === undefined) throw new Error('this process has no IPC channel: it must be started by gatehouse start as a worker');
      process.send(message, undefined, undefined, callback);
    },
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
  };
}
