import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseRedshiftDigestRequest,
  redshiftDigestMessage,
  redshiftSha256Digest,
  type RedshiftDigestRequest,
} from '../../../../src/auth/upstream/redshift-sha256.js';
import { ErrorCodes, SqlState } from '../../../../src/errors.js';
import { gatehouseError, onlyGatehouseErrors, unframe } from './frontend-message-helpers.js';

const PASSWORD = 'My_sha256_PaSsWoRdŽ';
const REQUEST: RedshiftDigestRequest = {
  algorithm: 0,
  salt: Buffer.from('0f1e2d3c4b5a6978', 'hex'),
  serverNonce: Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex'),
};
const CLIENT_NONCE = Buffer.from('1700000000000', 'latin1');

function body(algorithm: number, salt: Buffer, nonce: Buffer): Buffer {
  const b = Buffer.alloc(12 + salt.length + nonce.length);
  b.writeInt32BE(algorithm, 0);
  b.writeInt32BE(salt.length, 4);
  salt.copy(b, 8);
  b.writeInt32BE(nonce.length, 8 + salt.length);
  nonce.copy(b, 12 + salt.length);
  return b;
}

describe('Redshift SHA-256 digest', () => {
  it('is SHA256(SHA256(password ‖ salt) ‖ server nonce ‖ client nonce), recomputed from the definition', () => {
    const stored = createHash('sha256').update(Buffer.concat([Buffer.from(PASSWORD, 'utf8'), REQUEST.salt])).digest();
    const expected = createHash('sha256').update(Buffer.concat([stored, REQUEST.serverNonce, CLIENT_NONCE])).digest();
    expect(redshiftSha256Digest(PASSWORD, REQUEST.salt, REQUEST.serverNonce, CLIENT_NONCE)).toEqual(expected);
  });

  it('gives the bytes the Amazon drivers\' algorithm gives for fixed inputs', () => {
    // Computed with Python's hashlib following ExtensibleDigest.encode (JDBC) / core.py (Python):
    // md.update(password); md.update(salt); then md.update(digest); md.update(server_nonce);
    // md.update(client_nonce); and the 'd' message as both drivers write it.
    const message = redshiftDigestMessage(PASSWORD, REQUEST, CLIENT_NONCE);
    expect(message.toString('hex')).toBe(
      '6400000039' +
        '00000020' +
        '470fb767a2a25804e9a25e3deee1e86e6d04dd230ec42e184dd6aecbee1e84b1' +
        '0000000d' +
        Buffer.from('1700000000000').toString('hex'),
    );
  });

  it('sends the current time in milliseconds as the client nonce by default, like the drivers', () => {
    const before = Date.now();
    const { type, body: reply } = unframe(redshiftDigestMessage(PASSWORD, REQUEST));
    const after = Date.now();
    expect(type).toBe('d');
    const digestLength = reply.readInt32BE(0);
    expect(digestLength).toBe(32);
    const nonceLength = reply.readInt32BE(4 + digestLength);
    const nonce = reply.subarray(8 + digestLength).toString('latin1');
    expect(nonce).toHaveLength(nonceLength);
    expect(nonce).toMatch(/^[0-9]+$/);
    expect(Number(nonce)).toBeGreaterThanOrEqual(before);
    expect(Number(nonce)).toBeLessThanOrEqual(after);
    expect(reply.subarray(4, 36)).toEqual(redshiftSha256Digest(PASSWORD, REQUEST.salt, REQUEST.serverNonce, Buffer.from(nonce)));
  });

  it.each([
    [1, /algorithm 1 \(scrypt\)/],
    [2, /algorithm 2 \(Argon2\)/],
    [7, /algorithm 7,/],
  ])('refuses digest algorithm %i, naming it', (algorithm, pattern) => {
    const error = gatehouseError(() => redshiftDigestMessage(PASSWORD, { ...REQUEST, algorithm }));
    expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
    expect(error.sqlState).toBe(SqlState.FEATURE_NOT_SUPPORTED);
    expect(error.message).toMatch(pattern);
  });

  it('refuses a password with a NUL in it', () => {
    expect(gatehouseError(() => redshiftDigestMessage('a\0b', REQUEST)).message).toMatch(/NUL/);
  });
});

describe('parseRedshiftDigestRequest', () => {
  it('reads algorithm, salt and server nonce', () => {
    expect(parseRedshiftDigestRequest(body(0, REQUEST.salt, REQUEST.serverNonce))).toEqual(REQUEST);
  });

  it('accepts empty salt and nonce fields (their lengths are the server\'s business)', () => {
    expect(parseRedshiftDigestRequest(body(0, Buffer.alloc(0), Buffer.alloc(0)))).toEqual({ algorithm: 0, salt: Buffer.alloc(0), serverNonce: Buffer.alloc(0) });
  });

  it('returns copies, not views into the message', () => {
    const raw = body(0, REQUEST.salt, REQUEST.serverNonce);
    const parsed = parseRedshiftDigestRequest(raw);
    raw.fill(0);
    expect(parsed).toEqual(REQUEST);
  });

  const valid = body(0, REQUEST.salt, REQUEST.serverNonce);
  it.each([
    ['empty', Buffer.alloc(0)],
    ['only the algorithm', valid.subarray(0, 4)],
    ['cut inside the salt', valid.subarray(0, 10)],
    ['cut before the nonce length', valid.subarray(0, 8 + REQUEST.salt.length + 2)],
    ['cut inside the nonce', valid.subarray(0, valid.length - 1)],
    ['trailing bytes', Buffer.concat([valid, Buffer.from([0])])],
    ['a negative salt length', (() => { const b = Buffer.from(valid); b.writeInt32BE(-1, 4); return b; })()],
    ['a salt length past the end', (() => { const b = Buffer.from(valid); b.writeInt32BE(0x7fffffff, 4); return b; })()],
    ['a negative nonce length', (() => { const b = Buffer.from(valid); b.writeInt32BE(-8, 8 + REQUEST.salt.length); return b; })()],
  ])('refuses a body %s', (_what, bytes) => {
    const error = gatehouseError(() => parseRedshiftDigestRequest(bytes));
    expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
    expect(error.sqlState).toBe(SqlState.PROTOCOL_VIOLATION);
  });

  it('raises only GatehouseErrors on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        onlyGatehouseErrors(() => parseRedshiftDigestRequest(Buffer.from(bytes)));
      }),
    );
  });

  it('round-trips any well-formed request', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (algorithm, salt, nonce) => {
        expect(parseRedshiftDigestRequest(body(algorithm, Buffer.from(salt), Buffer.from(nonce)))).toEqual({
          algorithm,
          salt: Buffer.from(salt),
          serverNonce: Buffer.from(nonce),
        });
      }),
    );
  });
});
