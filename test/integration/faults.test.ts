// Faults on the database side, with real processes (issue 7, "Faults"): a backend terminated or
// SIGKILLed mid-query, PostgreSQL stopped and started again on the same port, a database that
// accepts TCP and never answers, one that resets or cuts the connection, a slow link, a link cut
// mid-result, and the database's certificate replaced under verify-full. Network faults come from
// a fault-injecting TCP relay on loopback (test/support/fault-relay.ts) between Gatehouse and the
// real PostgreSQL. Each time the session concerned gets a clear error, the others go on, Gatehouse
// is never restarted, and the audit trail says what happened. (AWS faults: faults-aws.test.ts.)
import { chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { sslRequest } from '../../src/protocol/startup-message.js';
import { FaultRelay } from '../support/fault-relay.js';
import { connectionRefusal, startTestGatehouse, type AuditEvent, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const PASSWORD = 'faults-password-for-tests-93b7';
const CONNECT_TIMEOUT_MS = 1500;

let db: TestPostgres;
let relay: FaultRelay;
let gatehouse: TestGatehouse;
const certificates = new Map<string, ClientCertificate>();

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  process.env.GH_TEST_FAULTS_PASSWORD = PASSWORD;
  relay = await FaultRelay.start({ port: db.port });
  const service = (name: string, uri: string) => `
  - name: ${name}
    uri: ${uri}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { user: app_user, password_env: GH_TEST_FAULTS_PASSWORD }`;
  gatehouse = await startTestGatehouse(
    `
databases:${service('direct', `127.0.0.1:${db.port}`)}${service('relayed', relay.address)}
roles:
  - name: all
    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }
users:
  - name: alice
    roles: [all]
`,
    `  connect_timeout: ${CONNECT_TIMEOUT_MS}ms`,
  );
  for (const name of ['direct', 'relayed']) certificates.set(name, gatehouse.issue('alice', { database: name, dbUser: 'app_user', dbName: 'app' }));
});

afterAll(async () => {
  await gatehouse?.stop();
  await relay?.close();
  await db?.stop();
});

// ---- helpers ----------------------------------------------------------------------------------

async function waitFor<T>(what: string, found: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The audit record written since `since` with these fields (one line to add a metrics check too). */
function auditRecord(match: Partial<AuditEvent>, since: number): Promise<AuditEvent> {
  const fits = (event: AuditEvent) => Object.entries(match).every(([key, value]) => event[key] === value);
  return waitFor(`audit record ${JSON.stringify(match)}`, () => gatehouse.auditEvents.slice(since).find(fits));
}

async function connect(database: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ ...gatehouse.clientConfig(certificates.get(database)!, 'app_user', 'app'), application_name: applicationName });
  // A connection that ends while idle is an 'error' event; the tests read it with sessionError().
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function refusal(database: string): Promise<pg.DatabaseError> {
  return connectionRefusal(gatehouse.clientConfig(certificates.get(database)!, 'app_user', 'app'));
}

async function answers(database: string): Promise<void> {
  const client = await connect(database, 'faults-check');
  try {
    expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  } finally {
    await client.end();
  }
}

/** The error a client's connection ends with, whether a query was running (rejection) or not ('error' event). */
function sessionError(client: pg.Client): Promise<Error & { code?: string }> {
  return new Promise((resolve) => client.once('error', resolve));
}

/** pid of the backend serving the session with this application_name, once it runs its query. */
function backendPid(applicationName: string): Promise<number> {
  return waitFor(`a backend for ${applicationName}`, async () => {
    const result = await db.sql(`SELECT pid FROM pg_stat_activity WHERE application_name = '${applicationName}' AND state = 'active'`);
    return (result.rows[0] as { pid: number } | undefined)?.pid;
  });
}

/** Puts a new server certificate and key in PGDATA and has PostgreSQL reload them (over `admin`, opened before). */
async function replaceServerCertificate(admin: pg.Client, pair: { certPem: string; keyPem: string }): Promise<void> {
  const pgdata = join(db.dir, 'pgdata');
  const owner = statSync(pgdata);
  for (const [name, content] of [['server.crt', pair.certPem], ['server.key', pair.keyPem]] as const) {
    writeFileSync(join(pgdata, name), content, { mode: 0o600 });
    chownSync(join(pgdata, name), owner.uid, owner.gid);
  }
  await admin.query('SELECT pg_reload_conf()');
}

// ---- the cases --------------------------------------------------------------------------------

describe('a backend that dies mid-query', () => {
  it('pg_terminate_backend: that session gets the database\'s own 57P01, a session mid-query beside it goes on', async () => {
    const since = gatehouse.auditEvents.length;
    const victim = await connect('direct', 'terminated-victim');
    const bystander = await connect('direct', 'terminated-bystander');
    try {
      const doomed = victim.query('SELECT pg_sleep(30)');
      doomed.catch(() => undefined);
      const unaffected = bystander.query('SELECT pg_sleep(0.5), 7 AS seven');
      await db.sql(`SELECT pg_terminate_backend(${await backendPid('terminated-victim')})`);
      await expect(doomed).rejects.toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command' });
      expect((await unaffected).rows[0].seven).toBe(7);
      expect((await bystander.query('SELECT 8 AS eight')).rows).toEqual([{ eight: 8 }]);
      await auditRecord({ event: 'session.end', reason: 'the database closed the connection' }, since);
    } finally {
      await Promise.all([victim.end().catch(() => undefined), bystander.end()]);
    }
  });

  it('SIGKILL: that session ends with an error as it would without Gatehouse, and new sessions work once PostgreSQL recovered', async () => {
    const since = gatehouse.auditEvents.length;
    const victim = await connect('direct', 'killed-victim');
    // A killed backend makes PostgreSQL reset every other backend too (shared memory may be
    // damaged): this session ends as well, which is PostgreSQL's doing, not Gatehouse's.
    const bystander = await connect('direct', 'killed-bystander');
    const bystanderEnded = sessionError(bystander);
    const doomed = victim.query('SELECT pg_sleep(30)');
    doomed.catch(() => undefined);
    process.kill(await backendPid('killed-victim'), 'SIGKILL');
    // The killed backend says nothing; the connection just ends, exactly as a direct one does.
    await expect(doomed).rejects.toThrow('Connection terminated unexpectedly');
    await bystanderEnded;
    const ends = await waitFor('both session.end records', () => {
      const found = gatehouse.auditEvents.slice(since).filter((event) => event.event === 'session.end');
      return found.length >= 2 ? found : undefined;
    });
    // A FIN from the dying process, or a RST when it left bytes unread.
    for (const end of ends) expect(['the database closed the connection', 'the connection to the database failed']).toContain(end.reason);
    await victim.end().catch(() => undefined);
    await bystander.end().catch(() => undefined);
    await waitFor('a session after the crash recovery', async () => {
      try {
        await answers('direct');
        return true;
      } catch {
        return undefined;
      }
    });
  });
});

describe('PostgreSQL restarted', () => {
  it('stopped: sessions are told (57P01), new ones get 08001 naming the address; started again on the same port: served again', async () => {
    const since = gatehouse.auditEvents.length;
    const running = await connect('direct', 'restart-victim');
    const told = sessionError(running);
    await db.stop();
    try {
      expect(await told).toMatchObject({ code: '57P01' });
      const error = await refusal('direct');
      expect(error.code).toBe('08001');
      expect(error.message).toBe(`cannot reach database "direct" at 127.0.0.1:${db.port}: connection refused`);
      await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_UPSTREAM_UNREACHABLE', reason: error.message }, since);
    } finally {
      await db.start();
    }
    await answers('direct');
    await running.end().catch(() => undefined);
  });
});

describe('network faults between Gatehouse and the database', () => {
  it('accepts TCP and never answers: the connect timeout ends it with 08001, and only the SSLRequest was sent', async () => {
    const since = gatehouse.auditEvents.length;
    relay.setFault({ kind: 'blackhole' });
    try {
      const error = await refusal('relayed');
      expect(error.code).toBe('08001');
      expect(error.message).toBe(`database "relayed" at ${relay.address} did not complete the connection and login within ${CONNECT_TIMEOUT_MS} ms`);
      await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_UPSTREAM_UNREACHABLE', reason: error.message }, since);
      expect(relay.accepted.at(-1)?.received).toEqual(sslRequest());
      // Gatehouse gave up on the silent connection rather than leaving it open.
      await waitFor('the silent connection to close', () => (relay.accepted.at(-1)?.closed === true ? true : undefined));
    } finally {
      relay.setFault({ kind: 'pass' });
    }
    await answers('relayed');
  });

  it('a reset at connect and a FIN right after the SSLRequest answer are 08001 saying so', async () => {
    const since = gatehouse.auditEvents.length;
    try {
      relay.setFault({ kind: 'reset' });
      const reset = await refusal('relayed');
      expect(reset.code).toBe('08001');
      // Where the RST lands first (the dial or the SSLRequest exchange) decides the wording.
      expect(reset.message).toMatch(
        new RegExp(`^(cannot reach database "relayed" at ${relay.address}: connection reset|database "relayed" at ${relay.address} (closed the connection|failed) during TLS negotiation)`),
      );
      relay.setFault({ kind: 'cut', afterBytes: 1, direction: 'to-client' });
      const cut = await refusal('relayed');
      expect(cut.code).toBe('08001');
      expect(cut.message).toMatch(new RegExp(`^TLS to database "relayed" at ${relay.address} failed under verify-full: `));
      await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_UPSTREAM_TLS', reason: cut.message }, since);
    } finally {
      relay.setFault({ kind: 'pass' });
    }
    await answers('relayed');
  });

  it('a slow link (50 ms per chunk each way) still logs in and relays', async () => {
    relay.setFault({ kind: 'delay', ms: 50 });
    try {
      const client = await connect('relayed', 'slow-link');
      try {
        const result = await client.query("SELECT count(*)::int AS n, max(length(repeat('x', i))) AS widest FROM generate_series(1, 2000) AS i");
        expect(result.rows).toEqual([{ n: 2000, widest: 2000 }]);
      } finally {
        await client.end();
      }
    } finally {
      relay.setFault({ kind: 'pass' });
    }
  });

  it('a link reset mid-result ends that session with an error; a session on the direct route goes on', async () => {
    const since = gatehouse.auditEvents.length;
    const bystander = await connect('direct', 'reset-bystander');
    // Login and the first rows pass; 200 kB into the answers the relay sends both sides a RST.
    relay.setFault({ kind: 'reset', afterBytes: 200_000, direction: 'to-client' });
    try {
      const victim = await connect('relayed', 'reset-victim');
      victim.on('error', () => undefined);
      const unaffected = bystander.query('SELECT pg_sleep(0.3), 9 AS nine');
      await expect(victim.query("SELECT i, repeat('y', 200) FROM generate_series(1, 50000) AS i")).rejects.toThrow();
      expect((await unaffected).rows[0].nine).toBe(9);
      const end = await auditRecord({ event: 'session.end', reason: 'the connection to the database failed' }, since);
      expect(end.bytes_to_client as number).toBeLessThan(300_000);
      await victim.end().catch(() => undefined);
    } finally {
      relay.setFault({ kind: 'pass' });
      await bystander.end();
    }
    await answers('relayed');
  });
});

describe('the database certificate changed under verify-full', () => {
  it('refuses the new certificate from another CA, naming the TLS failure; sessions already open go on; the old one restored works again', async () => {
    const since = gatehouse.auditEvents.length;
    const original = { certPem: readFileSync(join(db.dir, 'pgdata', 'server.crt'), 'utf8'), keyPem: readFileSync(join(db.dir, 'pgdata', 'server.key'), 'utf8') };
    const open = await connect('direct', 'open-before-the-change');
    // Once the certificate changed, new direct connections fail verification too.
    const admin = await db.connect();
    try {
      const impostor = CertificateAuthority.create('not the database CA').issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 3600_000 });
      await replaceServerCertificate(admin, impostor);
      const foreign = await refusal('direct');
      expect(foreign.code).toBe('08001');
      expect(foreign.message).toMatch(
        new RegExp(`^TLS to database "direct" at 127\\.0\\.0\\.1:${db.port} failed under verify-full: (self-signed certificate in certificate chain|unable to verify the first certificate|unable to get local issuer certificate)$`),
      );
      await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_UPSTREAM_TLS', reason: foreign.message }, since);
      expect((await open.query('SELECT 10 AS still_open')).rows).toEqual([{ still_open: 10 }]);
    } finally {
      await replaceServerCertificate(admin, original);
      await Promise.all([open.end(), admin.end()]);
    }
    await answers('direct');
  });
});
