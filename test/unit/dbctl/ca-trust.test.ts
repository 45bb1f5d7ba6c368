import { X509Certificate, createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { caFingerprint, decideCaTrust, normalizeFingerprint, presentedCertificateProblem } from '../../../src/dbctl/ca-trust.js';
import { DbctlError } from '../../../src/dbctl/dbctl-error.js';

let hostCa: CertificateAuthority;
let otherCa: CertificateAuthority;
let server: X509Certificate;
let seen: string;

beforeAll(() => {
  hostCa = CertificateAuthority.create('Gatehouse host CA');
  otherCa = CertificateAuthority.create('someone else');
  server = new X509Certificate(hostCa.issueServerCertificate({ commonName: 'gh.example.com', dnsNames: ['gh.example.com', 'localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 3600_000 }).certPem);
  seen = caFingerprint(hostCa.certPem);
});

function thrown(action: () => unknown): DbctlError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DbctlError);
    return error as DbctlError;
  }
  throw new Error('nothing was thrown');
}

describe('CA fingerprints', () => {
  it('is sha256: and the lowercase hex SHA-256 of the DER', () => {
    const der = new X509Certificate(hostCa.certPem).raw;
    expect(seen).toBe(`sha256:${createHash('sha256').update(der).digest('hex')}`);
    expect(seen).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('accepts the forms people paste', () => {
    const hex = seen.slice('sha256:'.length);
    const openssl = hex.toUpperCase().match(/../g)!.join(':');
    for (const form of [seen, seen.toUpperCase(), hex, openssl, `SHA256 Fingerprint=${openssl}`, `  ${seen}\n`]) {
      expect(normalizeFingerprint(form)).toBe(seen);
    }
    for (const bad of ['', 'sha256:', 'sha256:abc', `md5:${hex}`, `${hex}00`]) expect(normalizeFingerprint(bad)).toBeUndefined();
  });
});

describe('trusting a CA on first contact', () => {
  it('trusts a matching pin without asking', () => {
    expect(decideCaTrust({ proxy: 'gh:3080', seen, pinned: seen.toUpperCase(), insecure: false, canAsk: false })).toBe('trust');
  });

  it('refuses a pin that does not match, loudly, whatever else was said', () => {
    const pinned = caFingerprint(otherCa.certPem);
    for (const others of [{ insecure: true, canAsk: true }, { insecure: false, canAsk: false }]) {
      const error = thrown(() => decideCaTrust({ proxy: 'gh:3080', seen, pinned, ...others }));
      expect(error.message).toContain("WARNING: THE PROXY'S CA DOES NOT MATCH YOUR PIN");
      expect(error.message).toContain(`The proxy at gh:3080 offered the CA ${seen},`);
      expect(error.message).toContain(`but --ca-fingerprint says ${pinned}.`);
      expect(error.message).toContain('Nothing was sent and nothing was stored.');
      expect(error.exitCode).toBe(1);
    }
  });

  it('refuses a pin that is not a fingerprint', () => {
    expect(thrown(() => decideCaTrust({ proxy: 'gh:3080', seen, pinned: 'abc', insecure: false, canAsk: true })).message).toBe(
      '--ca-fingerprint "abc" is not a SHA-256 fingerprint',
    );
  });

  it('asks when it can, and trusts with --insecure', () => {
    expect(decideCaTrust({ proxy: 'gh:3080', seen, insecure: false, canAsk: true })).toBe('ask');
    expect(decideCaTrust({ proxy: 'gh:3080', seen, insecure: true, canAsk: false })).toBe('trust');
  });

  it('refuses when nobody can be asked, naming --ca-fingerprint and the fingerprint seen', () => {
    const error = thrown(() => decideCaTrust({ proxy: 'gh:3080', seen, insecure: false, canAsk: false }));
    expect(error.message).toBe(`the proxy at gh:3080 is new to dbctl and its CA (${seen}) cannot be confirmed: there is no terminal to ask on`);
    expect(error.hint).toBe(`check the fingerprint with your Gatehouse administrator, then pin it: --ca-fingerprint ${seen}`);
  });
});

describe('the certificate a proxy presents', () => {
  const now = () => Date.now();

  it('is accepted when it chains to the offered CA and names the host', () => {
    for (const host of ['gh.example.com', 'localhost', '127.0.0.1']) expect(presentedCertificateProblem(server, hostCa.certPem, host, now())).toBeUndefined();
  });

  it('is refused when another CA signed it', () => {
    expect(presentedCertificateProblem(server, otherCa.certPem, 'gh.example.com', now())).toBe('its server certificate is not signed by the CA it offered');
  });

  it('is refused when it does not name the host dialled', () => {
    expect(presentedCertificateProblem(server, hostCa.certPem, 'evil.example.com', now())).toBe(
      'its server certificate does not name evil.example.com, the host you gave',
    );
    expect(presentedCertificateProblem(server, hostCa.certPem, '10.0.0.1', now())).toBe('its server certificate does not name 10.0.0.1, the host you gave');
  });

  it('is refused when expired, or missing, or when the "CA" is not one', () => {
    expect(presentedCertificateProblem(server, hostCa.certPem, 'gh.example.com', now() + 2 * 3600_000)).toMatch(/^its server certificate expired at /);
    expect(presentedCertificateProblem(undefined, hostCa.certPem, 'gh.example.com', now())).toBe('the proxy presented no server certificate');
    expect(presentedCertificateProblem(server, server.toString(), 'gh.example.com', now())).toBe('the CA it offered is not a CA certificate');
  });
});
