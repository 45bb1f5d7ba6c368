// LineBatch gathers whole audit lines and hands them to the file destination in large strings:
// nothing is lost or reordered, a batch goes out once it is big enough, and flush, flushSync and
// end hand over what is left before they act on the destination.
import { describe, expect, it } from 'vitest';
import { LineBatch, type BatchTarget } from '../../../src/audit/line-batch.js';

function recordingTarget(): BatchTarget & { calls: string[]; written: () => string } {
  const calls: string[] = [];
  const writes: string[] = [];
  return {
    calls,
    written: () => writes.join(''),
    write(text) {
      calls.push(`write ${text.length}`);
      writes.push(text);
      return true;
    },
    flush() {
      calls.push('flush');
    },
    flushSync() {
      calls.push('flushSync');
    },
    end() {
      calls.push('end');
    },
  };
}

const line = (i: number) => `{"n":${i}}\n`;

describe('LineBatch', () => {
  it('holds lines until the batch reaches its size, then hands them over in one string, in order', () => {
    const target = recordingTarget();
    const batch = new LineBatch(target, 50);
    for (let i = 0; i < 5; i++) batch.write(line(i));
    expect(target.calls).toEqual([]);
    for (let i = 5; i < 10; i++) batch.write(line(i));
    expect(target.calls.length).toBe(1);
    expect(target.written()).toBe(Array.from({ length: target.written().split('\n').length - 1 }, (_, i) => line(i)).join(''));
  });

  it('hands over what it holds before flush, flushSync and end act on the destination', () => {
    for (const action of ['flush', 'flushSync', 'end'] as const) {
      const target = recordingTarget();
      const batch = new LineBatch(target, 1 << 20);
      batch.write(line(1));
      batch.write(line(2));
      batch[action]();
      expect(target.calls).toEqual([`write ${line(1).length + line(2).length}`, action]);
      expect(target.written()).toBe(line(1) + line(2));
    }
  });

  it('does not write an empty batch', () => {
    const target = recordingTarget();
    const batch = new LineBatch(target, 10);
    batch.flush();
    batch.end();
    expect(target.calls).toEqual(['flush', 'end']);
  });

  it('loses nothing over many batches', () => {
    const target = recordingTarget();
    const batch = new LineBatch(target, 1000);
    const expected: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      expected.push(line(i));
      batch.write(line(i));
    }
    batch.flush();
    expect(target.written()).toBe(expected.join(''));
    expect(target.calls.filter((call) => call.startsWith('write')).length).toBeGreaterThan(10);
  });
});
