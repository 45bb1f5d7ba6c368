import { X509Certificate, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTHORITY_FILES, initAuthorities, loadAuthorities, publicHost } from '../../../src/ca/authority-store.js';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';

let root: string;
let caDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-ca-'));
  caDir = join(root, 'certs');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const read = (name: string): string => readFileSync(join(caDir, name), 'utf8');
const proxyCertificate = (): X509Certificate => new X509Certificate(read(AUTHORITY_FILES.proxyCert));

/**
 * The proxy certificate as Gatehouse issued it before server keys were ECDSA: the same certificate
 * with an RSA key in it, signed by the same host CA.
 */
function rsaProxyPair(): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificate = forge.asn1.fromDer(forge.pem.decode(read(AUTHORITY_FILES.proxyCert))[0]!.body);
  const [tbs, algorithm] = certificate.value as forge.asn1.Asn1[];
  // TBSCertificate: [0] version, serial, signature algorithm, issuer, validity, subject, key, [3] extensions
  (tbs!.value as forge.asn1.Asn1[])[6] = forge.asn1.fromDer(publicKey.export({ type: 'spki', format: 'der' }).toString('binary'));
  const signature = sign('sha256', Buffer.from(forge.asn1.toDer(tbs!).getBytes(), 'binary'), createPrivateKey(read(AUTHORITY_FILES.hostCaKey)));
  const signed = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
    tbs!,
    algorithm!,
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
  ]);
  return {
    certPem: forge.pem.encode({ type: 'CERTIFICATE', body: forge.asn1.toDer(signed).getBytes() }),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function refusal(action: () => unknown): GatehouseError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected a GatehouseError');
}

describe('initAuthorities', () => {
  it('creates both CAs and the proxy certificate, then nothing more', () => {
    const first = initAuthorities(caDir, 'gatehouse.example.com');
    expect(first.created.sort()).toEqual(Object.values(AUTHORITY_FILES).map((name) => join(caDir, name)).sort());
    expect(readdirSync(caDir).sort()).toEqual(Object.values(AUTHORITY_FILES).sort());
    expect(statSync(caDir).mode & 0o777).toBe(0o700);
    for (const key of [AUTHORITY_FILES.userCaKey, AUTHORITY_FILES.hostCaKey, AUTHORITY_FILES.proxyKey]) {
      expect(statSync(join(caDir, key)).mode & 0o777).toBe(0o600);
    }
    const before = Object.values(AUTHORITY_FILES).map(read);

    expect(initAuthorities(caDir, 'gatehouse.example.com')).toEqual({ created: [] });
    expect(Object.values(AUTHORITY_FILES).map(read)).toEqual(before);
  });

  it('gives the two CAs their names and signs the proxy certificate with the host CA', () => {
    initAuthorities(caDir, 'gatehouse.example.com:3080');
    const userCa = new X509Certificate(read(AUTHORITY_FILES.userCaCert));
    const hostCa = new X509Certificate(read(AUTHORITY_FILES.hostCaCert));
    expect(userCa.subject).toBe('O=gatehouse\nCN=Gatehouse user CA');
    expect(hostCa.subject).toBe('O=gatehouse\nCN=Gatehouse host CA');
    const proxy = proxyCertificate();
    expect(proxy.checkIssued(hostCa)).toBe(true);
    expect(proxy.verify(hostCa.publicKey)).toBe(true);
    expect(proxy.verify(userCa.publicKey)).toBe(false);
    expect(proxy.checkHost('gatehouse.example.com', { subject: 'never' })).toBe('gatehouse.example.com');
    expect(proxy.checkHost('localhost', { subject: 'never' })).toBe('localhost');
    expect(proxy.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(proxy.checkIP('::1')).toBe('::1');
    const validityDays = (new Date(proxy.validTo).getTime() - Date.now()) / 86_400_000;
    expect(validityDays).toBeGreaterThan(364);
    expect(validityDays).toBeLessThan(366);
    // The CAs sign with RSA; the proxy's own key, which signs in every handshake, is EC P-256.
    expect(userCa.publicKey.asymmetricKeyType).toBe('rsa');
    expect(hostCa.publicKey.asymmetricKeyType).toBe('rsa');
    expect(proxy.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(createPrivateKey(read(AUTHORITY_FILES.proxyKey)).asymmetricKeyType).toBe('ec');
  });

  it('keeps an RSA proxy certificate from an earlier Gatehouse until it would re-issue it anyway', () => {
    initAuthorities(caDir, 'localhost');
    const rsa = rsaProxyPair();
    writeFileSync(join(caDir, AUTHORITY_FILES.proxyCert), rsa.certPem);
    writeFileSync(join(caDir, AUTHORITY_FILES.proxyKey), rsa.keyPem, { mode: 0o600 });
    expect(proxyCertificate().publicKey.asymmetricKeyType).toBe('rsa');
    expect(initAuthorities(caDir, 'localhost')).toEqual({ created: [] });
    expect(read(AUTHORITY_FILES.proxyCert)).toBe(rsa.certPem);
    expect(loadAuthorities(caDir).proxyServer).toEqual(rsa);
    // Close to expiry it is re-issued, and then with an EC key.
    const in340Days = Date.now() + 340 * 86_400_000;
    expect(initAuthorities(caDir, 'localhost', () => in340Days).created).toContain(join(caDir, AUTHORITY_FILES.proxyKey));
    expect(proxyCertificate().publicKey.asymmetricKeyType).toBe('ec');
  });

  it('puts an IP public_addr into the proxy certificate as an IP address', () => {
    initAuthorities(caDir, '10.20.30.40:15432');
    expect(proxyCertificate().checkIP('10.20.30.40')).toBe('10.20.30.40');
    initAuthorities(join(root, 'v6'), '[2001:db8::7]:15432');
    expect(new X509Certificate(readFileSync(join(root, 'v6', AUTHORITY_FILES.proxyCert))).checkIP('2001:db8::7')).toBe('2001:db8::7');
  });

  it('re-issues only the proxy certificate when public_addr names a new host', () => {
    initAuthorities(caDir, 'old.example.com');
    const userCa = read(AUTHORITY_FILES.userCaCert);
    const hostCa = read(AUTHORITY_FILES.hostCaCert);
    const result = initAuthorities(caDir, 'new.example.com');
    expect(result.created.sort()).toEqual([join(caDir, AUTHORITY_FILES.proxyCert), join(caDir, AUTHORITY_FILES.proxyKey)].sort());
    expect(proxyCertificate().checkHost('new.example.com', { subject: 'never' })).toBe('new.example.com');
    expect(read(AUTHORITY_FILES.userCaCert)).toBe(userCa);
    expect(read(AUTHORITY_FILES.hostCaCert)).toBe(hostCa);
  });

  it('re-issues a proxy certificate close to expiry', () => {
    initAuthorities(caDir, 'localhost');
    const serial = proxyCertificate().serialNumber;
    const in340Days = Date.now() + 340 * 86_400_000;
    expect(initAuthorities(caDir, 'localhost', () => in340Days).created).toContain(join(caDir, AUTHORITY_FILES.proxyCert));
    expect(proxyCertificate().serialNumber).not.toBe(serial);
  });

  it('re-issues a proxy certificate the host CA did not sign', () => {
    initAuthorities(caDir, 'localhost');
    const stranger = CertificateAuthority.create('Gatehouse host CA').issueServerCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: [],
      ttlMs: 86_400_000,
    });
    writeFileSync(join(caDir, AUTHORITY_FILES.proxyCert), stranger.certPem);
    writeFileSync(join(caDir, AUTHORITY_FILES.proxyKey), stranger.keyPem);
    expect(initAuthorities(caDir, 'localhost').created).toContain(join(caDir, AUTHORITY_FILES.proxyCert));
    expect(proxyCertificate().checkIssued(new X509Certificate(read(AUTHORITY_FILES.hostCaCert)))).toBe(true);
  });

  it('refuses to replace half of a CA', () => {
    initAuthorities(caDir, 'localhost');
    unlinkSync(join(caDir, AUTHORITY_FILES.userCaCert));
    const error = refusal(() => initAuthorities(caDir, 'localhost'));
    expect(error.code).toBe(ErrorCodes.CA_INVALID);
    expect(error.message).toContain(`${join(caDir, AUTHORITY_FILES.userCaKey)} exists but ${join(caDir, AUTHORITY_FILES.userCaCert)} does not`);
  });

  it('refuses a CA key others can read', () => {
    initAuthorities(caDir, 'localhost');
    chmodSync(join(caDir, AUTHORITY_FILES.hostCaKey), 0o644);
    expect(refusal(() => initAuthorities(caDir, 'localhost')).code).toBe(ErrorCodes.KEY_PERMISSIONS);
  });

  it('refuses a bad public_addr naming the setting', () => {
    expect(refusal(() => initAuthorities(caDir, 'https://x')).message).toMatch(/^proxy\.public_addr: /);
    expect(existsSync(caDir)).toBe(false);
  });
});

describe('loadAuthorities', () => {
  it('loads what initAuthorities wrote', () => {
    initAuthorities(caDir, 'localhost');
    const authorities = loadAuthorities(caDir);
    expect(authorities.userCa.certPem).toBe(read(AUTHORITY_FILES.userCaCert));
    expect(authorities.hostCa.keyPem).toBe(read(AUTHORITY_FILES.hostCaKey));
    expect(authorities.proxyServer).toEqual({ certPem: read(AUTHORITY_FILES.proxyCert), keyPem: read(AUTHORITY_FILES.proxyKey) });
    const client = authorities.userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: 60_000 });
    expect(new X509Certificate(client.certPem).checkIssued(new X509Certificate(read(AUTHORITY_FILES.userCaCert)))).toBe(true);
  });

  it('says what is missing and what to run', () => {
    const error = refusal(() => loadAuthorities(caDir));
    expect(error.code).toBe(ErrorCodes.CA_INVALID);
    expect(error.message).toBe(
      `Gatehouse's certificate authority in ${caDir} is incomplete (missing user_ca.crt, user_ca.key, host_ca.crt, host_ca.key, proxy.crt, proxy.key); ` +
        'run "gatehouse ca init --config FILE"',
    );
    initAuthorities(caDir, 'localhost');
    unlinkSync(join(caDir, AUTHORITY_FILES.proxyKey));
    expect(refusal(() => loadAuthorities(caDir)).message).toMatch(/\(missing proxy\.key\); run "gatehouse ca init --config FILE"/);
  });

  it('refuses a key file others can read', () => {
    initAuthorities(caDir, 'localhost');
    chmodSync(join(caDir, AUTHORITY_FILES.userCaKey), 0o644);
    const error = refusal(() => loadAuthorities(caDir));
    expect(error.code).toBe(ErrorCodes.KEY_PERMISSIONS);
    expect(error.message).toContain(`chmod 600 ${join(caDir, AUTHORITY_FILES.userCaKey)}`);
  });

  it('refuses swapped CA keys and a proxy certificate from another CA', () => {
    initAuthorities(caDir, 'localhost');
    const proxyCert = read(AUTHORITY_FILES.proxyCert);
    writeFileSync(join(caDir, AUTHORITY_FILES.proxyCert), read(AUTHORITY_FILES.userCaCert));
    expect(refusal(() => loadAuthorities(caDir)).message).toMatch(/proxy\.crt does not match its private key; run "gatehouse ca init --config FILE" to re-issue it/);
    writeFileSync(join(caDir, AUTHORITY_FILES.proxyCert), proxyCert);
    writeFileSync(join(caDir, AUTHORITY_FILES.userCaCert), read(AUTHORITY_FILES.hostCaCert));
    expect(refusal(() => loadAuthorities(caDir)).message).toMatch(/user_ca\.crt and user_ca\.key: the private key given for CA .* does not belong/);
  });
});

describe('publicHost', () => {
  it.each([
    ['localhost', 'localhost'],
    ['gatehouse.example.com:3080', 'gatehouse.example.com'],
    ['gatehouse.example.com.', 'gatehouse.example.com'],
    ['10.0.0.1:5432', '10.0.0.1'],
    ['[::1]:5432', '::1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
  ])('%s → %s', (input, host) => {
    expect(publicHost(input)).toBe(host);
  });
});
