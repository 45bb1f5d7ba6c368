// The client end of one fuzz case: a TCP connection to Gatehouse that sends bytes in pieces,
// collects what comes back, can wait for a reply, for silence or for the close, and can switch to
// TLS over itself at any moment while keeping the raw socket for injecting bytes under TLS.
// Every wait is bounded, so a case always ends.
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Prng } from './prng.js';

/** Bytes received on one side (raw or decrypted), with waits on them. */
export class Inbox {
  private readonly chunks: Buffer[] = [];
  length = 0;
  closed = false;
  lastActivity = Date.now();
  private readonly wakers = new Set<() => void>();

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.lastActivity = Date.now();
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves true once `done()` holds, false when the connection closed first or time ran out. */
  waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (done()) finish(true);
        else if (this.closed) finish(false);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        resolve(result);
      };
      this.wakers.add(check);
      check();
    });
  }

  /** 'closed' once the peer closed, 'quiet' after quietMs without bytes, 'busy' at maxMs. */
  async settle(quietMs: number, maxMs: number): Promise<'closed' | 'quiet' | 'busy'> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      if (this.closed) return 'closed';
      const now = Date.now();
      if (now - this.lastActivity >= quietMs) return 'quiet';
      if (now >= deadline) return 'busy';
      await this.waitFor(() => false, Math.min(quietMs - (now - this.lastActivity), deadline - now));
    }
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

export class Probe {
  readonly raw: net.Socket;
  readonly inbox = new Inbox();
  /** Where raw bytes go once TLS runs over this connection. */
  private tlsFeed: Duplex | undefined;
  secure: tls.TLSSocket | undefined;
  readonly secureInbox = new Inbox();
  /** When bytes were last handed to the raw socket (see close()). */
  private lastWriteAt = 0;

  private constructor(raw: net.Socket) {
    this.raw = raw;
    raw.on('data', (chunk: Buffer) => {
      if (this.tlsFeed !== undefined) this.tlsFeed.push(chunk);
      else this.inbox.push(chunk);
    });
    raw.on('error', () => undefined);
    // Gatehouse's FIN (or the connection's end) closes both views of the connection.
    const closed = () => {
      if (this.inbox.closed) return;
      this.inbox.close();
      this.secureInbox.close();
      this.tlsFeed?.push(null);
    };
    raw.on('end', closed);
    raw.on('close', closed);
  }

  static open(port: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const raw = net.connect({ host: '127.0.0.1', port, noDelay: true });
      const timer = setTimeout(() => {
        raw.destroy();
        reject(new Error('connect timed out'));
      }, 5_000);
      raw.once('connect', () => {
        clearTimeout(timer);
        raw.removeAllListeners('error');
        resolve(new Probe(raw));
      });
      raw.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  get closed(): boolean {
    return this.inbox.closed;
  }

  /** Writes the pieces, sometimes letting the event loop (and the network) run between them. */
  async send(pieces: readonly Buffer[], rng: Prng, socket: net.Socket = this.secure ?? this.raw): Promise<void> {
    for (const piece of pieces) {
      if (this.closed || socket.destroyed || !socket.writable) return;
      this.lastWriteAt = Date.now();
      socket.write(piece);
      if (pieces.length > 1) {
        const pause = rng.int(0, 9);
        if (pause >= 7) await new Promise((resolve) => setTimeout(resolve, pause - 6));
        else if (pause >= 3) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /**
   * Starts TLS over this connection (after 'S', or at once for direct TLS). Raw bytes can still be
   * written with `raw.write`, under the TLS layer. Resolves when the handshake finishes or fails.
   */
  startTls(options: tls.ConnectionOptions, timeoutMs = 5_000): Promise<'secure' | 'failed'> {
    const raw = this.raw;
    const feed = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        if (raw.destroyed) return callback();
        this.lastWriteAt = Date.now();
        raw.write(chunk, () => callback());
      },
      final(callback) {
        raw.end();
        callback();
      },
    });
    feed.on('error', () => undefined);
    // From here raw bytes feed TLS; before it, the client read at most the one-byte 'S'.
    this.tlsFeed = feed;
    const secure = tls.connect({ ...options, socket: feed, servername: options.servername ?? 'localhost' });
    this.secure = secure;
    secure.on('data', (chunk: Buffer) => this.secureInbox.push(chunk));
    secure.on('error', () => undefined);
    secure.on('close', () => this.secureInbox.close());
    if (this.closed) feed.push(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish('failed'), timeoutMs);
      const finish = (result: 'secure' | 'failed') => {
        clearTimeout(timer);
        secure.off('secureConnect', onSecure);
        secure.off('close', onClose);
        resolve(result);
      };
      const onSecure = () => finish('secure');
      const onClose = () => finish('failed');
      secure.once('secureConnect', onSecure);
      secure.once('close', onClose);
    });
  }

  /** Ends the case the way clients go away: politely, abruptly, or by a reset. */
  async close(rng: Prng): Promise<void> {
    const style = rng.int(0, 9);
    if (style <= 4) {
      this.secure?.destroy();
      this.raw.destroy();
    } else if (style <= 7) {
      // Half-close, then give the other side a moment to finish.
      if (this.secure !== undefined && !this.secure.destroyed) this.secure.end();
      else this.raw.end();
      await this.inbox.waitFor(() => false, 50);
      this.secure?.destroy();
      this.raw.destroy();
    } else {
      this.secure?.destroy();
      // Node 20 loses the handle (and its fd) of a socket reset right after a write, or after
      // Gatehouse's FIN started our own shutdown: reset only a connection that is open and idle.
      const idle = Date.now() - this.lastWriteAt;
      if (idle < 20) await new Promise((resolve) => setTimeout(resolve, 20 - idle));
      if (this.raw.destroyed || this.inbox.closed || this.raw.writableEnded) this.raw.destroy();
      else this.raw.unref().resetAndDestroy();
    }
  }

  destroy(): void {
    this.secure?.destroy();
    this.raw.destroy();
  }
}

/** The types of the whole messages at the front of a stream of backend messages. */
export function backendMessageTypes(stream: Buffer): number[] {
  const types: number[] = [];
  let offset = 0;
  while (offset + 5 <= stream.length) {
    const length = stream.readInt32BE(offset + 1);
    if (length < 4) break;
    types.push(stream[offset]!);
    offset += 1 + length;
  }
  return types;
}
