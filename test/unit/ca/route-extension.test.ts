import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DerError } from '../../../src/ca/der.js';
import {
  ROUTE_EXTENSION_OID,
  ROUTE_EXTENSION_OID_CONTENT,
  badIdentityText,
  decodeRouteExtension,
  encodeRouteExtension,
} from '../../../src/ca/route-extension.js';

const hex = (value: Uint8Array): string => Buffer.from(value).toString('hex');
const fromHex = (value: string): Uint8Array => Uint8Array.from(Buffer.from(value, 'hex'));

describe('the route extension OID', () => {
  it('is the UUID 42f13988-a124-46e1-8610-646243532b21 under 2.25', () => {
    expect(ROUTE_EXTENSION_OID).toBe(`2.25.${BigInt('0x42f13988a12446e18610646243532b21').toString()}`);
  });

  it('encodes as openssl encodes it', () => {
    // openssl asn1parse -genstr OID:2.25.88981558186959793791865425057847388961 → 06 14 <these bytes>
    expect(hex(ROUTE_EXTENSION_OID_CONTENT)).toBe('698185f19ce29492a29bc38688998ca49accd621');
  });
});

describe('encodeRouteExtension', () => {
  it('writes the documented DER', () => {
    // SEQUENCE { UTF8String "local", [0] "postgres" }
    expect(hex(encodeRouteExtension({ database: 'local', dbUser: 'postgres' }))).toBe('30110c056c6f63616c8008706f737467726573');
    // SEQUENCE { UTF8String "db", [1] "app" }
    expect(hex(encodeRouteExtension({ database: 'db', dbName: 'app' }))).toBe('30090c0264628103617070');
    expect(hex(encodeRouteExtension({ database: 'db' }))).toBe('30040c026462');
  });

  it('refuses fields that could not be read back', () => {
    expect(() => encodeRouteExtension({ database: '' })).toThrow(/database .* it is empty/);
    expect(() => encodeRouteExtension({ database: 'db', dbUser: 'a\u0000b' })).toThrow(/db user .* control characters/);
    expect(() => encodeRouteExtension({ database: 'x'.repeat(1025) })).toThrow(/longer than 1024 bytes/);
  });

  it('round-trips any usable text', () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((value) => badIdentityText(value) === undefined);
    fc.assert(
      fc.property(text, fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), (database, dbUser, dbName) => {
        const route = { database, ...(dbUser === undefined ? {} : { dbUser }), ...(dbName === undefined ? {} : { dbName }) };
        expect(decodeRouteExtension(encodeRouteExtension(route))).toEqual(route);
      }),
    );
  });
});

describe('decodeRouteExtension', () => {
  it('reads all three fields', () => {
    expect(decodeRouteExtension(fromHex('30140c0264628003626f628109616e616c7974696373'))).toEqual({
      database: 'db',
      dbUser: 'bob',
      dbName: 'analytics',
    });
  });

  it('reads UTF-8', () => {
    expect(decodeRouteExtension(encodeRouteExtension({ database: 'bäse', dbUser: '用户' }))).toEqual({ database: 'bäse', dbUser: '用户' });
  });

  it.each([
    ['an empty value', '', /past the end/],
    ['no database', '3000', /database name is missing/],
    ['an empty database', '30020c00', /database is unusable: it is empty/],
    ['the database as a PrintableString', '300413026462', /database name is missing/],
    ['db name before db user', '300c0c0264628103617070800162', /out of order/],
    ['db user twice', '300c0c0264628001618003626f62', /repeated/],
    ['an unknown field', '30070c0264628201aa', /unexpected field with tag 0x82/],
    ['trailing bytes', '30040c02646200', /trailing bytes/],
    ['invalid UTF-8', '30040c02c328', /not valid UTF-8/],
    ['a NUL in the db user', '30080c02646280026100', /control characters/],
    ['a SET instead of a SEQUENCE', '31040c026462', /expected tag 0x30/],
    ['a child longer than the sequence', '30040c056462', /past the end/],
  ])('refuses %s', (_label, value, message) => {
    expect(() => decodeRouteExtension(fromHex(value))).toThrow(DerError);
    expect(() => decodeRouteExtension(fromHex(value))).toThrow(message);
  });

  it('throws nothing but DerError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          decodeRouteExtension(input);
        } catch (error) {
          expect(error).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but DerError on mutations of a valid value', () => {
    const valid = encodeRouteExtension({ database: 'local', dbUser: 'postgres', dbName: 'app' });
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: valid.length }), (index, value, cut) => {
        const mutated = Uint8Array.from(valid).subarray(0, Math.max(cut, index + 1));
        mutated[index] = value;
        try {
          const route = decodeRouteExtension(mutated);
          expect(typeof route.database).toBe('string');
        } catch (error) {
          expect(error).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
