import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BASTION_BACKOFF } from '../../../src/ssh/backoff.js';

describe('backoffDelayMs', () => {
  const low = () => 0;
  const high = () => 0.999_999;

  it('waits nothing before any failure', () => {
    expect(backoffDelayMs(0, high)).toBe(0);
  });

  it('doubles from 1 s and stops at 30 s, jittered between half and all of each step', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((failures) => backoffDelayMs(failures, high))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect([1, 2, 3, 6, 1000].map((failures) => backoffDelayMs(failures, low))).toEqual([500, 1_000, 2_000, 15_000, 15_000]);
  });

  it('stays within [step/2, step] for any failure count and random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, random) => {
        const step = Math.min(DEFAULT_BASTION_BACKOFF.capMs, DEFAULT_BASTION_BACKOFF.baseMs * 2 ** Math.min(failures - 1, 30));
        const delay = backoffDelayMs(failures, () => random);
        return delay >= step / 2 && delay <= step && Number.isFinite(delay);
      }),
    );
  });

  it('follows a given policy', () => {
    expect(backoffDelayMs(3, high, { baseMs: 100, capMs: 250 })).toBe(250);
  });
});
