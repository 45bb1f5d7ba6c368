// The admin side against real processes: `gatehouse start` as a child process in front of a real
// PostgreSQL, receiving real SIGHUPs (an invalid config is logged with its line and column and
// changes nothing; a role edit ends a live pg session with 28000), the users file losing a user,
// and `gatehouse status|sessions|locks|reload` run as subprocesses against it: listing and killing a
// session, locking a user (the live session ends, a new one and a database certificate are refused
// with the lock's message; after `locks rm` it works), a non-administrator refused with 403, and the
// admin.action audit lines; and, with proxy.workers: 2, the same across two worker processes.
// Needs the build in dist/ (`npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAuthorities, loadAuthorities, type Authorities } from '../../src/ca/authority-store.js';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { writeUsersFile } from '../../src/users/users-file.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { runCommand, type Finished } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
const PASSWORD = 'admin-password-for-tests-6f0b';
const WAIT_MS = 30_000;

let db: TestPostgres;
let temp: ReturnType<typeof makeTempDir>;
let authorities: Authorities;

/** One `gatehouse start` child process, its files and everything it wrote. */
interface Gatehouse {
  readonly name: string;
  readonly workers: number;
  readonly child: ChildProcess;
  readonly configFile: string;
  readonly usersFile: string;
  readonly ports: { postgres: number; web: number };
  output: string;
}

const running: Gatehouse[] = [];
/** The single-process Gatehouse most tests use. */
let gh: Gatehouse;

const ACCESS_ALLOWS_APP_USER = '{ db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }';

function configText(target: Pick<Gatehouse, 'name' | 'workers' | 'ports' | 'usersFile'>, options: { accessAllow?: string; extraProxy?: string } = {}): string {
  return `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:${target.ports.postgres}
  web_listen_addr: 127.0.0.1:${target.ports.web}
  public_addr: localhost
  data_dir: ${temp.path}/data-${target.name}
  ca_dir: ${temp.path}/certs
  users_file: ${target.usersFile}
  workers: ${target.workers}
${options.extraProxy ?? ''}
log: { level: info }
audit: { output: stdout }
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_ADMIN_PASSWORD }
roles:
  - name: access
    allow: ${options.accessAllow ?? ACCESS_ALLOWS_APP_USER}
  - name: ops
    options: { admin: true }
users:
  - { name: root, roles: [ops] }
  - { name: alice, roles: [access] }
  - { name: bob, roles: [access] }
`;
}

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  temp = makeTempDir('gh-admin');
  initAuthorities(join(temp.path, 'certs'), 'localhost');
  authorities = loadAuthorities(join(temp.path, 'certs'));
  gh = await startGatehouse('single', 1);
});

afterAll(async () => {
  await Promise.all(running.map((started) => stopGatehouse(started)));
  await db?.stop();
  temp?.remove();
});

async function startGatehouse(name: string, workers: number): Promise<Gatehouse> {
  const ports = { postgres: await freePort(), web: await freePort() };
  const configFile = join(temp.path, `${name}.yaml`);
  const usersFile = join(temp.path, `users-${name}.yaml`);
  writeFileSync(configFile, configText({ name, workers, ports, usersFile }));
  const child = spawn(process.execPath, [GATEHOUSE, 'start', '--config', configFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GH_TEST_ADMIN_PASSWORD: PASSWORD },
  });
  const started: Gatehouse = { name, workers, child, configFile, usersFile, ports, output: '' };
  running.push(started);
  child.stdout?.on('data', (chunk: Buffer) => (started.output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (started.output += chunk.toString('utf8')));
  await waitFor(started, 'the daemon to be ready', async () => ((await readyStatus(started)) === 200 ? true : undefined));
  return started;
}

async function stopGatehouse(started: Gatehouse): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return;
  const exited = new Promise((resolvePromise) => started.child.once('close', resolvePromise));
  started.child.kill('SIGTERM');
  await exited;
}

function readyStatus(target: Gatehouse): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    const request = https.get(
      { host: '127.0.0.1', port: target.ports.web, path: '/readyz', ca: authorities.hostCa.certPem, servername: 'localhost', timeout: 2_000 },
      (response) => {
        response.resume();
        resolvePromise(response.statusCode);
      },
    );
    request.on('error', () => resolvePromise(undefined));
    request.on('timeout', () => request.destroy());
  });
}

async function waitFor<T>(target: Gatehouse, what: string, found: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (target.child.exitCode !== null) throw new Error(`gatehouse exited (${target.child.exitCode}) before ${what}\n${target.output}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms\n${target.output}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

function clientConfig(user: string, target: Gatehouse = gh): pg.ClientConfig {
  const issued = authorities.userCa.issueClientCertificate({ user, route: { database: 'main' }, ttlMs: 3_600_000 });
  return {
    host: 'localhost',
    port: target.ports.postgres,
    user: 'app_user',
    database: 'app',
    ssl: { ca: authorities.hostCa.certPem, cert: issued.certPem, key: issued.keyPem, servername: 'localhost' },
  };
}

/** A connected client and the error Gatehouse ends its session with, once it does. */
async function connect(user: string, target: Gatehouse = gh): Promise<{ client: pg.Client; ended: Promise<pg.DatabaseError> }> {
  const client = new pg.Client(clientConfig(user, target));
  // pg may report the end more than once ("Connection terminated unexpectedly" after the ErrorResponse): the first counts.
  const ended = new Promise<pg.DatabaseError>((resolvePromise) => client.on('error', (error) => resolvePromise(error as pg.DatabaseError)));
  await client.connect();
  expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  return { client, ended };
}

async function refusal(user: string, target: Gatehouse = gh): Promise<pg.DatabaseError> {
  const client = new pg.Client(clientConfig(user, target));
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return error as pg.DatabaseError;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error(`${user} was let in`);
}

function gatehouse(...args: string[]): Promise<Finished> {
  return gatehouseOn(gh, ...args);
}

function gatehouseOn(target: Gatehouse, ...args: string[]): Promise<Finished> {
  return runCommand(process.execPath, [GATEHOUSE, ...args, '--config', target.configFile], { cwd: REPO_ROOT, env: { ...process.env, GATEHOUSE_USER: 'root' } });
}

/** The JSON lines the daemon wrote (log and audit), parsed. */
function records(target: Gatehouse = gh): Record<string, unknown>[] {
  return target.output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function auditEvents(event: string, target: Gatehouse = gh): Record<string, unknown>[] {
  return records(target).filter((record) => record.stream === 'audit' && record.event === event);
}

/** Audit lines are written in batches: wait for the one wanted. */
function auditEvent(what: (event: Record<string, unknown>) => boolean, event = 'admin.action', target: Gatehouse = gh): Promise<Record<string, unknown>> {
  return waitFor(target, `an ${event} audit event`, () => auditEvents(event, target).find(what));
}

/** Log lines about the configuration (one per reload, applied or not). */
function reloadLines(target: Gatehouse = gh): Record<string, unknown>[] {
  return records(target).filter((record) => typeof record.msg === 'string' && /^configuration (not )?reloaded/.test(record.msg));
}

async function sighup(target: Gatehouse = gh): Promise<Record<string, unknown>> {
  const before = reloadLines(target).length;
  target.child.kill('SIGHUP');
  return waitFor(target, 'the reload to be logged', () => reloadLines(target)[before]);
}

describe('SIGHUP', () => {
  it('keeps the configuration in force when the new file is invalid, logging FILE:LINE:COL', async () => {
    const { client } = await connect('alice');
    const valid = configText(gh);
    // A misspelt key in the first role, on the line after its name, at column 5.
    writeFileSync(gh.configFile, valid.replace('  - name: access\n', '  - name: access\n    alow: {}\n'));
    const line = valid.split('\n').indexOf('  - name: access') + 2;
    const logged = await sighup();
    expect(logged.level).toBe(50);
    expect(logged.msg).toContain('configuration not reloaded');
    expect(logged.errors).toEqual([
      `${gh.configFile}:${line}:5: roles[0].alow: unknown key "alow"; did you mean "allow"? (allowed here: name, allow, deny, options)`,
    ]);
    // Old config: the session goes on and new ones are let in.
    expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    const again = await connect('alice');
    await again.client.end();
    await client.end();
    expect(await auditEvent((event) => event.user === '(SIGHUP)' && event.success === false)).toMatchObject({ action: 'reload', client_addr: 'local' });
    writeFileSync(gh.configFile, valid);
  });

  it('applies a role edit at once and ends the live session it revokes with 28000 and why; restart-only keys warn', async () => {
    const { client, ended } = await connect('alice');
    writeFileSync(
      gh.configFile,
      configText(gh, { accessAllow: '{ db_labels: { env: [dev] }, db_users: [app_reader], db_names: [app] }', extraProxy: '  login_max_failures: 9' }),
    );
    expect((await sighup()).msg).toBe('configuration reloaded');
    const error = await ended;
    const reason = 'access to db user "app_user" on database "main" denied for alice: no role of alice allows db user "app_user" (allowed: app_reader)';
    expect(error.code).toBe('28000');
    expect(error.message).toBe(`terminating connection: access revoked: ${reason}`);
    await client.end().catch(() => undefined);
    const refused = await refusal('alice');
    expect(refused.code).toBe('28000');
    expect(refused.message).toBe(reason);
    expect(records().map((record) => record.msg)).toContain('proxy.login_max_failures changed to 9, but that needs a restart; 5 stays in force until then');
    await auditEvent((event) => event.reason === `access revoked: ${reason}`, 'session.end');
    writeFileSync(gh.configFile, configText(gh));
    await sighup();
    const back = await connect('alice');
    await back.client.end();
  });

  it('ends the sessions of a user the users file no longer has', async () => {
    const now = new Date().toISOString();
    writeUsersFile(gh.usersFile, [{ name: 'carol', roles: ['access'], traits: {}, created_at: now, updated_at: now }]);
    const carol = await waitFor(gh, 'carol to be known', async () => connect('carol').catch(() => undefined));
    writeUsersFile(gh.usersFile, []);
    const error = await carol.ended;
    expect(error.code).toBe('28000');
    expect(error.message).toBe('terminating connection: access revoked: access to database "main" denied for carol: the user carol is not known to Gatehouse');
    await carol.client.end().catch(() => undefined);
  });
});

describe('gatehouse sessions', () => {
  it('lists the live session and kills it: the client gets 57P01 naming the administrator and the reason', async () => {
    const { client, ended } = await connect('alice');
    const listed = await gatehouse('sessions', 'ls', '--json');
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const sessions = (JSON.parse(listed.stdout) as { sessions: Record<string, unknown>[] }).sessions;
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    expect(session).toMatchObject({ user: 'alice', database: 'main', db_user: 'app_user', db_name: 'app', client_addr: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown });
    expect(session.bytes_from_client).toBeGreaterThan(0);
    const table = await gatehouse('sessions', 'ls');
    expect(table.stdout).toMatch(/^ID +USER +DATABASE +DB USER +DB NAME +CLIENT +STARTED +BYTES IN +BYTES OUT\n/);
    expect(table.stdout).toContain(`${String(session.id)}  alice`);

    const killed = await gatehouse('sessions', 'kill', String(session.id), '--reason', 'maintenance window');
    expect(killed.stderr).toBe('');
    expect(killed.stdout).toContain(`Ended session ${String(session.id)} of alice on main`);
    const error = await ended;
    expect(error.code).toBe('57P01');
    expect(error.message).toBe('ended by Gatehouse administrator root: maintenance window');
    await client.end().catch(() => undefined);
    expect(await auditEvent((event) => event.session_id === session.id, 'session.end')).toMatchObject({
      reason: 'killed by Gatehouse administrator root: maintenance window',
      sqlstate: '57P01',
    });
    expect(await auditEvent((event) => event.action === 'sessions.kill')).toMatchObject({ user: 'root', target: session.id, reason: 'maintenance window', success: true });

    const unknown = await gatehouse('sessions', 'kill', String(session.id));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`refused by Gatehouse: no running session has the id "${String(session.id)}" (GH_ERR_UNKNOWN_SESSION)`);
  });
});

describe('gatehouse locks', () => {
  it("ends the locked user's live session, refuses new ones and database certificates with the lock message, and lifts it", async () => {
    const { client, ended } = await connect('alice');
    const added = await gatehouse('locks', 'add', '--user', 'alice', '--db', 'main', '--ttl', '1h', '--reason', 'incident 42');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Locked alice out of database main until \S+ \(lock [0-9a-f]{12}\); ended 1 running session\(s\)\.\n/);
    const listed = JSON.parse((await gatehouse('locks', 'ls', '--json')).stdout) as { locks: { id: string; expires_at: string }[] };
    expect(listed.locks).toHaveLength(1);
    const lock = listed.locks[0]!;
    const message = `user alice is locked for database main until ${lock.expires_at} by root: incident 42`;

    const error = await ended;
    expect(error.code).toBe('28000');
    expect(error.message).toBe(message);
    await client.end().catch(() => undefined);
    const refused = await refusal('alice');
    expect(refused.code).toBe('28000');
    expect(refused.message).toBe(message);
    // Bob is not locked.
    const bob = await connect('bob');
    await bob.client.end();
    expect(await dbCertStatus('alice')).toEqual({ status: 403, code: 'GH_ERR_LOCKED', message });
    const table = await gatehouse('locks', 'ls');
    expect(table.stdout).toMatch(new RegExp(`^ID +USER +DATABASE +EXPIRES +BY +CREATED +REASON\\n${lock.id}  alice +main +${lock.expires_at}  root +\\S+  incident 42\\n$`));
    // Another process sharing the data directory reads the same file.
    expect(readFileSync(join(temp.path, 'data-single', 'locks.yaml'), 'utf8')).toContain(`id: ${lock.id}`);

    const removed = await gatehouse('locks', 'rm', lock.id);
    expect(removed.stdout).toBe(`Removed lock ${lock.id} on alice (database main).\n`);
    const back = await connect('alice');
    await back.client.end();
    expect((await gatehouse('locks', 'ls')).stdout).toBe('No locks in force.\n');
    await auditEvent((event) => event.action === 'locks.remove');
    const actions = auditEvents('admin.action').map((event) => [event.action, event.target, event.success]);
    expect(actions).toEqual(expect.arrayContaining([['locks.add', 'alice on database main', true], ['locks.list', undefined, true], ['locks.remove', lock.id, true]]));
  });
});

describe('the admin API refuses', () => {
  it('a user without an admin role (403), a user it does not know (401), and a command without a user', async () => {
    const bob = await gatehouse('sessions', 'ls', '--as', 'bob');
    expect(bob.code).toBe(2);
    expect(bob.stderr).toBe(
      "refused by Gatehouse: bob is not a Gatehouse administrator: none of bob's roles (access) has options.admin (GH_ERR_NOT_ADMIN)\n" +
        'hint: administrators have a role with "options: { admin: true }" in gatehouse.yaml\n',
    );
    expect(await auditEvent((event) => event.user === 'bob')).toMatchObject({
      action: 'sessions.list',
      success: false,
      error: "bob is not a Gatehouse administrator: none of bob's roles (access) has options.admin",
    });
    const mallory = await gatehouse('locks', 'rm', '0123456789ab', '--as', 'mallory');
    expect(mallory.code).toBe(2);
    expect(mallory.stderr).toContain('refused by Gatehouse: the user mallory no longer exists in this Gatehouse (GH_ERR_IDENTITY_REQUIRED)');
    const nobody = await runCommand(process.execPath, [GATEHOUSE, 'status', '--config', gh.configFile], { cwd: REPO_ROOT, env: { ...process.env, GATEHOUSE_USER: '' } });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('say which Gatehouse user you act as: --as USER, or set GATEHOUSE_USER');
  });
});

describe('gatehouse status and reload', () => {
  it('status shows the version, listeners and databases; reload reports an invalid file line by line and applies a valid one', async () => {
    const status = await gatehouse('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Gatehouse \d+\.\d+\.\d+, pid \d+, up \S+ \(since \S+\)\nNode\.js v\d+/);
    expect(status.stdout).toContain(`Listening: postgres 127.0.0.1:${gh.ports.postgres}, web 127.0.0.1:${gh.ports.web}`);
    expect(status.stdout).toMatch(new RegExp(`DATABASE +KIND +ADDRESS +TLS\\nmain +postgres +127\\.0\\.0\\.1:${db.port}  verify-full\\n`));
    const json = JSON.parse((await gatehouse('status', '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ pid: gh.child.pid, openssl: process.versions.openssl, locks_active: 0 });

    const valid = configText(gh);
    writeFileSync(gh.configFile, valid.replace('users:\n', 'users:\n  - { name: dave, roles: [nope] }\n'));
    const invalid = await gatehouse('reload');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('refused by Gatehouse: the configuration was not reloaded: it has 1 problem; the configuration in force is unchanged (GH_ERR_CONFIG_INVALID)');
    const line = valid.split('\n').indexOf('users:') + 2;
    expect(invalid.stderr).toContain(`\n  ${gh.configFile}:${line}:27: users[0].roles[0]: role "nope" is not defined in roles (defined: access, ops)\n`);
    writeFileSync(gh.configFile, valid);
    const reloaded = await gatehouse('reload');
    expect(reloaded.stderr).toBe('');
    expect(reloaded.stdout).toBe('Reloaded the configuration. No running session was ended.\n');
    await auditEvent((event) => event.action === 'reload' && event.user === 'root' && event.success === true);
    expect(auditEvents('admin.action').filter((event) => event.action === 'reload' && event.user === 'root').map((event) => event.success)).toEqual([false, true]);
  });
});

describe('with two worker processes', () => {
  it('lists and kills sessions, enforces locks and reloads in every worker', async () => {
    const two = await startGatehouse('workers', 2);
    const clients = await Promise.all([connect('alice', two), connect('alice', two), connect('bob', two), connect('bob', two)]);
    const listed = JSON.parse((await gatehouseOn(two, 'sessions', 'ls', '--json')).stdout) as { sessions: { id: string; user: string }[] };
    expect(listed.sessions.map((session) => session.user).sort()).toEqual(['alice', 'alice', 'bob', 'bob']);
    const status = JSON.parse((await gatehouseOn(two, 'status', '--json')).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ pid: two.child.pid, sessions_active: 4 });

    // Whichever worker answers, every session is found, and every worker enforces the lock.
    const firstBob = listed.sessions.find((session) => session.user === 'bob')!;
    const killed = await gatehouseOn(two, 'sessions', 'kill', firstBob.id);
    expect(killed.code).toBe(0);
    const locked = await gatehouseOn(two, 'locks', 'add', '--user', 'alice', '--reason', 'both workers');
    expect(locked.stdout).toContain('ended 2 running session(s)');
    const errors = await Promise.all([clients[0]!.ended, clients[1]!.ended]);
    expect(errors.map((error) => error.message)).toEqual(['user alice is locked by root: both workers', 'user alice is locked by root: both workers']);

    writeFileSync(two.configFile, configText(two, { accessAllow: '{ db_labels: { env: [dev] }, db_users: [nobody], db_names: [app] }' }));
    const reloaded = JSON.parse((await gatehouseOn(two, 'reload', '--json')).stdout) as { sessions_ended: { user: string }[] };
    expect(reloaded.sessions_ended.map((session) => session.user)).toEqual(['bob']);
    expect(JSON.parse((await gatehouseOn(two, 'sessions', 'ls', '--json')).stdout)).toEqual({ sessions: [] });
    await Promise.all(clients.map(({ client }) => client.end().catch(() => undefined)));
  });
});

/** POST /v1/db-certs with an identity certificate for `user`, as dbctl does. */
async function dbCertStatus(user: string): Promise<{ status: number; code: string; message: string }> {
  const identity = authorities.userCa.issueClientCertificate({ user, ttlMs: 3_600_000 });
  const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const body = JSON.stringify({ database: 'main', public_key_pem: publicKeyPem });
  return new Promise((resolvePromise, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: gh.ports.web,
        path: '/v1/db-certs',
        method: 'POST',
        ca: authorities.hostCa.certPem,
        cert: identity.certPem,
        key: identity.keyPem,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => {
          const { error } = JSON.parse(text) as { error: { code: string; message: string } };
          resolvePromise({ status: response.statusCode ?? 0, code: error.code, message: error.message });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
