// Turns the configured upstream password into the bytes the authentication methods use. PostgreSQL
// and Redshift hold passwords as C strings and never store an empty one, so a password that is
// empty or holds a NUL can never match; saying so up front beats the server's "invalid password
// packet size" or a puzzling authentication failure.
import { ErrorCodes, GatehouseError, SqlState } from '../../errors.js';

export function passwordBytes(password: string): Buffer {
  const problem = password.length === 0 ? 'is empty' : password.includes('\0') ? 'contains a NUL character' : undefined;
  if (problem !== undefined) {
    throw new GatehouseError(
      ErrorCodes.UPSTREAM_AUTH,
      `the password Gatehouse has for this database ${problem}, which no database password can be`,
      {
        sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
        hint: 'Tell the Gatehouse administrator: check the password source (an empty variable or file, or a stray NUL byte).',
      },
    );
  }
  return Buffer.from(password, 'utf8');
}
