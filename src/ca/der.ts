// The smallest DER reader and writer Gatehouse needs: enough to walk a certificate to its subject
// and extensions on every client connection without node-forge, and to encode the route extension.
// Everything read here may be hostile: every length is checked against the bytes that are there
// and against the enclosing element before it is used, and only definite, minimal lengths pass.

/** A malformed or unexpected DER encoding; callers turn it into the error their reader expects. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const DerTag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One tag-length-value element: `start`..`end` is its content inside the buffer it was read from. */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** Four length bytes already allow a 4 GiB element; nothing in a certificate comes close. */
const MAX_LENGTH_BYTES = 4;

/** Reads the element at `offset`, which must end at or before `limit`. */
export function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv {
  if (limit > bytes.length || offset < 0 || offset >= limit) throw new DerError('element runs past the end of its container');
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in these structures');
  let cursor = offset + 1;
  if (cursor >= limit) throw new DerError('element has no length');
  const first = bytes[cursor] as number;
  cursor += 1;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('indefinite lengths are not DER');
    if (count > MAX_LENGTH_BYTES) throw new DerError('length field too long');
    if (cursor + count > limit) throw new DerError('length field runs past the end of its container');
    length = 0;
    for (let index = 0; index < count; index += 1) length = length * 256 + (bytes[cursor + index] as number);
    if (bytes[cursor] === 0 || length < 0x80) throw new DerError('length is not minimally encoded');
    cursor += count;
  }
  if (length > limit - cursor) throw new DerError('element content runs past the end of its container');
  return { tag, start: cursor, end: cursor + length };
}

/** Reads the element at `offset` and insists on its tag. */
export function expectTlv(bytes: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(bytes, offset, limit);
  if (tlv.tag !== tag) throw new DerError(`${what}: expected tag 0x${hex(tag)}, found 0x${hex(tlv.tag)}`);
  return tlv;
}

/** The elements directly inside a constructed element. */
export function children(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const result: Tlv[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    result.push(child);
    offset = child.end;
  }
  return result;
}

export function contentEquals(bytes: Uint8Array, tlv: Tlv, expected: Uint8Array): boolean {
  if (tlv.end - tlv.start !== expected.length) return false;
  for (let index = 0; index < expected.length; index += 1) {
    if (bytes[tlv.start + index] !== expected[index]) return false;
  }
  return true;
}

/** Encodes one element with a definite, minimal length. */
export function encodeTlv(tag: number, content: Uint8Array): Uint8Array {
  const length = content.length;
  let header: number[];
  if (length < 0x80) {
    header = [tag, length];
  } else {
    const lengthBytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest % 256);
    header = [tag, 0x80 | lengthBytes.length, ...lengthBytes];
  }
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  out.set(content, header.length);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The content octets of an OBJECT IDENTIFIER (X.690 8.19); arcs may exceed 2^53, hence BigInt. */
export function encodeOidContent(dotted: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new DerError(`not an object identifier: ${dotted}`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  if (first < 2n && second > 39n) throw new DerError(`second arc of ${dotted} is out of range`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) groups.unshift(Number(value & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return Uint8Array.from(out);
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}
