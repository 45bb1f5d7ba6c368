import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { ApiError } from '../../../src/web/api-errors.js';
import { callerIdentity } from '../../../src/web/client-identity.js';
import { rbacConfig } from '../rbac/rbac-config.js';

const HOUR = 3_600_000;
const config = rbacConfig();
let userCa: CertificateAuthority;

beforeAll(() => {
  userCa = CertificateAuthority.create('Gatehouse user CA');
});

/** What node:tls reports for a handshake: the peer certificate and OpenSSL's verdict on it. */
function socket(peer: Partial<{ raw: Buffer; valid_from: string; valid_to: string }>, authorized: boolean, authorizationError?: string): TLSSocket {
  return { getPeerCertificate: () => peer, authorized, authorizationError } as unknown as TLSSocket;
}

function verified(certPem: string): TLSSocket {
  const certificate = new X509Certificate(certPem);
  return socket({ raw: certificate.raw, valid_from: certificate.validFrom, valid_to: certificate.validTo }, true);
}

function refusal(tls: TLSSocket, nowMs = Date.now()): ApiError {
  try {
    callerIdentity(tls, config, nowMs);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(401);
    expect(apiError.code).toBe('GH_ERR_IDENTITY_REQUIRED');
    return apiError;
  }
  throw new Error('expected a refusal');
}

describe('callerIdentity', () => {
  it('returns the user from the config, the expiry and the serial of a verified identity certificate', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', ttlMs: HOUR });
    const caller = callerIdentity(verified(issued.certPem), config, Date.now());
    expect(caller.user).toBe(config.users.find((user) => user.name === 'alice'));
    expect(caller.notAfter).toEqual(issued.notAfter);
    expect(caller.serialNumber).toBe(new X509Certificate(issued.certPem).serialNumber);
  });

  it('refuses a client without a certificate', () => {
    const error = refusal(socket({}, false, 'UNABLE_TO_GET_ISSUER_CERT'));
    expect(error.message).toBe('no client certificate was presented; this request needs your dbctl identity certificate');
    expect(error.hint).toBe('run "dbctl login" to get an identity certificate');
  });

  it('turns OpenSSL verdicts into messages saying what to do', () => {
    const expired = refusal(socket({ raw: Buffer.from([1]), valid_to: 'Jan  1 00:00:00 2020 GMT' }, false, 'CERT_HAS_EXPIRED'));
    expect(expired.message).toBe('your identity certificate expired at 2020-01-01T00:00:00.000Z; run dbctl login again');
    const early = refusal(socket({ raw: Buffer.from([1]), valid_from: 'Jan  1 00:00:00 2040 GMT' }, false, 'CERT_NOT_YET_VALID'));
    expect(early.message).toBe('your identity certificate is not valid until 2040-01-01T00:00:00.000Z; check the clocks of this machine and the Gatehouse server');
    const foreign = refusal(socket({ raw: Buffer.from([1]) }, false, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'));
    expect(foreign.message).toBe("the client certificate was not issued by this Gatehouse's user CA (UNABLE_TO_GET_ISSUER_CERT_LOCALLY)");
  });

  it('refuses a database certificate, naming its database', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', route: { database: 'local' }, ttlMs: HOUR });
    const error = refusal(verified(issued.certPem));
    expect(error.message).toBe('a database certificate (for database "local") was presented instead of your dbctl identity certificate');
    expect(error.hint).toBe('present the identity certificate "dbctl login" wrote (identity.crt), not a database certificate');
  });

  it('refuses a certificate that expired after the handshake (a long keep-alive connection)', () => {
    const issued = userCa.issueClientCertificate({ user: 'alice', ttlMs: HOUR });
    const error = refusal(verified(issued.certPem), issued.notAfter.getTime());
    expect(error.message).toBe(`your identity certificate expired at ${issued.notAfter.toISOString()}; run dbctl login again`);
  });

  it('refuses a user the configuration no longer has', () => {
    const issued = userCa.issueClientCertificate({ user: 'mallory', ttlMs: HOUR });
    expect(refusal(verified(issued.certPem)).message).toBe('the user mallory no longer exists in this Gatehouse');
  });

  it('refuses a verified certificate that is not a Gatehouse one, with the reader\'s reason', () => {
    expect(refusal(socket({ raw: Buffer.from('garbage') }, true)).message).toMatch(/^the client certificate is not a Gatehouse client certificate \(it cannot be parsed\)/);
  });
});
