// The client-facing TLS listener never resumes a session: every connection presents its
// certificate and has it verified in full (a resumed session would carry an earlier handshake's
// verdict, e.g. for a certificate that has expired since). The listener sends no stateless session
// tickets, which cost a re-parse of the client certificate each.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';

let gatehouse: TestGatehouse;
let certificate: ClientCertificate;

beforeAll(async () => {
  gatehouse = await startTestGatehouse(
    [
      'databases:',
      '  - name: main',
      '    uri: 127.0.0.1:9',
      '    labels: { env: dev }',
      '    auth: { user: app, password_env: GH_TEST_UNUSED }',
      'roles:',
      '  - name: all',
      "    allow: { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] }",
      'users:',
      '  - name: alice',
      '    roles: [all]',
    ].join('\n'),
  );
  certificate = gatehouse.issue('alice', { database: 'main', dbUser: 'app', dbName: 'app' });
});

afterAll(async () => {
  await gatehouse?.stop();
});

/** SSLRequest, 'S', then a TLS handshake with the client certificate; resolves once it is up. */
async function handshake(session?: Buffer): Promise<{ socket: tls.TLSSocket; sessions: Buffer[] }> {
  const raw = net.connect({ host: '127.0.0.1', port: gatehouse.port });
  await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
  raw.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
  const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
  expect(answer.toString('latin1')).toBe('S');
  const sessions: Buffer[] = [];
  const socket = tls.connect({
    socket: raw,
    servername: 'localhost',
    ca: gatehouse.hostCaPem,
    cert: certificate.certPem,
    key: certificate.keyPem,
    session,
  });
  socket.on('session', (ticket: Buffer) => sessions.push(ticket));
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  // TLS 1.3 tickets arrive after the handshake, with the server's first bytes; give them a moment by
  // asking for the next message: the answer to an empty StartupMessage is an error, which is fine.
  socket.write(Buffer.from([0, 0, 0, 8, 0, 3, 0, 0]));
  await new Promise<void>((resolve) => socket.once('data', () => resolve()).once('close', () => resolve()));
  return { socket, sessions };
}

describe('client TLS sessions', () => {
  it('verifies the certificate again on every connection: an offered session is not resumed', async () => {
    const first = await handshake();
    expect(first.socket.authorized).toBe(true);
    first.socket.destroy();
    // With SSL_OP_NO_TICKET, TLS 1.3 still hands the client a (stateful) session id, which the
    // server does not keep: offering it back gets a full handshake.
    const offered = first.sessions.at(-1) ?? first.socket.getSession();
    expect(offered).toBeInstanceOf(Buffer);
    const second = await handshake(offered);
    expect(second.socket.isSessionReused()).toBe(false);
    second.socket.destroy();
  });
});
