// Frames server→client messages during the upstream login only (authentication requests,
// ParameterStatus, BackendKeyData, ReadyForQuery). After login the relay never parses this
// direction. Each body returned is a copy: callers may keep it.
import { ProtocolError } from '../errors.js';
import { ErrorCodes } from '../errors.js';

/** Login-phase messages are small; anything bigger is not a PostgreSQL server talking. */
export const MAX_LOGIN_MESSAGE_BYTES = 1024 * 1024;

export interface BackendMessage {
  type: number;
  body: Buffer;
  /** The whole message, header included, for forwarding it as it came. */
  raw: Buffer;
}

export class BackendReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  /** The next complete message, or null when more bytes are needed. */
  next(): BackendMessage | null {
    if (this.buffered.length < 5) return null;
    const length = this.buffered.readInt32BE(1);
    if (length < 4) throw new ProtocolError(`database sent a message with invalid length ${length}`);
    if (length > MAX_LOGIN_MESSAGE_BYTES) {
      throw new ProtocolError(`database sent a ${length}-byte message during login (limit ${MAX_LOGIN_MESSAGE_BYTES})`, ErrorCodes.MESSAGE_TOO_LARGE);
    }
    if (this.buffered.length < 1 + length) return null;
    const raw = Buffer.from(this.buffered.subarray(0, 1 + length));
    this.buffered = this.buffered.subarray(1 + length);
    return { type: raw[0]!, body: raw.subarray(5), raw };
  }

  /** Bytes after the last message returned (the relay forwards them). */
  rest(): Buffer {
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
}
