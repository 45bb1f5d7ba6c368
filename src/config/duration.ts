// Durations as people write them in gatehouse.yaml ("10s", "1h30m", "500ms"), in the style of Go's
// time.ParseDuration that Teleport's configs use, converted to whole milliseconds. Arithmetic is
// done on integers (BigInt) so "1.1s" is exactly 1100 ms rather than 1100.0000000000002.

const UNIT_MS: Readonly<Record<string, bigint>> = { h: 3_600_000n, m: 60_000n, s: 1_000n, ms: 1n };

// "ms" must be tried before "m" and "s", so it comes first in the alternation.
const PART = /(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)/y;

/**
 * Parses "10s", "30m", "8h", "1h30m", "1.5h", "500ms" or "0" into milliseconds. Throws an Error with a
 * message that names the text and says what is wrong with it.
 */
export function parseDuration(text: string): number {
  const quoted = JSON.stringify(text);
  if (text === '0') return 0;
  if (text.length === 0) throw new Error('a duration cannot be empty; write e.g. 10s, 30m, 8h or 1h30m');
  if (text.startsWith('-')) throw new Error(`${quoted} is negative; durations must be 0 or longer`);
  if (/^\d+(\.\d*)?$/.test(text)) {
    throw new Error(`${quoted} has no unit; write e.g. ${text}s or ${text}ms (units: h, m, s, ms)`);
  }
  let total = 0n;
  let offset = 0;
  while (offset < text.length) {
    PART.lastIndex = offset;
    const match = PART.exec(text);
    if (match === null) {
      throw new Error(`${quoted} is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)`);
    }
    const [, number = '', unit = ''] = match;
    const unitMs = UNIT_MS[unit] ?? 1n;
    const [whole = '', fraction = ''] = number.split('.');
    total += BigInt(whole === '' ? '0' : whole) * unitMs;
    if (fraction !== '') {
      const scaled = BigInt(fraction) * unitMs;
      const divisor = 10n ** BigInt(fraction.length);
      if (scaled % divisor !== 0n) throw new Error(`${quoted} is finer than a millisecond`);
      total += scaled / divisor;
    }
    offset = PART.lastIndex;
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${quoted} is too long`);
  return Number(total);
}

/** The shortest text parseDuration reads back as `ms`: 5_400_000 → "1h30m", 1500 → "1s500ms", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`cannot format ${ms} as a duration: it must be a whole number of milliseconds, 0 or more`);
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}
