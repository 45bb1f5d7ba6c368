import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAuthenticationRequest } from '../../../../src/auth/upstream/authentication-request.js';
import { ErrorCodes, SqlState } from '../../../../src/errors.js';
import { gatehouseError, onlyGatehouseErrors } from './frontend-message-helpers.js';

function request(code: number, ...rest: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(code, 0);
  return Buffer.concat([head, ...rest]);
}

describe('parseAuthenticationRequest', () => {
  it('reads AuthenticationOk (0) and AuthenticationCleartextPassword (3)', () => {
    expect(parseAuthenticationRequest(request(0))).toEqual({ kind: 'ok' });
    expect(parseAuthenticationRequest(request(3))).toEqual({ kind: 'cleartext' });
  });

  it('reads AuthenticationMD5Password (5) and its 4-byte salt', () => {
    expect(parseAuthenticationRequest(request(5, Buffer.from('bb797646', 'hex')))).toEqual({ kind: 'md5', salt: Buffer.from('bb797646', 'hex') });
  });

  it('reads AuthenticationSASL (10) and its mechanism list', () => {
    expect(parseAuthenticationRequest(request(10, Buffer.from('SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0')))).toEqual({
      kind: 'sasl',
      mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
    });
  });

  it('reads AuthenticationSASLContinue (11) and AuthenticationSASLFinal (12) data', () => {
    expect(parseAuthenticationRequest(request(11, Buffer.from('r=abc,s=QQ==,i=1')))).toEqual({ kind: 'sasl-continue', data: Buffer.from('r=abc,s=QQ==,i=1') });
    expect(parseAuthenticationRequest(request(12, Buffer.from('v=QQ==')))).toEqual({ kind: 'sasl-final', data: Buffer.from('v=QQ==') });
  });

  it('reads Redshift\'s AUTH_REQ_DIGEST (13)', () => {
    const rest = Buffer.from('00000000' + '00000002' + 'abcd' + '00000003' + '010203', 'hex');
    expect(parseAuthenticationRequest(request(13, rest))).toEqual({
      kind: 'redshift-digest',
      request: { algorithm: 0, salt: Buffer.from('abcd', 'hex'), serverNonce: Buffer.from('010203', 'hex') },
    });
  });

  it.each([
    [2, 'KerberosV5'],
    [7, 'GSSAPI'],
    [8, 'GSSAPI'],
    [9, 'SSPI'],
    [14, 'Redshift identity-provider token'],
    [42, 'unknown'],
    [-1, 'unknown'],
  ])('reports code %i as unsupported (%s), whatever follows it', (code, method) => {
    expect(parseAuthenticationRequest(request(code, Buffer.from('anything')))).toEqual({ kind: 'unsupported', code, method });
  });

  it('returns copies of salts and data, not views into the message', () => {
    const md5 = request(5, Buffer.from([1, 2, 3, 4]));
    const parsedMd5 = parseAuthenticationRequest(md5);
    const sasl = request(11, Buffer.from('r=x'));
    const parsedSasl = parseAuthenticationRequest(sasl);
    md5.fill(0);
    sasl.fill(0);
    expect(parsedMd5).toEqual({ kind: 'md5', salt: Buffer.from([1, 2, 3, 4]) });
    expect(parsedSasl).toEqual({ kind: 'sasl-continue', data: Buffer.from('r=x') });
  });

  it.each([
    ['too short for a code', Buffer.from([0, 0, 0])],
    ['AuthenticationOk with a payload', request(0, Buffer.from([0]))],
    ['AuthenticationCleartextPassword with a payload', request(3, Buffer.from([0, 0]))],
    ['an MD5 salt of 3 bytes', request(5, Buffer.from([1, 2, 3]))],
    ['an MD5 salt of 5 bytes', request(5, Buffer.from([1, 2, 3, 4, 5]))],
    ['an empty SASL body', request(10)],
    ['an unterminated SASL list', request(10, Buffer.from('SCRAM-SHA-256\0'))],
    ['a SASL name without its NUL', request(10, Buffer.from('SCRAM-SHA-256'))],
    ['an empty SASL list', request(10, Buffer.from([0]))],
    ['bytes after the SASL list', request(10, Buffer.from('SCRAM-SHA-256\0\0x'))],
    ['a non-printable SASL mechanism name', request(10, Buffer.from('SCRAM\x01\0\0', 'latin1'))],
    ['a truncated Redshift digest request', request(13, Buffer.from('0000000000000004ab', 'hex'))],
  ])('refuses %s', (_what, body) => {
    const error = gatehouseError(() => parseAuthenticationRequest(body));
    expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
    expect(error.sqlState).toBe(SqlState.PROTOCOL_VIOLATION);
  });

  it('raises only GatehouseErrors on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        onlyGatehouseErrors(() => parseAuthenticationRequest(Buffer.from(bytes)));
      }),
    );
  });

  it('raises only GatehouseErrors on random bodies behind every known code', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 3, 5, 10, 11, 12, 13), fc.uint8Array({ maxLength: 64 }), (code, rest) => {
        onlyGatehouseErrors(() => parseAuthenticationRequest(request(code, Buffer.from(rest))));
      }),
      { numRuns: 500 },
    );
  });
});
