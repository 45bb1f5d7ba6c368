// Transport security that runs in CI (issue 7, "Security checks"): TLS 1.2 is the minimum on every
// listener (the Postgres listener after SSLRequest and with direct TLS, the web listener) and on
// every upstream connection, whatever the database's tls mode; and no upstream connection is ever
// made in plaintext: a database that answers SSLRequest with 'N' (or with 'S' and plaintext behind
// it) gets nothing but the SSLRequest, and a cancel request is never forwarded in the clear either.
// Each legacy peer is shown to work with TLS 1.1 when the client allows it, so a refusal here is
// Gatehouse's choice and not a broken test server.
import net from 'node:net';
import tls from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { sslRequest } from '../../src/protocol/startup-message.js';
import { FaultRelay } from '../support/fault-relay.js';
import { connectionRefusal, startTestGatehouse, type AuditEvent, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/temp-dir.js';

const PASSWORD = 'security-tls-password-2c71';
const LEGACY_TLS = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
const MODES = ['verify-full', 'verify-ca', 'insecure'] as const;

const temp = makeTempDir('security-tls');
let db: TestPostgres;
let gatehouse: TestGatehouse;
let legacyServer: net.Server;
let legacyCaPem: string;
const legacyProtocols: string[] = [];
let refusesTls: FaultRelay;
let sneaky: FaultRelay;
let cancelPath: FaultRelay;
let alice: ClientCertificate;
const certificates = new Map<string, ClientCertificate>();

beforeAll(async () => {
  db = await startTestPostgres();
  await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${PASSWORD}'`);
  process.env.GH_TEST_SECURITY_TLS_PASSWORD = PASSWORD;

  // A "PostgreSQL" that answers SSLRequest with 'S' and then speaks TLS 1.0-1.1 only.
  const ca = CertificateAuthority.create('security-tls legacy database CA');
  legacyCaPem = ca.certPem;
  const server = ca.issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 3600_000 });
  const legacyContext = tls.createSecureContext({ cert: server.certPem, key: server.keyPem, ...LEGACY_TLS });
  legacyServer = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => {
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: legacyContext });
      secure.on('error', () => undefined);
      secure.on('secure', () => legacyProtocols.push(String(secure.getProtocol())));
    });
  });
  await new Promise<void>((resolve) => legacyServer.listen(0, '127.0.0.1', resolve));
  const legacyCaFile = join(temp.path, 'legacy-ca.pem');
  writeFileSync(legacyCaFile, legacyCaPem);

  refusesTls = await FaultRelay.start({ port: db.port });
  refusesTls.setFault({ kind: 'answer', bytes: Buffer.from('N') });
  sneaky = await FaultRelay.start({ port: db.port });
  // 'S' and, in the same packet, a plaintext AuthenticationOk a MITM would love to have read.
  sneaky.setFault({ kind: 'answer', bytes: Buffer.from([0x53, 0x52, 0, 0, 0, 8, 0, 0, 0, 0]) });
  cancelPath = await FaultRelay.start({ port: db.port });

  const entry = (name: string, uri: string, mode: string, caFile: string) =>
    `  - name: ${name}\n    uri: ${uri}\n    labels: { env: dev }\n    tls: { mode: ${mode}, ca_file: ${caFile}, server_name: localhost }\n    auth: { user: app_user, password_env: GH_TEST_SECURITY_TLS_PASSWORD }`;
  const legacyAddress = `127.0.0.1:${(legacyServer.address() as net.AddressInfo).port}`;
  const names: string[] = [];
  const databases: string[] = [];
  for (const mode of MODES) {
    databases.push(entry(`legacy-${mode}`, legacyAddress, mode, legacyCaFile), entry(`plaintext-${mode}`, refusesTls.address, mode, db.caFile));
    names.push(`legacy-${mode}`, `plaintext-${mode}`);
  }
  databases.push(entry('sneaky', sneaky.address, 'verify-full', db.caFile), entry('cancel-path', cancelPath.address, 'verify-full', db.caFile));
  names.push('sneaky', 'cancel-path');
  gatehouse = await startTestGatehouse(
    [
      'databases:',
      ...databases,
      'roles:',
      '  - name: all',
      "    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: ['*'] }",
      'users:',
      '  - name: alice',
      '    roles: [all]',
    ].join('\n'),
    '  connect_timeout: 3s',
  );
  for (const name of names) certificates.set(name, gatehouse.issue('alice', { database: name, dbUser: 'app_user', dbName: 'postgres' }));
  alice = certificates.get('cancel-path')!;
});

afterAll(async () => {
  await gatehouse?.stop();
  await Promise.all([refusesTls?.close(), sneaky?.close(), cancelPath?.close()]);
  legacyServer?.close();
  await db?.stop();
  temp.remove();
});

type Handshake = { protocol: string } | { error: string };

/** Runs a TLS handshake on `options` and reports the protocol it agreed or the error it ended with. */
function handshake(options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      resolve({ protocol: String(socket.getProtocol()) });
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

/** TLS after an SSLRequest on the Postgres listener, as libpq does it. */
function handshakeAfterSslRequest(options: tls.ConnectionOptions): Promise<{ result: Handshake; clientAddress: string }> {
  return new Promise((resolve, reject) => {
    let clientAddress = '';
    const raw = net.connect(gatehouse.port, '127.0.0.1', () => {
      clientAddress = `127.0.0.1:${raw.localPort}`;
      raw.write(sslRequest());
    });
    raw.once('error', reject);
    raw.once('data', (answer: Buffer) => {
      expect(answer.toString('latin1')).toBe('S');
      void handshake({ socket: raw, ...options }).then((result) => resolve({ result, clientAddress }));
    });
  });
}

async function auditRecord(match: Partial<AuditEvent>): Promise<AuditEvent> {
  const fits = (event: AuditEvent) => Object.entries(match).every(([key, value]) => event[key] === value);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = gatehouse.auditEvents.find(fits);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no audit record ${JSON.stringify(match)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const clientTls = () => ({ ca: gatehouse.hostCaPem, cert: alice.certPem, key: alice.keyPem });

describe('TLS 1.2 is the minimum on every listener', () => {
  it('the Postgres listener refuses TLS 1.1 after SSLRequest, audits it, and agrees TLS 1.2 and 1.3', async () => {
    const legacy = await handshakeAfterSslRequest({ ...clientTls(), ...LEGACY_TLS });
    expect(legacy.result).toEqual({ error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    const record = await auditRecord({ event: 'session.start', success: false, client_addr: legacy.clientAddress });
    expect(record).toMatchObject({ code: 'GH_ERR_PROTOCOL_VIOLATION', sqlstate: '08P01' });
    expect(String(record.reason)).toMatch(/^TLS handshake failed: .*unsupported protocol/);
    expect((await handshakeAfterSslRequest({ ...clientTls(), minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).result).toEqual({ protocol: 'TLSv1.2' });
    expect((await handshakeAfterSslRequest({ ...clientTls(), minVersion: 'TLSv1.3' })).result).toEqual({ protocol: 'TLSv1.3' });
  });

  it('the Postgres listener refuses TLS 1.1 on direct TLS (ALPN postgresql)', async () => {
    const options = { host: '127.0.0.1', port: gatehouse.port, ALPNProtocols: ['postgresql'], ...clientTls() };
    expect(await handshake({ ...options, ...LEGACY_TLS })).toEqual({ error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect(await handshake({ ...options, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2' });
  });

  it('the web listener refuses TLS 1.1 and agrees TLS 1.2', async () => {
    const options = { host: '127.0.0.1', port: gatehouse.daemon.webAddress.port, ca: gatehouse.hostCaPem };
    expect(await handshake({ ...options, ...LEGACY_TLS })).toEqual({ error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect(await handshake({ ...options, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2' });
  });
});

describe('TLS 1.2 is the minimum upstream', () => {
  it('the legacy test database does speak TLS 1.1 to a client that allows it', async () => {
    const port = (legacyServer.address() as net.AddressInfo).port;
    const result = await new Promise<Handshake>((resolve) => {
      const raw = net.connect(port, '127.0.0.1', () => raw.write(sslRequest()));
      raw.once('data', () => void handshake({ socket: raw, ca: legacyCaPem, ...LEGACY_TLS }).then(resolve));
    });
    expect(result).toEqual({ protocol: 'TLSv1.1' });
  });

  it.each(MODES)('refuses a database that offers only TLS 1.1, under %s too', async (mode) => {
    const before = legacyProtocols.length;
    const error = await connectionRefusal(gatehouse.clientConfig(certificates.get(`legacy-${mode}`)!, 'app_user', 'postgres'));
    expect(error.code).toBe('08001');
    expect(error.message).toMatch(new RegExp(`^TLS to database "legacy-${mode}" at 127\\.0\\.0\\.1:\\d+ failed under ${mode}: .*(protocol version|unsupported protocol)`));
    expect(legacyProtocols.length).toBe(before);
    await auditRecord({ event: 'session.start', success: false, database: `legacy-${mode}`, code: 'GH_ERR_UPSTREAM_TLS' });
  });
});

describe('never plaintext upstream', () => {
  const SSL_REQUEST = sslRequest();

  it.each(MODES)("sends a database that answers 'N' nothing but the SSLRequest, under %s too, and the client gets 08001", async (mode) => {
    const accepted = refusesTls.accepted.length;
    const error = await connectionRefusal(gatehouse.clientConfig(certificates.get(`plaintext-${mode}`)!, 'app_user', 'postgres'));
    expect(error.code).toBe('08001');
    expect(error.message).toBe(`database "plaintext-${mode}" at ${refusesTls.address} does not accept TLS; Gatehouse never logs in to a database in plaintext`);
    expect(refusesTls.accepted.length).toBe(accepted + 1);
    const connection = refusesTls.accepted.at(-1)!;
    await waitUntil(() => connection.closed);
    expect(connection.received).toEqual(SSL_REQUEST);
  });

  it("refuses plaintext pipelined behind a database's 'S' (the CVE-2021-3935 mirror), having sent only the SSLRequest", async () => {
    const error = await connectionRefusal(gatehouse.clientConfig(certificates.get('sneaky')!, 'app_user', 'postgres'));
    expect(error.code).toBe('08001');
    expect(error.message).toBe(`database "sneaky" at ${sneaky.address} sent unexpected data in answer to SSLRequest`);
    const connection = sneaky.accepted.at(-1)!;
    await waitUntil(() => connection.closed);
    expect(connection.received).toEqual(SSL_REQUEST);
  });

  it("forwards a cancel request only over TLS: to a database that now answers 'N' it sends the SSLRequest and never the key", async () => {
    const client = new pg.Client(gatehouse.clientConfig(alice, 'app_user', 'postgres'));
    await client.connect();
    try {
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      // First the control: through the relay in pass mode, the same cancel does reach PostgreSQL.
      const cancelled = client.query('SELECT pg_sleep(30)');
      await waitForActiveQuery();
      await sendPlaintextCancel(processID, secretKey);
      await expect(cancelled).rejects.toMatchObject({ code: '57014' });

      cancelPath.setFault({ kind: 'answer', bytes: Buffer.from('N') });
      const accepted = cancelPath.accepted.length;
      const running = client.query('SELECT pg_sleep(1), 11 AS eleven');
      await waitForActiveQuery();
      await sendPlaintextCancel(processID, secretKey);
      await waitUntil(() => cancelPath.accepted.length > accepted && cancelPath.accepted.at(-1)!.closed);
      expect(cancelPath.accepted.at(-1)!.received).toEqual(SSL_REQUEST);
      expect((await running).rows[0].eleven).toBe(11);
      expect(gatehouse.logLines.some((line) => line.includes('could not forward a cancel request'))).toBe(true);
    } finally {
      cancelPath.setFault({ kind: 'pass' });
      await client.end();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function waitForActiveQuery(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await db.sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'app_user' AND state = 'active' AND query LIKE 'SELECT pg_sleep%'");
    if ((result.rows[0] as { n: number }).n > 0) return;
    if (Date.now() > deadline) throw new Error('the query never started');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What psql does on Ctrl+C: a new plaintext connection to Gatehouse carrying only the key. */
function sendPlaintextCancel(processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gatehouse.port, '127.0.0.1', () => {
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
