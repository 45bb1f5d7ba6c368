// A whole session through Gatehouse against a real PostgreSQL (TLS, scram-sha-256), with real
// clients: simple and extended queries, a large result, LISTEN/NOTIFY, 100 MB COPY in and out
// with checksums, cancel from pg and from psql, and the audit trail all of that leaves.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';

const APP_PASSWORD = 'app-password-for-tests-7f3a';
const execFileAsync = promisify(execFile);
const psqlAvailable = spawnSync('psql', ['--version']).status === 0;

let db: TestPostgres;
let gatehouse: TestGatehouse;
let alice: ClientCertificate;

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${APP_PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  process.env.GH_TEST_SESSION_PASSWORD = APP_PASSWORD;
  gatehouse = await startTestGatehouse(`
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_SESSION_PASSWORD }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: ["{{internal.db_users}}"], db_names: ["{{internal.db_names}}"] }
users:
  - name: alice
    roles: [access]
    traits: { db_users: [app_user], db_names: [app] }
`);
  alice = gatehouse.issue('alice', { database: 'main' });
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
});

async function withClient<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await gatehouse.connect(alice, 'app_user', 'app');
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

describe('a session through Gatehouse', () => {
  it('runs simple-protocol queries as the upstream user', async () => {
    const result = await withClient((client) => client.query('SELECT current_user AS who, current_database() AS db'));
    expect(result.rows).toEqual([{ who: 'app_user', db: 'app' }]);
  });

  it('forwards the client\'s startup parameters upstream', async () => {
    const client = new pg.Client({ ...gatehouse.clientConfig(alice, 'app_user', 'app'), application_name: 'through-gatehouse' });
    await client.connect();
    try {
      const result = await client.query("SELECT current_setting('application_name') AS app, current_setting('client_encoding') AS encoding");
      expect(result.rows[0]).toEqual({ app: 'through-gatehouse', encoding: 'UTF8' });
    } finally {
      await client.end();
    }
  });

  it('runs extended-protocol queries with parameters and prepared statements', async () => {
    await withClient(async (client) => {
      const sum = await client.query('SELECT $1::int + $2::int AS sum', [40, 2]);
      expect(sum.rows[0].sum).toBe(42);
      for (let i = 0; i < 3; i++) {
        const named = await client.query({ name: 'echo', text: 'SELECT $1::text AS echoed', values: [`round ${i}`] });
        expect(named.rows[0].echoed).toBe(`round ${i}`);
      }
    });
  });

  it('streams a large result intact', async () => {
    const result = await withClient((client) =>
      client.query("SELECT i, repeat('x', 100) AS pad FROM generate_series(1, 300000) AS i"),
    );
    expect(result.rowCount).toBe(300000);
    expect(result.rows.at(-1)).toEqual({ i: 300000, pad: 'x'.repeat(100) });
  });

  it('delivers LISTEN/NOTIFY between two sessions', async () => {
    const listener = await gatehouse.connect(alice, 'app_user', 'app');
    try {
      await listener.query('LISTEN gatehouse_test');
      const received = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
      await withClient((client) => client.query("NOTIFY gatehouse_test, 'hello through the proxy'"));
      const notification = await received;
      expect(notification.channel).toBe('gatehouse_test');
      expect(notification.payload).toBe('hello through the proxy');
    } finally {
      await listener.end();
    }
  });

  it('copies 100 MB in and out with matching checksums on both sides', async () => {
    const rowCount = 1_000_000;
    const payload = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123';
    const lineFor = (i: number) => `${i}\t${payload}\n`;
    const sent = createHash('sha256');
    let sentBytes = 0;
    function* lines() {
      for (let i = 1; i <= rowCount; i += 1000) {
        let chunk = '';
        for (let j = i; j < i + 1000; j++) chunk += lineFor(j);
        sent.update(chunk);
        sentBytes += chunk.length;
        yield Buffer.from(chunk);
      }
    }
    await withClient(async (client) => {
      await client.query('CREATE TABLE IF NOT EXISTS copy_test (id int, body text)');
      await client.query('TRUNCATE copy_test');
      await pipeline(Readable.from(lines()), client.query(copyFrom('COPY copy_test FROM STDIN')));
    });
    expect(sentBytes).toBeGreaterThan(100 * 1000 * 1000);
    const digestSent = sent.digest('hex');

    const copyOutDigest = async (client: pg.Client) => {
      const received = createHash('sha256');
      const stream = client.query(copyTo('COPY (SELECT id, body FROM copy_test ORDER BY id) TO STDOUT'));
      for await (const chunk of stream) received.update(chunk as Buffer);
      return received.digest('hex');
    };
    expect(await withClient(copyOutDigest)).toBe(digestSent);
    const direct = await db.connect('app');
    try {
      expect(await copyOutDigest(direct)).toBe(digestSent);
    } finally {
      await direct.end();
    }
  });

  it('forwards a plaintext CancelRequest carrying the key Gatehouse issued', async () => {
    await withClient(async (client) => {
      const running = client.query('SELECT pg_sleep(30)');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      await sendPlaintextCancel(gatehouse.port, processID, secretKey);
      await expect(running).rejects.toMatchObject({ code: '57014' });
      const after = await client.query('SELECT 1 AS still_usable');
      expect(after.rows[0].still_usable).toBe(1);
    });
  });

  it('cancels through node-postgres\'s own cancel, which reconnects with the same TLS settings', async () => {
    await withClient(async (client) => {
      const running = client.query('SELECT pg_sleep(30)');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const canceller = new pg.Client(gatehouse.clientConfig(alice, 'app_user', 'app')) as pg.Client & {
        cancel(target: pg.Client, query: unknown): void;
      };
      const active = (client as unknown as { activeQuery: unknown }).activeQuery;
      canceller.cancel(client, active);
      await expect(running).rejects.toMatchObject({ code: '57014' });
    });
  });

  it('ignores a CancelRequest with a wrong key and keeps the query running', async () => {
    await withClient(async (client) => {
      const running = client.query('SELECT pg_sleep(1.5) AS slept');
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      await sendPlaintextCancel(gatehouse.port, processID, (secretKey ^ 0x5a5a5a5a) | 0);
      await expect(running).resolves.toMatchObject({ rowCount: 1 });
    });
  });

  it.skipIf(!psqlAvailable)('serves psql with verify-full, and psql\'s own Ctrl+C cancels the query', async () => {
    const files = gatehouse.writeClientFiles(alice, 'psql');
    const conninfo = `host=localhost port=${gatehouse.port} sslmode=verify-full sslrootcert=${files.ca} sslcert=${files.cert} sslkey=${files.key} user=app_user dbname=app`;
    // Async: the proxy runs in this process, so a synchronous spawn would deadlock it.
    const simple = await execFileAsync('psql', [conninfo, '-Atc', 'SELECT 6 * 7'], { encoding: 'utf8' });
    expect(simple.stderr).toBe('');
    expect(simple.stdout.trim()).toBe('42');

    const psql = spawn('psql', [conninfo, '-Atc', 'SELECT pg_sleep(30)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    psql.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    psql.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => psql.on('exit', resolve));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(stderr).toContain('canceling statement due to user request');
    expect(code).not.toBe(0);
  });

  it('writes session.start, session.query and session.end audit events', async () => {
    await withClient(async (client) => {
      await client.query("SELECT 'audit me' AS marker");
      await client.query('SELECT $1::text AS param_marker', ['secret-ish parameter']);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const events = gatehouse.auditEvents;
    const simple = events.find((event) => event.event === 'session.query' && event.query === "SELECT 'audit me' AS marker");
    expect(simple).toMatchObject({ message: 'query', user: 'alice', database: 'main', db_user: 'app_user', db_name: 'app' });
    const start = events.find((event) => event.event === 'session.start' && event.session_id === simple?.session_id);
    expect(start).toMatchObject({ success: true, user: 'alice', database: 'main', db_user: 'app_user', db_name: 'app', upstream_user: 'app_user' });
    expect(start?.client_addr).toMatch(/^127\.0\.0\.1:\d+$/);
    const extended = events.find((event) => event.event === 'session.query' && event.query === 'SELECT $1::text AS param_marker');
    expect(extended).toMatchObject({ message: 'bind', parameters: ['secret-ish parameter'] });
    const end = events.find((event) => event.event === 'session.end' && event.session_id === extended?.session_id);
    expect(end).toMatchObject({ reason: 'client terminated the session' });
    expect(end?.bytes_from_client).toEqual(expect.any(Number));
    expect(end?.bytes_to_client as number).toBeGreaterThan(0);
    // The upstream password never appears in any log or audit line.
    const everything = JSON.stringify(events) + gatehouse.logLines.join('');
    expect(everything).not.toContain(APP_PASSWORD);
  });
});

/** What psql does on Ctrl+C: a new plaintext connection carrying only the key. */
function sendPlaintextCancel(port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(80877102, 4);
      message.writeInt32BE(processId, 8);
      message.writeInt32BE(secretKey, 12);
      socket.end(message);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}
