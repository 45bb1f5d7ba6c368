// `gatehouse start` with proxy.workers: 2 as a real child process (a primary and two node:cluster
// workers) in front of a real PostgreSQL, with real pg and psql clients: sessions spread over both
// workers and work, the embedded database is started once and its password reaches the workers
// over IPC only, a worker killed with SIGKILL is replaced, a cancel request landing on the other
// worker still cancels, a role's max_connections counts the sessions of both workers, /metrics
// adds up both workers, SIGHUP reaches both, and SIGTERM/SIGINT drain (exit 0) or cut off (exit
// 143) exactly as with one process: a Ctrl+C that reaches the whole process group counts once. The
// worker serving a session is read off its BackendKeyData: the process id carries the worker's index. Needs the build in dist/ (`npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initAuthorities, loadAuthorities, type Authorities } from '../../src/ca/authority-store.js';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { JEMALLOC_LIBRARIES } from '../../src/cluster/worker-allocator.js';
import { workerOfProcessId } from '../../src/proxy/cancel-keys.js';
import { runCommand } from '../support/run-command.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/temp-dir.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
const PASSWORD = 'workers-password-for-tests-51c2';
const WAIT_MS = 60_000;
const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find((path) => existsSync(path));
const JEMALLOC = JEMALLOC_LIBRARIES.find((path) => existsSync(path));

let db: TestPostgres;
let temp: ReturnType<typeof makeTempDir>;
let authorities: Authorities;
const running: ChildProcess[] = [];

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  temp = makeTempDir('gh-workers');
  initAuthorities(join(temp.path, 'certs'), 'localhost');
  authorities = loadAuthorities(join(temp.path, 'certs'));
});

afterAll(async () => {
  for (const child of running.splice(0)) stopForGood(child);
  await db?.stop();
  temp?.remove();
});

function stopForGood(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  // The whole group when it has its own: the workers and an embedded PostgreSQL go too.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

interface Gatehouse {
  readonly child: ChildProcess;
  readonly postgresPort: number;
  readonly webPort: number;
  readonly exited: Promise<number | null>;
  output(): string;
}

interface StartOptions {
  readonly shutdownGrace?: string;
  readonly embedded?: boolean;
  readonly logLevel?: string;
  /** The db users carol's role allows; default [app_user]. */
  readonly carolMay?: string;
}

function writeConfig(name: string, ports: { postgres: number; web: number }, options: StartOptions): string {
  const configFile = join(temp.path, `${name}.yaml`);
  const embedded = options.embedded === true ? ['  - name: local', '    kind: embedded', '    labels: { env: dev }'] : [];
  writeFileSync(
    configFile,
    [
      'version: v1',
      'proxy:',
      `  postgres_listen_addr: 127.0.0.1:${ports.postgres}`,
      `  web_listen_addr: 127.0.0.1:${ports.web}`,
      '  public_addr: localhost',
      `  data_dir: ${temp.path}/data-${name}`,
      `  ca_dir: ${temp.path}/certs`,
      `  shutdown_grace: ${options.shutdownGrace ?? '30s'}`,
      '  workers: 2',
      `log: { level: ${options.logLevel ?? 'info'} }`,
      'audit: { output: stdout }',
      'databases:',
      '  - name: main',
      `    uri: 127.0.0.1:${db.port}`,
      '    labels: { env: dev }',
      `    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }`,
      '    auth: { password_env: GH_TEST_WORKERS_PASSWORD }',
      ...embedded,
      'roles:',
      '  - name: access',
      '    allow: { db_labels: { env: [dev] }, db_users: [app_user, postgres], db_names: [app, postgres] }',
      '  - name: limited',
      `    allow: { db_labels: { env: [dev] }, db_users: [${options.carolMay ?? 'app_user'}], db_names: [app] }`,
      '    options: { max_connections: 2 }',
      'users:',
      '  - name: alice',
      '    roles: [access]',
      '  - name: carol',
      '    roles: [limited]',
      '',
    ].join('\n'),
  );
  return configFile;
}

async function startGatehouse(name: string, options: StartOptions = {}): Promise<Gatehouse> {
  const [postgresPort, webPort] = [await freePort(), await freePort()];
  const configFile = writeConfig(name, { postgres: postgresPort, web: webPort }, options);
  // A process group of its own, so a test can send a terminal's Ctrl+C to all of it at once.
  const child = spawn(process.execPath, [GATEHOUSE, 'start', '--config', configFile], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GH_TEST_WORKERS_PASSWORD: PASSWORD },
  });
  running.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolvePromise) => child.once('close', (code) => resolvePromise(code)));
  const gatehouse = { child, postgresPort, webPort, exited, output: () => output };
  // The banner comes once every worker listens.
  await waitFor('both workers to listen', () => (output.includes('Stop with Ctrl+C.') ? true : undefined), gatehouse);
  return gatehouse;
}

async function waitFor<T>(what: string, found: () => Promise<T | undefined> | T | undefined, gatehouse: Gatehouse): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (gatehouse.child.exitCode !== null) throw new Error(`gatehouse exited (${gatehouse.child.exitCode}) before ${what}\n${gatehouse.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms\n${gatehouse.output()}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

function get(gatehouse: Gatehouse, path: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolvePromise) => {
    const request = https.get(
      { host: '127.0.0.1', port: gatehouse.webPort, path, ca: authorities.hostCa.certPem, servername: 'localhost', timeout: 5_000 },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolvePromise({ status: response.statusCode, body }));
      },
    );
    request.on('error', () => resolvePromise({ status: undefined, body: '' }));
    request.on('timeout', () => request.destroy());
  });
}

function clientConfig(gatehouse: Gatehouse, database = 'main', user = 'app_user', dbName = 'app', person = 'alice'): pg.ClientConfig {
  const issued = authorities.userCa.issueClientCertificate({ user: person, route: { database }, ttlMs: 3_600_000 });
  return {
    host: 'localhost',
    port: gatehouse.postgresPort,
    user,
    database: dbName,
    ssl: { ca: authorities.hostCa.certPem, cert: issued.certPem, key: issued.keyPem, servername: 'localhost' },
  };
}

interface Connected {
  readonly client: pg.Client;
  /** The worker serving it, from the process id of its BackendKeyData. */
  readonly worker: number;
  readonly processId: number;
  readonly secretKey: number;
}

async function connect(gatehouse: Gatehouse, database?: string, user?: string, dbName?: string, person?: string): Promise<Connected> {
  const client = new pg.Client(clientConfig(gatehouse, database, user, dbName, person));
  client.on('error', () => undefined);
  await client.connect();
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  return { client, worker: workerOfProcessId(processID), processId: processID, secretKey };
}

/** Connects until sessions on both workers are open (the listener hands connections out in turn). */
async function sessionsOnBothWorkers(gatehouse: Gatehouse): Promise<Connected[]> {
  const sessions: Connected[] = [];
  for (let attempt = 0; attempt < 20 && new Set(sessions.map((session) => session.worker)).size < 2; attempt++) {
    sessions.push(await connect(gatehouse));
  }
  return sessions;
}

/** psql's own cancel: a CancelRequest with the key, on a new plaintext connection. */
function sendCancel(gatehouse: Gatehouse, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(80877102, 4);
    packet.writeInt32BE(processId, 8);
    packet.writeInt32BE(secretKey, 12);
    const socket = net.connect(gatehouse.postgresPort, '127.0.0.1', () => socket.end(packet));
    socket.on('error', reject);
    socket.on('close', () => resolvePromise());
    socket.resume();
  });
}

/** PIDs of the primary's worker processes, from /proc (their command line names worker-main.js). */
function workerPids(gatehouse: Gatehouse): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === gatehouse.child.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('worker-main.js')) pids.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

async function waitForActivity(query: string, gatehouse: Gatehouse): Promise<void> {
  await waitFor(`the query ${query} to run`, async () => {
    const activity = await db.sql(`SELECT 1 FROM pg_stat_activity WHERE query = '${query}' AND state = 'active'`);
    return activity.rows.length > 0 ? true : undefined;
  }, gatehouse);
}

describe('two workers', () => {
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    gatehouse = await startGatehouse('serving', { embedded: true, logLevel: 'debug' });
  }, 120_000);

  afterAll(async () => {
    if (gatehouse === undefined) return;
    gatehouse.child.kill('SIGTERM');
    await gatehouse.exited;
  });

  it('spreads sessions over both workers, and every one works (pg and psql)', async () => {
    const sessions = await sessionsOnBothWorkers(gatehouse);
    expect(new Set(sessions.map((session) => session.worker))).toEqual(new Set([0, 1]));
    for (const { client } of sessions) expect((await client.query('SELECT current_user AS who')).rows).toEqual([{ who: 'app_user' }]);
    await Promise.all(sessions.map(({ client }) => client.end()));
    if (PSQL !== undefined) {
      const issued = authorities.userCa.issueClientCertificate({ user: 'alice', route: { database: 'main' }, ttlMs: 3_600_000 });
      const files = { ca: join(temp.path, 'psql-ca.crt'), cert: join(temp.path, 'psql.crt'), key: join(temp.path, 'psql.key') };
      writeFileSync(files.ca, authorities.hostCa.certPem);
      writeFileSync(files.cert, issued.certPem);
      writeFileSync(files.key, issued.keyPem ?? '', { mode: 0o600 });
      const conninfo = `host=localhost port=${gatehouse.postgresPort} user=app_user dbname=app sslmode=verify-full sslrootcert=${files.ca} sslcert=${files.cert} sslkey=${files.key}`;
      // Several runs, so psql reaches both workers too.
      for (let run = 0; run < 4; run++) {
        const result = await runCommand(PSQL, [conninfo, '-XAtc', 'SELECT 40 + 2']);
        expect(result.stderr).toBe('');
        expect(result.stdout).toBe('42\n');
      }
    }
  });

  it.skipIf(JEMALLOC === undefined)('runs the workers with jemalloc when the system has it (proxy.allocator: auto), and says so', () => {
    const pids = workerPids(gatehouse);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).toContain(JEMALLOC);
    expect(gatehouse.output()).toContain(`"allocator":"jemalloc","detail":"${JEMALLOC}","msg":"workers use the jemalloc allocator"`);
  });

  it('starts the embedded database once, in the primary, and both workers reach it', async () => {
    expect(gatehouse.output().match(/embedded PostgreSQL started/g)).toHaveLength(1);
    const sessions: Connected[] = [];
    for (let attempt = 0; attempt < 20 && new Set(sessions.map((session) => session.worker)).size < 2; attempt++) {
      sessions.push(await connect(gatehouse, 'local', 'postgres', 'postgres'));
    }
    expect(new Set(sessions.map((session) => session.worker))).toEqual(new Set([0, 1]));
    for (const { client } of sessions) expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await Promise.all(sessions.map(({ client }) => client.end()));
    // Its superuser password reached the workers over IPC: never in their command line or environment.
    const password = readFileSync(join(temp.path, 'data-serving/embedded/local/superuser.password'), 'utf8').trim();
    const pids = workerPids(gatehouse);
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(password);
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(password);
    }
    expect(gatehouse.output()).not.toContain(password);
  });

  it('passes a cancel request that lands on the other worker to the one that issued the key', async () => {
    const session = await connect(gatehouse);
    const passedBefore = gatehouse.output().split('cancel request passed on').length;
    let crossed = false;
    // Each round: a long query, one cancel on a new connection. The listener hands connections to
    // the workers in turn, so within a few rounds a cancel lands on the worker that did not issue the key.
    for (let round = 0; round < 10 && !crossed; round++) {
      const query = `SELECT pg_sleep(30) /* round ${round} */`;
      const cancelled = session.client.query(query).then(
        () => undefined,
        (error: unknown) => error as pg.DatabaseError,
      );
      await waitForActivity(query, gatehouse);
      await sendCancel(gatehouse, session.processId, session.secretKey);
      const error = await cancelled;
      expect(error?.code).toBe('57014');
      expect(error?.message).toBe('canceling statement due to user request');
      crossed = gatehouse.output().split('cancel request passed on').length > passedBefore;
    }
    expect(crossed).toBe(true);
    const other = 1 - session.worker;
    expect(gatehouse.output()).toMatch(new RegExp(`"worker":${other},"owner":${session.worker},"msg":"cancel request passed on to the worker that issued its key"`));
    // A wrong secret is refused by the owner, wherever it lands: the query runs to its end.
    const query = 'SELECT pg_sleep(1.5) /* wrong key */';
    const finished = session.client.query(query);
    await waitForActivity(query, gatehouse);
    await Promise.all([0, 1, 2, 3].map(() => sendCancel(gatehouse, session.processId, session.secretKey ^ 0x5a5a)));
    expect((await finished).rows).toHaveLength(1);
    await session.client.end();
  });

  it('holds a user to the role’s max_connections across both workers', async () => {
    const admitted: Connected[] = [];
    let refused: pg.DatabaseError | undefined;
    while (refused === undefined && admitted.length < 5) {
      await connect(gatehouse, 'main', 'app_user', 'app', 'carol').then(
        (session) => admitted.push(session),
        (error: unknown) => (refused = error as pg.DatabaseError),
      );
    }
    // The listener hands connections to the workers in turn: carol's two sessions are on different workers.
    expect(admitted.map((session) => session.worker).sort()).toEqual([0, 1]);
    expect(refused?.code).toBe('53300');
    expect(refused?.message).toBe('too many connections for user carol: 2 sessions open, the limit is 2 (max_connections of role "limited")');
    await admitted[0]?.client.end();
    await waitFor('the release to reach the other worker', async () => {
      const again = await connect(gatehouse, 'main', 'app_user', 'app', 'carol').catch(() => undefined);
      if (again !== undefined) admitted.push(again);
      return again === undefined ? undefined : true;
    }, gatehouse);
    await Promise.all(admitted.slice(1).map(({ client }) => client.end()));
  });

  it('writes the audit lines of both workers whole, also lines far over PIPE_BUF, to one stdout', async () => {
    const sessions = [...(await sessionsOnBothWorkers(gatehouse)), ...(await sessionsOnBothWorkers(gatehouse))];
    // 20 KB queries from both workers at once: a pipe write over 4,096 bytes is not atomic.
    const padding = (n: number) => 'x'.repeat(20_000 + n);
    await Promise.all(
      sessions.map(async ({ client }, n) => {
        for (let k = 0; k < 5; k++) await client.query(`SELECT 1 /* ${n}-${k} ${padding(n * 5 + k)} */`);
      }),
    );
    await Promise.all(sessions.map(({ client }) => client.end()));
    const queries = await waitFor('every query in the audit trail', () => {
      const lines = gatehouse.output().split('\n').filter((line) => line.includes('"event":"session.query"') && line.includes(' xxxx'));
      return lines.length >= sessions.length * 5 ? lines : undefined;
    }, gatehouse);
    for (const line of gatehouse.output().split('\n').filter((text) => text.startsWith('{'))) expect(() => JSON.parse(line) as unknown).not.toThrow();
    const texts = queries.map((line) => (JSON.parse(line) as { query: string }).query);
    sessions.forEach((_, n) => [0, 1, 2, 3, 4].forEach((k) => expect(texts).toContain(`SELECT 1 /* ${n}-${k} ${padding(n * 5 + k)} */`)));
  });

  it('serves /metrics summed over both workers', async () => {
    const before = startedCount((await get(gatehouse, '/metrics')).body);
    const sessions = await sessionsOnBothWorkers(gatehouse);
    const after = await get(gatehouse, '/metrics');
    expect(after.status).toBe(200);
    expect(startedCount(after.body) - before).toBe(sessions.length);
    await Promise.all(sessions.map(({ client }) => client.end()));
  });

  it('passes SIGHUP on to both workers', async () => {
    gatehouse.child.kill('SIGHUP');
    await waitFor('both workers to reload', () => {
      const reloaded = [0, 1].filter((worker) => new RegExp(`"worker":${worker},[^\\n]*"msg":"configuration reloaded"`).test(gatehouse.output()));
      return reloaded.length === 2 ? true : undefined;
    }, gatehouse);
  });

  it('replaces a worker killed with SIGKILL; the other keeps its sessions, new sessions reach both, under the reloaded config', async () => {
    const survivorSessions = await sessionsOnBothWorkers(gatehouse);
    // A reload takes carol's access away first: the replacement must not bring it back.
    const reloadsBefore = gatehouse.output().split('"msg":"configuration reloaded"').length;
    writeConfig('serving', { postgres: gatehouse.postgresPort, web: gatehouse.webPort }, { embedded: true, logLevel: 'debug', carolMay: 'nobody' });
    gatehouse.child.kill('SIGHUP');
    await waitFor('both workers to reload', () => (gatehouse.output().split('"msg":"configuration reloaded"').length >= reloadsBefore + 2 ? true : undefined), gatehouse);
    const [victim] = workerPids(gatehouse);
    expect(victim).toBeDefined();
    process.kill(victim as number, 'SIGKILL');
    await waitFor('the worker to be replaced', () => (gatehouse.output().includes('worker replaced') ? true : undefined), gatehouse);
    expect(gatehouse.output()).toContain('worker exited unexpectedly; starting a new one');
    expect(workerPids(gatehouse)).toHaveLength(2);
    expect(workerPids(gatehouse)).not.toContain(victim);
    // Sessions of the worker that lived carry on.
    const alive = await Promise.all(survivorSessions.map(({ client }) => client.query('SELECT 1 AS one').then(() => true, () => false)));
    expect(alive.filter(Boolean).length).toBeGreaterThan(0);
    const fresh = await sessionsOnBothWorkers(gatehouse);
    expect(new Set(fresh.map((session) => session.worker))).toEqual(new Set([0, 1]));
    for (const { client } of fresh) expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    // Connections go to the workers in turn: two in a row reach both, and both refuse carol.
    for (const attempt of [1, 2]) {
      const refused = await connect(gatehouse, 'main', 'app_user', 'app', 'carol').then(
        ({ client }) => client.end().then(() => `admitted on attempt ${attempt}`),
        (error: unknown) => (error as pg.DatabaseError).code,
      );
      expect(refused).toBe('28000');
    }
    await Promise.all([...fresh, ...survivorSessions].map(({ client }) => client.end().catch(() => undefined)));
  });
});

function startedCount(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    const match = /^gatehouse_sessions_started_total\{[^}]*\} (\d+)$/.exec(line);
    if (match !== null) total += Number(match[1]);
  }
  return total;
}

describe('starting two workers', () => {
  it('fails with the workers\' reason, exit code 1 and no process left behind when the Postgres port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolvePromise) => taken.listen(0, '127.0.0.1', resolvePromise));
    const port = (taken.address() as net.AddressInfo).port;
    const configFile = join(temp.path, 'taken.yaml');
    writeFileSync(
      configFile,
      ['version: v1', 'proxy:', `  postgres_listen_addr: 127.0.0.1:${port}`, `  web_listen_addr: 127.0.0.1:${await freePort()}`, `  data_dir: ${temp.path}/data-taken`, `  ca_dir: ${temp.path}/certs`, '  workers: 2', ''].join('\n'),
    );
    try {
      const result = await runCommand(process.execPath, [GATEHOUSE, 'start', '--config', configFile], { cwd: REPO_ROOT, timeoutMs: WAIT_MS });
      expect(result.code).toBe(1);
      const lastLines = result.stderr.trimEnd().split('\n').slice(-2);
      expect(lastLines).toEqual([
        `a Gatehouse worker process could not start: bind EADDRINUSE 127.0.0.1:${port}`,
        'hint: The worker\'s own log lines are above. To rule out the worker processes themselves, try proxy.workers: 1.',
      ]);
      const leftBehind = readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((entry) => {
          try {
            return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(configFile);
          } catch {
            return false;
          }
        });
      expect(leftBehind).toEqual([]);
    } finally {
      taken.close();
    }
  });
});

describe('stopping two workers', () => {
  afterEach(() => {
    for (const child of running.splice(0)) stopForGood(child);
  });

  it('SIGTERM drains sessions on both workers: /readyz fails, new clients get 57P01, the running ones finish, exit 0', async () => {
    const gatehouse = await startGatehouse('drain');
    const sessions = await sessionsOnBothWorkers(gatehouse);
    gatehouse.child.kill('SIGTERM');
    await waitFor('/readyz to fail', async () => ((await get(gatehouse, '/readyz')).status === 503 ? true : undefined), gatehouse);
    const refused = await connect(gatehouse).then(
      () => undefined,
      (error: unknown) => error as pg.DatabaseError,
    );
    expect(refused?.code).toBe('57P01');
    for (const { client } of sessions) expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await Promise.all(sessions.map(({ client }) => client.end()));
    expect(await gatehouse.exited).toBe(0);
    expect(gatehouse.output()).toContain('"drained":true');
  });

  it('ends a busy session with 57P01 once the grace runs out, and exits 143', async () => {
    const gatehouse = await startGatehouse('cutoff', { shutdownGrace: '1s' });
    const sessions = await sessionsOnBothWorkers(gatehouse);
    const busy = sessions[sessions.length - 1] as Connected;
    const query = 'SELECT pg_sleep(60) /* cutoff */';
    const ended = busy.client.query(query).then(
      () => undefined,
      (error: unknown) => error as pg.DatabaseError,
    );
    await waitForActivity(query, gatehouse);
    gatehouse.child.kill('SIGTERM');
    const error = await ended;
    expect(error?.code).toBe('57P01');
    expect(error?.message).toBe('Gatehouse is shutting down');
    expect(await gatehouse.exited).toBe(143);
    expect(gatehouse.output()).toContain('"drained":false');
    await Promise.all(sessions.map(({ client }) => client.end().catch(() => undefined)));
  });

  it('counts a Ctrl+C that reaches the whole process group once; the second ends the drain (exit 143)', async () => {
    const gatehouse = await startGatehouse('ctrl-c', { shutdownGrace: '10m' });
    const sessions = await sessionsOnBothWorkers(gatehouse);
    const pid = gatehouse.child.pid as number;
    process.kill(-pid, 'SIGINT');
    await waitFor('/readyz to fail', async () => ((await get(gatehouse, '/readyz')).status === 503 ? true : undefined), gatehouse);
    // Draining, not stopped: every session on both workers still works.
    for (const { client } of sessions) expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const ended = Promise.all(sessions.map(({ client }) => new Promise<pg.DatabaseError>((resolvePromise) => client.once('error', (error) => resolvePromise(error as pg.DatabaseError)))));
    process.kill(-pid, 'SIGINT');
    expect((await ended).map((error) => error.code)).toEqual(sessions.map(() => '57P01'));
    expect(await gatehouse.exited).toBe(143);
    await Promise.all(sessions.map(({ client }) => client.end().catch(() => undefined)));
  });
});
