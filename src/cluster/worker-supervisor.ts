// The primary's workers (proxy.workers > 1): forks them, gives each its init over IPC, replaces one
// that dies unexpectedly (logged, with exponential backoff so a worker that cannot run does not
// spin), and stops them all: drain, then at once on a second signal. Worker slots keep their index,
// so a replacement issues cancel keys under the same index as the worker it replaces.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import type { GatherResult, PeerAnswer, PeerFailure } from './cluster-peers.js';
import { IpcChannel, type IpcPort } from './ipc-channel.js';
import { Ops, WORKER_EXIT_DRAINED, type DrainPayload, type InitPayload, type ReadyPayload } from './protocol.js';

export interface SupervisorOptions {
  readonly count: number;
  readonly logger: Logger;
  /** What worker `index` is started with; `replacement` after the first start. */
  readonly init: (index: number, replacement: boolean) => InitPayload;
  /** Installs the primary's relays (output, cancels, gathers) on a new worker's channel. */
  readonly wire: (channel: IpcChannel, index: number) => void;
  /** A worker's process ended (expected or not). */
  readonly exited?: (index: number) => void;
  readonly now?: () => number;
  /** Added to each worker's environment (the allocator, worker-allocator.ts). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a worker may take from fork to listening; default 60 s. */
  readonly startTimeoutMs?: number;
}

interface Slot {
  readonly index: number;
  worker?: Worker;
  channel?: IpcChannel;
  /** Set while its worker serves (init answered). */
  readySince?: number;
  /** Its worker has its init: from then on it must hear every change of the shared counts. */
  initSent: boolean;
  /** Unexpected exits in a row, for the backoff; reset by a worker that served STABLE_MS. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
  exited?: Promise<number | null>;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that served this long before it died gets restarted at once again (its failures are forgotten). */
const STABLE_MS = 60_000;
/** After the grace (or a second signal), how long workers get to end their sessions before they are killed. */
const STOP_MARGIN_MS = 10_000;

export class WorkerSupervisor {
  private readonly slots: Slot[];
  private readonly now: () => number;
  private stopping = false;
  /** Set once every worker of the first start serves: from then on a worker that dies is replaced. */
  private started = false;

  constructor(private readonly options: SupervisorOptions) {
    this.now = options.now ?? Date.now;
    this.slots = Array.from({ length: options.count }, (_, index) => ({ index, failures: 0, initSent: false }));
  }

  /** Starts every worker; if any fails to start, all are stopped and its error is thrown. */
  async startAll(): Promise<ReadyPayload[]> {
    const results = await Promise.allSettled(this.slots.map((slot) => this.start(slot)));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure === undefined) {
      this.started = true;
      return results.map((result) => (result as PromiseFulfilledResult<ReadyPayload>).value);
    }
    await this.stopAll(0);
    const reason = failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
    if (reason instanceof GatehouseError && reason.code !== ErrorCodes.WORKER_UNAVAILABLE) throw reason;
    throw new GatehouseError(ErrorCodes.WORKER_START_FAILED, `a Gatehouse worker process could not start: ${reason.message}`, {
      sqlState: SqlState.INTERNAL_ERROR,
      hint: 'The worker\'s own log lines are above. To rule out the worker processes themselves, try proxy.workers: 1.',
      cause: reason,
    });
  }

  /** The channel of a serving worker. */
  channel(index: number): IpcChannel | undefined {
    const slot = this.slots[index];
    return slot?.readySince === undefined ? undefined : slot.channel;
  }

  /** Tells every serving worker (but `except`) something. */
  notifyAll(op: string, payload?: unknown, except?: number): void {
    for (const slot of this.slots) {
      if (slot.index !== except && slot.readySince !== undefined) slot.channel?.notify(op, payload);
    }
  }

  /** Tells every worker that has its init (serving or about to), but `except`, something. */
  notifyStarted(op: string, payload?: unknown, except?: number): void {
    for (const slot of this.slots) {
      if (slot.index !== except && slot.initSent) slot.channel?.notify(op, payload);
    }
  }

  /** Asks every serving worker and collects the answers; one that fails or is too slow is listed in `failed`. */
  async gather(op: string, payload: unknown): Promise<GatherResult<unknown>> {
    const asked = this.slots.filter((slot) => slot.readySince !== undefined && slot.channel !== undefined);
    const settled = await Promise.allSettled(asked.map((slot) => (slot.channel as IpcChannel).request(op, payload)));
    const answers: PeerAnswer<unknown>[] = [];
    const failed: PeerFailure[] = [];
    settled.forEach((result, i) => {
      const worker = asked[i]?.index ?? -1;
      if (result.status === 'fulfilled') answers.push({ worker, value: result.value });
      else failed.push({ worker, error: result.reason instanceof Error ? result.reason.message : String(result.reason) });
    });
    return { answers, failed };
  }

  /**
   * Drains every worker with `graceMs`; `interrupt` (a second signal) tells them to stop at once.
   * `drained` is false when any worker had to end sessions (it exited 143) or had to be killed.
   */
  async stopAll(graceMs: number, interrupt?: AbortSignal): Promise<{ drained: boolean }> {
    this.stopping = true;
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    const serving = this.slots.filter((slot) => slot.worker !== undefined && slot.readySince !== undefined);
    // A worker still starting holds no session yet: it is simply ended.
    for (const slot of this.slots) if (slot.worker !== undefined && slot.readySince === undefined) slot.worker.process.kill('SIGKILL');
    const drain: DrainPayload = { graceMs };
    for (const slot of serving) slot.channel?.notify(Ops.drain, drain);
    const stopNow = () => {
      for (const slot of serving) slot.channel?.notify(Ops.stopNow);
    };
    interrupt?.addEventListener('abort', stopNow, { once: true });
    if (interrupt?.aborted === true) stopNow();
    // Workers end themselves; these only catch one that hangs.
    let killed = false;
    const late = setTimeout(stopNow, graceMs + STOP_MARGIN_MS);
    const kill = setTimeout(() => {
      for (const slot of serving) {
        if (slot.worker !== undefined) {
          killed = true;
          this.options.logger.error({ worker: slot.index }, 'worker did not stop; killing it');
          slot.worker.process.kill('SIGKILL');
        }
      }
    }, graceMs + 2 * STOP_MARGIN_MS);
    try {
      const codes = await Promise.all(this.slots.map((slot) => slot.exited ?? Promise.resolve(WORKER_EXIT_DRAINED)));
      const servingCodes = serving.map((slot) => codes[slot.index]);
      return { drained: !killed && servingCodes.every((code) => code === WORKER_EXIT_DRAINED) };
    } finally {
      clearTimeout(late);
      clearTimeout(kill);
      interrupt?.removeEventListener('abort', stopNow);
    }
  }

  /** Forks the slot's worker and waits until it listens. */
  private async start(slot: Slot): Promise<ReadyPayload> {
    const worker = cluster.fork(this.options.env);
    const channel = new IpcChannel(workerPort(worker), `worker ${slot.index}`);
    slot.worker = worker;
    slot.channel = channel;
    slot.readySince = undefined;
    slot.initSent = false;
    slot.exited = new Promise((resolve) => worker.once('exit', (code) => resolve(code)));
    let exitedEarly: ((error: Error) => void) | undefined;
    const earlyExit = new Promise<never>((_, reject) => (exitedEarly = reject));
    earlyExit.catch(() => undefined);
    worker.once('exit', (code, signal) => {
      channel.close();
      const servedMs = slot.readySince === undefined ? 0 : this.now() - slot.readySince;
      slot.worker = undefined;
      slot.readySince = undefined;
      slot.initSent = false;
      this.options.exited?.(slot.index);
      exitedEarly?.(new Error(`worker ${slot.index} exited (${signal ?? `code ${code}`}) before it was listening`));
      // While stopping, exits are expected; during the first start, startAll() reports the failure.
      if (!this.stopping && this.started) this.exitedUnexpectedly(slot, servedMs, code, signal);
    });
    this.options.wire(channel, slot.index);
    const hello = new Promise<void>((resolve) => channel.on(Ops.hello, () => resolve()));
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const ready = (async () => {
      await Promise.race([hello, earlyExit]);
      const init = channel.request<ReadyPayload>(Ops.init, this.options.init(slot.index, this.started), timeoutMs);
      slot.initSent = true;
      return init;
    })();
    let timer: NodeJS.Timeout | undefined;
    const tooSlow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`worker ${slot.index} was not listening within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const listening = await Promise.race([ready, earlyExit, tooSlow]);
      slot.readySince = this.now();
      exitedEarly = undefined;
      return listening;
    } catch (error) {
      // Its init failed (the error is the worker's own) or it hung: this worker will not serve.
      worker.process.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs the exit and, unless Gatehouse is stopping, starts a replacement after a backoff. */
  private exitedUnexpectedly(slot: Slot, servedMs: number, code: number | null, signal: string | null): void {
    slot.failures = servedMs >= STABLE_MS ? 1 : slot.failures + 1;
    const delayMs = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (slot.failures - 1));
    this.options.logger.error({ worker: slot.index, code, signal, restart_in_ms: delayMs }, 'worker exited unexpectedly; starting a new one');
    slot.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.start(slot).then(
        () => this.options.logger.info({ worker: slot.index }, 'worker replaced'),
        (error: unknown) => {
          if (!this.stopping) this.options.logger.error({ worker: slot.index, err: error }, 'replacement worker could not start');
        },
      );
    }, delayMs);
  }
}

/** A cluster.Worker as an IpcPort. */
function workerPort(worker: Worker): IpcPort {
  return {
    send: (message, callback) => void worker.send(message as Parameters<Worker['send']>[0], undefined, callback),
    on: (event, listener) => worker.on(event, listener),
    off: (event, listener) => worker.off(event, listener),
  };
}
