// Properties of the replies Gatehouse computes from a database's request and its own password:
// cleartext, MD5 and Redshift's SHA-256 digest. Whatever the inputs (any password text, salts of
// any length, any server nonce, any algorithm number), each either builds a well-framed message or
// raises a GatehouseError saying why (an empty or NUL password: 08001; a salt that is not 4 bytes:
// 08P01; a digest algorithm other than SHA-256: 0A000), never anything else. SASLprep, which runs
// on every SCRAM password, never throws either.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cleartextPasswordMessage } from '../../../../src/auth/upstream/cleartext.js';
import { md5PasswordMessage } from '../../../../src/auth/upstream/md5.js';
import { parseRedshiftDigestRequest, redshiftDigestMessage } from '../../../../src/auth/upstream/redshift-sha256.js';
import { saslprep } from '../../../../src/auth/upstream/saslprep.js';
import { ScramSha256Client } from '../../../../src/auth/upstream/scram-sha-256.js';
import { GatehouseError, SqlState } from '../../../../src/errors.js';
import { outcome } from '../../../support/wire-properties.js';
import { unframe } from './frontend-message-helpers.js';

const anyPassword = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', '\0', 'a\0b', 'ﬀ', '\u00a0', '\u200b', '\ud800', 'x\udfff', '\u0627\u0031'),
  fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((code) => String.fromCharCode(code)), maxLength: 6 }),
);
const unusable = (password: string) => password === '' || password.includes('\0');
const refusedAs = (sqlState: string) => (error: unknown) => error instanceof GatehouseError && error.sqlState === sqlState;

describe('password replies', () => {
  it('cleartext: the password and a NUL, or 08001 for a password no database can have', () => {
    fc.assert(
      fc.property(anyPassword, (password) => {
        const result = outcome(() => cleartextPasswordMessage(password), refusedAs(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH));
        expect('error' in result).toBe(unusable(password));
        if ('value' in result) expect(unframe(result.value)).toEqual({ type: 'p', body: Buffer.from(`${password}\0`) });
      }),
      { numRuns: 1000 },
    );
  });

  it('md5: "md5" and 32 hex digits for a 4-byte salt, 08P01 for any other salt length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), anyPassword, fc.uint8Array({ maxLength: 8 }), (user, password, salt) => {
        const result = outcome(() => md5PasswordMessage(user, password, Buffer.from(salt)), (error) => error instanceof GatehouseError);
        if (salt.length !== 4) expect(result).toHaveProperty('error.sqlState', SqlState.PROTOCOL_VIOLATION);
        else if (unusable(password)) expect(result).toHaveProperty('error.sqlState', SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH);
        else if ('value' in result) expect(unframe(result.value).body.toString('latin1')).toMatch(/^md5[0-9a-f]{32}\0$/);
        else throw new Error('a usable password and a 4-byte salt were refused');
      }),
      { numRuns: 1000 },
    );
  });

  it('Redshift digest: a framed digest for SHA-256, 0A000 for any other algorithm, for any salt and nonce', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(0), fc.integer({ min: -0x80000000, max: 0x7fffffff })), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), anyPassword, fc.uint8Array({ minLength: 1, maxLength: 20 }), (algorithm, salt, serverNonce, password, clientNonce) => {
        const request = { algorithm, salt: Buffer.from(salt), serverNonce: Buffer.from(serverNonce) };
        const result = outcome(() => redshiftDigestMessage(password, request, Buffer.from(clientNonce)), (error) => error instanceof GatehouseError);
        if (algorithm !== 0 || unusable(password)) {
          expect(result).toHaveProperty('error.sqlState', algorithm !== 0 ? SqlState.FEATURE_NOT_SUPPORTED : SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH);
          return;
        }
        const { type, body } = unframe((result as { value: Buffer }).value);
        expect(type).toBe('d');
        // The reply is laid out like the request it answers: int32 length, bytes, int32 length, bytes.
        expect(parseRedshiftDigestRequest(Buffer.concat([Buffer.alloc(4), body]))).toEqual({ algorithm: 0, salt: body.subarray(4, 36), serverNonce: Buffer.from(clientNonce) });
      }),
      { numRuns: 500 },
    );
  });

  it('SASLprep and the SCRAM client take any password text: a result or a GatehouseError, never a crash', () => {
    fc.assert(
      fc.property(anyPassword, (password) => {
        const prepared = saslprep(password);
        expect(prepared === undefined || typeof prepared === 'string').toBe(true);
        outcome(() => new ScramSha256Client(password).start(['SCRAM-SHA-256']), refusedAs(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH));
      }),
      { numRuns: 1000 },
    );
  });
});
