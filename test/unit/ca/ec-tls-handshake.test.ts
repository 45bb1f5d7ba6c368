// The certificates Gatehouse issues with ECDSA P-256 keys, checked by OpenSSL twice over: the
// `openssl verify` command (chain, purpose, keyUsage) and real TLS handshakes through node:tls,
// TLS 1.2 and 1.3, the server authenticating with its EC key and the client with an EC or RSA one.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type SecureVersion, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, type KeyPairPem } from '../../../src/ca/certificate-authority.js';

const HOUR = 60 * 60 * 1000;

let userCa: CertificateAuthority;
let hostCa: CertificateAuthority;
let server: KeyPairPem;
let dir: string;

beforeAll(() => {
  userCa = CertificateAuthority.create('Gatehouse user CA');
  hostCa = CertificateAuthority.create('Gatehouse host CA');
  server = hostCa.issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: HOUR });
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-ec-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** `openssl verify -purpose …` of one certificate against one CA; resolves with its exit code and output. */
function opensslVerify(caPem: string, certPem: string, purpose: 'sslserver' | 'sslclient'): Promise<{ code: number; output: string }> {
  const caFile = join(dir, `ca-${purpose}.pem`);
  const certFile = join(dir, `cert-${purpose}.pem`);
  writeFileSync(caFile, caPem);
  writeFileSync(certFile, certPem);
  return new Promise((resolve, reject) => {
    execFile('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', caFile, certFile], (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), output: `${stdout}${stderr}` });
    });
  });
}

interface HandshakeResult {
  /** What the server saw: the client certificate's user and whether it verified against the user CA. */
  clientUser: string | undefined;
  clientAuthorized: boolean;
  /** OpenSSL's verification error for the client certificate, when it did not verify. */
  clientRefusedFor?: string;
  /** What the client saw of the server's certificate. */
  serverKeyType: string | undefined;
  protocol: string | null;
}

/** One handshake on loopback: the host CA's server certificate, a client certificate the server checks against the user CA. */
async function handshake(client: { certPem: string; keyPem: string }, version: SecureVersion): Promise<HandshakeResult> {
  const tlsServer = createServer({
    cert: server.certPem,
    key: server.keyPem,
    ca: userCa.certPem,
    requestCert: true,
    // The server reports why it would refuse a client (authorizationError) instead of hanging up.
    rejectUnauthorized: false,
    minVersion: version,
    maxVersion: version,
  });
  const seenByServer = new Promise<Pick<HandshakeResult, 'clientUser' | 'clientAuthorized' | 'clientRefusedFor'>>((resolve, reject) => {
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      const refusal = socket.authorized ? {} : { clientRefusedFor: String(socket.authorizationError) };
      resolve({ clientUser: socket.getPeerX509Certificate()?.subject, clientAuthorized: socket.authorized, ...refusal });
      socket.end();
    });
    tlsServer.on('tlsClientError', reject);
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = tlsServer.address() as AddressInfo;
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: hostCa.certPem, cert: client.certPem, key: client.keyPem, minVersion: version, maxVersion: version });
    const seenByClient = await new Promise<Pick<HandshakeResult, 'serverKeyType' | 'protocol'>>((resolve, reject) => {
      socket.once('secureConnect', () => resolve({ serverKeyType: socket.getPeerX509Certificate()?.publicKey.asymmetricKeyType, protocol: socket.getProtocol() }));
      socket.once('error', reject);
    });
    const seen = { ...(await seenByServer), ...seenByClient };
    socket.destroy();
    return seen;
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

describe('EC P-256 certificates from Gatehouse CAs', () => {
  it('an EC server certificate passes openssl verify for an SSL server, and only under the host CA', async () => {
    expect(await opensslVerify(hostCa.certPem, server.certPem, 'sslserver')).toMatchObject({ code: 0 });
    const wrongCa = await opensslVerify(userCa.certPem, server.certPem, 'sslserver');
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.output).toMatch(/unable to get local issuer certificate/);
  });

  it('an EC client certificate passes openssl verify for an SSL client, and not as a server', async () => {
    const client = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR });
    expect(await opensslVerify(userCa.certPem, client.certPem, 'sslclient')).toMatchObject({ code: 0 });
    const asServer = await opensslVerify(userCa.certPem, client.certPem, 'sslserver');
    expect(asServer.code).not.toBe(0);
    expect(asServer.output).toMatch(/unsuitable certificate purpose/);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: an EC server and an EC client certificate complete a mutually authenticated handshake`, async () => {
      const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR });
      const result = await handshake({ certPem: issued.certPem, keyPem: issued.keyPem as string }, version);
      expect(result).toEqual({ clientUser: 'O=gatehouse\nCN=alice', clientAuthorized: true, serverKeyType: 'ec', protocol: version });
    });

    it(`${version}: a client's own RSA key still authenticates against the EC server`, async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const issued = userCa.issueClientCertificate({ user: 'bob', ttlMs: HOUR, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const result = await handshake({ certPem: issued.certPem, keyPem }, version);
      expect(result).toEqual({ clientUser: 'O=gatehouse\nCN=bob', clientAuthorized: true, serverKeyType: 'ec', protocol: version });
    });
  }

  it('a client certificate from the host CA is refused by the server that trusts the user CA', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const stranger = hostCa.issueClientCertificate({ user: 'mallory', ttlMs: HOUR, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(await handshake({ certPem: stranger.certPem, keyPem }, 'TLSv1.3')).toMatchObject({
      clientUser: 'O=gatehouse\nCN=mallory',
      clientAuthorized: false,
      // The client sends the host CA along (its chain, built from its trust store): a root the server does not trust.
      clientRefusedFor: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
  });
});
