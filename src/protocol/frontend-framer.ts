// Follows message boundaries in the client→server stream after login, for two reasons: to refuse
// a length no PostgreSQL server would accept before the bytes are forwarded, and to hand the
// auditor a copy of the head of each message worth recording (Query, Parse, Bind, ...).
//
// It runs on every chunk a client sends, a 15 GiB restore included, so it never copies or holds
// pass-through bytes: the relay forwards the original chunk itself. Per chunk the framer hops
// from header to header; a large CopyData body is skipped with one subtraction per chunk; a
// message that is not audited costs no allocation. A header split across chunks is gathered in a
// fixed 5-byte scratch buffer.
import { ErrorCodes, ProtocolError } from '../errors.js';
import { FrontendMessageType, MAX_MESSAGE_BYTES, MESSAGE_HEADER_BYTES, describeMessageType } from './constants.js';

/** Query, Parse, Bind, Execute, Close, FunctionCall and Terminate: what a session did. */
export const AUDITED_MESSAGE_TYPES: ReadonlySet<number> = new Set<number>([
  FrontendMessageType.QUERY,
  FrontendMessageType.PARSE,
  FrontendMessageType.BIND,
  FrontendMessageType.EXECUTE,
  FrontendMessageType.CLOSE,
  FrontendMessageType.FUNCTION_CALL,
  FrontendMessageType.TERMINATE,
]);

export const DEFAULT_MAX_AUDIT_BYTES = 64 * 1024;

export interface AuditedFrame {
  readonly type: number;
  /** A copy of the first min(bodyLength, maxAuditBytes) body bytes; the receiver may keep it. */
  readonly body: Buffer;
  /** The body length the message declared. */
  readonly bodyLength: number;
  /** True when `body` holds less than the whole body. */
  readonly truncated: boolean;
}

export interface FrontendFramerOptions {
  /** How much of an audited message's body is copied for the auditor (default 64 KiB). */
  maxAuditBytes?: number;
  /** The largest length field accepted, which counts itself (default MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
}

export class FrontendFramer {
  private readonly maxAuditBytes: number;
  private readonly maxMessageBytes: number;
  /** 1 at the index of each audited type byte: one array load per message instead of a Set lookup. */
  private readonly auditedTypes = new Uint8Array(256);
  /** A header that arrived split across chunks. */
  private readonly headerScratch = Buffer.alloc(MESSAGE_HEADER_BYTES);
  private headerFilled = 0;
  /** Body bytes of the current message not yet seen. */
  private bodyRemaining = 0;
  /** The head of an audited message still being gathered from several chunks. */
  private pendingBody: Buffer | undefined;
  private pendingFilled = 0;
  private pendingType = 0;
  private pendingBodyLength = 0;

  constructor(options: FrontendFramerOptions = {}) {
    const maxAuditBytes = options.maxAuditBytes ?? DEFAULT_MAX_AUDIT_BYTES;
    const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(maxAuditBytes) || maxAuditBytes < 0) {
      throw new RangeError(`maxAuditBytes must be a non-negative integer, not ${maxAuditBytes}`);
    }
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 4 || maxMessageBytes > 0x7fffffff) {
      throw new RangeError(`maxMessageBytes must be an integer from 4 to 2147483647, not ${maxMessageBytes}`);
    }
    this.maxAuditBytes = maxAuditBytes;
    this.maxMessageBytes = maxMessageBytes;
    for (const type of AUDITED_MESSAGE_TYPES) this.auditedTypes[type] = 1;
  }

  /** True when the bytes seen so far end exactly on a message boundary. */
  get atMessageBoundary(): boolean {
    return this.headerFilled === 0 && this.bodyRemaining === 0;
  }

  /**
   * Scans one chunk. Calls onFrame for each audited message as soon as its head (up to
   * maxAuditBytes) or whole body has been seen. Throws ProtocolError for a length below 4 or
   * above maxMessageBytes; after a throw (from here or from onFrame) the framer is unusable.
   */
  push(chunk: Buffer, onFrame: (frame: AuditedFrame) => void): void {
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      if (this.bodyRemaining > 0) {
        if (this.pendingBody !== undefined) {
          offset = this.gather(chunk, offset, onFrame);
          continue;
        }
        const available = end - offset;
        if (available <= this.bodyRemaining) {
          this.bodyRemaining -= available;
          return;
        }
        offset += this.bodyRemaining;
        this.bodyRemaining = 0;
      }

      let type: number;
      let length: number;
      if (this.headerFilled === 0 && end - offset >= MESSAGE_HEADER_BYTES) {
        type = chunk[offset]!;
        // Big-endian int32; `<< 24` makes it signed, so a length with the top bit set is negative.
        length = (chunk[offset + 1]! << 24) | (chunk[offset + 2]! << 16) | (chunk[offset + 3]! << 8) | chunk[offset + 4]!;
        offset += MESSAGE_HEADER_BYTES;
      } else {
        while (this.headerFilled < MESSAGE_HEADER_BYTES && offset < end) this.headerScratch[this.headerFilled++] = chunk[offset++]!;
        if (this.headerFilled < MESSAGE_HEADER_BYTES) return;
        this.headerFilled = 0;
        type = this.headerScratch[0]!;
        length = this.headerScratch.readInt32BE(1);
      }
      this.checkLength(type, length);

      const bodyLength = length - 4;
      this.bodyRemaining = bodyLength;
      if (this.auditedTypes[type] !== 1) continue;

      const keep = bodyLength < this.maxAuditBytes ? bodyLength : this.maxAuditBytes;
      const body = Buffer.allocUnsafe(keep);
      if (end - offset >= keep) {
        // The whole head is in this chunk: copy it now; the loop skips the body as usual.
        chunk.copy(body, 0, offset, offset + keep);
        onFrame({ type, body, bodyLength, truncated: bodyLength > keep });
      } else {
        this.pendingBody = body;
        this.pendingFilled = 0;
        this.pendingType = type;
        this.pendingBodyLength = bodyLength;
      }
    }
  }

  /** Copies the next bytes of an audited head; emits the frame once the head is complete. */
  private gather(chunk: Buffer, offset: number, onFrame: (frame: AuditedFrame) => void): number {
    const body = this.pendingBody!;
    const count = Math.min(body.length - this.pendingFilled, chunk.length - offset);
    chunk.copy(body, this.pendingFilled, offset, offset + count);
    this.pendingFilled += count;
    this.bodyRemaining -= count;
    if (this.pendingFilled === body.length) {
      this.pendingBody = undefined;
      onFrame({ type: this.pendingType, body, bodyLength: this.pendingBodyLength, truncated: this.pendingBodyLength > body.length });
    }
    return offset + count;
  }

  private checkLength(type: number, length: number): void {
    if (length < 4) {
      throw new ProtocolError(
        `invalid message from client: a ${describeMessageType(type)} message has length ${length}, but the length counts its own 4 bytes and cannot be less than 4`,
      );
    }
    if (length > this.maxMessageBytes) {
      throw new ProtocolError(
        `message too large: the client sent a ${describeMessageType(type)} message of ${length} bytes, over the limit of ${this.maxMessageBytes} bytes; send the data in smaller pieces`,
        ErrorCodes.MESSAGE_TOO_LARGE,
      );
    }
  }
}
