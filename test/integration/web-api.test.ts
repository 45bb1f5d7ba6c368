// The web API dbctl talks to, against a real Gatehouse and a real PostgreSQL, over real HTTPS
// (node:https, verifying the proxy with the host CA, presenting client certificates for mutual TLS):
// login with password and TOTP, the identical failure answers, throttling, database certificates
// that then really open a psql-style session through Gatehouse, the database list, refusals of
// every kind, and the users file picked up without a restart.
//
// Throttling counts failures per client address too, so each test that fails a login connects from
// its own loopback address (127.0.0.N; all of 127/8 is loopback on Linux).
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFromCertificate } from '../../src/ca/identity.js';
import { hashPassword } from '../../src/users/password-hash.js';
import { newTotpSecret, totpCode } from '../../src/users/totp.js';
import { writeUsersFile, type StoredUser } from '../../src/users/users-file.js';
import { foreignCa, forgeCertificate } from '../support/forged-certificates.js';
import { startTestGatehouse, type AuditEvent, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const HOUR = 3_600_000;
const PASSWORDS = {
  alice: 'alice-correct-horse-7c1e',
  bob: 'bob-battery-staple-91f0',
  carol: 'carol-Tr0ub4dor-3a2b',
  dave: 'dave-hunter2-but-longer-55d1',
  frank: 'frank-added-while-running-0b9e',
};
const TOTP_SECRET = newTotpSecret();

interface KeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

interface CallOptions {
  body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  rawBody?: string | Buffer;
  /** Send the body with chunked encoding (no content-length). */
  chunked?: boolean;
  headers?: Record<string, string>;
  cert?: ClientCertificate;
  localAddress?: string;
}

let db: TestPostgres;
let gatehouse: TestGatehouse;
let keyA: KeyPair;
let keyB: KeyPair;
let storedUsers: StoredUser[];

/** dbctl's keys are EC P-256; a client may also bring RSA. keyA (identity) is RSA, keyB (database certificates) EC. */
function newKeyPair(type: 'rsa' | 'ec'): KeyPair {
  const { publicKey, privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

async function stored(name: string, fields: Partial<StoredUser>): Promise<StoredUser> {
  const now = new Date().toISOString();
  const password = PASSWORDS[name as keyof typeof PASSWORDS];
  return { name, roles: [], traits: {}, password_hash: await hashPassword(password), created_at: now, updated_at: now, ...fields };
}

beforeAll(async () => {
  db = await startTestPostgres();
  process.env.GH_TEST_WEBAPI_PASSWORD = db.superuserPassword;
  keyA = newKeyPair('rsa');
  keyB = newKeyPair('ec');
  storedUsers = [
    await stored('alice', {}),
    await stored('bob', { totp_secret: TOTP_SECRET }),
    await stored('carol', { roles: ['open'], traits: { db_users: ['reporter'] } }),
    await stored('dave', {}),
  ];
  const database = (name: string, labels: string, description: string) => `
  - name: ${name}
    description: ${description}
    uri: 127.0.0.1:${db.port}
    labels: ${labels}
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_WEBAPI_PASSWORD }`;
  gatehouse = await startTestGatehouse(
    `
databases:${database('main', '{ env: dev, team: app }', 'Main application database')}${database('analytics', '{ env: dev, team: data }', 'Reporting')}${database('prod', '{ env: prod }', 'Production')}
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: ["{{internal.db_users}}"], db_names: ["{{internal.db_names}}", postgres] }
    deny: { db_names: [template1] }
    options: { max_session_ttl: 2h }
  - name: short
    allow: { db_labels: { env: [dev] }, db_users: [reader], db_names: [app] }
    options: { max_session_ttl: 30m }
  - name: open
    allow: { db_labels: { '*': '*' }, db_users: ["{{internal.db_users}}"], db_names: ['*'] }
users:
  - name: alice
    roles: [access]
    traits: { db_users: [postgres, app_reader], db_names: [app] }
  - name: bob
    roles: [short]
  - name: dave
    roles: [access]
  - name: erin
    roles: [access]
`,
    ['  login_max_failures: 3', '  login_lockout: 10m'].join('\n'),
    { storedUsers },
  );
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
});

function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
    if (body !== undefined && options.chunked !== true) headers['content-length'] = String(Buffer.byteLength(body));
    const request = https.request(
      {
        host: '127.0.0.1',
        port: gatehouse.daemon.webAddress.port,
        path,
        method,
        headers,
        ca: gatehouse.hostCaPem,
        servername: 'localhost',
        agent: false,
        ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
      },
    );
    request.on('error', reject);
    if (body !== undefined) {
      // Chunked: several writes, so Node cannot know the length up front.
      if (options.chunked === true) for (let offset = 0; offset < body.length; offset += 16 * 1024) request.write(body.slice(offset, offset + 16 * 1024));
      else request.write(body);
    }
    request.end();
  });
}

function login(user: string, password: string, extra: Record<string, unknown> = {}, localAddress?: string, key: KeyPair = keyA): Promise<Reply> {
  return call('POST', '/v1/login', { body: { user, password, public_key_pem: key.publicKeyPem, ...extra }, ...(localAddress === undefined ? {} : { localAddress }) });
}

/** Logs in and returns the identity certificate with the private key that goes with it. */
async function identityOf(user: string, password: string, key: KeyPair = keyA): Promise<ClientCertificate> {
  const reply = await login(user, password, {}, undefined, key);
  expect(reply.status, reply.text).toBe(200);
  return { certPem: reply.json.identity_cert_pem as string, keyPem: key.privateKeyPem };
}

function eventsOf(event: string, user: string): AuditEvent[] {
  return gatehouse.auditEvents.filter((candidate) => candidate.event === event && candidate.user === user);
}

function expectError(reply: Reply, status: number, code: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers['content-type']).toBe('application/json');
  expect(reply.json.error.code).toBe(code);
  expect(typeof reply.json.error.message).toBe('string');
}

describe('GET /v1/ca', () => {
  it('returns the host CA and its sha256 fingerprint, without a client certificate', async () => {
    const reply = await call('GET', '/v1/ca');
    expect(reply.status).toBe(200);
    expect(reply.json.host_ca_pem).toBe(gatehouse.hostCaPem);
    const expected = createHash('sha256').update(new X509Certificate(gatehouse.hostCaPem).raw).digest('hex');
    expect(reply.json).toEqual({ host_ca_pem: gatehouse.hostCaPem, fingerprint: `sha256:${expected}` });
    expect(reply.json.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('POST /v1/login', () => {
  it('signs an identity certificate for the sent public key: CN=user, no route, TTL bounded by the role', async () => {
    const before = Date.now();
    const reply = await login('alice', PASSWORDS.alice);
    expect(reply.status, reply.text).toBe(200);
    expect(Object.keys(reply.json).sort()).toEqual(['expires_at', 'identity_cert_pem', 'postgres_addr', 'roles', 'user']);
    expect(reply.json).toMatchObject({ user: 'alice', roles: ['access'], postgres_addr: `localhost:${gatehouse.port}` });
    const certificate = new X509Certificate(reply.json.identity_cert_pem);
    expect(certificate.subject).toBe('O=gatehouse\nCN=alice');
    expect(certificate.checkIssued(new X509Certificate(gatehouse.daemon.authorities.userCa.certPem))).toBe(true);
    expect(certificate.publicKey.export({ type: 'spki', format: 'pem' })).toBe(keyA.publicKeyPem);
    expect(identityFromCertificate(certificate.raw)).toMatchObject({ user: 'alice', route: undefined });
    const notAfter = new Date(certificate.validTo).getTime();
    expect(reply.json.expires_at).toBe(new Date(notAfter).toISOString());
    // access: max_session_ttl 2h
    expect(notAfter).toBeLessThanOrEqual(Date.now() + 2 * HOUR);
    expect(notAfter).toBeGreaterThan(before + 2 * HOUR - 60_000);
    const success = eventsOf('auth.login', 'alice').find((event) => event.success === true);
    expect(success).toMatchObject({ success: true, mfa: false, client_addr: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    const issued = eventsOf('cert.issued', 'alice').find((event) => event.serial === certificate.serialNumber);
    expect(issued).toMatchObject({ kind: 'identity', expires_at: reply.json.expires_at });
    expect(issued).not.toHaveProperty('database');
  });

  it('bounds the TTL by the strictest role (30 m) and otherwise by 12 h', async () => {
    // The previous time step's code (still accepted), so the TOTP tests below can use the current one.
    const bobReply = await login('bob', PASSWORDS.bob, { totp_code: totpCode(TOTP_SECRET, Date.now() - 30_000) }, '127.0.0.20');
    expect(bobReply.status, bobReply.text).toBe(200);
    expect(new Date(bobReply.json.expires_at).getTime()).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
    expect(new Date(bobReply.json.expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 60_000);
    const carol = await login('carol', PASSWORDS.carol);
    expect(carol.status, carol.text).toBe(200);
    expect(carol.json.roles).toEqual(['open']);
    expect(new Date(carol.json.expires_at).getTime()).toBeLessThanOrEqual(Date.now() + 12 * HOUR);
    expect(new Date(carol.json.expires_at).getTime()).toBeGreaterThan(Date.now() + 12 * HOUR - 120_000);
  });

  it('answers a wrong password, an unknown user and a user without a password with byte-identical bodies', async () => {
    const wrong = await login('alice', 'not the password', {}, '127.0.0.2');
    const unknown = await login('nobody', 'whatever', {}, '127.0.0.3');
    const noPassword = await login('erin', 'anything', {}, '127.0.0.4');
    expectError(wrong, 401, 'GH_ERR_LOGIN_FAILED');
    expect(wrong.json).toEqual({ error: { code: 'GH_ERR_LOGIN_FAILED', message: 'invalid user name or password' } });
    expect(unknown.status).toBe(401);
    expect(noPassword.status).toBe(401);
    expect(unknown.text).toBe(wrong.text);
    expect(noPassword.text).toBe(wrong.text);
    const reasons = gatehouse.auditEvents.filter((event) => event.event === 'auth.login' && event.success === false).map((event) => [event.user, event.reason]);
    expect(reasons).toEqual(expect.arrayContaining([['alice', 'wrong password'], ['nobody', 'unknown user'], ['erin', 'no password set']]));
  });

  it('asks for a TOTP code, refuses a wrong one, accepts the right one once and refuses its replay', async () => {
    const required = await login('bob', PASSWORDS.bob, {}, '127.0.0.5');
    expectError(required, 401, 'GH_ERR_TOTP_REQUIRED');
    expect(required.json.totp_required).toBe(true);

    const now = Date.now();
    const near = new Set([-2, -1, 0, 1, 2].map((step) => totpCode(TOTP_SECRET, now + step * 30_000)));
    const wrongCode = ['000000', '111111', '222222', '333333', '444444', '555555'].find((code) => !near.has(code)) as string;
    const wrong = await login('bob', PASSWORDS.bob, { totp_code: wrongCode }, '127.0.0.5');
    expectError(wrong, 401, 'GH_ERR_TOTP_INVALID');
    expect(wrong.json).not.toHaveProperty('totp_required');

    const code = totpCode(TOTP_SECRET, Date.now());
    const accepted = await login('bob', PASSWORDS.bob, { totp_code: code }, '127.0.0.6');
    expect(accepted.status, accepted.text).toBe(200);
    const replay = await login('bob', PASSWORDS.bob, { totp_code: code }, '127.0.0.6');
    expectError(replay, 401, 'GH_ERR_TOTP_INVALID');

    const bobLogins = eventsOf('auth.login', 'bob');
    expect(bobLogins).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ success: false, reason: 'TOTP code required', mfa: true }),
        expect.objectContaining({ success: false, reason: 'wrong TOTP code', mfa: true }),
        expect.objectContaining({ success: true, mfa: true }),
        expect.objectContaining({ success: false, reason: 'reused TOTP code', mfa: true }),
      ]),
    );
  });

  it('throttles a user after login_max_failures failures, from any address, with 429 and retry_after_s', async () => {
    for (const address of ['127.0.0.10', '127.0.0.11', '127.0.0.12']) expectError(await login('dave', 'wrong', {}, address), 401, 'GH_ERR_LOGIN_FAILED');
    const throttled = await login('dave', PASSWORDS.dave, {}, '127.0.0.13');
    expectError(throttled, 429, 'GH_ERR_LOGIN_THROTTLED');
    expect(throttled.json.retry_after_s).toBeGreaterThan(0);
    expect(throttled.json.retry_after_s).toBeLessThanOrEqual(600);
    expect(throttled.headers['retry-after']).toBe(String(throttled.json.retry_after_s));
    expect(eventsOf('auth.login', 'dave').filter((event) => event.reason === 'throttled')).toHaveLength(1);
    // Another user from that address is not affected.
    expect((await login('carol', PASSWORDS.carol, {}, '127.0.0.13')).status).toBe(200);
  });

  it('throttles a client address after login_max_failures failures, whatever the user', async () => {
    for (const user of ['guess1', 'guess2', 'guess3']) expectError(await login(user, 'x', {}, '127.0.0.30'), 401, 'GH_ERR_LOGIN_FAILED');
    const throttled = await login('carol', PASSWORDS.carol, {}, '127.0.0.30');
    expectError(throttled, 429, 'GH_ERR_LOGIN_THROTTLED');
    expect(throttled.headers['retry-after']).toBe(String(throttled.json.retry_after_s));
    expect(eventsOf('auth.login', 'carol').some((event) => event.success === false && event.reason === 'throttled' && String(event.client_addr).startsWith('127.0.0.30:'))).toBe(true);
    // The same user elsewhere is not affected.
    expect((await login('carol', PASSWORDS.carol, {}, '127.0.0.31')).status).toBe(200);
  });

  it('refuses public keys it cannot sign, and says why', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const cases: Array<[unknown, RegExp]> = [
      [p384, /holds an EC key on curve P-384; Gatehouse certifies an EC P-256 key or an RSA key of 2048 to 8192 bits/],
      [keyA.privateKeyPem, /holds a private key; send only the public key/],
      ['not a key', /is not a PEM public key/],
      [42, /"public_key_pem" must be a string/],
    ];
    for (const [publicKey, message] of cases) {
      const reply = await call('POST', '/v1/login', { body: { user: 'alice', password: PASSWORDS.alice, public_key_pem: publicKey }, localAddress: '127.0.0.40' });
      expectError(reply, 400, 'GH_ERR_BAD_REQUEST');
      expect(reply.json.error.message).toMatch(message);
    }
    // None of these counted as a failed login.
    expect((await login('alice', PASSWORDS.alice, {}, '127.0.0.40')).status).toBe(200);
  });

  it('refuses malformed requests with 400 naming the problem', async () => {
    const malformed = await call('POST', '/v1/login', { rawBody: '{"user": "alice", "password": ' });
    expectError(malformed, 400, 'GH_ERR_BAD_REQUEST');
    expect(malformed.json.error.message).toBe('the request body is not valid JSON (or not UTF-8)');
    expect(malformed.text).not.toContain('alice');
    const notJson = await call('POST', '/v1/login', { rawBody: 'user=alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectError(notJson, 400, 'GH_ERR_BAD_REQUEST');
    expect(notJson.json.error.hint).toContain('content-type: application/json');
    const array = await call('POST', '/v1/login', { body: [] });
    expect(array.json.error.message).toBe('the request body must be a JSON object');
    const missing = await call('POST', '/v1/login', { body: { user: 'alice', public_key_pem: keyA.publicKeyPem } });
    expect(missing.json.error.message).toBe('the field "password" is missing');
    const extra = await call('POST', '/v1/login', { body: { user: 'alice', password: 'x', totp: '123456', public_key_pem: keyA.publicKeyPem } });
    expect(extra.json.error.message).toMatch(/^unknown field "totp"; this request takes user, password, totp_code, public_key_pem$/);
  });

  it('refuses a body over 64 KiB with 413, declared or chunked, and keeps serving', async () => {
    const big = JSON.stringify({ user: 'alice', password: 'x'.repeat(70 * 1024), public_key_pem: keyA.publicKeyPem });
    const declared = await call('POST', '/v1/login', { rawBody: big });
    expectError(declared, 413, 'GH_ERR_BODY_TOO_LARGE');
    expect(declared.json.error.message).toBe('the request body is larger than 65536 bytes');
    const chunked = await call('POST', '/v1/login', { rawBody: big, chunked: true });
    expectError(chunked, 413, 'GH_ERR_BODY_TOO_LARGE');
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});

describe('POST /v1/db-certs', () => {
  it('issues a database certificate that then opens a session through Gatehouse with the pg client', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const reply = await call('POST', '/v1/db-certs', {
      cert: identity,
      body: { database: 'main', db_user: 'postgres', db_name: 'postgres', public_key_pem: keyB.publicKeyPem },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(Object.keys(reply.json).sort()).toEqual(['cert_pem', 'database', 'db_name', 'db_user', 'expires_at', 'postgres_addr']);
    expect(reply.json).toMatchObject({ database: 'main', db_user: 'postgres', db_name: 'postgres', postgres_addr: `localhost:${gatehouse.port}` });
    const certificate = new X509Certificate(reply.json.cert_pem);
    expect(identityFromCertificate(certificate.raw)).toMatchObject({ user: 'alice', route: { database: 'main', dbUser: 'postgres', dbName: 'postgres' } });
    expect(new Date(certificate.validTo).getTime()).toBeLessThanOrEqual(new Date(new X509Certificate(identity.certPem).validTo).getTime());
    expect(reply.json.expires_at).toBe(new Date(certificate.validTo).toISOString());

    const [host, port] = (reply.json.postgres_addr as string).split(':');
    const caReply = await call('GET', '/v1/ca');
    const client = new pg.Client({
      host,
      port: Number(port),
      user: 'postgres',
      database: 'postgres',
      ssl: { ca: caReply.json.host_ca_pem, cert: reply.json.cert_pem, key: keyB.privateKeyPem, servername: 'localhost' },
    });
    await client.connect();
    try {
      const result = await client.query('SELECT current_user AS who, current_database() AS db');
      expect(result.rows[0]).toEqual({ who: 'postgres', db: 'postgres' });
    } finally {
      await client.end();
    }
    expect(eventsOf('cert.issued', 'alice').find((event) => event.serial === certificate.serialNumber)).toMatchObject({
      kind: 'database',
      database: 'main',
      db_user: 'postgres',
      db_name: 'postgres',
      expires_at: reply.json.expires_at,
    });
  });

  it('issues a certificate with the database alone, leaving out db_user and db_name', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const reply = await call('POST', '/v1/db-certs', { cert: identity, body: { database: 'analytics', public_key_pem: keyB.publicKeyPem } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).not.toHaveProperty('db_user');
    expect(identityFromCertificate(new X509Certificate(reply.json.cert_pem).raw).route).toEqual({ database: 'analytics' });
  });

  it('refuses a database the user could never use with 403 and the RBAC reason', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const reply = await call('POST', '/v1/db-certs', { cert: identity, body: { database: 'prod', public_key_pem: keyB.publicKeyPem } });
    expectError(reply, 403, 'GH_ERR_ACCESS_DENIED');
    expect(reply.json.error.message).toBe(`access to database "prod" denied for alice: none of alice's roles (access) allow databases with labels env=prod`);
  });

  it('refuses a default db user or db name no role allows there, with the reason', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const user = await call('POST', '/v1/db-certs', { cert: identity, body: { database: 'main', db_user: 'admin', public_key_pem: keyB.publicKeyPem } });
    expectError(user, 403, 'GH_ERR_ACCESS_DENIED');
    expect(user.json.error.message).toBe('access to db user "admin" on database "main" denied for alice: no role of alice allows db user "admin" (allowed: postgres, app_reader)');
    const name = await call('POST', '/v1/db-certs', { cert: identity, body: { database: 'main', db_user: 'app_reader', db_name: 'template1', public_key_pem: keyB.publicKeyPem } });
    expectError(name, 403, 'GH_ERR_ACCESS_DENIED');
    expect(name.json.error.message).toBe('access to db user "app_reader" on database "main" denied for alice: denied by role access');
  });

  it('answers an unknown database with 404 and the databases the user may use', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const reply = await call('POST', '/v1/db-certs', { cert: identity, body: { database: 'mian', public_key_pem: keyB.publicKeyPem } });
    expectError(reply, 404, 'GH_ERR_UNKNOWN_DATABASE');
    expect(reply.json.available).toEqual(['analytics', 'main']);
    expect(reply.json.error.message).toBe('Gatehouse has no database named "mian"');
    expect(reply.json.error.hint).toBe('databases you may use: analytics, main');
  });

  describe('without a valid identity certificate', () => {
    const body = () => ({ database: 'main', public_key_pem: keyB.publicKeyPem });

    it('refuses a request without a client certificate', async () => {
      const reply = await call('POST', '/v1/db-certs', { body: body() });
      expectError(reply, 401, 'GH_ERR_IDENTITY_REQUIRED');
      expect(reply.json.error.message).toBe('no client certificate was presented; this request needs your dbctl identity certificate');
      expect(reply.json.error.hint).toBe('run "dbctl login" to get an identity certificate');
    });

    it('refuses an expired identity certificate and says to log in again', async () => {
      const identity = await identityOf('alice', PASSWORDS.alice);
      const notAfter = new Date(Math.floor((Date.now() - HOUR) / 1000) * 1000);
      const expired = forgeCertificate({
        certPem: identity.certPem,
        signingKeyPem: gatehouse.daemon.authorities.userCa.keyPem,
        notBefore: new Date(Date.now() - 2 * HOUR),
        notAfter,
      });
      for (const [method, path] of [['POST', '/v1/db-certs'], ['GET', '/v1/databases'], ['GET', '/v1/me']] as const) {
        const reply = await call(method, path, { cert: { certPem: expired, keyPem: identity.keyPem }, ...(method === 'POST' ? { body: body() } : {}) });
        expectError(reply, 401, 'GH_ERR_IDENTITY_REQUIRED');
        expect(reply.json.error.message).toBe(`your identity certificate expired at ${notAfter.toISOString()}; run dbctl login again`);
      }
    });

    it('refuses a database certificate presented instead of the identity certificate', async () => {
      const databaseCertificate = gatehouse.issue('alice', { database: 'main' });
      const reply = await call('POST', '/v1/db-certs', { cert: databaseCertificate, body: body() });
      expectError(reply, 401, 'GH_ERR_IDENTITY_REQUIRED');
      expect(reply.json.error.message).toBe('a database certificate (for database "main") was presented instead of your dbctl identity certificate');
    });

    it('refuses a certificate from another CA', async () => {
      const identity = await identityOf('alice', PASSWORDS.alice);
      const foreign = foreignCa();
      const forged = forgeCertificate({ certPem: identity.certPem, signingKeyPem: foreign.keyPem, issuerCertPem: foreign.certPem });
      const reply = await call('GET', '/v1/databases', { cert: { certPem: forged, keyPem: identity.keyPem } });
      expectError(reply, 401, 'GH_ERR_IDENTITY_REQUIRED');
      expect(reply.json.error.message).toMatch(/^the client certificate was not issued by this Gatehouse's user CA \([A-Z_]+\)$/);
    });
  });
});

describe('GET /v1/databases and /v1/me', () => {
  it('lists the databases the roles select by labels, with traits expanded, sorted by name', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const reply = await call('GET', '/v1/databases', { cert: identity });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      databases: [
        { name: 'analytics', description: 'Reporting', protocol: 'postgres', labels: { env: 'dev', team: 'data' }, db_users: ['app_reader', 'postgres'], db_names: ['app', 'postgres'] },
        { name: 'main', description: 'Main application database', protocol: 'postgres', labels: { env: 'dev', team: 'app' }, db_users: ['app_reader', 'postgres'], db_names: ['app', 'postgres'] },
      ],
    });
  });

  it('lists every database for a stored user whose role selects all labels', async () => {
    const identity = await identityOf('carol', PASSWORDS.carol);
    const reply = await call('GET', '/v1/databases', { cert: identity });
    expect(reply.json.databases.map((database: { name: string }) => database.name)).toEqual(['analytics', 'main', 'prod']);
    expect(reply.json.databases[2]).toMatchObject({ db_users: ['reporter'], db_names: ['*'] });
  });

  it('says who the identity certificate belongs to', async () => {
    const identity = await identityOf('alice', PASSWORDS.alice);
    const reply = await call('GET', '/v1/me', { cert: identity });
    expect(reply.json).toEqual({ user: 'alice', roles: ['access'], expires_at: new Date(new X509Certificate(identity.certPem).validTo).toISOString() });
  });
});

describe('the users file', () => {
  it('picks up an added user and a removed one without a restart', async () => {
    const carolIdentity = await identityOf('carol', PASSWORDS.carol);
    const now = new Date().toISOString();
    const frank: StoredUser = { name: 'frank', roles: ['access'], traits: { db_users: ['app_reader'] }, password_hash: await hashPassword(PASSWORDS.frank), created_at: now, updated_at: now };
    writeUsersFile(gatehouse.usersFile, [...storedUsers.filter((user) => user.name !== 'carol'), frank]);
    // Polling the daemon's config, not the login: failed logins would count towards throttling.
    await expect.poll(() => gatehouse.daemon.config.users.map((user) => user.name), { timeout: 15_000, interval: 200 }).toContain('frank');
    const frankLogin = await login('frank', PASSWORDS.frank);
    expect(frankLogin.status, frankLogin.text).toBe(200);
    expect(frankLogin.json.roles).toEqual(['access']);
    const gone = await call('GET', '/v1/me', { cert: carolIdentity });
    expectError(gone, 401, 'GH_ERR_IDENTITY_REQUIRED');
    expect(gone.json.error.message).toBe('the user carol no longer exists in this Gatehouse');
  });
});

describe('the rest', () => {
  it('answers unknown paths with 404 and other methods with 405 and Allow, in the error format', async () => {
    const missing = await call('GET', '/v1/nope');
    expectError(missing, 404, 'GH_ERR_NOT_FOUND');
    const method = await call('GET', '/v1/login');
    expectError(method, 405, 'GH_ERR_METHOD_NOT_ALLOWED');
    expect(method.headers.allow).toBe('POST');
    expect((await call('DELETE', '/v1/databases')).headers.allow).toBe('GET, HEAD');
  });

  it('never writes a password, TOTP code or key into the logs or the audit trail', () => {
    const everything = [...gatehouse.logLines, JSON.stringify(gatehouse.auditEvents)].join('\n');
    for (const password of Object.values(PASSWORDS)) expect(everything).not.toContain(password);
    expect(everything).not.toContain(TOTP_SECRET);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toContain(keyA.publicKeyPem.split('\n')[1]);
    expect(everything).not.toContain('$scrypt$');
  });
});
