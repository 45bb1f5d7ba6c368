// Limits on running sessions, against a real PostgreSQL with real pg clients: proxy.max_connections
// and a role's max_connections (53300 after TLS and identification), client_idle_timeout per role
// (57P05), an expiring client certificate (28000), each with its session.end audit reason, and TCP
// keepalive on the client and database sockets (read back from the kernel with ss).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { connectionRefusal, startTestGatehouse, type AuditEvent, type TestGatehouse } from '../support/gatehouse.js';

const PASSWORD = 'limits-password-for-tests-41c2';
const execFileAsync = promisify(execFile);

let db: TestPostgres;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  process.env.GH_TEST_LIMITS_PASSWORD = PASSWORD;
  gatehouse = await startTestGatehouse(
    `
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_LIMITS_PASSWORD }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }
  - name: few
    options: { max_connections: 5 }
  - name: single
    options: { max_connections: 1 }
  - name: quick
    options: { client_idle_timeout: 1s }
users:
  - name: alice
    roles: [access]
  - name: bob
    roles: [access, few, single]
  - name: idler
    roles: [access, quick]
`,
    '  max_connections: 3\n  client_idle_timeout: 1h\n  tcp_keepalive: 45s',
  );
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
});

/** Resolves with the error a connected client is sent once Gatehouse ends its session. */
function sessionError(client: pg.Client): Promise<pg.DatabaseError> {
  return new Promise((resolve) => client.once('error', (error) => resolve(error as pg.DatabaseError)));
}

async function waitFor<T>(what: string, found: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function endOf(user: string, reason: string): AuditEvent | undefined {
  return gatehouse.auditEvents.find((event) => event.event === 'session.end' && event.user === user && String(event.reason).includes(reason));
}

async function closeAll(clients: pg.Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  await waitFor('all sessions to end', () => (gatehouse.daemon.activeSessionCount === 0 ? true : undefined));
}

describe('max_connections', () => {
  it('refuses a user past the smallest max_connections among their roles with 53300 naming the limit', async () => {
    const bob = gatehouse.issue('bob', { database: 'main' });
    const first = await gatehouse.connect(bob, 'app_user', 'app');
    try {
      const refusal = await connectionRefusal(gatehouse.clientConfig(bob, 'app_user', 'app'));
      expect(refusal.code).toBe('53300');
      expect(refusal.message).toBe('too many connections for user bob: 1 sessions open, the limit is 1 (max_connections of role "single")');
      // The first session is untouched, and once it ends bob may connect again.
      expect((await first.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await closeAll([first]);
    }
    const again = await gatehouse.connect(bob, 'app_user', 'app');
    await closeAll([again]);
    // A refusal is audited as a failed session.start.
    await waitFor('the refusal in the audit log', () =>
      gatehouse.auditEvents.find((event) => event.event === 'session.start' && event.success === false && event.user === 'bob' && event.sqlstate === '53300'),
    );
  });

  it('refuses any user past proxy.max_connections with 53300', async () => {
    const alice = gatehouse.issue('alice', { database: 'main' });
    const clients = [];
    try {
      for (let i = 0; i < 3; i++) clients.push(await gatehouse.connect(alice, 'app_user', 'app'));
      const refusal = await connectionRefusal(gatehouse.clientConfig(alice, 'app_user', 'app'));
      expect(refusal.code).toBe('53300');
      expect(refusal.message).toBe('too many connections: Gatehouse already serves 3 sessions, its limit (proxy.max_connections) is 3');
    } finally {
      await closeAll(clients);
    }
  });
});

describe('client_idle_timeout', () => {
  it("ends a session idle past its role's timeout with 57P05 and the reason in session.end", async () => {
    const idler = await gatehouse.connect(gatehouse.issue('idler', { database: 'main' }), 'app_user', 'app');
    const ended = sessionError(idler);
    // Traffic keeps it alive; then silence ends it.
    for (let i = 0; i < 3; i++) await idler.query('SELECT pg_sleep(0.4)');
    const error = await ended;
    expect(error.code).toBe('57P05');
    expect(error.message).toBe('terminating connection due to idle timeout: no activity for 1s (client_idle_timeout)');
    const end = await waitFor('session.end', () => endOf('idler', 'client_idle_timeout'));
    expect(end).toMatchObject({ reason: 'client_idle_timeout: no activity for 1s', sqlstate: '57P05' });
    await closeAll([idler]);
  });

  it('leaves sessions of users without a role timeout to the proxy-wide one (1h here)', async () => {
    const alice = await gatehouse.connect(gatehouse.issue('alice', { database: 'main' }), 'app_user', 'app');
    // Longer than idler's 1 s timeout: alice's session must still work.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await alice.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await closeAll([alice]);
  });
});

describe('disconnect_expired_cert', () => {
  it('ends the session when its certificate expires, with 28000 saying so', async () => {
    const shortLived = gatehouse.issue('alice', { database: 'main' }, 4_000);
    const client = await gatehouse.connect(shortLived, 'app_user', 'app');
    const ended = sessionError(client);
    const error = await ended;
    expect(error.code).toBe('28000');
    expect(error.message).toMatch(/^terminating connection: your client certificate expired at \d{4}-\d\d-\d\dT/);
    const end = await waitFor('session.end', () => endOf('alice', 'client certificate expired'));
    expect(end).toMatchObject({ sqlstate: '28000' });
    await closeAll([client]);
  });
});

describe('TCP keepalive', () => {
  it('is on for the client socket and the database socket with proxy.tcp_keepalive', async () => {
    const client = await gatehouse.connect(gatehouse.issue('alice', { database: 'main' }), 'app_user', 'app');
    try {
      const { stdout } = await execFileAsync('ss', ['-tnoH', 'state', 'established']);
      // Columns: Recv-Q Send-Q Local Peer [timer:(keepalive,44sec,0)].
      const sockets = stdout
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter((columns) => columns.length >= 4)
        .map(([, , local = '', peer = '', ...rest]) => ({ local, peer, keepalive: /timer:\(keepalive,(\d+)sec/.exec(rest.join(' '))?.[1] }));
      // Gatehouse's end of the client connection, and its connection to the database.
      const clientSide = sockets.filter((socket) => socket.local.endsWith(`:${gatehouse.port}`));
      const databaseSide = sockets.filter((socket) => socket.peer.endsWith(`:${db.port}`));
      expect(clientSide.length).toBeGreaterThan(0);
      expect(databaseSide.length).toBeGreaterThan(0);
      for (const socket of [...clientSide, ...databaseSide]) {
        expect(socket.keepalive, `${socket.local} -> ${socket.peer}`).toBeDefined();
        expect(Number(socket.keepalive)).toBeLessThanOrEqual(45);
      }
    } finally {
      await closeAll([client]);
    }
  });
});
