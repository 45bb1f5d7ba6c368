// The helpers of the property tests must be able to fail: the allocation spy sees every way a
// parser could allocate a claimed length, and the mutations change bytes the way they say.
import { describe, expect, it } from 'vitest';
import { everySplit, largestAllocation, mutate, splitAt } from '../../support/wire-properties.js';

describe('largestAllocation', () => {
  it('sees Buffer.alloc, allocUnsafe, from and concat, and restores them afterwards', () => {
    expect(largestAllocation(() => Buffer.alloc(1000))).toBe(1000);
    expect(largestAllocation(() => Buffer.allocUnsafe(2000))).toBe(2000);
    expect(largestAllocation(() => Buffer.from(new Uint8Array(3000)))).toBe(3000);
    expect(largestAllocation(() => Buffer.concat([Buffer.alloc(10), Buffer.alloc(20)]))).toBe(30);
    expect(largestAllocation(() => undefined)).toBe(0);
    expect(largestAllocation(() => Buffer.alloc(7))).toBe(7);
  });

  it('records a claimed size even when Node refuses to allocate it', () => {
    expect(largestAllocation(() => {
      try {
        Buffer.alloc(2 ** 53);
      } catch {
        // the size was still seen
      }
    })).toBe(2 ** 53);
  });
});

describe('splitting and mutating', () => {
  it('splits without losing or reordering bytes', () => {
    const buf = Buffer.from('abcdef');
    expect(Buffer.concat(splitAt(buf, [4, 1, 4, 99, 0]))).toEqual(buf);
    expect(splitAt(buf, [4, 1]).map(String)).toEqual(['a', 'bcd', 'ef']);
    expect(everySplit(buf)).toHaveLength(buf.length + 2);
  });

  it('applies each kind of mutation at the given position', () => {
    const buf = Buffer.from([1, 2, 3, 4, 5, 6]);
    expect(mutate(buf, [{ kind: 'set', at: 1, value: 9 }])).toEqual(Buffer.from([1, 9, 3, 4, 5, 6]));
    expect(mutate(buf, [{ kind: 'flip', at: 0, bit: 1 }])).toEqual(Buffer.from([3, 2, 3, 4, 5, 6]));
    expect(mutate(buf, [{ kind: 'truncate', at: 2 }])).toEqual(Buffer.from([1, 2]));
    expect(mutate(buf, [{ kind: 'insert', at: 6, bytes: Uint8Array.from([7]) }])).toEqual(Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    expect(mutate(buf, [{ kind: 'delete', at: 1, count: 2 }])).toEqual(Buffer.from([1, 4, 5, 6]));
    expect(mutate(buf, [{ kind: 'int32', at: 1, value: -1 }])).toEqual(Buffer.from([1, 255, 255, 255, 255, 6]));
    expect(buf).toEqual(Buffer.from([1, 2, 3, 4, 5, 6]));
  });
});
