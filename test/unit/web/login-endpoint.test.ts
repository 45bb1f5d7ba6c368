import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import type { LoginOutcome, LoginRequest } from '../../../src/users/password-login.js';
import { ApiError } from '../../../src/web/api-errors.js';
import { loginRoute } from '../../../src/web/login-endpoint.js';
import type { ApiReply, ApiRequest } from '../../../src/web/web-server.js';
import { rbacConfig } from '../rbac/rbac-config.js';
import { RecordingAudit } from './recording-audit.js';

const config = rbacConfig();
let userCa: CertificateAuthority;
let publicKeyPem: string;

beforeAll(() => {
  userCa = CertificateAuthority.create('Gatehouse user CA');
  publicKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
});

/** The login route with a login decision fixed in advance; returns what it did. */
async function attempt(outcome: LoginOutcome, body: Record<string, unknown> = {}): Promise<{ reply?: ApiReply; error?: ApiError; audit: RecordingAudit; seen: LoginRequest[] }> {
  const audit = new RecordingAudit();
  const seen: LoginRequest[] = [];
  const route = loginRoute({
    login: { login: (request) => (seen.push(request), Promise.resolve(outcome)) },
    config: () => config,
    userCa,
    audit,
    postgresAddress: () => 'gatehouse.example:5432',
  });
  const request: ApiRequest = {
    id: 'r1',
    clientAddress: '192.0.2.7',
    clientEndpoint: '192.0.2.7:50000',
    body: { user: 'bob', password: 'pw', public_key_pem: publicKeyPem, ...body },
    caller: undefined,
  };
  try {
    return { reply: await route.handle(request), audit, seen };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { error, audit, seen };
  }
}

describe('POST /v1/login', () => {
  it('passes the user, password, TOTP code and client address to the login decision', async () => {
    const bob = config.users.find((user) => user.name === 'bob')!;
    const { seen } = await attempt({ ok: true, user: bob, mfa: true }, { totp_code: '123456' });
    expect(seen).toEqual([{ user: 'bob', password: 'pw', totpCode: '123456', clientAddress: '192.0.2.7' }]);
  });

  it('signs for the shortest max_session_ttl of the user and audits the login and the certificate', async () => {
    const bob = config.users.find((user) => user.name === 'bob')!;
    const before = Date.now();
    const { reply, audit } = await attempt({ ok: true, user: bob, mfa: true });
    expect(reply?.status).toBe(200);
    const body = reply?.body as Record<string, string>;
    expect(body).toMatchObject({ user: 'bob', roles: ['access', 'readonly-prod'], postgres_addr: 'gatehouse.example:5432' });
    const certificate = new X509Certificate(body.identity_cert_pem!);
    // readonly-prod: max_session_ttl 1h
    expect(new Date(certificate.validTo).getTime()).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(before + 3_600_000 - 2_000);
    expect(audit.logins).toEqual([{ user: 'bob', client_addr: '192.0.2.7:50000', success: true, mfa: true }]);
    expect(audit.certificates).toEqual([
      { user: 'bob', kind: 'identity', serial: certificate.serialNumber, expires_at: body.expires_at, client_addr: '192.0.2.7:50000' },
    ]);
  });

  it('answers every kind of failed password with the same fixed message', async () => {
    const { error, audit } = await attempt({ ok: false, code: 'GH_ERR_LOGIN_FAILED', message: 'something else', reason: 'unknown user' });
    expect(error?.status).toBe(401);
    expect(error?.body()).toEqual({ error: { code: 'GH_ERR_LOGIN_FAILED', message: 'invalid user name or password' } });
    expect(audit.logins).toEqual([{ user: 'bob', client_addr: '192.0.2.7:50000', success: false, reason: 'unknown user', mfa: false }]);
    expect(audit.certificates).toEqual([]);
  });

  it('marks TOTP_REQUIRED with totp_required and audits both TOTP refusals as MFA logins', async () => {
    const required = await attempt({ ok: false, code: 'GH_ERR_TOTP_REQUIRED', message: 'send the code', reason: 'TOTP code required' });
    expect(required.error?.status).toBe(401);
    expect(required.error?.body()).toEqual({ error: { code: 'GH_ERR_TOTP_REQUIRED', message: 'send the code' }, totp_required: true });
    expect(required.audit.logins[0]).toMatchObject({ success: false, mfa: true });
    const invalid = await attempt({ ok: false, code: 'GH_ERR_TOTP_INVALID', message: 'wrong code', reason: 'wrong TOTP code' });
    expect(invalid.error?.body()).toEqual({ error: { code: 'GH_ERR_TOTP_INVALID', message: 'wrong code' } });
    expect(invalid.audit.logins[0]).toMatchObject({ success: false, mfa: true, reason: 'wrong TOTP code' });
  });

  it('answers throttling with 429, whole seconds rounded up in the body and Retry-After', async () => {
    const { error } = await attempt({ ok: false, code: 'GH_ERR_LOGIN_THROTTLED', message: 'too many failed logins; try again in 42 s', retryAfterMs: 41_001, reason: 'throttled' });
    expect(error?.status).toBe(429);
    expect(error?.body()).toEqual({ error: { code: 'GH_ERR_LOGIN_THROTTLED', message: 'too many failed logins; try again in 42 s' }, retry_after_s: 42 });
    expect(error?.headers).toEqual({ 'retry-after': '42' });
  });

  it('refuses a malformed request before asking the login decision', async () => {
    for (const [body, message] of [
      [{ user: '' }, 'the field "user" must not be empty'],
      [{ user: 'a\u0000b' }, 'the field "user" cannot be used: it contains control characters'],
      [{ password: 7 }, 'the field "password" must be a string'],
      [{ totp_code: 123456 }, 'the field "totp_code" must be a string'],
      [{ public_key_pem: undefined }, 'the field "public_key_pem" is missing'],
    ] as const) {
      const { error, seen, audit } = await attempt({ ok: false, code: 'GH_ERR_LOGIN_FAILED', message: '', reason: '' }, body);
      expect(error?.status).toBe(400);
      expect(error?.message).toBe(message);
      expect(seen).toEqual([]);
      expect(audit.logins).toEqual([]);
    }
  });
});
