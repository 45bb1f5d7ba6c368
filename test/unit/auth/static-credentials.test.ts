// StaticCredentialSource: who Gatehouse logs in to a database as, and with which password, from
// the database's `auth` block (or the embedded database's own generated credentials).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StaticCredentialSource } from '../../../src/auth/static-credentials.js';
import type { UpstreamCredentials } from '../../../src/auth/credentials.js';
import { parseConfig } from '../../../src/config/load.js';
import type { DatabaseAuthConfig, DatabaseConfig } from '../../../src/config/types.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { refusal } from '../../support/refusal.js';

const HINT = 'This is a Gatehouse configuration problem: tell the Gatehouse administrator.';

function database(auth?: DatabaseAuthConfig, name = 'app'): DatabaseConfig {
  return {
    name,
    description: '',
    protocol: 'postgres',
    kind: 'postgres',
    uri: 'db.internal:5432',
    labels: {},
    tls: { mode: 'verify-full' },
    auth,
  };
}

function expectUnavailable(error: GatehouseError, message: string): void {
  expect(error.message).toBe(message);
  expect(error.code).toBe(ErrorCodes.CREDENTIALS_UNAVAILABLE);
  expect(error.code).toBe('GH_ERR_CREDENTIALS_UNAVAILABLE');
  expect(error.sqlState).toBe('08001');
  expect(error.hint).toBe(HINT);
}

let temp: { path: string; remove: () => void };
beforeEach(() => {
  temp = makeTempDir('static-credentials');
});
afterEach(() => {
  temp.remove();
});

describe('StaticCredentialSource: the upstream user', () => {
  it('logs in as the session’s database user, without a password, when there is no auth block', async () => {
    const credentials = await new StaticCredentialSource(new Map(), {}).credentialsFor({ database: database(), dbUser: 'app_reader', dbName: 'app' });
    expect(credentials).toEqual({ user: 'app_reader' });
    expect(credentials.password).toBeUndefined();
  });

  it('logs in as the fixed auth.user whatever database user the session asked for', async () => {
    const source = new StaticCredentialSource(new Map(), {});
    const db = database({ user: 'gatehouse_svc' });
    expect(await source.credentialsFor({ database: db, dbUser: 'alice', dbName: 'app' })).toEqual({ user: 'gatehouse_svc' });
    expect(await source.credentialsFor({ database: db, dbUser: 'postgres', dbName: 'other' })).toEqual({ user: 'gatehouse_svc' });
  });
});

describe('StaticCredentialSource: password_env', () => {
  it('reads the password from the variable, at each session', async () => {
    const env: NodeJS.ProcessEnv = { APP_PG_PASSWORD: 'first' };
    const source = new StaticCredentialSource(new Map(), env);
    const request = { database: database({ password_env: 'APP_PG_PASSWORD' }), dbUser: 'app_rw', dbName: 'app' };
    expect(await source.credentialsFor(request)).toEqual({ user: 'app_rw', password: 'first' });
    env.APP_PG_PASSWORD = 'rotated';
    expect(await source.credentialsFor(request)).toEqual({ user: 'app_rw', password: 'rotated' });
  });

  it('combines the fixed user with the password from the variable', async () => {
    const source = new StaticCredentialSource(new Map(), { PGPASS: ' s p a c e s ' });
    const credentials = await source.credentialsFor({ database: database({ user: 'svc', password_env: 'PGPASS' }), dbUser: 'alice', dbName: 'app' });
    expect(credentials).toEqual({ user: 'svc', password: ' s p a c e s ' });
  });

  it('reads the environment it was given, not the process environment', async () => {
    process.env.GATEHOUSE_TEST_ONLY_IN_PROCESS_ENV = 'from-process';
    try {
      const source = new StaticCredentialSource(new Map(), {});
      const error = await refusal(
        source.credentialsFor({ database: database({ password_env: 'GATEHOUSE_TEST_ONLY_IN_PROCESS_ENV' }), dbUser: 'u', dbName: 'd' }),
      );
      expect(error.code).toBe(ErrorCodes.CREDENTIALS_UNAVAILABLE);
    } finally {
      delete process.env.GATEHOUSE_TEST_ONLY_IN_PROCESS_ENV;
    }
  });

  it('refuses when the variable is not set, naming the database and the variable', async () => {
    const source = new StaticCredentialSource(new Map(), { OTHER: 'x' });
    const error = await refusal(source.credentialsFor({ database: database({ password_env: 'APP_PG_PASSWORD' }), dbUser: 'u', dbName: 'd' }));
    expectUnavailable(
      error,
      'the password for database "app" comes from the environment variable APP_PG_PASSWORD, which is not set in Gatehouse\'s environment',
    );
  });

  it('refuses an empty variable the same way', async () => {
    const source = new StaticCredentialSource(new Map(), { APP_PG_PASSWORD: '' });
    const error = await refusal(source.credentialsFor({ database: database({ password_env: 'APP_PG_PASSWORD' }), dbUser: 'u', dbName: 'd' }));
    expectUnavailable(
      error,
      'the password for database "app" comes from the environment variable APP_PG_PASSWORD, which is not set in Gatehouse\'s environment',
    );
  });
});

describe('StaticCredentialSource: password_file', () => {
  const request = (file: string, user?: string) => ({ database: database({ user, password_file: file }), dbUser: 'session_user', dbName: 'app' });

  for (const [ending, content] of [
    ['a trailing newline', 's3cr3t\n'],
    ['a trailing CRLF', 's3cr3t\r\n'],
    ['no newline', 's3cr3t'],
  ] as const) {
    it(`reads the password from a file with ${ending}`, async () => {
      const file = join(temp.path, 'password');
      writeFileSync(file, content);
      expect(await new StaticCredentialSource(new Map(), {}).credentialsFor(request(file, 'svc'))).toEqual({ user: 'svc', password: 's3cr3t' });
    });
  }

  it('refuses an empty password file like an empty environment variable', async () => {
    const file = join(temp.path, 'password');
    writeFileSync(file, '\n');
    await expect(new StaticCredentialSource(new Map(), {}).credentialsFor(request(file))).rejects.toMatchObject({
      code: 'GH_ERR_CREDENTIALS_UNAVAILABLE',
      message: `the password file for database "app" (${file}) is empty`,
    });
  });

  it('strips only one trailing newline and keeps other whitespace', async () => {
    const file = join(temp.path, 'password');
    writeFileSync(file, '  pass word \n\n');
    expect((await new StaticCredentialSource(new Map(), {}).credentialsFor(request(file))).password).toBe('  pass word \n');
  });

  it('keeps non-ASCII passwords intact', async () => {
    const file = join(temp.path, 'password');
    writeFileSync(file, 'pässwörd-✓\n');
    expect((await new StaticCredentialSource(new Map(), {}).credentialsFor(request(file))).password).toBe('pässwörd-✓');
  });

  it('logs in as the session’s user when only the password is configured', async () => {
    const file = join(temp.path, 'password');
    writeFileSync(file, 'pw\n');
    expect(await new StaticCredentialSource(new Map(), {}).credentialsFor(request(file))).toEqual({ user: 'session_user', password: 'pw' });
  });

  it('reads the file again for every session, so a rotated secret is picked up', async () => {
    const file = join(temp.path, 'password');
    const source = new StaticCredentialSource(new Map(), {});
    writeFileSync(file, 'old\n');
    expect((await source.credentialsFor(request(file))).password).toBe('old');
    writeFileSync(file, 'new\n');
    expect((await source.credentialsFor(request(file))).password).toBe('new');
  });

  it('refuses when the file does not exist, naming the database, the file and the reason', async () => {
    const file = join(temp.path, 'absent', 'password');
    const error = await refusal(new StaticCredentialSource(new Map(), {}).credentialsFor(request(file)));
    expectUnavailable(error, `the password file for database "app" (${file}) cannot be read: ENOENT`);
  });

  it('refuses when the path is a directory', async () => {
    const dir = join(temp.path, 'dir');
    mkdirSync(dir);
    const error = await refusal(new StaticCredentialSource(new Map(), {}).credentialsFor(request(dir)));
    expectUnavailable(error, `the password file for database "app" (${dir}) cannot be read: EISDIR`);
  });
});

describe('StaticCredentialSource: credentials Gatehouse made itself (embedded databases)', () => {
  const generated: UpstreamCredentials = { user: 'gatehouse', password: 'generated-Xy9' };
  const fixed = new Map([['scratch', generated]]);

  it('uses the generated credentials of a database without an auth block', async () => {
    const source = new StaticCredentialSource(fixed, {});
    expect(await source.credentialsFor({ database: database(undefined, 'scratch'), dbUser: 'alice', dbName: 'postgres' })).toEqual(generated);
  });

  it('uses the generated password with the configured user when auth names only a user', async () => {
    const source = new StaticCredentialSource(fixed, {});
    const credentials = await source.credentialsFor({ database: database({ user: 'readonly' }, 'scratch'), dbUser: 'alice', dbName: 'postgres' });
    expect(credentials).toEqual({ user: 'readonly', password: 'generated-Xy9' });
  });

  it('lets a configured password source override the generated one', async () => {
    const source = new StaticCredentialSource(fixed, { SCRATCH_PASSWORD: 'from-env' });
    const credentials = await source.credentialsFor({ database: database({ password_env: 'SCRATCH_PASSWORD' }, 'scratch'), dbUser: 'alice', dbName: 'postgres' });
    expect(credentials).toEqual({ user: 'alice', password: 'from-env' });
  });

  it('does not lend one database’s generated credentials to another', async () => {
    const source = new StaticCredentialSource(fixed, {});
    expect(await source.credentialsFor({ database: database(undefined, 'app'), dbUser: 'alice', dbName: 'app' })).toEqual({ user: 'alice' });
  });

  it('works on an embedded database as parseConfig produces it', async () => {
    const config = parseConfig(
      ['version: v1', `proxy: { data_dir: ${temp.path} }`, 'databases:', '  - name: scratch', '    kind: embedded'].join('\n'),
      'gatehouse.yaml',
    );
    const scratch = config.databases[0]!;
    expect(scratch.kind).toBe('embedded');
    const source = new StaticCredentialSource(fixed, {});
    expect(await source.credentialsFor({ database: scratch, dbUser: 'alice', dbName: 'postgres' })).toEqual(generated);
  });
});
