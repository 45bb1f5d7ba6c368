// Reads the untyped startup packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage)
// off a socket, one at a time, before the relay takes the socket over. Bytes are buffered only up
// to the startup packet cap: readStartupPacket refuses a longer claimed length after four bytes.
import type { Socket } from 'node:net';
import { readStartupPacket, type StartupPacket } from '../protocol/startup.js';
import { GatehouseError, ErrorCodes, ProtocolError, SqlState } from '../errors.js';

export class ClientClosedError extends GatehouseError {
  /** `cause`: the socket error when the client went away abruptly (a reset) rather than closing. */
  constructor(cause?: Error) {
    super(ErrorCodes.PROTOCOL_VIOLATION, 'client closed the connection during startup', {
      sqlState: SqlState.CONNECTION_FAILURE,
      cause,
    });
  }
}

/** Socket errors that only say the client went away. */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/**
 * A client's socket error as the refusal it is: a client that reset the connection has left; any
 * other error (on a TLS socket: bytes that are not TLS records, a failed decryption) is something
 * the client sent. Neither is Gatehouse's fault, so neither may surface as an internal error.
 */
export function clientSocketError(error: Error): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (CLIENT_GONE.has((error as NodeJS.ErrnoException).code ?? '')) return new ClientClosedError(error);
  // OpenSSL's errors carry a short reason ("bad record type") besides their long message.
  const { reason, code } = error as { reason?: string; code?: string };
  return new ProtocolError(`the client's connection failed during startup: ${reason ?? code ?? error.message.trim()}`);
}

export class StartupReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.wake();
  };
  private readonly onEnd = (): void => this.fail(new ClientClosedError());
  private readonly onError = (error: Error): void => this.fail(clientSocketError(error));

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** The next complete startup packet; throws ProtocolError on malformed or oversized input. */
  next(): Promise<StartupPacket> {
    return this.take((buffered) => {
      const result = readStartupPacket(buffered);
      return result === null ? null : { value: result.packet, consumed: result.consumed };
    });
  }

  /**
   * The next thing `parse` finds at the front of the buffered bytes (a startup packet, a PROXY protocol header);
   * `parse` returns null while it needs more bytes and may throw to refuse them.
   */
  async take<T>(parse: (buffered: Buffer) => { value: T; consumed: number } | null): Promise<T> {
    for (;;) {
      const result = parse(this.buffered);
      if (result !== null) {
        this.buffered = this.buffered.subarray(result.consumed);
        return result.value;
      }
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
  }

  /** Resolves once at least `count` bytes are buffered (so the first byte can be inspected). */
  async waitForBytes(count: number): Promise<void> {
    while (this.buffered.length < count) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
  }

  get firstByte(): number | undefined {
    return this.buffered[0];
  }

  /** Bytes received after the last packet returned by next(). */
  get pendingBytes(): number {
    return this.buffered.length;
  }

  /** Stops reading and returns the bytes received but not consumed, so another reader can take over. */
  detach(): Buffer {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}
