// Secrets and private files, checked in CI against the real executables (issue 7, "Security checks"):
// one representative scenario with every kind of secret Gatehouse handles runs through `gatehouse
// start` at log level debug: a database password from a file, a Redshift password minted through
// (the local) AWS with AWS keys from the environment, a dbctl password login with a TOTP code (and a
// wrong password and a wrong code first), database certificates for dbctl's own keys, an offline
// `gatehouse certs issue`, and sessions through Gatehouse. Then everything the daemon and the
// commands logged (stderr, stdout, the audit file, dbctl's output) is searched for every one of
// those secrets in every form a leak takes (test/support/secret-scan.ts), and every key and secret
// file Gatehouse and dbctl wrote must be private to its owner.
// The same logs also go to the run's ledger, so the end-of-run scan (secret-scan-global.ts) sees them.
// Needs the build in dist/ (`npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caFingerprint } from '../../src/dbctl/ca-trust.js';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { totpCode } from '../../src/users/totp.js';
import { startLocalAws, type LocalAws } from '../support/local-aws/local-aws.js';
import { startStandInCluster, type StandInCluster } from '../support/local-aws/stand-in.js';
import { runCommand, type Finished } from '../support/run-command.js';
import { appendLog, registerSecret, runLogFile, type RegisteredSecret, type SecretKind } from '../support/secret-ledger.js';
import { NeedleIndex, describeLeaks, scanText } from '../support/secret-scan.js';
import { makeTempDir } from '../support/temp-dir.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
const DBCTL = join(REPO_ROOT, 'dist/cli/dbctl.js');
const DB_PASSWORD = 'secret-scan-db-password-6d0e';
const ALICE_PASSWORD = 'alice-secret-scan-passphrase';
const WRONG_PASSWORD = 'alice-mistyped-passphrase';

const temp = makeTempDir('security-secrets');
const configFile = join(temp.path, 'gatehouse.yaml');
const auditFile = join(temp.path, 'audit.jsonl');
const caDir = join(temp.path, 'certs');
const dataDir = join(temp.path, 'data');
const dbctlHome = join(temp.path, 'home', '.dbctl');
const offlineDir = join(temp.path, 'offline-cert');
const env: NodeJS.ProcessEnv = { ...withoutAws(process.env), HOME: join(temp.path, 'home'), DBCTL_HOME: dbctlHome };

let standIn: StandInCluster;
let aws: LocalAws;
let daemon: ChildProcess | undefined;
let daemonExit: Promise<number | null> | undefined;
let postgresPort = 0;
let webPort = 0;
/** Everything that counts as a log of this scenario: name → text. */
const logs = new Map<string, string>();
/** Every secret this scenario used. */
const secrets: RegisteredSecret[] = [];
const daemonOutput = { stdout: '', stderr: '' };

function secret(kind: SecretKind, label: string, value: string): void {
  secrets.push({ kind, label, value });
  registerSecret(kind, label, value);
}

function withoutAws(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(source)) if (!key.startsWith('AWS_') && !key.startsWith('PG') && !key.startsWith('DBCTL')) copy[key] = value;
  return copy;
}

async function cli(name: string, program: string, args: readonly string[], stdin = '', expectedCode = 0, keepStdout = true): Promise<Finished> {
  const result = await runCommand(process.execPath, [program, ...args], { cwd: REPO_ROOT, env, input: stdin, timeoutMs: 60_000 });
  // What a command prints for its user is a log too (terminals, CI logs); `users add` prints the
  // TOTP enrolment on purpose, once, for the administrator: that stdout is not counted.
  logs.set(`${name} (stderr)`, result.stderr);
  if (keepStdout) logs.set(`${name} (stdout)`, result.stdout);
  if (result.code !== expectedCode) throw new Error(`${name}: expected exit code ${expectedCode}, got ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

function getReady(caPem: string): Promise<number> {
  return new Promise((resolvePromise) => {
    const request = https.get({ host: '127.0.0.1', port: webPort, path: '/readyz', ca: caPem, servername: 'localhost' }, (response) => {
      response.resume();
      resolvePromise(response.statusCode ?? 0);
    });
    request.on('error', () => resolvePromise(0));
  });
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms\n--- gatehouse stderr ---\n${daemonOutput.stderr}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
  }
}

async function query(database: string, dbUser: string, dbName: string, text: string): Promise<Record<string, unknown>> {
  const dir = join(dbctlHome, 'profiles', `localhost_${webPort}`);
  const client = new pg.Client({
    host: 'localhost',
    port: postgresPort,
    user: dbUser,
    database: dbName,
    ssl: {
      ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'databases', database, 'client.crt'), 'utf8'),
      key: readFileSync(join(dir, 'databases', database, 'client.key'), 'utf8'),
      servername: 'localhost',
    },
  });
  await client.connect();
  try {
    return (await client.query(text, text.includes('$1') ? ['a parameter, not a secret'] : [])).rows[0] as Record<string, unknown>;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (!existsSync(GATEHOUSE) || !existsSync(DBCTL)) throw new Error('dist/cli/gatehouse.js or dist/cli/dbctl.js is missing: run "npm run build" first');
  standIn = await startStandInCluster();
  await standIn.postgres.sql(`CREATE ROLE app_user LOGIN PASSWORD '${DB_PASSWORD}'`);
  secret('password', 'database password (password_file)', DB_PASSWORD);
  secret('password', "alice's Gatehouse password", ALICE_PASSWORD);
  secret('password', 'a wrong password alice tried', WRONG_PASSWORD);
  const passwordFile = join(temp.path, 'db.password');
  writeFileSync(passwordFile, `${DB_PASSWORD}\n`, { mode: 0o600 });

  aws = await startLocalAws({ region: 'us-east-1' });
  const key = aws.addUser({ name: 'gatehouse' });
  secret('aws-secret-key', "Gatehouse's AWS secret access key", key.secretAccessKey);
  aws.allow(key.arn, { actions: ['redshift:DescribeClusters', 'redshift:GetClusterCredentials'], resources: ['*'] });
  aws.addCluster({ id: 'secret-cluster', host: standIn.host, port: standIn.port, minter: standIn.minter });
  env.AWS_ACCESS_KEY_ID = key.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;

  postgresPort = await freePort();
  webPort = await freePort();
  writeFileSync(
    configFile,
    `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:${postgresPort}
  web_listen_addr: 127.0.0.1:${webPort}
  public_addr: localhost
  data_dir: ${dataDir}
  ca_dir: ${caDir}
log: { level: debug }
audit: { output: ${auditFile}, log_query_parameters: true }
databases:
  - name: pg
    uri: 127.0.0.1:${standIn.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${standIn.postgres.caFile}, server_name: localhost }
    auth: { user: app_user, password_file: ${passwordFile} }
  - name: redshift
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${standIn.postgres.caFile} }
    aws: { region: us-east-1, endpoint: ${aws.endpoint}, sts_endpoint: ${aws.endpoint}, redshift: { cluster_id: secret-cluster, duration: 15m } }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: ['*'], db_names: ['*'] }
    options: { max_session_ttl: 1h }
users:
  - name: bob
    roles: [access]
`,
  );

  const added = await cli('gatehouse users add', GATEHOUSE, ['users', 'add', 'alice', '--roles', 'access', '--password-stdin', '--totp', '--no-qr', '--config', configFile], ALICE_PASSWORD, 0, false);
  const seed = /secret=([A-Z2-7]+)/.exec(added.stdout)?.[1];
  if (seed === undefined) throw new Error(`no TOTP secret in:\n${added.stdout}`);
  secret('totp-seed', "alice's TOTP seed", seed);

  daemon = spawn(process.execPath, [GATEHOUSE, 'start', '--config', configFile], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout?.on('data', (chunk: Buffer) => (daemonOutput.stdout += chunk.toString('utf8')));
  daemon.stderr?.on('data', (chunk: Buffer) => (daemonOutput.stderr += chunk.toString('utf8')));
  daemonExit = new Promise((resolvePromise) => daemon?.once('exit', (code) => resolvePromise(code)));
  await waitFor('the CA', () => existsSync(join(caDir, 'host_ca.crt')));
  const hostCaPem = readFileSync(join(caDir, 'host_ca.crt'), 'utf8');
  await waitFor('/readyz', async () => (await getReady(hostCaPem)) === 200);
  for (const name of readdirSync(caDir).filter((file) => file.endsWith('.key'))) secret('private-key', `Gatehouse ${name}`, readFileSync(join(caDir, name), 'utf8'));

  const proxy = `localhost:${webPort}`;
  const login = ['login', '--proxy', proxy, '--user', 'alice', '--password-stdin', '--ca-fingerprint', caFingerprint(hostCaPem)];
  await cli('dbctl login (wrong password)', DBCTL, login, WRONG_PASSWORD, 2);
  const wrongCode = String((Number(totpCode(seed, Date.now())) + 500_000) % 1_000_000).padStart(6, '0');
  await cli('dbctl login (wrong TOTP code)', DBCTL, [...login, '--totp', wrongCode], ALICE_PASSWORD, 2);
  await cli('dbctl login', DBCTL, [...login, '--totp', totpCode(seed, Date.now()), 'pg', '--db-user', 'app_user', '--db-name', 'postgres'], ALICE_PASSWORD);
  await cli('dbctl login redshift', DBCTL, ['login', 'redshift', '--db-user', 'awsuser', '--db-name', 'dev']);
  await cli('gatehouse certs issue', GATEHOUSE, ['certs', 'issue', '--config', configFile, '--user', 'bob', '--db', 'pg', '--ttl', '10m', '--out', offlineDir]);
  for (const file of keyFilesUnder(temp.path)) secret('private-key', relative(temp.path, file), readFileSync(file, 'utf8'));

  expect(await query('pg', 'app_user', 'postgres', 'SELECT current_user AS who, $1::text AS parameter')).toMatchObject({ who: 'app_user' });
  expect(await query('redshift', 'awsuser', 'dev', 'SELECT current_user AS who')).toEqual({ who: 'IAM:awsuser' });
  for (const minted of aws.minted) secret('minted-password', `password minted for ${minted.dbUser}`, minted.password);

  daemon.kill('SIGTERM');
  await daemonExit;
  logs.set('gatehouse start (stdout)', daemonOutput.stdout);
  logs.set('gatehouse start (stderr)', daemonOutput.stderr);
  logs.set('audit file', readFileSync(auditFile, 'utf8'));
  for (const [name, text] of logs) appendLog(runLogFile(`security-secrets ${name}`), text);
}, 180_000);

afterAll(async () => {
  if (daemon !== undefined && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await daemonExit;
  }
  await aws?.stop();
  await standIn?.stop();
  temp.remove();
});

/** Files holding a private key, found by content, so keys added later (SSH, new CAs) are covered too. */
function keyFilesUnder(dir: string): string[] {
  return filesUnder(dir).filter((file) => statSync(file).size < 64 * 1024 && readFileSync(file, 'utf8').includes('PRIVATE KEY-----'));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    return stat.isDirectory() ? filesUnder(path) : stat.isFile() ? [path] : [];
  });
}

function directoriesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? [path, ...directoriesUnder(path)] : [];
  });
}

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('the representative scenario', () => {
  it('really used every kind of secret, and logged at debug level', () => {
    const audit = readFileSync(auditFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit).toContainEqual(expect.objectContaining({ event: 'auth.login', user: 'alice', success: true, mfa: true }));
    expect(audit.filter((event) => event.event === 'auth.login' && event.success === false)).toHaveLength(2);
    expect(audit.filter((event) => event.event === 'session.start' && event.success === true).map((event) => event.database).sort()).toEqual(['pg', 'redshift']);
    expect(aws.minted.length).toBeGreaterThan(0);
    expect(daemonOutput.stderr).toContain('"level":20');
    expect(new Set(secrets.map((entry) => entry.kind))).toEqual(new Set(['password', 'minted-password', 'private-key', 'totp-seed', 'aws-secret-key']));
  });
});

describe('no secret in any log', () => {
  it('finds none of the scenario\'s secrets in the daemon\'s logs, its audit trail or the commands\' output', () => {
    const index = new NeedleIndex(secrets);
    const leaks = [...logs].flatMap(([name, text]) => scanText(text, index, name));
    expect(leaks, `secrets leaked:\n${describeLeaks(leaks)}`).toEqual([]);
  });
});

describe('private files', () => {
  it('keeps every private key 0600, whoever wrote it (CA, proxy, dbctl, certs issue)', () => {
    const keys = keyFilesUnder(temp.path);
    expect(keys.map((file) => relative(temp.path, file)).sort()).toEqual(
      expect.arrayContaining(['certs/host_ca.key', 'certs/proxy.key', 'certs/user_ca.key', 'offline-cert/client.key']),
    );
    expect(keys.filter((file) => file.startsWith(dbctlHome)).length).toBeGreaterThanOrEqual(3);
    expect(keys.map((file) => ({ file: relative(temp.path, file), mode: modeOf(file) }))).toEqual(keys.map((file) => ({ file: relative(temp.path, file), mode: '600' })));
  });

  it('keeps the users file (password hashes, TOTP seeds), the locks file and SSH keys if present 0600, in 0700 directories', () => {
    const usersFile = join(dataDir, 'users.yaml');
    expect(readFileSync(usersFile, 'utf8')).toContain('totp_secret');
    const secretFiles = [usersFile, join(dataDir, 'locks.yaml'), ...(existsSync(join(dataDir, 'ssh')) ? filesUnder(join(dataDir, 'ssh')) : [])].filter(existsSync);
    expect(secretFiles.map((file) => ({ file: relative(temp.path, file), mode: modeOf(file) }))).toEqual(secretFiles.map((file) => ({ file: relative(temp.path, file), mode: '600' })));
    for (const dir of [caDir, dirname(usersFile), offlineDir]) expect({ dir: relative(temp.path, dir), mode: modeOf(dir) }).toEqual({ dir: relative(temp.path, dir), mode: '700' });
  });

  it('keeps the dbctl profile (keys, certificates, profile.json) in directories only its owner can enter', () => {
    const dirs = [dbctlHome, ...directoriesUnder(dbctlHome)];
    expect(dirs.length).toBeGreaterThanOrEqual(4);
    expect(dirs.map((dir) => ({ dir: relative(temp.path, dir), mode: modeOf(dir) }))).toEqual(dirs.map((dir) => ({ dir: relative(temp.path, dir), mode: '700' })));
    expect(filesUnder(dbctlHome).some((file) => file.endsWith('profile.json'))).toBe(true);
  });
});
