import { describe, expect, it } from 'vitest';
import { DerError, children, encodeOidContent, encodeTlv, readTlv } from '../../../src/ca/der.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('readTlv', () => {
  it('reads short and long definite lengths', () => {
    expect(readTlv(bytes(0x04, 0x02, 0xaa, 0xbb), 0, 4)).toEqual({ tag: 0x04, start: 2, end: 4 });
    const long = new Uint8Array(3 + 200);
    long.set([0x04, 0x81, 200]);
    expect(readTlv(long, 0, long.length)).toEqual({ tag: 0x04, start: 3, end: 203 });
    const longer = new Uint8Array(4 + 300);
    longer.set([0x30, 0x82, 0x01, 0x2c]);
    expect(readTlv(longer, 0, longer.length)).toEqual({ tag: 0x30, start: 4, end: 304 });
  });

  it.each([
    ['an indefinite length', bytes(0x30, 0x80, 0x00, 0x00)],
    ['a long form for a short length', bytes(0x04, 0x81, 0x01, 0xaa)],
    ['a leading zero length byte', bytes(0x04, 0x82, 0x00, 0x81, ...new Array<number>(0x81).fill(0))],
    ['a five-byte length', bytes(0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00)],
    ['content past the end', bytes(0x04, 0x05, 0x01)],
    ['a length field past the end', bytes(0x04, 0x82, 0x01)],
    ['no length at all', bytes(0x04)],
    ['a high tag number', bytes(0x1f, 0x01, 0x00)],
    ['nothing', bytes()],
  ])('refuses %s', (_label, input) => {
    expect(() => readTlv(input, 0, input.length)).toThrow(DerError);
  });

  it('keeps a child inside its parent even when the buffer goes on', () => {
    // SEQUENCE of length 2 whose child claims 3 bytes: the bytes exist, but outside the parent.
    const input = bytes(0x30, 0x02, 0x04, 0x03, 0x01, 0x02, 0x03);
    const parent = readTlv(input, 0, input.length);
    expect(() => children(input, parent)).toThrow(DerError);
  });

  it('refuses a limit beyond the buffer', () => {
    expect(() => readTlv(bytes(0x04, 0x00), 0, 5)).toThrow(DerError);
  });
});

describe('encodeTlv', () => {
  it('uses the shortest length form', () => {
    expect([...encodeTlv(0x04, new Uint8Array(127)).subarray(0, 2)]).toEqual([0x04, 0x7f]);
    expect([...encodeTlv(0x04, new Uint8Array(128)).subarray(0, 3)]).toEqual([0x04, 0x81, 0x80]);
    expect([...encodeTlv(0x04, new Uint8Array(256)).subarray(0, 4)]).toEqual([0x04, 0x82, 0x01, 0x00]);
    expect([...encodeTlv(0x04, new Uint8Array(65536)).subarray(0, 5)]).toEqual([0x04, 0x83, 0x01, 0x00, 0x00]);
  });

  it('reads back what it writes', () => {
    for (const size of [0, 1, 127, 128, 255, 256, 70000]) {
      const encoded = encodeTlv(0x0c, new Uint8Array(size).fill(0x41));
      expect(readTlv(encoded, 0, encoded.length)).toMatchObject({ tag: 0x0c, end: encoded.length });
    }
  });
});

describe('encodeOidContent', () => {
  it('matches known encodings', () => {
    // rsaEncryption, from RFC 8017's ASN.1 module: 06 09 2a 86 48 86 f7 0d 01 01 01
    expect(Buffer.from(encodeOidContent('1.2.840.113549.1.1.1')).toString('hex')).toBe('2a864886f70d010101');
    // id-at-commonName
    expect(Buffer.from(encodeOidContent('2.5.4.3')).toString('hex')).toBe('550403');
    // X.667's example UUID OID, 2.25.329800735698586629295641978511506172918 (UUID f81d4fae-7dec-11d0-a765-00a0c91e6bf6);
    // as `openssl asn1parse -genstr OID:2.25.3298...` encodes it: 2*40+25 = 0x69, then base-128 groups.
    expect(Buffer.from(encodeOidContent('2.25.329800735698586629295641978511506172918')).toString('hex')).toBe(
      '6983f09da7ebcfdee0c7a1a7b2c0948cc8f9d776',
    );
  });

  it('refuses what is not an OID', () => {
    expect(() => encodeOidContent('2')).toThrow(DerError);
    expect(() => encodeOidContent('1.40.1')).toThrow(DerError);
    expect(() => encodeOidContent('1.02')).toThrow(DerError);
    expect(() => encodeOidContent('3.1')).toThrow(DerError);
  });
});
