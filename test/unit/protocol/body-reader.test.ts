import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BodyReader, completeUtf8End } from '../../../src/protocol/body-reader.js';

describe('completeUtf8End', () => {
  it('never ends inside a character, and keeps every whole one', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.nat(), (text, at) => {
        const bytes = Buffer.from(text);
        const cut = at % (bytes.length + 1);
        const end = completeUtf8End(bytes, 0, cut);
        expect(end).toBeLessThanOrEqual(cut);
        expect(cut - end).toBeLessThan(4);
        const prefix = bytes.toString('utf8', 0, end);
        // A character cut in half would decode as U+FFFD and the prefix would not start the text
        // (the text itself may contain U+FFFD, so checking for the character alone is not enough).
        expect(text.startsWith(prefix)).toBe(true);
        expect(Buffer.byteLength(prefix)).toBe(end);
        // Nothing whole was dropped: one more character would not fit in the cut.
        const next = text.slice(prefix.length).codePointAt(0);
        if (next !== undefined) expect(end + Buffer.byteLength(String.fromCodePoint(next))).toBeGreaterThan(cut);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves invalid bytes to the decoder', () => {
    expect(completeUtf8End(Buffer.from([0x61, 0x80, 0x80, 0x80, 0x80]), 0, 5)).toBe(5);
    expect(completeUtf8End(Buffer.from([0x61, 0xe2, 0x82]), 0, 3)).toBe(1);
    expect(completeUtf8End(Buffer.from([0x80]), 0, 1)).toBe(1);
  });
});

describe('BodyReader', () => {
  it('reads fields in order and reports running out', () => {
    const reader = new BodyReader(Buffer.from([0x61, 0x00, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x07]));
    expect(reader.cstring()).toBe('a');
    expect(reader.int16()).toBe(-2);
    expect(reader.uint32()).toBe(0xffffffff);
    expect(reader.int32()).toBeUndefined();
    expect(reader.bytes(-1)).toBeUndefined();
    expect(reader.bytes(2)).toBeUndefined();
    expect(reader.cstring()).toBeUndefined();
    expect(reader.uint8()).toBe(7);
    expect(reader.atEnd).toBe(true);
    expect(reader.uint8()).toBeUndefined();
  });
});
