import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { CA_VALIDITY_MS, CLOCK_SKEW_MS, CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { ROUTE_EXTENSION_OID_CONTENT } from '../../../src/ca/route-extension.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';

const HOUR = 60 * 60 * 1000;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

let userCa: CertificateAuthority;
let hostCa: CertificateAuthority;

beforeAll(() => {
  userCa = CertificateAuthority.create('Gatehouse user CA');
  hostCa = CertificateAuthority.create('Gatehouse host CA');
});

function caught(action: () => unknown): GatehouseError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected an error');
}

describe('CertificateAuthority.create', () => {
  it('makes a self-signed CA certificate good for ten years', () => {
    const before = Date.now();
    const certificate = new X509Certificate(userCa.certPem);
    expect(certificate.ca).toBe(true);
    expect(certificate.subject).toBe('O=gatehouse\nCN=Gatehouse user CA');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(userCa.keyPem))).toBe(true);
    const notAfter = new Date(certificate.validTo).getTime();
    expect(Math.abs(notAfter - (before + CA_VALIDITY_MS))).toBeLessThan(60_000);
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('is a root with path length 0 that signs certificates and CRLs', () => {
    // Node does not expose basicConstraints or keyUsage; forge's parser does.
    const ext = extensionsOf(hostCa.certPem);
    expect(ext.basicConstraints).toMatchObject({ critical: true, cA: true, pathLenConstraint: 0 });
    expect(ext.keyUsage).toMatchObject({ critical: true, keyCertSign: true, cRLSign: true, digitalSignature: false });
  });

  it('sets notBefore a minute in the past', () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const ca = CertificateAuthority.create('clock test', HOUR, () => now);
    const certificate = new X509Certificate(ca.certPem);
    expect(new Date(certificate.validFrom).getTime()).toBe(now - CLOCK_SKEW_MS);
    expect(new Date(certificate.validTo).getTime()).toBe(now + HOUR);
  });
});

describe('CertificateAuthority.fromPem', () => {
  it('round-trips a CA', () => {
    const loaded = CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: userCa.keyPem });
    expect(loaded.certPem).toBe(userCa.certPem);
    expect(loaded.keyPem).toBe(userCa.keyPem);
    const issued = loaded.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR });
    expect(new X509Certificate(issued.certPem).verify(new X509Certificate(userCa.certPem).publicKey)).toBe(true);
  });

  it('accepts a PKCS#1 key', () => {
    const pkcs1 = createPrivateKey(userCa.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    expect(() => CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: pkcs1 })).not.toThrow();
  });

  it('refuses a key that belongs to another certificate', () => {
    const error = caught(() => CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: hostCa.keyPem }));
    expect(error.code).toBe(ErrorCodes.CA_INVALID);
    expect(error.message).toMatch(/private key given for CA "O=gatehouse, CN=Gatehouse user CA" does not belong to its certificate/);
  });

  it('refuses a certificate that is not a CA', () => {
    // An RSA key, so the CA-ness check is what refuses it (an EC server key is refused as not RSA, below).
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const client = userCa.issueClientCertificate({ user: 'alice', ttlMs: HOUR, publicKeyPem });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const error = caught(() => CertificateAuthority.fromPem({ certPem: client.certPem, keyPem }));
    expect(error.code).toBe(ErrorCodes.CA_INVALID);
    expect(error.message).toMatch(/the certificate "O=gatehouse, CN=alice" is not a CA certificate/);
  });

  it('refuses a server certificate and its EC key as a CA', () => {
    const server = hostCa.issueServerCertificate({ commonName: 'db', dnsNames: ['db'], ipAddresses: [], ttlMs: HOUR });
    const error = caught(() => CertificateAuthority.fromPem(server));
    expect(error.code).toBe(ErrorCodes.CA_INVALID);
    expect(error.message).toBe('the private key of CA "O=gatehouse, CN=db" is ec; Gatehouse signs with RSA keys only');
  });

  it('refuses garbage with a clear message', () => {
    expect(caught(() => CertificateAuthority.fromPem({ certPem: 'nope', keyPem: userCa.keyPem })).message).toMatch(/CA certificate cannot be parsed/);
    expect(caught(() => CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: 'nope' })).message).toMatch(/private key of CA .* cannot be parsed/);
  });

  it('refuses a non-RSA key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(caught(() => CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem })).message).toMatch(/is ec; Gatehouse signs with RSA keys only/);
  });
});

describe('issueClientCertificate', () => {
  it('issues a certificate that verifies against the user CA and not the host CA', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local', dbUser: 'postgres' }, ttlMs: HOUR });
    const certificate = new X509Certificate(issued.certPem);
    const userCaCertificate = new X509Certificate(userCa.certPem);
    const hostCaCertificate = new X509Certificate(hostCa.certPem);
    expect(certificate.checkIssued(userCaCertificate)).toBe(true);
    expect(certificate.verify(userCaCertificate.publicKey)).toBe(true);
    expect(certificate.checkIssued(hostCaCertificate)).toBe(false);
    expect(certificate.verify(hostCaCertificate.publicKey)).toBe(false);
    expect(certificate.subject).toBe('O=gatehouse\nCN=alice');
    expect(certificate.ca).toBe(false);
    expect(certificate.keyUsage).toEqual([CLIENT_AUTH]);
    expect(issued.keyPem).toBeDefined();
    expect(certificate.checkPrivateKey(createPrivateKey(issued.keyPem as string))).toBe(true);
  });

  it('generates an EC P-256 key pair when the client brings none', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', ttlMs: HOUR });
    const key = new X509Certificate(issued.certPem).publicKey;
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(issued.keyPem).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('marks the certificate for client authentication only', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR });
    const ext = extensionsOf(issued.certPem);
    expect(ext.basicConstraints).toMatchObject({ cA: false });
    // An EC key only signs: no keyEncipherment (RFC 5480).
    expect(ext.keyUsage).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: false, keyCertSign: false });
    expect(ext.extKeyUsage).toMatchObject({ clientAuth: true });
    expect(ext.extKeyUsage).not.toHaveProperty('serverAuth');
    expect(ext.route).toMatchObject({ critical: false });
  });

  it('issues an identity certificate without a route: the same client certificate, minus the route extension', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const issued = userCa.issueClientCertificate({ user: 'alice', ttlMs: HOUR, publicKeyPem });
    const certificate = new X509Certificate(issued.certPem);
    expect(certificate.checkIssued(new X509Certificate(userCa.certPem))).toBe(true);
    expect(certificate.subject).toBe('O=gatehouse\nCN=alice');
    expect(certificate.checkPrivateKey(privateKey)).toBe(true);
    const ext = extensionsOf(issued.certPem);
    expect(ext.extKeyUsage).toMatchObject({ clientAuth: true });
    expect(ext.basicConstraints).toMatchObject({ cA: false });
    expect(ext).not.toHaveProperty('route');
  });

  it('uses the given clock, ttl and a minute of skew, and reports notAfter as signed', () => {
    const now = Date.UTC(2030, 5, 1, 8, 30, 15, 700);
    const ca = CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: userCa.keyPem }, () => now);
    const issued = ca.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: 2 * HOUR });
    const certificate = new X509Certificate(issued.certPem);
    expect(issued.notAfter.getTime()).toBe(Date.UTC(2030, 5, 1, 10, 30, 15));
    expect(new Date(certificate.validTo).getTime()).toBe(issued.notAfter.getTime());
    expect(new Date(certificate.validFrom).getTime()).toBe(Date.UTC(2030, 5, 1, 8, 29, 15));
  });

  it('never outlives the CA', () => {
    const ca = CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: userCa.keyPem });
    const issued = ca.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: 20 * CA_VALIDITY_MS });
    expect(issued.notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  it('refuses to issue from an expired CA', () => {
    const later = Date.now() + CA_VALIDITY_MS + HOUR;
    const ca = CertificateAuthority.fromPem({ certPem: userCa.certPem, keyPem: userCa.keyPem }, () => later);
    const error = caught(() => ca.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR }));
    expect(error.code).toBe(ErrorCodes.CA_INVALID);
    expect(error.message).toMatch(/expired on/);
  });

  it('gives every certificate a distinct positive 16-byte serial number', () => {
    const serials = new Set<string>();
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (let index = 0; index < 8; index += 1) {
      const serial = new X509Certificate(userCa.issueClientCertificate({ user: 'a', route: { database: 'd' }, ttlMs: HOUR, publicKeyPem }).certPem).serialNumber;
      expect(serial).toMatch(/^[0-7][0-9A-F]{31}$/);
      expect(serial.startsWith('00')).toBe(false);
      serials.add(serial);
    }
    expect(serials.size).toBe(8);
  });

  it('signs a client-supplied RSA public key, keeping keyEncipherment, and returns no private key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const issued = userCa.issueClientCertificate({ user: 'bob', route: { database: 'warehouse' }, ttlMs: HOUR, publicKeyPem });
    expect(issued.keyPem).toBeUndefined();
    expect(issued).not.toHaveProperty('keyPem');
    expect(new X509Certificate(issued.certPem).checkPrivateKey(privateKey)).toBe(true);
    expect(extensionsOf(issued.certPem).keyUsage).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: true });
  });

  it('signs a client-supplied EC P-256 public key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const issued = userCa.issueClientCertificate({ user: 'bob', route: { database: 'warehouse' }, ttlMs: HOUR, publicKeyPem });
    expect(issued).not.toHaveProperty('keyPem');
    const certificate = new X509Certificate(issued.certPem);
    expect(certificate.checkPrivateKey(privateKey)).toBe(true);
    expect(certificate.verify(new X509Certificate(userCa.certPem).publicKey)).toBe(true);
    expect(certificate.publicKey.export({ type: 'spki', format: 'pem' }).toString()).toBe(publicKeyPem);
  });

  it('refuses unusable public keys, saying which keys it certifies', () => {
    const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
    const accepted = 'Gatehouse certifies an EC P-256 key or an RSA key of 2048 to 8192 bits';
    const refusals: Array<[string, string]> = [
      [spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey), `the public key is an EC key on curve P-384; ${accepted}`],
      [spki(generateKeyPairSync('ed25519').publicKey), `the public key is a key of type ed25519; ${accepted}`],
      [spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), `the public key is an RSA key of 1024 bits; ${accepted}`],
      [spki(rsaPublicKeyOfBits(8200)), `the public key is an RSA key of 8200 bits; ${accepted}`],
    ];
    const request = { user: 'bob', route: { database: 'warehouse' }, ttlMs: HOUR };
    for (const [publicKeyPem, message] of refusals) {
      const error = caught(() => userCa.issueClientCertificate({ ...request, publicKeyPem }));
      expect(error.code).toBe(ErrorCodes.CERT_INVALID);
      expect(error.message).toBe(message);
    }
    expect(caught(() => userCa.issueClientCertificate({ ...request, publicKeyPem: 'junk' })).code).toBe(ErrorCodes.CERT_INVALID);
  });

  it('refuses user names and routes it could not read back', () => {
    expect(caught(() => userCa.issueClientCertificate({ user: '', route: { database: 'd' }, ttlMs: HOUR })).message).toMatch(/user name "" .* empty/);
    expect(caught(() => userCa.issueClientCertificate({ user: 'a\nb', route: { database: 'd' }, ttlMs: HOUR })).message).toMatch(/control characters/);
    expect(caught(() => userCa.issueClientCertificate({ user: 'a', route: { database: '' }, ttlMs: HOUR })).message).toMatch(/database "" .* empty/);
    expect(() => userCa.issueClientCertificate({ user: 'a', route: { database: 'd' }, ttlMs: 0 })).toThrow(RangeError);
    expect(() => userCa.issueClientCertificate({ user: 'a', route: { database: 'd' }, ttlMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('issueServerCertificate', () => {
  it('issues a server certificate for the names and addresses given, signed by the host CA', () => {
    const pair = hostCa.issueServerCertificate({
      commonName: 'proxy.example.com',
      dnsNames: ['proxy.example.com', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1', '10.1.2.3'],
      ttlMs: HOUR,
    });
    const certificate = new X509Certificate(pair.certPem);
    expect(certificate.checkIssued(new X509Certificate(hostCa.certPem))).toBe(true);
    expect(certificate.verify(new X509Certificate(hostCa.certPem).publicKey)).toBe(true);
    expect(certificate.checkIssued(new X509Certificate(userCa.certPem))).toBe(false);
    expect(certificate.checkPrivateKey(createPrivateKey(pair.keyPem))).toBe(true);
    expect(certificate.checkHost('proxy.example.com', { subject: 'never' })).toBe('proxy.example.com');
    expect(certificate.checkHost('localhost', { subject: 'never' })).toBe('localhost');
    expect(certificate.checkHost('other.example.com')).toBeUndefined();
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.checkIP('::1')).toBe('::1');
    expect(certificate.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(certificate.checkIP('10.1.2.4')).toBeUndefined();
    expect(certificate.keyUsage).toEqual([SERVER_AUTH]);
    expect(certificate.ca).toBe(false);
    expect(certificate.subject).toBe('O=gatehouse\nCN=proxy.example.com');
    expect(certificate.publicKey.asymmetricKeyType).toBe('ec');
    expect(certificate.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(extensionsOf(pair.certPem).keyUsage).toMatchObject({ critical: true, digitalSignature: true, keyEncipherment: false, keyCertSign: false });
  });

  it('refuses bad names and addresses', () => {
    const base = { commonName: 'x', dnsNames: [], ipAddresses: [], ttlMs: HOUR };
    expect(() => hostCa.issueServerCertificate(base)).toThrow(/at least one DNS name or IP address/);
    expect(() => hostCa.issueServerCertificate({ ...base, ipAddresses: ['300.1.1.1'] })).toThrow(/not an IP address/);
    expect(() => hostCa.issueServerCertificate({ ...base, dnsNames: ['bad name'] })).toThrow(/not a DNS name/);
  });
});

/** An RSA public key of any size, made without the cost of generating one: only n and e matter to a public key. */
function rsaPublicKeyOfBits(bits: number): KeyObject {
  const modulus = randomBytes(bits / 8);
  modulus[0] = (modulus[0] as number) | 0x80;
  modulus[modulus.length - 1] = (modulus[modulus.length - 1] as number) | 0x01;
  return createPublicKey({ key: { kty: 'RSA', n: modulus.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
}

/** The extensions of a certificate, parsed by forge (a second, independent reader), plus ours by OID. */
function extensionsOf(certPem: string): Record<string, Record<string, unknown>> {
  const asn = forge.asn1.fromDer(forge.util.decode64(certPem.replace(/-----[^-]+-----|\s/g, '')));
  const tbs = (asn.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const fields = tbs.value as forge.asn1.Asn1[];
  const wrapper = fields.find((field) => field.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && field.type === 3) as forge.asn1.Asn1;
  const list = (wrapper.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const result: Record<string, Record<string, unknown>> = {};
  const routeOid = forge.util.binary.raw.encode(ROUTE_EXTENSION_OID_CONTENT);
  for (const extension of list.value as forge.asn1.Asn1[]) {
    const parts = extension.value as forge.asn1.Asn1[];
    const oidBytes = (parts[0] as forge.asn1.Asn1).value as string;
    const critical = parts.length === 3;
    if (oidBytes === routeOid) {
      result.route = { critical };
      continue;
    }
    // forge's own extension reader, a second implementation to check ours against.
    const parsed = (forge.pki as unknown as { certificateExtensionFromAsn1(ext: forge.asn1.Asn1): Record<string, unknown> }).certificateExtensionFromAsn1(extension);
    result[parsed.name as string] = { ...parsed, critical };
  }
  return result;
}
