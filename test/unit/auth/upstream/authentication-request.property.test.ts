// Properties of the parsers of what a database sends to authenticate Gatehouse: the
// Authentication ('R') request and Redshift's digest request inside it. Generated requests read
// back to what they were built from; hostile lengths in the digest request are refused before
// anything is copied from them; and mutated or random bodies raise nothing but a GatehouseError
// with SQLSTATE 08P01 (a malformed message) and code GH_ERR_UPSTREAM_AUTH.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAuthenticationRequest, type AuthenticationRequest } from '../../../../src/auth/upstream/authentication-request.js';
import { parseRedshiftDigestRequest } from '../../../../src/auth/upstream/redshift-sha256.js';
import { ErrorCodes, GatehouseError, SqlState } from '../../../../src/errors.js';
import { asBuffer, hostileLength, largestAllocation, mutate, mutation, outcome, withInt32 } from '../../../support/wire-properties.js';

/** A malformed request must be refused as a protocol violation, with the upstream-auth code. */
const isMalformed = (error: unknown) => error instanceof GatehouseError && error.sqlState === SqlState.PROTOCOL_VIOLATION && error.code === ErrorCodes.UPSTREAM_AUTH;

const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
};

function digestBody(algorithm: number, salt: Buffer, nonce: Buffer): Buffer {
  return Buffer.concat([int32(algorithm), int32(salt.length), salt, int32(nonce.length), nonce]);
}

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));

/** A request body as a server sends it, and what it must parse to. */
const request: fc.Arbitrary<{ body: Buffer; expected: AuthenticationRequest }> = fc.oneof(
  fc.constant({ body: int32(0), expected: { kind: 'ok' } as AuthenticationRequest }),
  fc.constant({ body: int32(3), expected: { kind: 'cleartext' } as AuthenticationRequest }),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((salt) => ({ body: Buffer.concat([int32(5), Buffer.from(salt)]), expected: { kind: 'md5', salt: Buffer.from(salt) } as AuthenticationRequest })),
  fc.array(fc.stringMatching(/^[!-~]{1,20}$/), { minLength: 1, maxLength: 4 }).map((mechanisms) => ({
    body: Buffer.concat([int32(10), ...mechanisms.map((name) => Buffer.from(`${name}\0`)), Buffer.from([0])]),
    expected: { kind: 'sasl', mechanisms } as AuthenticationRequest,
  })),
  bytes(100).map((data) => ({ body: Buffer.concat([int32(11), data]), expected: { kind: 'sasl-continue', data } as AuthenticationRequest })),
  bytes(100).map((data) => ({ body: Buffer.concat([int32(12), data]), expected: { kind: 'sasl-final', data } as AuthenticationRequest })),
  fc.tuple(fc.integer({ min: -0x80000000, max: 0x7fffffff }), bytes(40), bytes(40)).map(([algorithm, salt, serverNonce]) => ({
    body: Buffer.concat([int32(13), digestBody(algorithm, salt, serverNonce)]),
    expected: { kind: 'redshift-digest', request: { algorithm, salt, serverNonce } } as AuthenticationRequest,
  })),
  fc.constantFrom(1, 2, 4, 6, 7, 8, 9, 14, 15, -1, 0x7fffffff).map((code) => ({ body: int32(code), expected: { kind: 'unsupported', code } as AuthenticationRequest })),
);

describe('parseAuthenticationRequest', () => {
  it('reads every generated request back, with copies that outlive the body', () => {
    fc.assert(
      fc.property(request, (generated) => {
        const { expected } = generated;
        const body = Buffer.from(generated.body);
        const parsed = parseAuthenticationRequest(body);
        expect(parsed).toMatchObject(expected);
        body.fill(0xee);
        expect(parsed).toMatchObject(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses mutated and random bodies as malformed, or reads them, and never throws anything else', () => {
    const input = fc.oneof(
      fc.tuple(request, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([{ body }, changes]) => mutate(body, changes)),
      fc.uint8Array({ maxLength: 80 }).map(asBuffer),
    );
    fc.assert(
      fc.property(input, (body) => {
        outcome(() => parseAuthenticationRequest(body), isMalformed);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseRedshiftDigestRequest', () => {
  it('refuses a lying salt or nonce length at every hostile value, copying nothing from it', () => {
    fc.assert(
      fc.property(bytes(24), bytes(24), fc.constantFrom(4, 'nonce'), hostileLength(24, [0x7fffffff]), (salt, nonce, where, length) => {
        const body = digestBody(0, salt, nonce);
        const offset = where === 4 ? 4 : 8 + salt.length;
        const lying = withInt32(body, offset, length);
        let result: ReturnType<typeof outcome> | undefined;
        const largest = largestAllocation(() => {
          result = outcome(() => parseRedshiftDigestRequest(lying), isMalformed);
        });
        expect(largest).toBeLessThanOrEqual(lying.length);
        const truthful = length === (where === 4 ? salt.length : nonce.length);
        if (truthful) expect(result).toEqual({ value: { algorithm: 0, salt, serverNonce: nonce } });
        if (length < 0 || length > lying.length) expect(result).toHaveProperty('error');
      }),
      { numRuns: 500 },
    );
  });
});
