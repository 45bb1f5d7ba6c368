// Every refusal a client can meet at the door, read as the client reads it: plaintext, missing,
// foreign, expired and not-yet-valid certificates, garbage and oversized startup packets, bytes
// pipelined behind an SSLRequest, a silent client, and RBAC denials. The proxy keeps serving.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseErrorFields } from '../../src/protocol/error-fields.js';
import { startupMessage } from '../../src/protocol/startup-message.js';
import { foreignCa, forgeCertificate } from '../support/forged-certificates.js';
import { connectionRefusal, startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let db: TestPostgres;
let gatehouse: TestGatehouse;
let alice: ClientCertificate;

beforeAll(async () => {
  db = await startTestPostgres();
  process.env.GH_TEST_REFUSALS_PASSWORD = db.superuserPassword;
  gatehouse = await startTestGatehouse(
    `
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_REFUSALS_PASSWORD }
  - name: prod
    uri: 127.0.0.1:${db.port}
    labels: { env: prod }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_REFUSALS_PASSWORD }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: ["{{internal.db_users}}", postgres], db_names: ["{{internal.db_names}}", postgres] }
    deny: { db_names: [template1] }
users:
  - name: alice
    roles: [access]
    traits: { db_users: [reader], db_names: [app] }
`,
    '  startup_timeout: 2s',
  );
  alice = gatehouse.issue('alice', { database: 'main' });
});

afterAll(async () => {
  await gatehouse?.stop();
  await db?.stop();
});



/** Opens direct TLS (ALPN postgresql) with a certificate, sends a StartupMessage, returns the first answer. */
function firstAnswerOverDirectTls(certificate: ClientCertificate, parameters: Map<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: gatehouse.port,
      servername: 'localhost',
      ca: gatehouse.hostCaPem,
      cert: certificate.certPem,
      key: certificate.keyPem,
      ALPNProtocols: ['postgresql'],
    });
    socket.on('secureConnect', () => socket.write(startupMessage(parameters)));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk);
    });
    socket.on('error', reject);
  });
}

/** Sends raw bytes and collects everything the proxy answers until it closes the connection. */
function exchange(send: Buffer, options: { waitMs?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(gatehouse.port, '127.0.0.1', () => socket.write(send));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(options.waitMs ?? 10_000, () => socket.destroy());
  });
}

function errorFieldsOf(answer: Buffer): Map<string, string> {
  expect(String.fromCharCode(answer[0]!)).toBe('E');
  return parseErrorFields(answer.subarray(5, 1 + answer.readInt32BE(1)));
}

async function stillServing(): Promise<void> {
  const client = await gatehouse.connect(alice, 'postgres', 'postgres');
  try {
    expect((await client.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  } finally {
    await client.end();
  }
}

describe('refusals at the door', () => {
  it('refuses a plaintext StartupMessage with 28000 and says how to connect', async () => {
    const answer = await exchange(startupMessage(new Map([['user', 'postgres'], ['database', 'postgres']])));
    const fields = errorFieldsOf(answer);
    expect(fields.get('C')).toBe('28000');
    expect(fields.get('M')).toContain('requires TLS with a Gatehouse client certificate');
    expect(fields.get('H')).toContain('gatehouse certs issue');
  });

  it('refuses a TLS client without a certificate', async () => {
    const error = await connectionRefusal({ host: 'localhost', port: gatehouse.port, user: 'postgres', ssl: { ca: gatehouse.hostCaPem } });
    expect(error.code).toBe('28000');
    expect(error.message).toContain('no client certificate was presented');
  });

  it('refuses a certificate signed by another CA, even one with the same name', async () => {
    const foreign = foreignCa();
    const forged = forgeCertificate({ certPem: alice.certPem, signingKeyPem: foreign.keyPem, issuerCertPem: foreign.certPem });
    const error = await connectionRefusal(gatehouse.clientConfig({ certPem: forged, keyPem: alice.keyPem }, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain("not issued by this Gatehouse's user CA");
  });

  it('refuses an expired certificate and says when it expired', async () => {
    const userCa = gatehouse.daemon.authorities.userCa;
    const expired = forgeCertificate({
      certPem: alice.certPem,
      signingKeyPem: userCa.keyPem,
      notBefore: new Date(Date.now() - 7200_000),
      notAfter: new Date(Date.now() - 3600_000),
    });
    const error = await connectionRefusal(gatehouse.clientConfig({ certPem: expired, keyPem: alice.keyPem }, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toMatch(/client certificate for "alice" expired at \d{4}-/);
  });

  it('refuses a certificate that is not yet valid', async () => {
    const userCa = gatehouse.daemon.authorities.userCa;
    const early = forgeCertificate({
      certPem: alice.certPem,
      signingKeyPem: userCa.keyPem,
      notBefore: new Date(Date.now() + 3600_000),
      notAfter: new Date(Date.now() + 7200_000),
    });
    const error = await connectionRefusal(gatehouse.clientConfig({ certPem: early, keyPem: alice.keyPem }, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain('is not valid until');
  });

  it('refuses an oversized startup packet after reading only its length', async () => {
    const header = Buffer.alloc(8);
    header.writeInt32BE(1_000_000_000, 0);
    header.writeInt32BE(196608, 4);
    const fields = errorFieldsOf(await exchange(header));
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toContain('10000');
  });

  it('refuses negative and too-short startup lengths and unknown protocol versions', async () => {
    for (const [length, code] of [[-5, 196608], [3, 196608], [8, 0x00020000]] as const) {
      const packet = Buffer.alloc(8);
      packet.writeInt32BE(length, 0);
      packet.writeInt32BE(code, 4);
      const fields = errorFieldsOf(await exchange(packet));
      expect(fields.get('C')).toBe('08P01');
    }
  });

  it('refuses bytes pipelined behind an SSLRequest (the CVE-2021-3935 class)', async () => {
    const sslRequest = Buffer.alloc(8);
    sslRequest.writeInt32BE(8, 0);
    sslRequest.writeInt32BE(80877103, 4);
    const injected = Buffer.concat([sslRequest, startupMessage(new Map([['user', 'postgres']]))]);
    const fields = errorFieldsOf(await exchange(injected));
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toContain('unencrypted data after SSLRequest');
  });

  it('answers GSSENCRequest with N and then accepts an SSLRequest on the same connection', async () => {
    const gssenc = Buffer.alloc(8);
    gssenc.writeInt32BE(8, 0);
    gssenc.writeInt32BE(80877104, 4);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(gatehouse.port, '127.0.0.1', () => socket.write(gssenc));
      let seen = '';
      socket.on('data', (chunk) => {
        seen += chunk.toString('latin1');
        if (seen === 'N') {
          const ssl = Buffer.alloc(8);
          ssl.writeInt32BE(8, 0);
          ssl.writeInt32BE(80877103, 4);
          socket.write(ssl);
        } else if (seen === 'NS') {
          socket.destroy();
          resolve(seen);
        }
      });
      socket.on('error', reject);
    });
    expect(answer).toBe('NS');
  });

  it('closes a client that sends nothing within the startup timeout', async () => {
    const started = Date.now();
    const answer = await exchange(Buffer.alloc(0));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    const fields = errorFieldsOf(answer);
    expect(fields.get('M')).toContain('no startup message within 2 s');
  });

  it('accepts direct TLS (sslnegotiation=direct, ALPN postgresql)', async () => {
    const answer = await firstAnswerOverDirectTls(alice, new Map([['user', 'postgres'], ['database', 'postgres']]));
    expect(String.fromCharCode(answer[0]!)).toBe('R');
    expect(answer.readInt32BE(5)).toBe(0);
  });

  it('refuses direct TLS without the postgresql ALPN protocol', async () => {
    const closed = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: gatehouse.port, servername: 'localhost', ca: gatehouse.hostCaPem, cert: alice.certPem, key: alice.keyPem });
      let seen = Buffer.alloc(0);
      socket.on('data', (chunk) => (seen = Buffer.concat([seen, chunk])));
      socket.on('error', () => resolve(seen.toString('latin1')));
      socket.on('close', () => resolve(seen.toString('latin1')));
    });
    expect(closed).toContain('ALPN');
  });
});

describe('after login', () => {
  /** Opens a direct-TLS session as alice and resolves once the first ReadyForQuery arrives. */
  function loggedIn(parameters: Map<string, string>): Promise<{ socket: tls.TLSSocket; received: () => Buffer }> {
    return new Promise((resolve, reject) => {
      let seen = Buffer.alloc(0);
      const socket = tls.connect({ host: '127.0.0.1', port: gatehouse.port, servername: 'localhost', ca: gatehouse.hostCaPem, cert: alice.certPem, key: alice.keyPem, ALPNProtocols: ['postgresql'] });
      socket.on('secureConnect', () => socket.write(startupMessage(parameters)));
      socket.on('data', (chunk) => {
        const first = seen.length === 0 || !seen.includes(Buffer.from([0x5a, 0, 0, 0, 5]));
        seen = Buffer.concat([seen, chunk]);
        if (first && seen.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) resolve({ socket, received: () => seen });
      });
      socket.on('error', reject);
    });
  }

  it('refuses a message claiming 1 GB with 08P01 and closes only that session', async () => {
    const other = await gatehouse.connect(alice, 'postgres', 'postgres');
    const { socket, received } = await loggedIn(new Map([['user', 'postgres'], ['database', 'postgres']]));
    const before = received().length;
    const header = Buffer.alloc(5);
    header.write('Q', 0);
    header.writeInt32BE(0x40000000, 1);
    socket.write(header);
    await new Promise((resolve) => socket.on('close', resolve));
    const fields = errorFieldsOf(received().subarray(before));
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toMatch(/1073741824/);
    try {
      expect((await other.query('SELECT 2 AS unaffected')).rows[0].unaffected).toBe(2);
    } finally {
      await other.end();
    }
  });

  it('refuses an empty database user', async () => {
    const answer = await firstAnswerOverDirectTls(alice, new Map([['user', '']]));
    const fields = errorFieldsOf(answer);
    expect(fields.get('C')).toBe('28000');
    expect(fields.get('M')).toBe('no database user given');
  });
});

describe('RBAC at connect time', () => {
  it('allows what a role allows, with traits expanded', async () => {
    await stillServing();
  });

  it('refuses a db name denied by a role, naming user, database and role', async () => {
    const error = await connectionRefusal(gatehouse.clientConfig(alice, 'postgres', 'template1'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain('alice');
    expect(error.message).toContain('"main"');
    expect(error.message).toContain('denied by role access');
  });

  it('refuses a db user no role allows', async () => {
    const error = await connectionRefusal(gatehouse.clientConfig(alice, 'admin', 'app'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain('db user "admin"');
  });

  it('refuses a database whose labels no role allows', async () => {
    const prod = gatehouse.issue('alice', { database: 'prod' });
    const error = await connectionRefusal(gatehouse.clientConfig(prod, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain('env=prod');
  });

  it('refuses a certificate for a user Gatehouse does not know', async () => {
    const mallory = gatehouse.issue('mallory', { database: 'main' });
    const error = await connectionRefusal(gatehouse.clientConfig(mallory, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain('mallory');
  });

  it('refuses a certificate naming a database this Gatehouse does not serve', async () => {
    const elsewhere = gatehouse.issue('alice', { database: 'nowhere' });
    const error = await connectionRefusal(gatehouse.clientConfig(elsewhere, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toContain('database "nowhere" named in your certificate is not served by this Gatehouse');
  });

  it('refuses a dbctl identity certificate (no route) and says how to get a database certificate', async () => {
    const issued = gatehouse.daemon.authorities.userCa.issueClientCertificate({ user: 'alice', ttlMs: 3600_000 });
    const identity = { certPem: issued.certPem, keyPem: issued.keyPem as string };
    const error = await connectionRefusal(gatehouse.clientConfig(identity, 'postgres', 'postgres'));
    expect(error.code).toBe('28000');
    expect(error.message).toBe('this is a dbctl identity certificate, not a database certificate');
    expect(error.hint).toBe('run "dbctl login <database>" and connect with the certificate it writes');
    const denied = gatehouse.auditEvents.filter((event) => event.event === 'session.start' && event.success === false && event.code === 'GH_ERR_CERT_INVALID');
    expect(denied.some((event) => event.user === 'alice' && event.reason === 'this is a dbctl identity certificate, not a database certificate')).toBe(true);
  });

  it('uses the certificate route for a missing db user and the user name for a missing db name', async () => {
    const routed = gatehouse.issue('alice', { database: 'main', dbUser: 'postgres' });
    // libpq always sends a user; a raw StartupMessage without one takes the certificate's.
    const answer = await firstAnswerOverDirectTls(routed, new Map());
    expect(String.fromCharCode(answer[0]!)).toBe('R');
  });

  it('audits refusals with the reason', () => {
    const denied = gatehouse.auditEvents.filter((event) => event.event === 'session.start' && event.success === false);
    expect(denied.some((event) => String(event.reason).includes('denied by role access') && event.user === 'alice')).toBe(true);
    expect(denied.some((event) => event.code === 'GH_ERR_TLS_REQUIRED')).toBe(true);
  });

  it('is still serving after all of the above', async () => {
    await stillServing();
  });
});
