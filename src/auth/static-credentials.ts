// Credentials from the database's `auth` block: one fixed login (`user`) or the session's own
// database user, with a password read from an environment variable or a file at connect time,
// so a rotated secret file is picked up by the next session without a restart.
import { readFile } from 'node:fs/promises';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import type { CredentialRequest, CredentialSource, UpstreamCredentials } from './credentials.js';

export class StaticCredentialSource implements CredentialSource {
  /** `fixed` holds credentials Gatehouse made itself (the embedded database's), by database name. */
  constructor(
    private readonly fixed: ReadonlyMap<string, UpstreamCredentials> = new Map(),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async credentialsFor({ database, dbUser }: CredentialRequest): Promise<UpstreamCredentials> {
    const auth = database.auth;
    const own = this.fixed.get(database.name);
    if (own !== undefined && (auth === undefined || (auth.password_env === undefined && auth.password_file === undefined))) {
      return { user: auth?.user ?? own.user, password: own.password };
    }
    const user = auth?.user ?? dbUser;
    if (auth?.password_env !== undefined) {
      const password = this.env[auth.password_env];
      if (password === undefined || password === '') {
        throw unavailable(`the password for database "${database.name}" comes from the environment variable ${auth.password_env}, which is not set in Gatehouse's environment`);
      }
      return { user, password };
    }
    if (auth?.password_file !== undefined) {
      let text: string;
      try {
        text = await readFile(auth.password_file, 'utf8');
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        throw unavailable(`the password file for database "${database.name}" (${auth.password_file}) cannot be read: ${reason}`);
      }
      const password = text.replace(/\r?\n$/, '');
      if (password === '') throw unavailable(`the password file for database "${database.name}" (${auth.password_file}) is empty`);
      return { user, password };
    }
    return { user };
  }
}

function unavailable(message: string): GatehouseError {
  return new GatehouseError(ErrorCodes.CREDENTIALS_UNAVAILABLE, message, {
    sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
    hint: 'This is a Gatehouse configuration problem: tell the Gatehouse administrator.',
  });
}
