// GET /metrics of a real Gatehouse in front of a real PostgreSQL, fetched over HTTPS and verified
// with the host CA, as Prometheus would: sessions opened with pg show up as active and started,
// a forbidden db user as a refusal with its code and SQLSTATE, relayed bytes grow while a session
// is still open, every session that became ready has its connect phases timed, and a dbctl-style
// login (POST /v1/login, then POST /v1/db-certs with the identity certificate) counts its logins
// and certificates.
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/users/password-hash.js';
import { connectionRefusal, startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { PrometheusText } from '../support/prometheus-text.js';

const PASSWORD = 'metrics-login-password-4f2a';

let db: TestPostgres;
let gatehouse: TestGatehouse;
let certificate: ClientCertificate;

beforeAll(async () => {
  db = await startTestPostgres();
  process.env.GH_TEST_METRICS_PASSWORD = db.superuserPassword;
  const now = new Date().toISOString();
  gatehouse = await startTestGatehouse(
    `
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { user: postgres, password_env: GH_TEST_METRICS_PASSWORD }
  - name: idle
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { user: postgres, password_env: GH_TEST_METRICS_PASSWORD }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [app], db_names: [postgres] }
users:
  - name: alice
    roles: [access]
`,
    '',
    { storedUsers: [{ name: 'alice', roles: [], traits: {}, password_hash: await hashPassword(PASSWORD), created_at: now, updated_at: now }] },
  );
  certificate = gatehouse.issue('alice', { database: 'main', dbUser: 'app', dbName: 'postgres' });
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
  delete process.env.GH_TEST_METRICS_PASSWORD;
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function call(method: string, path: string, options: { body?: unknown; cert?: ClientCertificate } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = https.request(
      {
        host: '127.0.0.1',
        port: gatehouse.daemon.webAddress.port,
        path,
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        ca: gatehouse.hostCaPem,
        servername: 'localhost',
        agent: false,
        ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

async function scrape(): Promise<PrometheusText> {
  const reply = await call('GET', '/metrics');
  expect(reply.status, reply.text).toBe(200);
  return new PrometheusText(reply.text);
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const main = { database: 'main' };

describe('GET /metrics', () => {
  it('answers over HTTPS without a client certificate, in the Prometheus text format', async () => {
    const reply = await call('GET', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    const text = new PrometheusText(reply.text);
    expect(text.has('process_resident_memory_bytes')).toBe(true);
    expect(text.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    // Configured databases are there before their first session.
    expect(text.value('gatehouse_sessions_active', { database: 'idle' })).toBe(0);
    expect(text.value('gatehouse_sessions_started_total', { database: 'idle' })).toBe(0);
  });

  it('refuses other methods', async () => {
    expect((await call('POST', '/metrics', { body: {} })).status).toBe(405);
  });
});

describe('sessions through Gatehouse', () => {
  it('counts active and started sessions, times their connect phases, and reads bytes of live sessions', async () => {
    const before = await scrape();
    const startedBefore = before.value('gatehouse_sessions_started_total', main) ?? 0;
    const clients: pg.Client[] = [await gatehouse.connect(certificate, 'app', 'postgres'), await gatehouse.connect(certificate, 'app', 'postgres')];
    try {
      const during = await scrape();
      expect(during.value('gatehouse_sessions_active', main)).toBe(2);
      expect(during.value('gatehouse_sessions_started_total', main)).toBe(startedBefore + 2);
      const started = during.value('gatehouse_sessions_started_total', main)!;
      for (const phase of ['credentials', 'dial', 'tls', 'auth', 'total']) {
        expect(during.value('gatehouse_connect_duration_seconds_count', { database: 'main', phase }), phase).toBe(started);
      }
      const totalSeconds = during.value('gatehouse_connect_duration_seconds_sum', { database: 'main', phase: 'total' })!;
      const phaseSeconds = ['credentials', 'dial', 'tls', 'auth'].reduce((sum, phase) => sum + during.value('gatehouse_connect_duration_seconds_sum', { database: 'main', phase })!, 0);
      expect(totalSeconds).toBeGreaterThanOrEqual(phaseSeconds);

      // The sessions are still open: what they relay shows up at the next scrape.
      await clients[0]!.query('SELECT 1');
      const first = await scrape();
      expect(first.value('gatehouse_bytes_to_client_total', main)).toBeGreaterThan(during.value('gatehouse_bytes_to_client_total', main)!);
      expect(first.value('gatehouse_bytes_from_client_total', main)).toBeGreaterThan(during.value('gatehouse_bytes_from_client_total', main)!);
      await clients[1]!.query("SELECT repeat('x', 100000) AS filler");
      const later = await scrape();
      expect(later.value('gatehouse_bytes_to_client_total', main)).toBeGreaterThan(first.value('gatehouse_bytes_to_client_total', main)! + 100_000);
      expect(later.value('gatehouse_bytes_from_client_total', main)).toBeGreaterThan(first.value('gatehouse_bytes_from_client_total', main)!);
      expect(later.value('gatehouse_sessions_active', main)).toBe(2);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    const bytesWhileOpen = (await scrape()).value('gatehouse_bytes_to_client_total', main)!;
    await waitFor(async () => (await scrape()).value('gatehouse_sessions_active', main) === 0, 'the sessions to end');
    const after = await scrape();
    // Ended sessions' bytes stay counted.
    expect(after.value('gatehouse_bytes_to_client_total', main)).toBeGreaterThanOrEqual(bytesWhileOpen);
    expect(after.value('gatehouse_sessions_started_total', main)).toBe(startedBefore + 2);
    expect(gatehouse.daemon.metrics.summary()).toMatchObject({ sessions_active: 0, sessions_started: startedBefore + 2, bytes_to_client: after.value('gatehouse_bytes_to_client_total')! });
  });

  it('counts a refused session by its code and SQLSTATE, and not as started', async () => {
    const before = await scrape();
    const labels = { code: 'GH_ERR_ACCESS_DENIED', sqlstate: '28000', database: 'main' };
    const error = await connectionRefusal(gatehouse.clientConfig(certificate, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    const after = await scrape();
    expect(after.value('gatehouse_sessions_refused_total', labels)).toBe((before.value('gatehouse_sessions_refused_total', labels) ?? 0) + 1);
    expect(after.value('gatehouse_sessions_started_total', main)).toBe(before.value('gatehouse_sessions_started_total', main));
    expect(gatehouse.daemon.metrics.summary().sessions_refused).toBe(after.value('gatehouse_sessions_refused_total'));
  });
});

describe('logins and certificates', () => {
  it('counts a failed login, a login, and the identity and database certificates it leads to', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

    const wrong = await call('POST', '/v1/login', { body: { user: 'alice', password: 'not-the-password', public_key_pem: publicKeyPem } });
    expect(wrong.status).toBe(401);
    const login = await call('POST', '/v1/login', { body: { user: 'alice', password: PASSWORD, public_key_pem: publicKeyPem } });
    expect(login.status, login.text).toBe(200);
    const identity = { certPem: (JSON.parse(login.text) as { identity_cert_pem: string }).identity_cert_pem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const dbCert = await call('POST', '/v1/db-certs', { body: { database: 'main', db_user: 'app', public_key_pem: publicKeyPem }, cert: identity });
    expect(dbCert.status, dbCert.text).toBe(200);

    const text = await scrape();
    expect(text.value('gatehouse_web_logins_total', { outcome: 'failure', code: 'GH_ERR_LOGIN_FAILED' })).toBe(1);
    expect(text.value('gatehouse_web_logins_total', { outcome: 'success' })).toBe(1);
    expect(text.value('gatehouse_certs_issued_total', { kind: 'identity' })).toBe(1);
    expect(text.value('gatehouse_certs_issued_total', { kind: 'database' })).toBe(1);
    expect(gatehouse.daemon.metrics.summary().certs_issued).toBe(2);
  });
});
