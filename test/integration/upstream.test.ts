// Gatehouse's side of the conversation with the database: password, MD5 and SCRAM logins, the
// database's own errors passed through with their fields, TLS verification under verify-full and
// verify-ca, and databases that are down, silent or refuse TLS (08001, proxy still serving).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectionRefusal, startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { freePort } from '../../src/embedded/postgres-cluster.js';

let db: TestPostgres;
let gatehouse: TestGatehouse;
let deadPort: number;
let silent: net.Server;
let plaintextOnly: net.Server;
const certificates = new Map<string, ClientCertificate>();

beforeAll(async () => {
  db = await startTestPostgres({
    hba: [
      'hostssl all md5_user 127.0.0.1/32 md5',
      'hostssl all clear_user 127.0.0.1/32 password',
      'hostssl all all 127.0.0.1/32 scram-sha-256',
    ],
  });
  await db.sql("SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'");
  await db.sql("CREATE ROLE clear_user LOGIN PASSWORD 'clear-secret'");
  await db.sql("CREATE ROLE scram_user LOGIN PASSWORD 'scram-secret'");
  process.env.GH_TEST_MD5 = 'md5-secret';
  process.env.GH_TEST_CLEAR = 'clear-secret';
  process.env.GH_TEST_SCRAM = 'scram-secret';
  process.env.GH_TEST_WRONG = 'not-the-password';
  deadPort = await freePort();
  // Accepts TCP and never says a word.
  silent = net.createServer(() => undefined).listen(0, '127.0.0.1');
  // Answers SSLRequest with 'N', like a server with ssl=off.
  plaintextOnly = net.createServer((socket) => socket.once('data', () => socket.write('N'))).listen(0, '127.0.0.1');
  await Promise.all([silent, plaintextOnly].map((server) => new Promise((resolve) => server.once('listening', resolve))));
  const port = (server: net.Server) => (server.address() as net.AddressInfo).port;
  const entry = (name: string, uri: string, auth: string, tls = `{ mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }`) =>
    `  - name: ${name}\n    uri: ${uri}\n    labels: { env: dev }\n    tls: ${tls}\n    auth: ${auth}`;
  const live = `127.0.0.1:${db.port}`;
  gatehouse = await startTestGatehouse(
    [
      'databases:',
      entry('md5', live, '{ user: md5_user, password_env: GH_TEST_MD5 }'),
      entry('cleartext', live, '{ user: clear_user, password_env: GH_TEST_CLEAR }'),
      entry('scram', live, '{ user: scram_user, password_env: GH_TEST_SCRAM }'),
      entry('wrongpass', live, '{ user: scram_user, password_env: GH_TEST_WRONG }'),
      entry('down', `127.0.0.1:${deadPort}`, '{ password_env: GH_TEST_SCRAM }'),
      entry('silent', `127.0.0.1:${port(silent)}`, '{ password_env: GH_TEST_SCRAM }'),
      entry('notls', `127.0.0.1:${port(plaintextOnly)}`, '{ password_env: GH_TEST_SCRAM }'),
      entry('wrongname', live, '{ user: scram_user, password_env: GH_TEST_SCRAM }', `{ mode: verify-full, ca_file: ${db.caFile}, server_name: db.example.internal }`),
      entry('verifyca', live, '{ user: scram_user, password_env: GH_TEST_SCRAM }', `{ mode: verify-ca, ca_file: ${db.caFile}, server_name: db.example.internal }`),
      entry('systemroots', live, '{ user: scram_user, password_env: GH_TEST_SCRAM }', '{ mode: verify-full, server_name: localhost }'),
      'roles:',
      '  - name: all',
      "    allow: { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] }",
      'users:',
      '  - name: alice',
      '    roles: [all]',
    ].join('\n'),
    '  connect_timeout: 1500ms',
  );
  for (const name of ['md5', 'cleartext', 'scram', 'wrongpass', 'down', 'silent', 'notls', 'wrongname', 'verifyca', 'systemroots']) {
    certificates.set(name, gatehouse.issue('alice', { database: name }));
  }
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
  silent?.close();
  plaintextOnly?.close();
});

async function query(database: string, text = 'SELECT current_user AS who'): Promise<pg.QueryResult> {
  const client = await gatehouse.connect(certificates.get(database)!, 'whoever', 'postgres');
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

function refusal(database: string): Promise<pg.DatabaseError> {
  return connectionRefusal(gatehouse.clientConfig(certificates.get(database)!, 'whoever', 'postgres'));
}

describe('upstream login', () => {
  it.each([
    ['md5', 'md5_user'],
    ['cleartext', 'clear_user'],
    ['scram', 'scram_user'],
  ])('logs in with %s as the configured upstream user', async (database, user) => {
    expect((await query(database)).rows[0].who).toBe(user);
  });

  it('logs in with SCRAM again from the salted-password cache', async () => {
    for (let i = 0; i < 3; i++) expect((await query('scram')).rows[0].who).toBe('scram_user');
  });

  it('passes the database\'s own login error through with its SQLSTATE', async () => {
    const error = await refusal('wrongpass');
    expect(error.code).toBe('28P01');
    expect(error.message).toContain('password authentication failed for user "scram_user"');
  });
});

describe('unreachable and untrusted databases', () => {
  it('reports a database that is down as 08001 with its address', async () => {
    const error = await refusal('down');
    expect(error.code).toBe('08001');
    expect(error.message).toContain(`cannot reach database "down" at 127.0.0.1:${deadPort}: connection refused`);
  });

  it('gives up on a database that accepts TCP and never answers', async () => {
    const started = Date.now();
    const error = await refusal('silent');
    expect(error.code).toBe('08001');
    expect(error.message).toContain('"silent"');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('never falls back to plaintext when the database refuses TLS', async () => {
    const error = await refusal('notls');
    expect(error.code).toBe('08001');
    expect(error.message).toContain('does not accept TLS');
  });

  it('refuses a certificate whose name does not match under verify-full', async () => {
    const error = await refusal('wrongname');
    expect(error.code).toBe('08001');
    expect(error.message).toContain('verify-full');
    expect(error.message).toContain('db.example.internal');
  });

  it('refuses a certificate from an untrusted CA (system roots only)', async () => {
    const error = await refusal('systemroots');
    expect(error.code).toBe('08001');
    expect(error.message).toMatch(/TLS to database "systemroots" .* failed under verify-full/);
  });

  it('accepts the same certificate under verify-ca, which checks the chain but not the name', async () => {
    expect((await query('verifyca')).rows[0].who).toBe('scram_user');
  });

  it('keeps serving other sessions after all of these failures', async () => {
    expect((await query('scram')).rows[0].who).toBe('scram_user');
  });
});
