// Moves bytes between the client and the database once both are ready. Server→client bytes are
// forwarded as they arrive and never parsed; client→server bytes are only framed, so that the
// audited messages can be decoded and an absurd length refused before it is forwarded.
// Backpressure holds both ways: a side whose peer cannot keep up is paused until it drains, so
// a 1 GB COPY flows through a bounded amount of memory.
import type tls from 'node:tls';
import { errorResponse } from '../protocol/backend-messages.js';
import { FrontendFramer, type AuditedFrame } from '../protocol/frontend-framer.js';
import { GatehouseError, SqlState } from '../errors.js';

const TERMINATE = 0x58;

/**
 * A chunk from the database at least this big means a bulk transfer (COPY OUT, a large result):
 * the client's socket is corked until the event loop's I/O for this turn is done, so the chunks
 * decrypted from one read of the database's socket leave in one TLS write and one system call
 * instead of one each. Smaller chunks (a query's answer) are written at once, unless a batch is
 * already open: an interactive answer waits for nothing.
 */
const BULK_CHUNK_BYTES = 4096;

export interface RelayResult {
  readonly reason: string;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  /** Set when Gatehouse itself ended the session with an ErrorResponse. */
  readonly sqlState?: string;
  readonly error?: Error;
}

export class Relay {
  /** Set whenever bytes move either way; SessionWatch reads and clears it (a flag, not a timer, per chunk). */
  sawTraffic = false;
  private bytesFromClient = 0;
  private bytesToClient = 0;
  private terminated = false;
  private finished: ((result: RelayResult) => void) | undefined;
  /** The client's socket is corked until the next check phase (BULK_CHUNK_BYTES). */
  private clientCorked = false;
  private readonly uncorkClient = (): void => {
    this.clientCorked = false;
    this.client.uncork();
  };
  private readonly framer = new FrontendFramer();
  private readonly handleFrame = (frame: AuditedFrame): void => {
    // Messages behind a Terminate never run (the database stops reading there): not audited either.
    if (this.terminated) return;
    if (frame.type === TERMINATE) this.terminated = true;
    this.onFrame(frame);
  };

  constructor(
    private readonly client: tls.TLSSocket,
    private readonly server: tls.TLSSocket,
    private readonly onFrame: (frame: AuditedFrame) => void,
  ) {}

  /** Bytes relayed so far, client to database: read at metrics scrapes and by the admin API, never pushed per chunk. */
  get relayedFromClient(): number {
    return this.bytesFromClient;
  }

  /** Bytes relayed so far, database to client. */
  get relayedToClient(): number {
    return this.bytesToClient;
  }

  /**
   * Relays until either side goes away. `fromClient` and `fromServer` are bytes each side sent
   * before the relay started (pipelined after the StartupMessage, or after ReadyForQuery).
   */
  run(fromClient: Buffer, fromServer: Buffer): Promise<RelayResult> {
    return new Promise((resolve) => {
      this.finished = resolve;
      const { client, server } = this;

      server.on('data', (chunk: Buffer) => {
        this.bytesToClient += chunk.length;
        this.sawTraffic = true;
        if (chunk.length >= BULK_CHUNK_BYTES && !this.clientCorked) {
          this.clientCorked = true;
          client.cork();
          setImmediate(this.uncorkClient);
        }
        if (!client.write(chunk)) server.pause();
      });
      client.on('drain', () => server.resume());
      client.on('data', (chunk: Buffer) => this.forwardFromClient(chunk));
      server.on('drain', () => client.resume());

      // After a Terminate the database closing first is still the client ending its session.
      server.on('end', () => this.finish(this.terminated ? 'client terminated the session' : 'the database closed the connection'));
      server.on('close', () => this.finish(this.terminated ? 'client terminated the session' : 'the database closed the connection'));
      // A GatehouseError from the database's side (the SSH tunnel under it was lost) tells the client why.
      server.on('error', (error: Error) =>
        error instanceof GatehouseError ? this.end(error, error.message) : this.finish('the connection to the database failed', error),
      );
      client.on('end', () => this.finish(this.terminated ? 'client terminated the session' : 'client closed the connection'));
      client.on('close', () => this.finish(this.terminated ? 'client terminated the session' : 'client closed the connection'));
      client.on('error', (error: Error) => this.finish('the connection to the client failed', error));

      // Either side may have left while the session was being set up, before these listeners.
      if (client.destroyed || client.readableEnded) return this.finish('client closed the connection');
      if (server.destroyed || server.readableEnded) return this.finish('the database closed the connection');
      if (fromServer.length > 0) {
        this.bytesToClient += fromServer.length;
        client.write(fromServer);
      }
      if (fromClient.length > 0) this.forwardFromClient(fromClient);
      client.resume();
      server.resume();
    });
  }

  /** Ends the session from Gatehouse's side, telling the client why (admin kill, shutdown, locks). */
  end(error: GatehouseError, reason: string): void {
    if (this.finished === undefined) return;
    this.client.write(errorResponse({ severity: 'FATAL', sqlState: error.sqlState, message: error.message, hint: error.hint }));
    this.finish(reason, undefined, error.sqlState);
  }

  private forwardFromClient(chunk: Buffer): void {
    // After Terminate the session is over: nothing more from this client reaches the database.
    if (this.terminated) return;
    // Once the relay has finished (a protocol violation, the database gone) the client's socket is
    // still readable until it closes: what it sends now is neither framed, audited nor forwarded.
    if (this.finished === undefined) return;
    const startsAtBoundary = this.framer.atMessageBoundary;
    try {
      this.framer.push(chunk, this.handleFrame);
    } catch (error) {
      // Nothing of this chunk has been forwarded: the database never sees the bad frame.
      const problem = error instanceof GatehouseError ? error : undefined;
      const message = problem?.message ?? 'malformed message from client';
      this.client.write(errorResponse({ severity: 'FATAL', sqlState: SqlState.PROTOCOL_VIOLATION, message }));
      this.finish(`protocol violation: ${message}`, undefined, SqlState.PROTOCOL_VIOLATION);
      return;
    }
    if (this.terminated) chunk = throughTerminate(chunk, startsAtBoundary);
    this.bytesFromClient += chunk.length;
    this.sawTraffic = true;
    if (!this.server.write(chunk)) this.client.pause();
  }

  private finish(reason: string, error?: Error, sqlState?: string): void {
    const done = this.finished;
    if (done === undefined) return;
    this.finished = undefined;
    // Let what is already queued reach each side, then close; destroy covers a peer that is gone.
    this.client.end();
    this.server.end();
    setTimeout(() => {
      this.client.destroy();
      this.server.destroy();
    }, 5_000).unref();
    done({ reason, bytesFromClient: this.bytesFromClient, bytesToClient: this.bytesToClient, sqlState, error });
  }
}

/**
 * The part of a chunk up to and including its Terminate message. Only a chunk that starts on a
 * message boundary (as clients write: whole messages) can be walked from its first byte; any other
 * is forwarded whole, which is safe because the database stops reading at the Terminate.
 */
function throughTerminate(chunk: Buffer, startsAtBoundary: boolean): Buffer {
  if (!startsAtBoundary) return chunk;
  for (let offset = 0; offset + 5 <= chunk.length; ) {
    const end = offset + 1 + chunk.readInt32BE(offset + 1);
    if (chunk[offset] === TERMINATE) return chunk.subarray(0, end);
    offset = end;
  }
  return chunk;
}
