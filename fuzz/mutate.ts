// Byte-level mutations of valid input, the way a fuzzer finds what a parser did not expect: flip a
// bit, set a byte to an interesting value, overwrite a length field with a hostile one, cut,
// insert, delete, duplicate or splice. Also the ways a stream arrives: in random pieces.
import type { Prng } from './prng.js';

/** int32 values a hostile peer would put in a length field. */
export const HOSTILE_INT32 = [
  -0x80000000, -1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 255, 256, 257, 1024, 9_999, 10_000, 10_001, 65_535, 65_536,
  1_048_576, 0x3fffffff, 0x40000000, 0x7ffffffe, 0x7fffffff,
];
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x16, 0x03, 0x14, 0x15, 0x17];

export function hostileInt32(rng: Prng): number {
  return rng.chance(0.8) ? rng.pick(HOSTILE_INT32) : rng.next() | 0;
}

/** 1 to `max` mutations of `input` (never changes `input` itself). */
export function mutate(input: Buffer, rng: Prng, max = 4): Buffer {
  let out: Buffer = Buffer.from(input);
  const count = rng.int(1, max);
  for (let i = 0; i < count; i++) out = mutateOnce(out, rng);
  return out;
}

function mutateOnce(buf: Buffer, rng: Prng): Buffer {
  const at = buf.length === 0 ? 0 : rng.int(0, buf.length - 1);
  switch (rng.int(0, 9)) {
    case 0:
      if (buf.length > 0) buf[at] = buf[at]! ^ (1 << rng.int(0, 7));
      return buf;
    case 1:
      if (buf.length > 0) buf[at] = rng.pick(INTERESTING_BYTES);
      return buf;
    case 2:
      if (buf.length > 0) buf[at] = rng.next() & 0xff;
      return buf;
    case 3: {
      // A length field: int32 at any position (the protocol's lengths are big-endian int32s).
      if (buf.length >= 4) buf.writeInt32BE(hostileInt32(rng), rng.int(0, buf.length - 4));
      return buf;
    }
    case 4:
      if (buf.length >= 2) buf.writeUInt16BE(rng.pick([0, 1, 0x7fff, 0x8000, 0xffff, rng.int(0, 0xffff)]), rng.int(0, buf.length - 2));
      return buf;
    case 5:
      return buf.subarray(0, rng.int(0, buf.length));
    case 6:
      return Buffer.concat([buf.subarray(0, at), rng.bytes(rng.int(1, 16)), buf.subarray(at)]);
    case 7:
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + rng.int(1, 16))]);
    case 8: {
      // Duplicate a slice: repeated fields and messages.
      const end = Math.min(buf.length, at + rng.int(1, 64));
      return Buffer.concat([buf.subarray(0, end), buf.subarray(at, end), buf.subarray(end)]);
    }
    default: {
      // Swap two slices' order.
      const cut = rng.int(0, buf.length);
      return Buffer.concat([buf.subarray(cut), buf.subarray(0, cut)]);
    }
  }
}

/** `buf` in pieces: whole, one byte at a time, or cut at random points. */
export function chunk(buf: Buffer, rng: Prng): Buffer[] {
  const style = rng.int(0, 9);
  if (style <= 3 || buf.length <= 1) return [buf];
  if (style === 4 && buf.length <= 64) return Array.from(buf, (byte) => Buffer.from([byte]));
  const cuts = new Set<number>();
  const count = rng.int(1, Math.min(8, buf.length - 1));
  for (let i = 0; i < count; i++) cuts.add(rng.int(1, buf.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of sorted) {
    pieces.push(buf.subarray(start, cut));
    start = cut;
  }
  pieces.push(buf.subarray(start));
  return pieces;
}
