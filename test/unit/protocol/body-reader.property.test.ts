// Properties of BodyReader, the bounds-checked cursor every decoder reads message bodies with:
// any sequence of reads over any bytes never throws, never reads outside the body, returns
// undefined exactly when the body ends first (a negative or enormous length included), and reads
// what DataView-style reads at the same offset would.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BodyReader, completeUtf8End } from '../../../src/protocol/body-reader.js';
import { asBuffer, hostileLength } from '../../support/wire-properties.js';

type Read = { op: 'uint8' | 'uint16' | 'int16' | 'int32' | 'uint32' | 'cstring' | 'rest' | 'restAsTextPrefix' } | { op: 'bytes'; length: number };

const read: fc.Arbitrary<Read> = fc.oneof(
  fc.constantFrom('uint8', 'uint16', 'int16', 'int32', 'uint32', 'cstring', 'rest', 'restAsTextPrefix').map((op) => ({ op }) as Read),
  hostileLength(4, [16, 64]).map((length) => ({ op: 'bytes', length }) as Read),
);

const WIDTH = { uint8: 1, uint16: 2, int16: 2, int32: 4, uint32: 4 } as const;

describe('BodyReader', () => {
  it('follows a model of the body for any reads, never throwing and never leaving the body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(read, { maxLength: 20 }), (bytes, reads) => {
        const body = asBuffer(bytes);
        const reader = new BodyReader(body);
        let offset = 0;
        for (const step of reads) {
          const left = body.length - offset;
          switch (step.op) {
            case 'uint8':
            case 'uint16':
            case 'int16':
            case 'int32':
            case 'uint32': {
              const width = WIDTH[step.op];
              const value = reader[step.op]();
              if (left < width) expect(value).toBeUndefined();
              else {
                const method = { uint8: 'readUInt8', uint16: 'readUInt16BE', int16: 'readInt16BE', int32: 'readInt32BE', uint32: 'readUInt32BE' }[step.op] as 'readUInt8';
                expect(value).toBe(body[method](offset));
                offset += width;
              }
              break;
            }
            case 'bytes': {
              const value = reader.bytes(step.length);
              if (step.length < 0 || step.length > left) expect(value).toBeUndefined();
              else {
                expect(value).toEqual(body.subarray(offset, offset + step.length));
                offset += step.length;
              }
              break;
            }
            case 'cstring': {
              const nul = body.indexOf(0, offset);
              const value = reader.cstring();
              if (nul === -1) expect(value).toBeUndefined();
              else {
                expect(value).toBe(body.toString('utf8', offset, nul));
                offset = nul + 1;
              }
              break;
            }
            case 'rest':
              expect(reader.rest()).toEqual(body.subarray(offset));
              offset = body.length;
              break;
            case 'restAsTextPrefix': {
              const text = reader.restAsTextPrefix();
              expect(Buffer.byteLength(text)).toBeLessThanOrEqual(3 * (body.length - offset));
              offset = body.length;
              break;
            }
          }
          expect(reader.remaining).toBe(body.length - offset);
          expect(reader.atEnd).toBe(offset >= body.length);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('cuts text only before a partial UTF-8 sequence: the kept part decodes without a replacement character from the cut', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.nat(), (text, at) => {
        const bytes = Buffer.from(text);
        const cut = at % (bytes.length + 1);
        const end = completeUtf8End(bytes, 0, cut);
        expect(end).toBeLessThanOrEqual(cut);
        expect(cut - end).toBeLessThanOrEqual(3);
        expect(text.startsWith(bytes.toString('utf8', 0, end))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
