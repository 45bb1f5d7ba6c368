// Writes the relay forwards to one socket, with bulk chunks gathered per turn of the event loop.
// A COPY or a large result arrives as several TLS records in one turn (PostgreSQL writes 8 KiB at a
// time); forwarded one write each, every chunk costs its own TLS record, write system call and
// trip through the stream machinery. A chunk of BULK_CHUNK_BYTES or more corks the socket until
// the end of the turn (setImmediate runs once the pending I/O has been handled), so what arrives in
// that turn leaves in one write, as TLS records of up to 16 KiB. Small chunks, the replies of
// interactive queries, are written at once as before: corking them would add work and no saving.
// Order and backpressure are the socket's own: write() returns false when its buffer is full.
import type { Writable } from 'node:stream';

/** Chunks at least this large mark bulk transfer; an interactive reply is rarely over 4 KiB. */
export const BULK_CHUNK_BYTES = 4096;

export class WriteCoalescer {
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(private readonly socket: Writable) {}

  /** Writes a chunk; false when the socket's buffer is full and the source should pause. */
  write(chunk: Buffer): boolean {
    if (!this.corked && chunk.length >= BULK_CHUNK_BYTES) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    return this.socket.write(chunk);
  }
}
