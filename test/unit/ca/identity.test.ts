import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { identityFromCertificate } from '../../../src/ca/identity.js';
import { ROUTE_EXTENSION_OID_CONTENT } from '../../../src/ca/route-extension.js';
import { ErrorCodes, GatehouseError, SqlState } from '../../../src/errors.js';

const HOUR = 60 * 60 * 1000;
const { asn1, pki, util } = forge;

let userCa: CertificateAuthority;
let foreignCa: CertificateAuthority;
let keys: { publicKeyPem: string; privateKeyPem: string };

beforeAll(() => {
  userCa = CertificateAuthority.create('Gatehouse user CA');
  foreignCa = CertificateAuthority.create('Somebody else');
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys = {
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
});

function der(certPem: string): Buffer {
  return new X509Certificate(certPem).raw;
}

function refusal(input: Buffer): GatehouseError {
  try {
    identityFromCertificate(input);
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected identityFromCertificate to refuse');
}

/** A self-signed certificate built with forge directly, with whatever subject and extensions a test wants. */
function forgeCertificate(subject: forge.pki.CertificateField[], extensions: object[] = []): Buffer {
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - HOUR);
  cert.validity.notAfter = new Date(Date.now() + HOUR);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions(extensions);
  cert.sign(pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return der(pki.certificateToPem(cert));
}

/** `certificate` with the route extension's value replaced (the signature no longer matches; parsing does not care). */
function withRouteValue(certificate: Buffer, value: Uint8Array): Buffer {
  const root = asn1.fromDer(util.binary.raw.encode(certificate));
  const tbs = (root.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const wrapper = (tbs.value as forge.asn1.Asn1[]).find((field) => field.tagClass === asn1.Class.CONTEXT_SPECIFIC && field.type === 3) as forge.asn1.Asn1;
  const list = (wrapper.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const routeOid = util.binary.raw.encode(ROUTE_EXTENSION_OID_CONTENT);
  const extension = (list.value as forge.asn1.Asn1[]).find((candidate) => ((candidate.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1).value === routeOid);
  const parts = (extension as forge.asn1.Asn1).value as forge.asn1.Asn1[];
  (parts[parts.length - 1] as forge.asn1.Asn1).value = util.binary.raw.encode(value);
  return Buffer.from(asn1.toDer(root).getBytes(), 'binary');
}

describe('identityFromCertificate', () => {
  it('reads the user and the full route', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local', dbUser: 'postgres', dbName: 'app' }, ttlMs: HOUR });
    const certificate = new X509Certificate(issued.certPem);
    const identity = identityFromCertificate(certificate.raw);
    expect(identity).toEqual({
      user: 'alice',
      route: { database: 'local', dbUser: 'postgres', dbName: 'app' },
      notBefore: new Date(certificate.validFrom),
      notAfter: issued.notAfter,
      serialNumber: certificate.serialNumber,
      fingerprint256: certificate.fingerprint256,
    });
    expect(identity.notAfter.getTime() - identity.notBefore.getTime()).toBeGreaterThanOrEqual(HOUR);
  });

  it('reads the X509Certificate TLS already parsed the same as its DER', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local', dbUser: 'postgres' }, ttlMs: HOUR });
    const certificate = new X509Certificate(issued.certPem);
    expect(identityFromCertificate(certificate)).toEqual(identityFromCertificate(certificate.raw));
    expect(refusal(undefined as unknown as Buffer).message).toMatch(/no client certificate was presented/);
  });

  it('reads a route with only the database, and with only one optional field', () => {
    const only = userCa.issueClientCertificate({ user: 'bob', route: { database: 'warehouse' }, ttlMs: HOUR });
    expect(identityFromCertificate(der(only.certPem)).route).toEqual({ database: 'warehouse' });
    expect(identityFromCertificate(der(only.certPem)).route).not.toHaveProperty('dbUser');
    const name = userCa.issueClientCertificate({ user: 'bob', route: { database: 'warehouse', dbName: 'sales' }, ttlMs: HOUR });
    expect(identityFromCertificate(der(name.certPem)).route).toEqual({ database: 'warehouse', dbName: 'sales' });
  });

  it('reads non-ASCII user names', () => {
    const issued = userCa.issueClientCertificate({ user: 'zoë.müller', route: { database: 'local' }, ttlMs: HOUR });
    expect(identityFromCertificate(der(issued.certPem)).user).toBe('zoë.müller');
  });

  it('parses a certificate from a foreign CA: verifying the chain is the TLS layer\'s job', () => {
    const issued = foreignCa.issueClientCertificate({ user: 'mallory', route: { database: 'local' }, ttlMs: HOUR });
    expect(identityFromCertificate(der(issued.certPem))).toMatchObject({ user: 'mallory', route: { database: 'local' } });
  });

  it('reads an identity certificate (issued without a route): the user, and no route', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', ttlMs: HOUR });
    const certificate = new X509Certificate(issued.certPem);
    expect(identityFromCertificate(certificate.raw)).toEqual({
      user: 'alice',
      route: undefined,
      notBefore: new Date(certificate.validFrom),
      notAfter: issued.notAfter,
      serialNumber: certificate.serialNumber,
      fingerprint256: certificate.fingerprint256,
    });
  });

  it('reads any certificate without the route extension as an identity certificate, with or without other extensions', () => {
    expect(identityFromCertificate(forgeCertificate([{ name: 'commonName', value: 'alice' }], [{ name: 'basicConstraints', cA: false }])).route).toBeUndefined();
    expect(identityFromCertificate(forgeCertificate([{ name: 'commonName', value: 'alice' }])).route).toBeUndefined();
  });

  it('still refuses an identity certificate without a common name, saying how to get a Gatehouse one', () => {
    const error = refusal(forgeCertificate([{ name: 'organizationName', value: 'gatehouse' }]));
    expect(error.code).toBe(ErrorCodes.CERT_INVALID);
    expect(error.sqlState).toBe(SqlState.INVALID_AUTHORIZATION);
    expect(error.sqlState).toBe('28000');
    expect(error.message).toBe(
      'the client certificate is not a Gatehouse client certificate (its subject has no common name (CN) naming a Gatehouse user); ' +
        'ask a Gatehouse administrator for one ("gatehouse certs issue")',
    );
  });

  it('refuses a certificate with two common names', () => {
    const subject = [
      { name: 'commonName', value: 'alice' },
      { name: 'commonName', value: 'admin' },
    ];
    expect(refusal(forgeCertificate(subject)).message).toMatch(/more than one common name/);
  });

  it('refuses a common name with a control character', () => {
    expect(refusal(forgeCertificate([{ name: 'commonName', value: 'alice\u0000admin' }])).message).toMatch(/control characters/);
  });

  it('refuses a malformed route extension', () => {
    const issued = der(userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR }).certPem);
    expect(refusal(withRouteValue(issued, Uint8Array.of(0x30, 0x00))).message).toMatch(/not a Gatehouse client certificate \(route: the database name is missing\)/);
    expect(refusal(withRouteValue(issued, Uint8Array.of(0x05, 0x00))).message).toMatch(/expected tag 0x30/);
    expect(refusal(withRouteValue(issued, new Uint8Array(0))).code).toBe(ErrorCodes.CERT_INVALID);
  });

  it('refuses what is not one DER certificate', () => {
    expect(refusal(Buffer.alloc(0)).message).toMatch(/no client certificate was presented/);
    expect(refusal(undefined as unknown as Buffer).message).toMatch(/no client certificate was presented/);
    expect(refusal(Buffer.from('not a certificate')).message).toMatch(/cannot be parsed/);
    const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR });
    expect(refusal(Buffer.from(issued.certPem)).code).toBe(ErrorCodes.CERT_INVALID);
    expect(refusal(Buffer.concat([der(issued.certPem), Buffer.of(0)])).code).toBe(ErrorCodes.CERT_INVALID);
  });

  it('lets only GatehouseError escape, whatever is done to the DER', () => {
    const original = der(userCa.issueClientCertificate({ user: 'alice', route: { database: 'local', dbUser: 'u', dbName: 'n' }, ttlMs: HOUR }).certPem);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), index: fc.nat({ max: original.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), length: fc.nat({ max: original.length }) }),
      fc.record({ kind: fc.constant('insert' as const), index: fc.nat({ max: original.length }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('delete' as const), index: fc.nat({ max: original.length - 1 }), count: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let bytes = Buffer.from(original);
        for (const step of mutations) {
          if (step.kind === 'set') {
            if (step.index < bytes.length) bytes[step.index] = step.value;
          } else if (step.kind === 'truncate') {
            bytes = bytes.subarray(0, step.length);
          } else if (step.kind === 'insert') {
            bytes = Buffer.concat([bytes.subarray(0, step.index), step.bytes, bytes.subarray(step.index)]);
          } else {
            bytes = Buffer.concat([bytes.subarray(0, step.index), bytes.subarray(step.index + step.count)]);
          }
        }
        try {
          const identity = identityFromCertificate(bytes);
          expect(typeof identity.user).toBe('string');
          // A mutation that destroys the route extension's OID leaves an identity certificate.
          if (identity.route !== undefined) expect(typeof identity.route.database).toBe('string');
        } catch (error) {
          expect(error).toBeInstanceOf(GatehouseError);
          expect((error as GatehouseError).code).toBe(ErrorCodes.CERT_INVALID);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('lets only GatehouseError escape for any route extension value', () => {
    const original = der(userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR }).certPem);
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      // Plausible structures: a SEQUENCE header with arbitrary lengths and children.
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 30 })).map(([length, rest]) => Uint8Array.of(0x30, length, ...rest)),
    );
    fc.assert(
      fc.property(hostile, (value) => {
        try {
          identityFromCertificate(withRouteValue(original, value));
        } catch (error) {
          expect(error).toBeInstanceOf(GatehouseError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('does not load node-forge on the connection path', () => {
    for (const file of ['identity.ts', 'route-extension.ts', 'der.ts']) {
      expect(readFileSync(new URL(`../../../src/ca/${file}`, import.meta.url), 'utf8')).not.toMatch(/from '(node-forge|\.\/certificate-authority\.js)'/);
    }
  });
});
