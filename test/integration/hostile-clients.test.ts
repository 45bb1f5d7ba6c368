// Hostile clients against a real Gatehouse and a real PostgreSQL (issue 7, "Hostile clients"): a
// startup trickled one byte a second, TLS handshakes that stall, 2,000 connections opened and
// abandoned, half-open and half-closed sockets, bytes after Terminate, a 1 GB message length,
// plaintext injected behind an SSLRequest (CVE-2021-3935), and certificates used for another
// database, altered and re-signed, or not yet valid. Each is refused with its message and leaves
// its audit record; nobody else notices, and the proxy keeps serving. (The plain door refusals,
// expired and foreign certificates among them, are in refusals.test.ts.)
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseErrorFields } from '../../src/protocol/error-fields.js';
import { sslRequest, startupMessage } from '../../src/protocol/startup-message.js';
import { FaultRelay } from '../support/fault-relay.js';
import { forgeCertificate, foreignCa } from '../support/forged-certificates.js';
import { PrometheusText } from '../support/prometheus-text.js';
import { connectionRefusal, startTestGatehouse, type AuditEvent, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const PASSWORD = 'hostile-clients-password-5e8a';
const STARTUP_TIMEOUT_S = 2;

let db: TestPostgres;
let gatehouse: TestGatehouse;
let alice: ClientCertificate;

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  await db.sql('CREATE DATABASE app OWNER app_user');
  process.env.GH_TEST_HOSTILE_PASSWORD = PASSWORD;
  const service = (name: string, env: string) => `
  - name: ${name}
    uri: 127.0.0.1:${db.port}
    labels: { env: ${env} }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { user: app_user, password_env: GH_TEST_HOSTILE_PASSWORD }`;
  gatehouse = await startTestGatehouse(
    `
databases:${service('main', 'dev')}${service('prod', 'prod')}
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }
  - name: quick
    options: { client_idle_timeout: 1s }
users:
  - name: alice
    roles: [access]
  - name: idler
    roles: [access, quick]
`,
    `  startup_timeout: ${STARTUP_TIMEOUT_S}s`,
  );
  alice = gatehouse.issue('alice', { database: 'main', dbUser: 'app_user', dbName: 'app' });
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
});

// ---- what every case checks -------------------------------------------------------------------

async function waitFor<T>(what: string, found: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The audit record a refusal or a session end left, found by its fields. Every hostile case goes
 * through here, so adding a check that it was also counted (metrics, once /metrics lands) is one line.
 */
async function auditRecord(match: Partial<AuditEvent>, since = 0): Promise<AuditEvent> {
  const fits = (event: AuditEvent) => Object.entries(match).every(([key, value]) => event[key] === value);
  return waitFor(`audit record ${JSON.stringify(match)}`, () => gatehouse.auditEvents.slice(since).find(fits));
}

/** A session from another, well-behaved client works while (or after) something hostile happens. */
async function stillServing(): Promise<void> {
  const client = await gatehouse.connect(alice, 'app_user', 'app');
  try {
    expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  } finally {
    await client.end();
  }
}

/** Nothing Gatehouse did so far was an unexpected error (a crash turned into XX000, or a session crash). */
function expectNoInternalErrors(): void {
  const errors = gatehouse.logLines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
  expect(errors).toEqual([]);
}

// ---- raw clients ------------------------------------------------------------------------------

interface RawClient {
  socket: net.Socket;
  /** address:port as Gatehouse's audit records write client_addr. */
  readonly address: string;
  received(): Buffer;
  readonly closed: Promise<void>;
}

function rawClient(): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const socket = net.connect(gatehouse.port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => (seen = Buffer.concat([seen, chunk])));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolveClosed) => socket.on('close', () => resolveClosed()));
    socket.once('connect', () => resolve({ socket, address: `127.0.0.1:${socket.localPort}`, received: () => seen, closed }));
    socket.once('error', reject);
  });
}

/** A logged-in session over direct TLS, resolved at its first ReadyForQuery. */
async function loggedIn(certificate: ClientCertificate, applicationName: string): Promise<RawClient & { socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const socket = tls.connect({ host: '127.0.0.1', port: gatehouse.port, servername: 'localhost', ca: gatehouse.hostCaPem, cert: certificate.certPem, key: certificate.keyPem, ALPNProtocols: ['postgresql'] });
    const closed = new Promise<void>((resolveClosed) => socket.on('close', () => resolveClosed()));
    socket.on('secureConnect', () => socket.write(startupMessage(new Map([['user', 'app_user'], ['database', 'app'], ['application_name', applicationName]]))));
    socket.on('data', (chunk: Buffer) => {
      const ready = seen.includes(READY_FOR_QUERY);
      seen = Buffer.concat([seen, chunk]);
      if (!ready && seen.includes(READY_FOR_QUERY)) resolve({ socket, address: `127.0.0.1:${socket.localPort}`, received: () => seen, closed });
    });
    socket.on('error', reject);
  });
}

const READY_FOR_QUERY = Buffer.from([0x5a, 0, 0, 0, 5]);
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

function queryMessage(text: string): Buffer {
  const body = Buffer.from(`${text}\0`);
  const header = Buffer.alloc(5);
  header.write('Q', 0);
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/** The fields of the first ErrorResponse in `bytes`. */
function errorFields(bytes: Buffer): Map<string, string> {
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const length = bytes.readInt32BE(offset + 1);
    if (bytes[offset] === 0x45) return parseErrorFields(bytes.subarray(offset + 5, offset + 1 + length));
    offset += 1 + length;
  }
  throw new Error(`no ErrorResponse in ${JSON.stringify(bytes.toString('latin1'))}`);
}

async function backendsNamed(applicationName: string): Promise<number> {
  const result = await db.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${applicationName}'`);
  return (result.rows[0] as { n: number }).n;
}

async function tableExists(name: string): Promise<boolean> {
  const result = await db.sql(`SELECT to_regclass('public.${name}') IS NOT NULL AS present`, 'app');
  return (result.rows[0] as { present: boolean }).present;
}

/** Sockets this process holds (Gatehouse runs in it): Linux only. */
function openSocketCount(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) count++;
    } catch {
      // closed while listing
    }
  }
  return count;
}

// ---- the cases --------------------------------------------------------------------------------

describe('slow and stalled clients', () => {
  it(`refuses a startup trickled one byte a second at the ${STARTUP_TIMEOUT_S} s startup timeout, while others are served`, async () => {
    const slow = await rawClient();
    const packet = startupMessage(new Map([['user', 'app_user'], ['database', 'app']]));
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < packet.length && !slow.socket.destroyed) slow.socket.write(packet.subarray(sent, ++sent));
    }, 1_000);
    try {
      // The trickle holds no one else up.
      await stillServing();
      await slow.closed;
    } finally {
      clearInterval(drip);
    }
    expect(sent).toBeLessThan(packet.length);
    const fields = errorFields(slow.received());
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toBe(`no startup message within ${STARTUP_TIMEOUT_S} s; closing the connection`);
    await auditRecord({ event: 'session.start', success: false, client_addr: slow.address, code: 'GH_ERR_STARTUP_TIMEOUT', sqlstate: '08P01' });
  });

  it('closes TLS handshakes that stall (after SSLRequest, mid-ClientHello, direct TLS) at the startup timeout', async () => {
    const afterSslRequest = await rawClient();
    afterSslRequest.socket.write(sslRequest());
    const midClientHello = await rawClient();
    midClientHello.socket.write(sslRequest());
    await waitFor("'S'", () => (midClientHello.received().toString('latin1') === 'S' ? true : undefined));
    // A TLS record header announcing 512 bytes of handshake, and only a few of them.
    midClientHello.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    const direct = await rawClient();
    direct.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    await stillServing();
    await Promise.all([afterSslRequest.closed, midClientHello.closed, direct.closed]);
    // Nothing can be said inside a TLS handshake that never finished: the connection is just closed.
    expect(afterSslRequest.received().toString('latin1')).toBe('S');
    expect(midClientHello.received().toString('latin1')).toBe('S');
    expect(direct.received().length).toBe(0);
    for (const client of [afterSslRequest, midClientHello, direct]) {
      const record = await auditRecord({ event: 'session.start', success: false, client_addr: client.address });
      expect(record).toMatchObject({ code: 'GH_ERR_STARTUP_TIMEOUT', reason: `no startup message within ${STARTUP_TIMEOUT_S} s; closing the connection` });
    }
  });
});

describe('floods and dead peers', () => {
  it('survives 2,000 connections opened and abandoned; a normal session works and open sockets return to baseline', async () => {
    await stillServing();
    await waitFor('no sessions', () => (gatehouse.daemon.activeSessionCount === 0 ? true : undefined));
    const baseline = openSocketCount();
    const auditBefore = gatehouse.auditEvents.length;
    const half = startupMessage(new Map([['user', 'app_user']])).subarray(0, 7);
    /** Four ways to give up: at once, after SSLRequest, mid-StartupMessage (FIN), mid-ClientHello (RST). */
    const closed: Array<Promise<void>> = [];
    const abandon = async (kind: number): Promise<void> => {
      const client = await rawClient();
      if (kind === 0) client.socket.destroy();
      else if (kind === 1) client.socket.end(sslRequest());
      else if (kind === 2) client.socket.end(half);
      else {
        client.socket.write(sslRequest());
        await waitFor("'S'", () => (client.received().length > 0 ? true : undefined));
        client.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
        client.socket.resetAndDestroy();
      }
      closed.push(client.closed);
    };
    for (let wave = 0; wave < 8; wave++) await Promise.all(Array.from({ length: 250 }, (_, i) => abandon(i % 4)));
    await Promise.all(closed);
    await stillServing();
    await waitFor('the abandoned sessions to be gone', () => (gatehouse.daemon.activeSessionCount === 0 ? true : undefined));
    await waitFor(`open sockets back to ${baseline}`, () => (openSocketCount() <= baseline ? true : undefined), 20_000);
    // The only session is the well-behaved one. Clients that left during startup are not audited
    // (scanners and health checks do that); a TLS handshake cut short is, as a refusal.
    const records = gatehouse.auditEvents.slice(auditBefore);
    expect(records.filter((event) => event.event === 'session.start' && event.success === true)).toHaveLength(1);
    const refusals = records.filter((event) => event.event === 'session.start' && event.success === false);
    expect(refusals.length).toBeLessThanOrEqual(1_000);
    expect(refusals.filter((event) => event.code !== 'GH_ERR_PROTOCOL_VIOLATION' || !String(event.reason).startsWith('TLS handshake failed'))).toEqual([]);
    expectNoInternalErrors();
  });

  it('ends a session whose client vanished without a FIN or RST (half-open) at the idle timeout, and releases its backend', async () => {
    const relay = await FaultRelay.start({ port: gatehouse.port });
    try {
      const idler = gatehouse.issue('idler', { database: 'main' });
      const client = new pg.Client({ ...gatehouse.clientConfig(idler, 'app_user', 'app'), port: relay.port, application_name: 'half-open-test' });
      client.on('error', () => undefined);
      await client.connect();
      expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      expect(await backendsNamed('half-open-test')).toBe(1);
      const [link] = [...relay.open];
      // From now on the client is silent and unreachable, and Gatehouse's socket stays established.
      relay.applyToOpen({ kind: 'blackhole' });
      const record = await auditRecord({ event: 'session.end', user: 'idler', sqlstate: '57P05' });
      expect(record.reason).toBe('client_idle_timeout: no activity for 1s');
      await waitFor('the backend to go', async () => ((await backendsNamed('half-open-test')) === 0 ? true : undefined));
      // Gatehouse closed its side of the dead link.
      await waitFor("Gatehouse's side of the link to close", () => (link?.closed === true ? true : undefined));
      await client.end().catch(() => undefined);
    } finally {
      await relay.close();
    }
  });

  it('closes a session whose client shut its sending side mid-message (half-closed), and releases its backend', async () => {
    const session = await loggedIn(alice, 'half-closed-test');
    expect(await backendsNamed('half-closed-test')).toBe(1);
    const query = queryMessage('CREATE TABLE half_closed_marker ()');
    session.socket.end(query.subarray(0, 12));
    await session.closed;
    const record = await auditRecord({ event: 'session.end', client_addr: session.address });
    expect(record.reason).toBe('client closed the connection');
    await waitFor('the backend to go', async () => ((await backendsNamed('half-closed-test')) === 0 ? true : undefined));
    expect(await tableExists('half_closed_marker')).toBe(false);
  });
});

describe('after login', () => {
  it('forwards and audits nothing a client sends after Terminate', async () => {
    const session = await loggedIn(alice, 'after-terminate-test');
    const before = queryMessage('SELECT 1 AS before_terminate');
    session.socket.write(Buffer.concat([before, TERMINATE, queryMessage('CREATE TABLE after_terminate_marker ()'), queryMessage('SELECT 2')]));
    await session.closed;
    const end = await auditRecord({ event: 'session.end', client_addr: session.address });
    expect(end).toMatchObject({ reason: 'client terminated the session', bytes_from_client: before.length + TERMINATE.length });
    const queries = gatehouse.auditEvents.filter((event) => event.event === 'session.query' && event.session_id === end.session_id).map((event) => event.query);
    expect(queries).toEqual(['SELECT 1 AS before_terminate']);
    expect(await tableExists('after_terminate_marker')).toBe(false);
  });

  it('refuses a message claiming 1 GB with 08P01, audits it, and a concurrent session mid-query is unaffected', async () => {
    const other = await gatehouse.connect(alice, 'app_user', 'app');
    try {
      const running = other.query('SELECT pg_sleep(1), 42 AS answer');
      running.catch(() => undefined);
      const session = await loggedIn(alice, 'one-gigabyte-test');
      const before = session.received().length;
      const header = Buffer.alloc(5);
      header.write('Q', 0);
      header.writeInt32BE(0x40000000, 1);
      session.socket.write(header);
      await session.closed;
      const fields = errorFields(session.received().subarray(before));
      expect(fields.get('C')).toBe('08P01');
      expect(fields.get('M')).toBe(
        'message too large: the client sent a \'Q\' message of 1073741824 bytes, over the limit of 1073741823 bytes; send the data in smaller pieces',
      );
      const end = await auditRecord({ event: 'session.end', client_addr: session.address });
      expect(end).toMatchObject({ sqlstate: '08P01', reason: `protocol violation: ${fields.get('M')}` });
      expect((await running).rows[0].answer).toBe(42);
      expect((await other.query('SELECT 3 AS still_answering')).rows).toEqual([{ still_answering: 3 }]);
    } finally {
      await other.end();
    }
  });
});

describe('plaintext pipelined behind an SSLRequest (CVE-2021-3935)', () => {
  it('refuses it before TLS, so the injected bytes can never be read as part of the session', async () => {
    const injected = await rawClient();
    injected.socket.write(Buffer.concat([sslRequest(), startupMessage(new Map([['user', 'app_user'], ['database', 'app']])), queryMessage('CREATE TABLE injected_marker ()')]));
    await injected.closed;
    // Never 'S': the client could not go on to a TLS session the injected bytes would be part of.
    expect(injected.received()[0]).toBe(0x45);
    const fields = errorFields(injected.received());
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toBe('received unencrypted data after SSLRequest; start the TLS handshake only after the server answers');
    const record = await auditRecord({ event: 'session.start', success: false, client_addr: injected.address });
    expect(record).toMatchObject({ code: 'GH_ERR_PROTOCOL_VIOLATION', sqlstate: '08P01', reason: fields.get('M') });
    expect(gatehouse.auditEvents.some((event) => String(event.query).includes('injected_marker'))).toBe(false);
    expect(await tableExists('injected_marker')).toBe(false);
  });

  it("takes plaintext sent after 'S' as a failed TLS handshake, never as a StartupMessage", async () => {
    const injected = await rawClient();
    injected.socket.write(sslRequest());
    await waitFor("'S'", () => (injected.received().length > 0 ? true : undefined));
    injected.socket.write(Buffer.concat([startupMessage(new Map([['user', 'app_user'], ['database', 'app']])), queryMessage('CREATE TABLE injected_after_s ()')]));
    await injected.closed;
    expect(injected.received().toString('latin1', 0, 1)).toBe('S');
    const record = await auditRecord({ event: 'session.start', success: false, client_addr: injected.address });
    expect(record).toMatchObject({ code: 'GH_ERR_PROTOCOL_VIOLATION', sqlstate: '08P01' });
    expect(String(record.reason)).toMatch(/^TLS handshake failed: /);
    expect(await tableExists('injected_after_s')).toBe(false);
  });
});

describe('certificates that must not open a session', () => {
  it('cannot use a certificate for one database to reach another: the certificate names the database', async () => {
    const since = gatehouse.auditEvents.length;
    // alice may use main; prod (env=prod) is not hers. Naming it as the database (dbname) or as the db user gets her nowhere.
    const error = await connectionRefusal(gatehouse.clientConfig(alice, 'app_user', 'prod'));
    expect(error.code).toBe('28000');
    expect(error.message).toBe('access to db name "prod" as db user "app_user" on database "main" denied for alice: no role of alice allows db name "prod" (allowed: app)');
    await auditRecord({ event: 'session.start', success: false, user: 'alice', database: 'main', db_name: 'prod', code: 'GH_ERR_ACCESS_DENIED', reason: error.message }, since);
    const prod = gatehouse.issue('alice', { database: 'prod' });
    const denied = await connectionRefusal(gatehouse.clientConfig(prod, 'app_user', 'app'));
    expect(denied.code).toBe('28000');
    expect(denied.message).toBe('access to database "prod" denied for alice: none of alice\'s roles (access) allow databases with labels env=prod');
    await auditRecord({ event: 'session.start', success: false, user: 'alice', database: 'prod', code: 'GH_ERR_ACCESS_DENIED' }, since);
  });

  it('refuses a certificate whose route was altered and re-signed by another key under the CA\'s name', async () => {
    const since = gatehouse.auditEvents.length;
    const userCa = gatehouse.daemon.authorities.userCa;
    const altered = forgeCertificate({ certPem: alice.certPem, signingKeyPem: foreignCa().keyPem, issuerCertPem: userCa.certPem, route: { database: 'prod' } });
    const error = await connectionRefusal(gatehouse.clientConfig({ certPem: altered, keyPem: alice.keyPem }, 'app_user', 'app'));
    expect(error.code).toBe('28000');
    expect(error.message).toBe("the client certificate was not issued by this Gatehouse's user CA");
    await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_CERT_INVALID', sqlstate: '28000', reason: error.message }, since);
    expect(gatehouse.auditEvents.slice(since).filter((event) => event.database === 'prod')).toEqual([]);
  });

  it('refuses a certificate whose route was altered and left with its old signature', async () => {
    const since = gatehouse.auditEvents.length;
    const tampered = forgeCertificate({ certPem: alice.certPem, signingKeyPem: '', route: { database: 'prod' }, keepSignature: true });
    const error = await connectionRefusal(gatehouse.clientConfig({ certPem: tampered, keyPem: alice.keyPem }, 'app_user', 'app'));
    expect(error.code).toBe('28000');
    expect(error.message).toBe("the client certificate was not issued by this Gatehouse's user CA");
    await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_CERT_INVALID', reason: error.message }, since);
  });

  it('refuses a certificate that is not yet valid, and audits it', async () => {
    const since = gatehouse.auditEvents.length;
    const notBefore = new Date(Math.ceil((Date.now() + 3600_000) / 1000) * 1000);
    const early = forgeCertificate({ certPem: alice.certPem, signingKeyPem: gatehouse.daemon.authorities.userCa.keyPem, notBefore, notAfter: new Date(notBefore.getTime() + 3600_000) });
    const error = await connectionRefusal(gatehouse.clientConfig({ certPem: early, keyPem: alice.keyPem }, 'app_user', 'app'));
    expect(error.code).toBe('28000');
    expect(error.message).toBe(`the client certificate for "alice" is not valid until ${notBefore.toISOString()}; check the clocks of this machine and the one that issued it`);
    await auditRecord({ event: 'session.start', success: false, code: 'GH_ERR_CERT_INVALID', sqlstate: '28000', reason: error.message }, since);
  });

  it('is still serving after all of the above, with no internal error logged', async () => {
    await stillServing();
    expectNoInternalErrors();
  });

  it('counted every refusal it audited in its metrics, under the same code', async () => {
    const scraped = new PrometheusText(await gatehouse.daemon.metrics.registry.metrics());
    const audited = new Map<string, number>();
    for (const event of gatehouse.auditEvents) {
      if (event.event === 'session.start' && event.success === false) audited.set(String(event.code), (audited.get(String(event.code)) ?? 0) + 1);
    }
    expect(audited.size).toBeGreaterThanOrEqual(4);
    for (const [code, count] of audited) expect({ code, counted: scraped.value('gatehouse_sessions_refused_total', { code }) }).toEqual({ code, counted: count });
  });
});
