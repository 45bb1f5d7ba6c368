// Shared pieces of the property-based tests of the wire parsers (test/unit/**/*.property.test.ts):
// lengths a hostile peer would claim, ways a byte stream can arrive in pieces, byte-level
// mutations of valid messages, and a spy that records every Buffer allocation so a test can
// prove that no claimed length was allocated before it was checked.
import fc from 'fast-check';
import { vi } from 'vitest';

/**
 * int32 lengths around a valid one: negative, zero, just short, exact, just long, at the caps
 * the parsers use, and enormous (0x7fffffff; 0x80000000 reads back as the most negative int32).
 */
export function hostileLength(valid: number, caps: readonly number[] = []): fc.Arbitrary<number> {
  const special = [-0x80000000, -1, 0, 1, 3, 4, 5, 7, 8, 9, valid - 1, valid, valid + 1, 0x3fffffff, 0x40000000, 0x7fffffff];
  for (const cap of caps) special.push(cap - 1, cap, cap + 1);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...special.filter((value) => value >= -0x80000000 && value <= 0x7fffffff)) },
    { weight: 1, arbitrary: fc.integer({ min: -0x80000000, max: 0x7fffffff }) },
    { weight: 1, arbitrary: fc.integer({ min: Math.max(-0x80000000, valid - 16), max: Math.min(0x7fffffff, valid + 16) }) },
  );
}

/** `buf` with the big-endian int32 at `offset` replaced (a copy). */
export function withInt32(buf: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(buf);
  copy.writeInt32BE(value, offset);
  return copy;
}

/** `buf` cut at the given points (ignored when out of range), in order. */
export function splitAt(buf: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.filter((point) => point > 0 && point < buf.length))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    pieces.push(buf.subarray(start, cut));
    start = cut;
  }
  pieces.push(buf.subarray(start));
  return pieces;
}

/** Every way of cutting `buf` once, plus one byte at a time: what "split at every boundary" means. */
export function everySplit(buf: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let cut = 0; cut <= buf.length; cut++) ways.push([buf.subarray(0, cut), buf.subarray(cut)]);
  ways.push(Array.from({ length: buf.length }, (_, index) => buf.subarray(index, index + 1)));
  return ways;
}

/** Cut points for a buffer of up to `maxLength` bytes (use with splitAt). */
export function cutPoints(maxLength: number): fc.Arbitrary<number[]> {
  return fc.array(fc.nat({ max: Math.max(1, maxLength) }), { maxLength: 12 });
}

export type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'int32'; at: number; value: number };

/** A byte-level change at a position given as a fraction of the buffer's length. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('int32' as const), at: fc.nat(), value: hostileLength(64) }),
);

export function mutate(buf: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(buf);
  for (const change of mutations) {
    const at = out.length === 0 ? 0 : change.at % (out.length + 1);
    switch (change.kind) {
      case 'set':
        if (at < out.length) out[at] = change.value;
        break;
      case 'flip':
        if (at < out.length) out[at] = out[at]! ^ (1 << change.bit);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(change.bytes), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + change.count)]);
        break;
      case 'int32':
        if (at + 4 <= out.length) out.writeInt32BE(change.value, at);
        break;
    }
  }
  return Buffer.from(out);
}

/** A Uint8Array from fast-check as a Buffer (a view, no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Runs `action` with Buffer.alloc, allocUnsafe, allocUnsafeSlow, from and concat spied on and
 * returns the largest buffer any of them produced (0 when none was made). Buffer.concat and the
 * copying forms of Buffer.from go through these, so a parser that allocates a claimed length
 * shows up here before it could take the memory.
 */
export function largestAllocation(action: () => void): number {
  let largest = 0;
  const record = (result: Buffer) => {
    if (result.length > largest) largest = result.length;
    return result;
  };
  const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'from', 'concat'] as const).map((name) => {
    const original = Buffer[name] as (...args: unknown[]) => Buffer;
    return vi.spyOn(Buffer, name).mockImplementation(((...args: unknown[]) => {
      // A size argument is checked before it reaches Node, which would try to allocate it.
      if (typeof args[0] === 'number' && args[0] > largest) largest = args[0];
      return record(original.apply(Buffer, args));
    }) as never);
  });
  try {
    action();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return largest;
}

/**
 * What `action` did: its value, or the error it threw when the error is of `allowed` (anything
 * else is rethrown, failing the property).
 */
export function outcome<T>(action: () => T, allowed: (error: unknown) => boolean): { value: T } | { error: unknown } {
  try {
    return { value: action() };
  } catch (error) {
    if (!allowed(error)) throw error;
    return { error };
  }
}
