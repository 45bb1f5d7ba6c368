// MD5 password authentication (AuthenticationMD5Password, code 5), used by older PostgreSQL setups
// and by Amazon Redshift: the reply is 'md5' followed by the hex of
// md5(hex(md5(password + user)) + salt), where the inner hash is what the server stores.
import { createHash } from 'node:crypto';
import { ErrorCodes, GatehouseError, SqlState } from '../../errors.js';
import { frontendMessage } from './frontend-message.js';
import { passwordBytes } from './password-bytes.js';

const NUL = Buffer.from([0]);

/** 'md5' + hex(md5(password + user)): what PostgreSQL stores in pg_authid.rolpassword. */
export function md5PasswordHash(user: string, password: string): string {
  return `md5${createHash('md5').update(passwordBytes(password)).update(user, 'utf8').digest('hex')}`;
}

/** The 35-character 'md5…' response for `user`, `password` and the server's 4-byte salt. */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  if (salt.length !== 4) {
    throw new GatehouseError(ErrorCodes.UPSTREAM_AUTH, `the database sent an MD5 salt of ${salt.length} bytes instead of 4`, {
      sqlState: SqlState.PROTOCOL_VIOLATION,
    });
  }
  const stored = md5PasswordHash(user, password).slice(3);
  return `md5${createHash('md5').update(stored, 'latin1').update(salt).digest('hex')}`;
}

/** PasswordMessage ('p') answering AuthenticationMD5Password. */
export function md5PasswordMessage(user: string, password: string, salt: Buffer): Buffer {
  return frontendMessage('p', Buffer.from(md5PasswordResponse(user, password, salt), 'latin1'), NUL);
}
