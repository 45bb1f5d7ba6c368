// A bounds-checked cursor over one message body, for the decoders that read what a client or
// server sent. Every read returns undefined when the body ends first instead of throwing, because
// the callers decide what running out means: a malformed message, or the cut end of a message
// that was only partly kept for the audit log.

export class BodyReader {
  private offset = 0;

  constructor(private readonly body: Buffer) {}

  get remaining(): number {
    return this.body.length - this.offset;
  }

  get atEnd(): boolean {
    return this.offset >= this.body.length;
  }

  /** A NUL-terminated string (without its NUL), or undefined when no NUL is left in the body. */
  cstring(): string | undefined {
    const nul = this.body.indexOf(0, this.offset);
    if (nul === -1) return undefined;
    const value = this.body.toString('utf8', this.offset, nul);
    this.offset = nul + 1;
    return value;
  }

  /** The rest of the body as text, ending before any partial UTF-8 sequence a cut left behind. */
  restAsTextPrefix(): string {
    const end = completeUtf8End(this.body, this.offset, this.body.length);
    const value = this.body.toString('utf8', this.offset, end);
    this.offset = this.body.length;
    return value;
  }

  uint8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.body[this.offset++];
  }

  uint16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const value = this.body.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const value = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number | undefined {
    if (this.remaining < 4) return undefined;
    const value = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number | undefined {
    if (this.remaining < 4) return undefined;
    const value = this.body.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A view of the next `length` bytes, or undefined when fewer are left. */
  bytes(length: number): Buffer | undefined {
    if (length < 0 || this.remaining < length) return undefined;
    const view = this.body.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** A view of whatever is left (for the cut end of a truncated body). */
  rest(): Buffer {
    const view = this.body.subarray(this.offset);
    this.offset = this.body.length;
    return view;
  }
}

/**
 * The end of `buf[start, end)` shortened so that it does not finish inside a UTF-8 sequence: a cut
 * through a multi-byte character would otherwise decode as a replacement character.
 */
export function completeUtf8End(buf: Buffer, start: number, end: number): number {
  let lead = end - 1;
  // A UTF-8 sequence has at most three continuation bytes (10xxxxxx) after its lead byte.
  while (lead >= start && end - lead <= 3 && (buf[lead]! & 0xc0) === 0x80) lead--;
  if (lead < start) return end;
  const byte = buf[lead]!;
  const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return end - lead < needed ? lead : end;
}
