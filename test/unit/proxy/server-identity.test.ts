// verify-full's name check from the X509Certificate must decide exactly as Node's own check on the
// detailed certificate object did (tls.checkServerIdentity on what getPeerCertificate returns,
// which is what X509Certificate.toLegacyObject() returns): same verdict, same message, for
// certificates with DNS names, wildcards, IP addresses, only a CN, and odd alternative names.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { serverIdentityError } from '../../../src/proxy/server-identity.js';

type AltName = { type: number; value?: string; ip?: string };

let keys: forge.pki.rsa.KeyPair;

beforeAll(() => {
  keys = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
});

function certificate(commonNames: string[], altNames: AltName[]): X509Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  const subject = [{ name: 'organizationName', value: 'test' }, ...commonNames.map((value) => ({ name: 'commonName', value }))];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  if (altNames.length > 0) cert.setExtensions([{ name: 'subjectAltName', altNames }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return new X509Certificate(forge.pki.certificateToPem(cert));
}

const DNS = 2;
const IP = 7;
const URI = 6;
const EMAIL = 1;

const NAMES = [
  'localhost',
  'LOCALHOST',
  'localhost.',
  'db.example.com',
  'db.example.com.',
  'a.example.com',
  'example.com',
  'x.a.example.com',
  'other.org',
  '127.0.0.1',
  '127.0.0.1.',
  '::1',
  '0:0:0:0:0:0:0:1',
  '10.0.0.1',
  'a,b',
  '',
];

describe('serverIdentityError', () => {
  const cases: Array<{ label: string; make: () => X509Certificate }> = [
    { label: 'DNS names, a wildcard and IP addresses', make: () => certificate(['localhost'], [{ type: DNS, value: 'localhost' }, { type: DNS, value: '*.example.com' }, { type: IP, ip: '127.0.0.1' }, { type: IP, ip: '::1' }]) },
    { label: 'only IP addresses, and a CN', make: () => certificate(['db.example.com'], [{ type: IP, ip: '127.0.0.1' }]) },
    { label: 'no alternative names, one CN', make: () => certificate(['db.example.com'], []) },
    { label: 'no alternative names, two CNs', make: () => certificate(['other.org', 'db.example.com'], []) },
    { label: 'no alternative names, a wildcard CN', make: () => certificate(['*.example.com'], []) },
    { label: 'a CN with a comma', make: () => certificate(['a,b'], []) },
    { label: 'a URI that contains "DNS:", and a CN', make: () => certificate(['db.example.com'], [{ type: URI, value: 'http://x/DNS:localhost' }]) },
    { label: 'an e-mail address only, and a CN', make: () => certificate(['localhost'], [{ type: EMAIL, value: 'ops@example.com' }]) },
    { label: 'DNS names that differ from the CN', make: () => certificate(['db.example.com'], [{ type: DNS, value: 'other.org' }]) },
  ];

  for (const { label, make } of cases) {
    it(`decides like tls.checkServerIdentity on the detailed certificate: ${label}`, () => {
      const cert = make();
      for (const name of NAMES) {
        const expected = tls.checkServerIdentity(name, cert.toLegacyObject());
        const actual = serverIdentityError(cert, name);
        expect({ name, verdict: actual === undefined ? 'accepted' : actual.message }).toEqual({
          name,
          verdict: expected === undefined ? 'accepted' : expected.message,
        });
      }
    });
  }

  it('accepts the names a certificate carries and refuses the others', () => {
    const cert = certificate(['localhost'], [{ type: DNS, value: 'localhost' }, { type: DNS, value: '*.example.com' }, { type: IP, ip: '127.0.0.1' }]);
    expect(serverIdentityError(cert, 'localhost')).toBeUndefined();
    expect(serverIdentityError(cert, 'a.example.com')).toBeUndefined();
    expect(serverIdentityError(cert, '127.0.0.1')).toBeUndefined();
    expect(serverIdentityError(cert, 'db.internal')?.message).toContain("is not in the cert's altnames");
    expect(serverIdentityError(cert, 'x.a.example.com')).toBeInstanceOf(Error);
    expect(serverIdentityError(cert, '10.0.0.1')?.message).toContain("is not in the cert's list");
  });

  it('uses the CN only when no alternative name is a DNS name', () => {
    expect(serverIdentityError(certificate(['db.example.com'], []), 'db.example.com')).toBeUndefined();
    expect(serverIdentityError(certificate(['db.example.com'], [{ type: DNS, value: 'other.org' }]), 'db.example.com')).toBeInstanceOf(Error);
  });

  it('refuses a connection that presented no certificate', () => {
    expect(serverIdentityError(undefined, 'localhost')?.message).toBe('the database presented no certificate');
  });
});
