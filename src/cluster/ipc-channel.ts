// Request/response and one-way notices over a Node IPC channel, between the primary of a
// multi-process Gatehouse (proxy.workers > 1) and one worker. Both ends use this class: the worker
// over `process`, the primary over each `cluster.Worker`. Requests carry ids and time out, so a
// worker that hangs or dies never leaves a caller waiting; an error thrown by a handler comes back
// as the same GatehouseError (code, SQLSTATE, hint) on the asking side. Messages that are not
// Gatehouse's own (prom-client's, Node's internal ones) are left alone.
import { ErrorCodes, GatehouseError, SqlState, type ErrorCode } from '../errors.js';

/** The part of `process` (in a worker) or `cluster.Worker` (in the primary) this needs. */
export interface IpcPort {
  send(message: unknown, callback: (error: Error | null) => void): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export type RequestHandler = (payload: unknown) => unknown;
export type NoticeListener = (payload: unknown) => void;

interface SerializedError {
  readonly message: string;
  readonly code?: string;
  readonly sqlState?: string;
  readonly hint?: string;
}

type WireMessage =
  | { readonly gatehouse: 'request'; readonly id: number; readonly op: string; readonly payload: unknown }
  | { readonly gatehouse: 'response'; readonly id: number; readonly value?: unknown; readonly error?: SerializedError }
  | { readonly gatehouse: 'notice'; readonly op: string; readonly payload: unknown };

interface Pending {
  readonly op: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

export class IpcChannel {
  private nextId = 1;
  private closed = false;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly listeners = new Map<string, NoticeListener[]>();
  private readonly onMessage = (message: unknown) => this.receive(message);

  /** `peer` names the other end in error messages ("the primary", "worker 2"). */
  constructor(
    private readonly port: IpcPort,
    private readonly peer: string,
    private readonly defaultTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {
    port.on('message', this.onMessage);
  }

  /** Asks the other end to run `op`; rejects on its error, on timeout, or when the channel closes. */
  request<T = unknown>(op: string, payload?: unknown, timeoutMs = this.defaultTimeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(unavailable(`${this.peer} is gone (asked for ${op})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, undefined, unavailable(`${this.peer} did not answer ${op} within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      this.pending.set(id, { op, resolve: resolve as (value: unknown) => void, reject, timer });
      this.send({ gatehouse: 'request', id, op, payload }, (error) => {
        if (error !== null) this.settle(id, undefined, unavailable(`could not ask ${this.peer} for ${op}: ${error.message}`));
      });
    });
  }

  /** Tells the other end something that needs no answer; dropped once the channel is closed. */
  notify(op: string, payload?: unknown, sent?: () => void): void {
    if (this.closed) {
      sent?.();
      return;
    }
    this.send({ gatehouse: 'notice', op, payload }, () => sent?.());
  }

  /** What this end answers to `op` requests (one handler per op). */
  handle(op: string, handler: RequestHandler): void {
    this.handlers.set(op, handler);
  }

  /** Called for every `op` notice from the other end. */
  on(op: string, listener: NoticeListener): void {
    this.listeners.set(op, [...(this.listeners.get(op) ?? []), listener]);
  }

  /** The other end is gone: every request still waiting fails now, and nothing more is sent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.off('message', this.onMessage);
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, unavailable(`${this.peer} is gone`));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private send(message: WireMessage, callback: (error: Error | null) => void): void {
    try {
      this.port.send(message, callback);
    } catch (error) {
      // The channel closed under us (ERR_IPC_CHANNEL_CLOSED): the same as a failed send.
      callback(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private receive(message: unknown): void {
    if (!isWireMessage(message)) return;
    switch (message.gatehouse) {
      case 'request':
        void this.answer(message.id, message.op, message.payload);
        return;
      case 'response':
        this.settle(message.id, message.value, message.error === undefined ? undefined : deserializeError(message.error));
        return;
      case 'notice':
        for (const listener of this.listeners.get(message.op) ?? []) listener(message.payload);
        return;
    }
  }

  private async answer(id: number, op: string, payload: unknown): Promise<void> {
    let reply: WireMessage;
    try {
      const handler = this.handlers.get(op);
      if (handler === undefined) throw new Error(`nothing answers ${op} here`);
      reply = { gatehouse: 'response', id, value: await handler(payload) };
    } catch (error) {
      reply = { gatehouse: 'response', id, error: serializeError(error) };
    }
    if (!this.closed) this.send(reply, () => undefined);
  }

  private settle(id: number, value: unknown, error: Error | undefined): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error === undefined) pending.resolve(value);
    else pending.reject(error);
  }
}

function unavailable(message: string): GatehouseError {
  return new GatehouseError(ErrorCodes.WORKER_UNAVAILABLE, message, { sqlState: SqlState.INTERNAL_ERROR });
}

function isWireMessage(message: unknown): message is WireMessage {
  if (typeof message !== 'object' || message === null) return false;
  const kind = (message as { gatehouse?: unknown }).gatehouse;
  return kind === 'request' || kind === 'response' || kind === 'notice';
}

function serializeError(error: unknown): SerializedError {
  if (error instanceof GatehouseError) return { message: error.message, code: error.code, sqlState: error.sqlState, hint: error.hint };
  return { message: error instanceof Error ? error.message : String(error) };
}

function deserializeError(error: SerializedError): Error {
  if (error.code === undefined || error.sqlState === undefined) return new Error(error.message);
  // The code came from a GatehouseError on the other end, which runs this same build.
  return new GatehouseError(error.code as ErrorCode, error.message, { sqlState: error.sqlState, hint: error.hint });
}
