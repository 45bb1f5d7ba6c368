import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['30m', 1_800_000],
    ['8h', 28_800_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1m30s500ms', 90_500],
    ['1.5h', 5_400_000],
    ['1.1s', 1_100],
    ['.5s', 500],
    ['0', 0],
    ['0s', 0],
    ['2h0m', 7_200_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'a duration cannot be empty; write e.g. 10s, 30m, 8h or 1h30m'],
    ['10', '"10" has no unit; write e.g. 10s or 10ms (units: h, m, s, ms)'],
    ['-5s', '"-5s" is negative; durations must be 0 or longer'],
    ['5d', '"5d" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)'],
    ['10 s', '"10 s" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)'],
    ['1h30', '"1h30" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)'],
    ['10S', '"10S" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)'],
    ['0.5ms', '"0.5ms" is finer than a millisecond'],
    ['99999999999999999h', '"99999999999999999h" is too long'],
  ])('rejects %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(new Error(message));
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [10_000, '10s'],
    [5_400_000, '1h30m'],
    [43_200_000, '12h'],
    [90_061_001, '25h1m1s1ms'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('refuses what is not a whole, non-negative number of milliseconds', () => {
    expect(() => formatDuration(-1)).toThrow(/cannot format -1/);
    expect(() => formatDuration(1.5)).toThrow(/cannot format 1.5/);
  });

  it('round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
