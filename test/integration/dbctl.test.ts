// dbctl end to end, the way a person uses it: the real executables (node dist/cli/dbctl.js and
// dist/cli/gatehouse.js) as subprocesses in a temporary HOME and DBCTL_HOME, against a real
// Gatehouse (in this process) and a real PostgreSQL. An administrator adds users with
// `gatehouse users add`; they log in with a password and with TOTP, list databases, log in to one,
// run psql through the service file, use every `config` format, the local proxy (pg and psql,
// including psql's Ctrl+C), and log out; refusals (wrong password, throttling, a mismatched CA
// pin, an expired identity certificate) end with their message and exit code.
// Needs the build in dist/ (`npm run build`). Tests run in order: later ones use earlier logins.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { caFingerprint } from '../../src/dbctl/ca-trust.js';
import { LocalProxy } from '../../src/dbctl/local-proxy.js';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { locatePsql } from '../../src/dbctl/psql-locator.js';
import { totpCode } from '../../src/users/totp.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { runCommand, type Finished } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DBCTL = join(REPO_ROOT, 'dist/cli/dbctl.js');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
const DB_PASSWORD = 'dbctl-e2e-db-password-4b1d';
const ALICE_PASSWORD = 'correct horse battery staple';
const BOB_PASSWORD = 'bob-has-a-second-factor';
const COMMAND_TIMEOUT_MS = 60_000;

function findPsql(): string | undefined {
  try {
    return locatePsql();
  } catch {
    return undefined;
  }
}
const PSQL = findPsql();
const NO_PSQL = PSQL === undefined ? ' (skipped: psql is not installed, neither on PATH nor in /usr/lib/postgresql/*/bin)' : '';
if (NO_PSQL !== '') console.warn(`dbctl.test.ts: the psql cases are${NO_PSQL}`);

/** Python's pty module gives dbctl a real terminal, so its questions and the no-echo password can be tested. */
const PYTHON = ['python3', '/usr/bin/python3'].find((candidate) => {
  try {
    return execFileSync(candidate, ['-c', 'import pty'], { stdio: 'ignore' }) !== undefined;
  } catch {
    return false;
  }
});
const NO_PYTHON = PYTHON === undefined ? ' (skipped: python3, used to give dbctl a terminal, is not installed)' : '';
/**
 * Runs argv in a pseudo-terminal, typing each answer (joined by \x1f) as soon as a prompt (ending in ":" or
 * "]") appears, and prints everything the terminal showed: a password typed there must never show up.
 */
const TERMINAL_SCRIPT = `
import os, pty, re, select, signal, sys, time
answers = [a for a in os.environ['ANSWERS'].split('\\x1f') if a]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
shown, typed, deadline = b'', 0, time.time() + 50
while time.time() < deadline:
    if not select.select([fd], [], [], 0.5)[0]:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    shown += data
    plain = re.sub(rb'\\x1b\\[[0-9;]*[A-Za-z]', b'', shown).rstrip()
    if typed < len(answers) and (plain.endswith(b':') or plain.endswith(b']')):
        os.write(fd, answers[typed].encode() + b'\\r')
        typed += 1
        shown += b'<typed>'
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(re.sub(r'\\x1b\\[[0-9;]*[A-Za-z]', '', shown.decode(errors='replace')))
sys.exit(os.waitstatus_to_exitcode(status))
`;

let db: TestPostgres;
let gatehouse: TestGatehouse;
let temp: { path: string; remove: () => void };
let configFile: string;
let webProxy: string;
let fingerprint: string;
/** A person's machine: HOME, DBCTL_HOME, and the environment dbctl runs with. */
interface Machine {
  home: string;
  dbctlHome: string;
  serviceFile: string;
  env: NodeJS.ProcessEnv;
}
let alice: Machine;

/** The environment without anything that would point libpq or dbctl at the developer's own setup. */
function machine(name: string): Machine {
  const home = join(temp.path, name);
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG') && !key.startsWith('DBCTL')) env[key] = value;
  const dbctlHome = join(home, '.dbctl');
  // psql is found on PATH by the shell commands dbctl prints, as on a person's machine.
  const path = PSQL === undefined ? (env.PATH ?? '') : `${dirname(PSQL)}:${env.PATH ?? ''}`;
  return { home, dbctlHome, serviceFile: join(home, '.pg_service.conf'), env: { ...env, HOME: home, DBCTL_HOME: dbctlHome, PATH: path } };
}

/** Runs a command from the repository root with stdin always given (dbctl must never wait on a terminal). */
function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Finished> {
  return runCommand(command, args, { cwd: REPO_ROOT, timeoutMs: COMMAND_TIMEOUT_MS, input: options.stdin ?? '', ...(options.env === undefined ? {} : { env: options.env }) });
}

function dbctl(who: Machine, args: readonly string[], stdin?: string): Promise<Finished> {
  return run(process.execPath, [DBCTL, ...args], { env: who.env, ...(stdin === undefined ? {} : { stdin }) });
}

function gatehouseCli(args: readonly string[], stdin?: string): Promise<Finished> {
  return run(process.execPath, [GATEHOUSE, ...args, '--config', configFile], { ...(stdin === undefined ? {} : { stdin }) });
}

function shell(who: Machine, script: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return run('/bin/sh', ['-c', script], { env: { ...who.env, ...extraEnv } });
}

/** Fails with the whole transcript when a command did not end as expected. */
function expectExit(result: Finished, code: number): Finished {
  if (result.code !== code) throw new Error(`expected exit code ${code}, got ${String(result.code)} (${String(result.signal)})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

async function waitFor<T>(what: string, found: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

function profileDir(who: Machine): string {
  return join(who.dbctlHome, 'profiles', `localhost_${gatehouse.daemon.webAddress.port}`);
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** Someone's own services, which dbctl must leave exactly as they are. */
const FOREIGN_SERVICES = '# my own services\n[warehouse]\nhost=warehouse.internal\nuser=reporter\n';

beforeAll(async () => {
  if (!existsSync(DBCTL) || !existsSync(GATEHOUSE)) throw new Error('dist/cli/dbctl.js or dist/cli/gatehouse.js is missing: run "npm run build" first');
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_reader LOGIN PASSWORD '${DB_PASSWORD}'`);
  await db.sql('CREATE DATABASE app');
  await db.sql("CREATE TABLE notes (id int, body text); INSERT INTO notes VALUES (1, 'through dbctl'); GRANT SELECT ON notes TO app_reader", 'app');
  process.env.GH_TEST_DBCTL_PASSWORD = DB_PASSWORD;
  const database = (name: string, env: string, description: string) => `
  - name: ${name}
    description: ${description}
    uri: 127.0.0.1:${db.port}
    labels: { env: ${env}, team: data }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_DBCTL_PASSWORD }`;
  gatehouse = await startTestGatehouse(
    `
databases:${database('local', 'dev', 'development database')}${database('prod', 'prod', 'production database')}
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: ["{{internal.db_users}}"], db_names: ["{{internal.db_names}}"] }
    options: { max_session_ttl: 8h }
`,
    '  login_max_failures: 5\n  login_lockout: 10m',
  );
  configFile = join(gatehouse.dir, 'gatehouse.yaml');
  webProxy = `localhost:${gatehouse.daemon.webAddress.port}`;
  fingerprint = caFingerprint(gatehouse.hostCaPem);
  temp = makeTempDir('dbctl-e2e');
  alice = machine('alice');
  writeFileSync(alice.serviceFile, FOREIGN_SERVICES);

  expectExit(await gatehouseCli(['users', 'add', 'alice', '--roles', 'access', '--traits', 'db_users=app_reader,db_names=app', '--password-stdin'], `${ALICE_PASSWORD}\n`), 0);
  await waitFor('alice in the running Gatehouse', () => (gatehouse.daemon.config.users.some((user) => user.name === 'alice') ? true : undefined));
}, 180_000);

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
  temp?.remove();
});

describe('dbctl login to the proxy', () => {
  it('refuses a first contact it cannot ask about, naming --ca-fingerprint and the fingerprint seen', async () => {
    const result = expectExit(await dbctl(alice, ['login', '--proxy', webProxy, '--user', 'alice', '--password-stdin'], ALICE_PASSWORD), 1);
    expect(result.stderr).toContain(`dbctl: the proxy at ${webProxy} is new to dbctl and its CA (${fingerprint}) cannot be confirmed: there is no terminal to ask on`);
    expect(result.stderr).toContain(`hint: check the fingerprint with your Gatehouse administrator, then pin it: --ca-fingerprint ${fingerprint}`);
    expect(existsSync(alice.dbctlHome)).toBe(false);
  });

  it('refuses loudly a CA that does not match the pin, and stores nothing', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const result = expectExit(await dbctl(alice, ['login', '--proxy', webProxy, '--user', 'alice', '--password-stdin', '--ca-fingerprint', wrong], ALICE_PASSWORD), 1);
    expect(result.stderr).toContain("WARNING: THE PROXY'S CA DOES NOT MATCH YOUR PIN");
    expect(result.stderr).toContain(`The proxy at ${webProxy} offered the CA ${fingerprint},`);
    expect(result.stderr).toContain(`but --ca-fingerprint says ${wrong}.`);
    expect(existsSync(alice.dbctlHome)).toBe(false);
  });

  it('refuses a wrong password with exit code 2 and stores nothing', async () => {
    const result = expectExit(await dbctl(alice, ['login', '--proxy', webProxy, '--user', 'alice', '--password-stdin', '--ca-fingerprint', fingerprint], 'not the password\n'), 2);
    expect(result.stderr).toContain('dbctl: login as alice refused: invalid user name or password');
    expect(existsSync(join(profileDir(alice), 'profile.json'))).toBe(false);
  });

  it('logs in with a password and a pinned CA, keeping the key private', async () => {
    const result = expectExit(await dbctl(alice, ['login', '--proxy', webProxy, '--user', 'alice', '--password-stdin', '--ca-fingerprint', fingerprint], `${ALICE_PASSWORD}\n`), 0);
    expect(result.stdout).toContain(`Logged in to Gatehouse at ${webProxy} as alice (roles: access).`);
    expect(result.stdout).toMatch(/Your identity certificate is valid until \S+ \((7h59m|8h)\)\./);
    const dir = profileDir(alice);
    expect(readdirSync(dir).sort()).toEqual(['ca.pem', 'identity.crt', 'identity.key', 'profile.json']);
    expect(mode(alice.dbctlHome)).toBe(0o700);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'identity.key'))).toBe(0o600);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(gatehouse.hostCaPem);
    expect(JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8'))).toEqual({
      proxy: webProxy,
      postgres_addr: `localhost:${gatehouse.port}`,
      user: 'alice',
      roles: ['access'],
      ca_fingerprint: fingerprint,
      insecure: false,
    });
    expect(readFileSync(join(alice.dbctlHome, 'current'), 'utf8').trim()).toBe(`localhost_${gatehouse.daemon.webAddress.port}`);
    // The private key never left: Gatehouse's audit trail has the certificate, and no key anywhere.
    const key = readFileSync(join(dir, 'identity.key'), 'utf8');
    expect(JSON.stringify(gatehouse.auditEvents) + gatehouse.logLines.join('')).not.toContain(key.split('\n')[1]);
    expect(JSON.stringify(gatehouse.auditEvents)).not.toContain(ALICE_PASSWORD);
  });

  it.skipIf(NO_PYTHON !== '')(`asks on a terminal: the CA fingerprint question, then the password without echo${NO_PYTHON}`, async () => {
    const person = machine('alice-on-a-terminal');
    const answers = (...typed: string[]) => ({ ...person.env, ANSWERS: typed.join('\x1f') });
    const argv = ['-c', TERMINAL_SCRIPT, process.execPath, DBCTL, 'login', '--proxy', webProxy, '--user', 'alice'];
    const declined = await run(PYTHON as string, argv, { env: answers('n') });
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain(`The authenticity of Gatehouse at ${webProxy} can't be established.\r\nIts CA fingerprint is ${fingerprint}.`);
    expect(declined.stdout).toContain('Trust this CA and continue? [y/N] ');
    expect(declined.stdout).toContain(`dbctl: not trusting the CA of ${webProxy}; nothing was stored`);
    expect(existsSync(person.dbctlHome)).toBe(false);

    const accepted = await run(PYTHON as string, argv, { env: answers('y', ALICE_PASSWORD) });
    expect(accepted.stdout).toContain(`Password for alice at ${webProxy}: <typed>`);
    expect(accepted.stdout).not.toContain(ALICE_PASSWORD);
    expect(accepted.stdout).toContain(`Logged in to Gatehouse at ${webProxy} as alice (roles: access).`);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(readFileSync(join(profileDir(person), 'profile.json'), 'utf8'))).toMatchObject({ ca_fingerprint: fingerprint, insecure: false });
  });

  it('trusts the offered CA with --insecure, saying so, and verifies the proxy with it from then on', async () => {
    const person = machine('alice-insecure');
    const result = expectExit(await dbctl(person, ['login', '--proxy', webProxy, '--user', 'alice', '--password-stdin', '--insecure'], ALICE_PASSWORD), 0);
    expect(result.stderr).toContain(`WARNING: --insecure: accepting whatever CA ${webProxy} offers without checking its fingerprint. Use this for development only.`);
    expect(JSON.parse(readFileSync(join(profileDir(person), 'profile.json'), 'utf8'))).toMatchObject({ ca_fingerprint: fingerprint, insecure: true });
    expect(expectExit(await dbctl(person, ['status']), 0).stdout).toContain(`CA:        ${fingerprint} (accepted with --insecure, never confirmed)`);

    // Later calls trust only the stored CA: another one there is refused, with what to do.
    writeFileSync(join(profileDir(person), 'ca.pem'), CertificateAuthority.create('not the proxy\'s CA').certPem);
    const refused = expectExit(await dbctl(person, ['ls']), 1);
    expect(refused.stderr).toContain(`dbctl: the proxy at ${webProxy} presented a server certificate that the CA dbctl trusts for it does not accept`);
    expect(refused.stderr).toContain('hint: if Gatehouse\'s CA was replaced on purpose, run "dbctl logout" and log in again to trust the new one');
  });

  it.skipIf(NO_PYTHON !== '')(`asks for the TOTP code on a terminal when Gatehouse wants one${NO_PYTHON}`, async () => {
    const added = expectExit(await gatehouseCli(['users', 'add', 'erin', '--roles', 'access', '--password-stdin', '--totp', '--no-qr'], BOB_PASSWORD), 0);
    const secret = /secret=([A-Z2-7]+)/.exec(added.stdout)?.[1] as string;
    await waitFor('erin in the running Gatehouse', () => (gatehouse.daemon.config.users.some((user) => user.name === 'erin') ? true : undefined));
    const person = machine('erin');
    const argv = ['-c', TERMINAL_SCRIPT, process.execPath, DBCTL, 'login', '--proxy', webProxy, '--user', 'erin', '--ca-fingerprint', fingerprint];
    const result = await run(PYTHON as string, argv, { env: { ...person.env, ANSWERS: [BOB_PASSWORD, totpCode(secret, Date.now())].join('\x1f') } });
    expect(result.stdout).toContain(`Password for erin at ${webProxy}: <typed>`);
    expect(result.stdout).toContain('TOTP code for erin: <typed>');
    expect(result.stdout).not.toContain(BOB_PASSWORD);
    expect(result.stdout).toContain(`Logged in to Gatehouse at ${webProxy} as erin (roles: access).`);
    expect(result.code).toBe(0);
  });

  it('logs in with TOTP: refused without a code, with the option to add; accepted with the current one', async () => {
    const added = expectExit(
      await gatehouseCli(['users', 'add', 'bob', '--roles', 'access', '--traits', 'db_users=app_reader,db_names=app', '--password-stdin', '--totp', '--no-qr'], BOB_PASSWORD),
      0,
    );
    const secret = /secret=([A-Z2-7]+)/.exec(added.stdout)?.[1];
    expect(secret).toBeDefined();
    await waitFor('bob in the running Gatehouse', () => (gatehouse.daemon.config.users.some((user) => user.name === 'bob') ? true : undefined));
    const bob = machine('bob');
    const login = ['login', '--proxy', webProxy, '--user', 'bob', '--password-stdin', '--ca-fingerprint', fingerprint];
    const refused = expectExit(await dbctl(bob, login, BOB_PASSWORD), 2);
    expect(refused.stderr).toContain('dbctl: login as bob refused: this user has a TOTP authenticator enrolled; send the current 6-digit code too');
    expect(refused.stderr).toContain('hint: pass the current code from your authenticator app: --totp CODE');
    expect(existsSync(join(profileDir(bob), 'profile.json'))).toBe(false);

    const accepted = expectExit(await dbctl(bob, [...login, '--totp', totpCode(secret as string, Date.now())], BOB_PASSWORD), 0);
    expect(accepted.stdout).toContain(`Logged in to Gatehouse at ${webProxy} as bob (roles: access).`);
    expect(gatehouse.auditEvents).toContainEqual(expect.objectContaining({ event: 'auth.login', user: 'bob', success: true, mfa: true }));
  });
});

describe('dbctl ls and login to a database', () => {
  it('lists only the databases the roles allow by label', async () => {
    const text = expectExit(await dbctl(alice, ['ls']), 0).stdout;
    expect(text).toMatch(/^ +NAME +DESCRIPTION +LABELS +DB USERS +DB NAMES\n/);
    expect(text).toMatch(/\n +local +development database +env=dev,team=data +app_reader +app\n$/);
    expect(text).not.toContain('prod');
    const json = JSON.parse(expectExit(await dbctl(alice, ['ls', '--format', 'json']), 0).stdout) as { databases: Array<Record<string, unknown>> };
    expect(json.databases).toEqual([
      { name: 'local', description: 'development database', protocol: 'postgres', labels: { env: 'dev', team: 'data' }, db_users: ['app_reader'], db_names: ['app'], logged_in: false },
    ]);
  });

  it('logs in to a database: a certificate for a local key and a service section beside the foreign ones', async () => {
    const result = expectExit(await dbctl(alice, ['login', 'local']), 0);
    expect(result.stdout).toContain('Logged in to local (as app_reader to database app); the certificate is valid until ');
    expect(result.stdout).toContain(`Wrote service [local] to ${alice.serviceFile}.`);
    expect(result.stdout).toContain('psql "service=local"');
    const dir = join(profileDir(alice), 'databases', 'local');
    expect(readdirSync(dir).sort()).toEqual(['client.crt', 'client.key', 'route.json']);
    expect(mode(join(dir, 'client.key'))).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'route.json'), 'utf8'))).toEqual({ database: 'local', db_user: 'app_reader', db_name: 'app' });
    const services = readFileSync(alice.serviceFile, 'utf8');
    expect(services.startsWith(FOREIGN_SERVICES)).toBe(true);
    expect(services.slice(FOREIGN_SERVICES.length)).toBe(
      [
        '',
        '[local]',
        `# dbctl: ${webProxy}`,
        '# written by "dbctl login local"; "dbctl logout local" removes it',
        'host=localhost',
        `port=${gatehouse.port}`,
        'user=app_reader',
        'dbname=app',
        'sslmode=verify-full',
        `sslrootcert=${join(profileDir(alice), 'ca.pem')}`,
        `sslcert=${join(dir, 'client.crt')}`,
        `sslkey=${join(dir, 'client.key')}`,
        'gssencmode=disable',
        '',
      ].join('\n'),
    );
    expect(expectExit(await dbctl(alice, ['ls']), 0).stdout).toMatch(/\n\* +local +/);
  });

  it.skipIf(NO_PSQL !== '')(`runs a query with psql "service=local"${NO_PSQL}`, async () => {
    const result = expectExit(await run(PSQL as string, ['service=local', '-Atc', 'SELECT current_user, current_database(), body FROM notes'], { env: alice.env }), 0);
    expect(result.stdout.trim()).toBe('app_reader|app|through dbctl');
  });

  it('refuses a database the roles never allow, repeating the RBAC reason (exit 2)', async () => {
    const result = expectExit(await dbctl(alice, ['login', 'prod']), 2);
    expect(result.stderr).toMatch(/^dbctl: a certificate for database prod refused: .*prod/m);
    expect(existsSync(join(profileDir(alice), 'databases', 'prod'))).toBe(false);
    expect(readFileSync(alice.serviceFile, 'utf8')).not.toContain('[prod]');
  });

  it('refuses an unknown database, listing the available ones (exit 2)', async () => {
    const result = expectExit(await dbctl(alice, ['login', 'nosuch']), 2);
    expect(result.stderr).toContain('dbctl: a certificate for database nosuch refused: ');
    expect(result.stderr).toContain('hint: databases you may use: local (see "dbctl ls")');
  });
});

describe('dbctl config, connect and status', () => {
  const query = 'SELECT current_user || \'@\' || current_database()';

  it.skipIf(NO_PSQL !== '')(`cmd: the printed psql command connects when run by a shell${NO_PSQL}`, async () => {
    const line = expectExit(await dbctl(alice, ['config', 'local', '--format', 'cmd']), 0).stdout.trim();
    expect(line).toMatch(/^psql '/);
    const result = expectExit(await shell(alice, `${line} -Atc "${query}"`), 0);
    expect(result.stdout.trim()).toBe('app_reader@app');
  });

  it.skipIf(NO_PSQL !== '')(`uri: psql connects with the URI${NO_PSQL}`, async () => {
    const uri = expectExit(await dbctl(alice, ['config', 'local', '--format', 'uri']), 0).stdout.trim();
    expect(uri.startsWith(`postgresql://app_reader@localhost:${gatehouse.port}/app?sslmode=verify-full&sslrootcert=`)).toBe(true);
    expect(expectExit(await run(PSQL as string, [uri, '-Atc', query], { env: alice.env }), 0).stdout.trim()).toBe('app_reader@app');
  });

  it.skipIf(NO_PSQL !== '')(`env: psql connects with nothing but the exported variables${NO_PSQL}`, async () => {
    const lines = expectExit(await dbctl(alice, ['config', 'local', '--format', 'env']), 0).stdout;
    expect(lines).toContain(`export PGHOST=localhost\nexport PGPORT=${gatehouse.port}\nexport PGUSER=app_reader\nexport PGDATABASE=app\nexport PGSSLMODE=verify-full\n`);
    const result = expectExit(await shell(alice, `eval "$DBCTL_ENV" && psql -Atc "${query}"`, { DBCTL_ENV: lines }), 0);
    expect(result.stdout.trim()).toBe('app_reader@app');
  });

  it('json and dbt: the settings connect a driver (node-postgres, as dbt would with psycopg)', async () => {
    const json = JSON.parse(expectExit(await dbctl(alice, ['config', 'local', '--format', 'json']), 0).stdout) as Record<string, string | number>;
    expect(json).toMatchObject({ database: 'local', host: 'localhost', port: gatehouse.port, user: 'app_reader', dbname: 'app', sslmode: 'verify-full', gssencmode: 'disable' });
    const dbt = parseYaml(expectExit(await dbctl(alice, ['config', 'local', '--format', 'dbt']), 0).stdout) as {
      local: { target: string; outputs: { gatehouse: Record<string, string | number> } };
    };
    const target = dbt.local.outputs.gatehouse;
    expect(target).toMatchObject({ type: 'postgres', host: 'localhost', port: gatehouse.port, user: 'app_reader', password: '', dbname: 'app', schema: 'public', threads: 4 });
    for (const settings of [
      { host: json.host, port: json.port, user: json.user, database: json.dbname, ca: json.sslrootcert, cert: json.sslcert, key: json.sslkey },
      { host: target.host, port: target.port, user: target.user, database: target.dbname, ca: target.sslrootcert, cert: target.sslcert, key: target.sslkey },
    ]) {
      const client = new pg.Client({
        host: String(settings.host),
        port: Number(settings.port),
        user: String(settings.user),
        database: String(settings.database),
        ssl: { ca: readFileSync(String(settings.ca), 'utf8'), cert: readFileSync(String(settings.cert), 'utf8'), key: readFileSync(String(settings.key), 'utf8') },
      });
      await client.connect();
      try {
        expect((await client.query(query)).rows[0]).toEqual({ '?column?': 'app_reader@app' });
      } finally {
        await client.end();
      }
    }
  });

  it.skipIf(NO_PSQL !== '')(`connect runs psql, passing its output and exit code through${NO_PSQL}`, async () => {
    const ok = expectExit(await dbctl(alice, ['connect', 'local', '--', '-Atc', query]), 0);
    expect(ok.stdout.trim()).toBe('app_reader@app');
    const failed = await dbctl(alice, ['connect', 'local', '--', '-v', 'ON_ERROR_STOP=1', '-Atc', 'SELECT 1/0']);
    expect(failed.stderr).toContain('division by zero');
    expect(failed.code).toBe(1);
  });

  it('connect says so when psql cannot be found', async () => {
    const result = expectExit(await dbctl(alice, ['connect', 'local', '--psql', join(temp.path, 'no-psql-here')]), 1);
    expect(result.stderr).toContain(`dbctl: --psql ${join(temp.path, 'no-psql-here')}: no executable file there`);
  });

  it('status shows the proxy, user, roles and each certificate\'s expiry', async () => {
    const text = expectExit(await dbctl(alice, ['status']), 0).stdout;
    expect(text).toContain(`Proxy:     ${webProxy} (Postgres at localhost:${gatehouse.port})`);
    expect(text).toContain('User:      alice');
    expect(text).toContain('Roles:     access');
    expect(text).toContain(`CA:        ${fingerprint}`);
    expect(text).toMatch(/Identity: +valid until \S+ \(\d+h\d*m? left\)/);
    expect(text).toMatch(/\n +local +app_reader +app +valid until \S+ \(\d+h\d*m? left\)\n/);
  });
});

/** `dbctl proxy …` as a long-running child, with the address it prints. */
async function startLocalProxy(args: readonly string[]): Promise<{ child: ChildProcess; port: number; output: () => { stdout: string; stderr: string } }> {
  const child = spawn(process.execPath, [DBCTL, 'proxy', 'local', ...args], { cwd: REPO_ROOT, env: alice.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const port = await waitFor('the local proxy listening', () => {
    if (child.exitCode !== null) throw new Error(`dbctl proxy exited (${child.exitCode}): ${stderr}`);
    const match = /Listening on 127\.0\.0\.1:(\d+) for database local/.exec(stdout);
    return match === null ? undefined : Number(match[1]);
  });
  return { child, port, output: () => ({ stdout, stderr }) };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolvePromise) => child.once('exit', (code, signal) => resolvePromise({ code, signal })));
}

describe('dbctl proxy', () => {
  it('refuses a non-loopback --bind without --allow-remote', async () => {
    const result = expectExit(await dbctl(alice, ['proxy', 'local', '--bind', '0.0.0.0']), 1);
    expect(result.stderr).toContain('dbctl: --bind 0.0.0.0 would let other machines use local as you, without a password');
    expect(result.stderr).toContain('--allow-remote');
  });

  it('serves a pg client without a certificate, and psql\'s Ctrl+C cancels through it; SIGINT stops it cleanly', async () => {
    const proxy = await startLocalProxy(['--port', '0']);
    expect(proxy.output().stdout).toContain(`psql 'host=127.0.0.1 port=${proxy.port} user=app_reader dbname=app sslmode=disable'`);
    const client = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: 'app_reader', database: 'app', ssl: false });
    await client.connect();
    expect((await client.query('SELECT body FROM notes')).rows).toEqual([{ body: 'through dbctl' }]);
    await client.end();

    if (PSQL !== undefined) {
      const psql = spawn(PSQL, [`host=127.0.0.1 port=${proxy.port} user=app_reader dbname=app sslmode=disable`, '-c', 'SELECT pg_sleep(60)'], {
        env: alice.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      psql.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      await waitFor('pg_sleep running', async () => {
        const { rows } = await db.sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'");
        return (rows[0] as { n: number }).n > 0 ? true : undefined;
      });
      psql.kill('SIGINT');
      const end = await exited(psql);
      expect(stderr).toContain('canceling statement due to user request');
      expect(end.code).toBe(1);
    } else {
      console.warn(`dbctl.test.ts: psql's cancel through dbctl proxy is${NO_PSQL}`);
    }

    proxy.child.kill('SIGINT');
    expect(await exited(proxy.child)).toEqual({ code: 0, signal: null });
    expect(proxy.output().stderr).toContain('dbctl proxy stopped.');
  });

  it('replaces the user and database the client sends when --db-user and --db-name are given', async () => {
    const proxy = await startLocalProxy(['--db-user', 'app_reader', '--db-name', 'app']);
    try {
      const client = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: 'someone-else', database: 'somewhere', ssl: false });
      await client.connect();
      expect((await client.query('SELECT current_user AS who, current_database() AS db')).rows).toEqual([{ who: 'app_reader', db: 'app' }]);
      await client.end();
    } finally {
      proxy.child.kill('SIGTERM');
      expect((await exited(proxy.child)).code).toBe(0);
    }
  });

  it('answers a client with a Postgres ErrorResponse (28000) when the certificate has expired', async () => {
    const proxy = await startLocalProxy([]);
    const certPath = join(profileDir(alice), 'databases', 'local', 'client.crt');
    const fresh = readFileSync(certPath, 'utf8');
    try {
      writeFileSync(certPath, expiredCertificateFor(join(profileDir(alice), 'databases', 'local', 'client.key'), { database: 'local', dbUser: 'app_reader', dbName: 'app' }));
      const client = new pg.Client({ host: '127.0.0.1', port: proxy.port, user: 'app_reader', database: 'app', ssl: false });
      const error = (await client.connect().then(
        () => undefined,
        (reason: unknown) => reason,
      )) as pg.DatabaseError;
      await client.end().catch(() => undefined);
      expect(error.code).toBe('28000');
      expect(error.message).toMatch(/^dbctl's certificate for database local expired at /);
      expect(error.hint).toBe('run "dbctl login local" in another terminal; this proxy uses the new certificate for the next connection');
    } finally {
      writeFileSync(certPath, fresh);
      proxy.child.kill('SIGINT');
      await exited(proxy.child);
    }
  });
});

describe('the local proxy, in this process', () => {
  it('answers a client with a Postgres ErrorResponse (08001) when Gatehouse cannot be reached', async () => {
    const closedPort = await freePort();
    const login = join(profileDir(alice), 'databases', 'local');
    const proxy = new LocalProxy({
      database: 'local',
      gatehouse: { host: '127.0.0.1', port: closedPort },
      caPem: gatehouse.hostCaPem,
      credentials: () => ({
        certPem: readFileSync(join(login, 'client.crt'), 'utf8'),
        keyPem: readFileSync(join(login, 'client.key'), 'utf8'),
        notAfter: new Date(Date.now() + 3600_000),
      }),
      rewrite: {},
      renewCommand: 'dbctl login local',
    });
    const address = await proxy.listen('127.0.0.1', 0);
    try {
      const client = new pg.Client({ host: '127.0.0.1', port: address.port, user: 'app_reader', database: 'app', ssl: false });
      const error = (await client.connect().then(
        () => undefined,
        (reason: unknown) => reason,
      )) as pg.DatabaseError;
      await client.end().catch(() => undefined);
      expect(error.code).toBe('08001');
      expect(error.message).toBe(`dbctl proxy cannot connect to Gatehouse at 127.0.0.1:${closedPort}: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${closedPort})`);
      expect(error.hint).toBe('check that Gatehouse is running and reachable from this machine (VPN, firewall)');
    } finally {
      await proxy.close();
    }
  });
});

/** A certificate that expired an hour ago, for the key at `keyPath`, from Gatehouse's own user CA with its clock turned back. */
function expiredCertificateFor(keyPath: string, route?: { database: string; dbUser?: string; dbName?: string }): string {
  const userCa = gatehouse.daemon.authorities.userCa;
  const pastCa = CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: userCa.keyPem }, () => Date.now() - 2 * 3600_000);
  const publicKeyPem = createPublicKey(readFileSync(keyPath, 'utf8')).export({ type: 'spki', format: 'pem' }).toString();
  return pastCa.issueClientCertificate({ user: 'alice', ttlMs: 3600_000, publicKeyPem, ...(route === undefined ? {} : { route }) }).certPem;
}

describe('an expired identity certificate', () => {
  it('is refused by Gatehouse with its message and the exact command to log in again (exit 2)', async () => {
    const certPath = join(profileDir(alice), 'identity.crt');
    writeFileSync(certPath, expiredCertificateFor(join(profileDir(alice), 'identity.key')));
    const relogin = `hint: run: dbctl login --proxy ${webProxy} --user alice`;
    for (const args of [['ls'], ['login', 'local']]) {
      const result = expectExit(await dbctl(alice, args), 2);
      expect(result.stderr).toMatch(/your identity certificate expired at \S+; run dbctl login again/);
      expect(result.stderr).toContain(relogin);
    }
    const status = expectExit(await dbctl(alice, ['status']), 0).stdout;
    expect(status).toMatch(new RegExp(`Identity: +EXPIRED at \\S+ \\(renew: dbctl login --proxy ${webProxy} --user alice\\)`));
  });
});

describe('dbctl logout', () => {
  it('removes one database, then everything for the proxy, and never the foreign services', async () => {
    // Logging in again after the expired identity: the stored CA is trusted without a pin.
    expectExit(await dbctl(alice, ['login', '--proxy', webProxy, '--user', 'alice', '--password-stdin', 'local'], ALICE_PASSWORD), 0);
    const databaseDir = join(profileDir(alice), 'databases', 'local');
    expect(existsSync(databaseDir)).toBe(true);

    const one = expectExit(await dbctl(alice, ['logout', 'local']), 0);
    expect(one.stdout).toBe(`Logged out of local: removed its certificate and key and the service [local] in ${alice.serviceFile}.\n`);
    expect(existsSync(databaseDir)).toBe(false);
    expect(readFileSync(alice.serviceFile, 'utf8')).toBe(FOREIGN_SERVICES);
    const again = expectExit(await dbctl(alice, ['logout', 'local']), 1);
    expect(again.stderr).toContain(`dbctl: you are not logged in to local on ${webProxy}`);

    // config (like connect and proxy) logs in to the database by itself when it has no certificate.
    const config = expectExit(await dbctl(alice, ['config', 'local', '--format', 'uri']), 0);
    expect(config.stderr).toContain('Logging in to database local (no certificate yet)…');
    expect(config.stdout).toMatch(/^postgresql:\/\/app_reader@localhost:\d+\/app\?sslmode=verify-full&/);
    expect(readFileSync(alice.serviceFile, 'utf8')).toContain('[local]');
    const all = expectExit(await dbctl(alice, ['logout']), 0);
    expect(all.stdout).toBe(`Logged out of ${webProxy}: removed ${profileDir(alice)} and the services [local] in ${alice.serviceFile}.\n`);
    expect(existsSync(profileDir(alice))).toBe(false);
    expect(existsSync(join(alice.dbctlHome, 'current'))).toBe(false);
    expect(readFileSync(alice.serviceFile, 'utf8')).toBe(FOREIGN_SERVICES);

    const status = expectExit(await dbctl(alice, ['status']), 1);
    expect(status.stderr).toContain('dbctl: you are not logged in to a Gatehouse');
    expect(status.stderr).toContain('hint: log in first: dbctl login --proxy HOST:PORT --user NAME');
  });
});

describe('login throttling', () => {
  // Last: it locks this client address out of logging in for login_lockout.
  it('refuses further attempts after repeated failures with exit code 2 and when to retry', async () => {
    const carol = machine('carol');
    const attempt = () => dbctl(carol, ['login', '--proxy', webProxy, '--user', 'carol', '--password-stdin', '--ca-fingerprint', fingerprint], 'guess\n');
    let result = await attempt();
    for (let tries = 1; tries <= 6 && !result.stderr.includes('too many failed logins'); tries += 1) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('refused: invalid user name or password');
      result = await attempt();
    }
    expectExit(result, 2);
    expect(result.stderr).toMatch(/dbctl: login as carol refused: too many failed logins; try again in \d+ s/);
    expect(result.stderr).toMatch(/hint: try again in \d+ (s|min); if you forgot your password, ask your Gatehouse administrator/);
  });
});
