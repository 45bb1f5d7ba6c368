// `gatehouse start` as a real child process receiving real signals, in front of a real PostgreSQL:
// SIGTERM fails /readyz at once, refuses new clients with 57P01 (an ErrorResponse, not a closed
// socket), lets running sessions finish within proxy.shutdown_grace (exit 0), ends the rest with
// 57P01 once the grace has run out (exit 143), and a second SIGTERM cuts the drain short (143).
// One process (proxy.workers: 1); workers.test.ts runs the same with a primary and two workers.
// Needs the build in dist/ (`npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initAuthorities, loadAuthorities, type Authorities } from '../../src/ca/authority-store.js';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/temp-dir.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
const PASSWORD = 'lifecycle-password-for-tests-9d1e';
const WAIT_MS = 30_000;

let db: TestPostgres;
let temp: ReturnType<typeof makeTempDir>;
let authorities: Authorities;
const running: ChildProcess[] = [];

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  temp = makeTempDir('gh-lifecycle');
  // The CA exists before the daemon starts, so the test can issue client certificates itself.
  initAuthorities(join(temp.path, 'certs'), 'localhost');
  authorities = loadAuthorities(join(temp.path, 'certs'));
});

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await db?.stop();
  temp?.remove();
});

interface Gatehouse {
  readonly child: ChildProcess;
  readonly postgresPort: number;
  readonly webPort: number;
  readonly exited: Promise<number | null>;
  output(): string;
}

async function startGatehouse(name: string, shutdownGrace: string): Promise<Gatehouse> {
  const [postgresPort, webPort] = [await freePort(), await freePort()];
  const configFile = join(temp.path, `${name}.yaml`);
  writeFileSync(
    configFile,
    `version: v1
proxy:
  postgres_listen_addr: 127.0.0.1:${postgresPort}
  web_listen_addr: 127.0.0.1:${webPort}
  public_addr: localhost
  data_dir: ${temp.path}/data-${name}
  ca_dir: ${temp.path}/certs
  shutdown_grace: ${shutdownGrace}
  workers: 1
log: { level: info }
audit: { output: stdout }
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_LIFECYCLE_PASSWORD }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }
users:
  - name: alice
    roles: [access]
`,
  );
  const child = spawn(process.execPath, [GATEHOUSE, 'start', '--config', configFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GH_TEST_LIFECYCLE_PASSWORD: PASSWORD },
  });
  running.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolvePromise) => child.once('close', (code) => resolvePromise(code)));
  const gatehouse = { child, postgresPort, webPort, exited, output: () => output };
  await waitFor('the daemon to be ready', async () => ((await readyStatus(gatehouse)) === 200 ? true : undefined), gatehouse);
  return gatehouse;
}

/** GET /readyz's status, or undefined while nothing answers. */
function readyStatus(gatehouse: Gatehouse): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    const request = https.get(
      { host: '127.0.0.1', port: gatehouse.webPort, path: '/readyz', ca: authorities.hostCa.certPem, servername: 'localhost', timeout: 2_000 },
      (response) => {
        response.resume();
        resolvePromise(response.statusCode);
      },
    );
    request.on('error', () => resolvePromise(undefined));
    request.on('timeout', () => request.destroy());
  });
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

function clientConfig(gatehouse: Gatehouse): pg.ClientConfig {
  const issued = authorities.userCa.issueClientCertificate({ user: 'alice', route: { database: 'main' }, ttlMs: 3_600_000 });
  return {
    host: 'localhost',
    port: gatehouse.postgresPort,
    user: 'app_user',
    database: 'app',
    ssl: { ca: authorities.hostCa.certPem, cert: issued.certPem, key: issued.keyPem, servername: 'localhost' },
  };
}

async function connect(gatehouse: Gatehouse): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(gatehouse));
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** SIGTERM, then wait until /readyz says 503: from then on the daemon is draining. */
async function terminate(gatehouse: Gatehouse): Promise<void> {
  gatehouse.child.kill('SIGTERM');
  await waitFor('/readyz to fail', async () => ((await readyStatus(gatehouse)) === 503 ? true : undefined), gatehouse);
}

describe('SIGTERM drains', () => {
  it('fails /readyz, refuses new clients with 57P01, lets an idle session finish, and exits 0', async () => {
    const gatehouse = await startGatehouse('clean', '30s');
    const client = await connect(gatehouse);
    await terminate(gatehouse);
    const refused = new pg.Client(clientConfig(gatehouse));
    const refusal = (await refused.connect().then(
      () => undefined,
      (error: unknown) => error,
    )) as pg.DatabaseError | undefined;
    await refused.end().catch(() => undefined);
    expect(refusal?.code).toBe('57P01');
    expect(refusal?.message).toBe('Gatehouse is shutting down; reconnect in a moment');
    // The running session carries on during the drain, then ends by itself.
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    expect(await gatehouse.exited).toBe(0);
    expect(gatehouse.output()).toContain('"drained":true');
  });

  it('ends a session still busy when the grace runs out with 57P01, and exits 143', async () => {
    const gatehouse = await startGatehouse('cutoff', '1s');
    const client = await connect(gatehouse);
    const busy = client.query('SELECT pg_sleep(60)').then(
      () => undefined,
      (error: unknown) => error as pg.DatabaseError,
    );
    // The query has reached the database before the signal.
    await waitFor('the query to run', async () => {
      const activity = await db.sql("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'");
      return activity.rows.length > 0 ? true : undefined;
    }, gatehouse);
    await terminate(gatehouse);
    const error = await busy;
    expect(error?.code).toBe('57P01');
    expect(error?.message).toBe('Gatehouse is shutting down');
    expect(await gatehouse.exited).toBe(143);
    await client.end().catch(() => undefined);
  });

  it('ends the drain at once on a second SIGTERM, and exits 143', async () => {
    const gatehouse = await startGatehouse('twice', '10m');
    const client = await connect(gatehouse);
    const ended = new Promise<pg.DatabaseError>((resolvePromise) => client.once('error', (error) => resolvePromise(error as pg.DatabaseError)));
    await terminate(gatehouse);
    gatehouse.child.kill('SIGTERM');
    expect((await ended).code).toBe('57P01');
    expect(await gatehouse.exited).toBe(143);
    await client.end().catch(() => undefined);
  });
});
