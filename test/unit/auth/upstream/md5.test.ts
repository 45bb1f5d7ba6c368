import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { md5PasswordHash, md5PasswordMessage, md5PasswordResponse } from '../../../../src/auth/upstream/md5.js';
import { ErrorCodes, SqlState } from '../../../../src/errors.js';
import { gatehouseError, unframe } from './frontend-message-helpers.js';

/** The definition, written out separately: 'md5' + hex(md5(hex(md5(password ‖ user)) ‖ salt)). */
function byDefinition(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from(user, 'utf8')])).digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner, 'ascii'), salt])).digest('hex');
}

describe('md5 password authentication', () => {
  it('matches the published example in the gel-auth crate (password "secret", user "user", salt 01020304)', () => {
    expect(md5PasswordResponse('user', 'secret', Buffer.from([1, 2, 3, 4]))).toBe('md5fccef98e4f1cf6cbe96b743fad4e8bd0');
  });

  it('stores the hash passlib documents for password "password" and user "username"', () => {
    expect(md5PasswordHash('username', 'password')).toBe('md55a231fcdb710d73268c4f44283487ba2');
  });

  it('matches a login PostgreSQL 17 accepted (role md5user, password xyzzy)', () => {
    // pg_authid.rolpassword and the salt the server sent, with the reply it accepted.
    expect(md5PasswordHash('md5user', 'xyzzy')).toBe('md5464051dc0a85a08e41321b01d9a64f54');
    expect(md5PasswordResponse('md5user', 'xyzzy', Buffer.from('bb797646', 'hex'))).toBe('md5cef4fdd910e36ba3fda0cde929cff55f');
  });

  it('agrees with the definition for any user, password and salt', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), (user, password, salt) => {
        fc.pre(!password.includes('\0'));
        expect(md5PasswordResponse(user, password, Buffer.from(salt))).toBe(byDefinition(user, password, Buffer.from(salt)));
      }),
    );
  });

  it('frames the response as a PasswordMessage', () => {
    const { type, body } = unframe(md5PasswordMessage('user', 'secret', Buffer.from([1, 2, 3, 4])));
    expect(type).toBe('p');
    expect(body.toString('latin1')).toBe('md5fccef98e4f1cf6cbe96b743fad4e8bd0\0');
  });

  it('refuses a salt that is not 4 bytes', () => {
    const error = gatehouseError(() => md5PasswordMessage('u', 'p', Buffer.alloc(3)));
    expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
    expect(error.sqlState).toBe(SqlState.PROTOCOL_VIOLATION);
  });

  it('refuses a password with a NUL in it', () => {
    expect(gatehouseError(() => md5PasswordMessage('u', 'a\0b', Buffer.alloc(4))).message).toMatch(/NUL/);
  });
});
