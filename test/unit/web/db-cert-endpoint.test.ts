import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { identityFromCertificate } from '../../../src/ca/identity.js';
import { ApiError } from '../../../src/web/api-errors.js';
import { dbCertRoute } from '../../../src/web/db-cert-endpoint.js';
import type { ApiReply } from '../../../src/web/web-server.js';
import { rbacConfig } from '../rbac/rbac-config.js';
import { RecordingAudit } from './recording-audit.js';

const config = rbacConfig();
const NOW = Date.now();
let userCa: CertificateAuthority;
let publicKeyPem: string;

beforeAll(() => {
  userCa = CertificateAuthority.create('Gatehouse user CA', undefined, () => NOW);
  publicKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
});

async function request(user: string, identityLeftMs: number, body: Record<string, unknown>): Promise<{ reply?: ApiReply; error?: ApiError; audit: RecordingAudit }> {
  const audit = new RecordingAudit();
  const route = dbCertRoute({ config: () => config, userCa, audit, postgresAddress: () => 'localhost:5432', now: () => NOW });
  const caller = { user: config.users.find((candidate) => candidate.name === user)!, notAfter: new Date(NOW + identityLeftMs), serialNumber: '01' };
  try {
    return { reply: await route.handle({ id: 'r', clientAddress: '::1', clientEndpoint: '::1:1', caller, body: { public_key_pem: publicKeyPem, ...body } }), audit };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { error, audit };
  }
}

describe('POST /v1/db-certs', () => {
  it('never outlives the identity certificate, nor the user\'s max_session_ttl', async () => {
    const short = await request('alice', 20 * 60_000, { database: 'local', db_user: 'app_reader' });
    const body = short.reply?.body as Record<string, string>;
    expect(new Date(body.expires_at!).getTime()).toBeLessThanOrEqual(NOW + 20 * 60_000);
    expect(new Date(body.expires_at!).getTime()).toBeGreaterThan(NOW + 20 * 60_000 - 1_000);
    // access: max_session_ttl 8h, shorter than an identity good for 12h
    const long = await request('alice', 12 * 3_600_000, { database: 'local' });
    expect(new Date((long.reply?.body as Record<string, string>).expires_at!).getTime()).toBeLessThanOrEqual(NOW + 8 * 3_600_000);
    const route = identityFromCertificate(new X509Certificate(body.cert_pem!).raw).route;
    expect(route).toEqual({ database: 'local', dbUser: 'app_reader' });
    expect(short.audit.certificates[0]).toMatchObject({ user: 'alice', kind: 'database', database: 'local', db_user: 'app_reader', client_addr: '::1:1' });
    expect(short.audit.certificates[0]).not.toHaveProperty('db_name');
  });

  it('refuses when the identity certificate has less than a minute left', async () => {
    const { error, audit } = await request('alice', 59_000, { database: 'local' });
    expect(error?.status).toBe(401);
    expect(error?.code).toBe('GH_ERR_IDENTITY_REQUIRED');
    expect(error?.message).toBe(`your identity certificate expires at ${new Date(NOW + 59_000).toISOString()}, too soon for a database certificate; run dbctl login again`);
    expect(audit.certificates).toEqual([]);
  });

  it('lists nothing as available to a user without usable roles, and says so', async () => {
    const { error } = await request('gina', 3_600_000, { database: 'nope' });
    expect(error?.status).toBe(404);
    expect(error?.body()).toEqual({
      error: { code: 'GH_ERR_UNKNOWN_DATABASE', message: 'Gatehouse has no database named "nope"', hint: 'you may not use any database yet; ask a Gatehouse administrator for a role' },
      available: [],
    });
  });

  it('refuses a default denied by a role, and fields it does not know', async () => {
    const denied = await request('alice', 3_600_000, { database: 'local', db_user: 'postgres' });
    expect(denied.error?.status).toBe(403);
    expect(denied.error?.message).toBe('access to db user "postgres" on database "local" denied for alice: denied by role access');
    const unknown = await request('alice', 3_600_000, { database: 'local', dbuser: 'x' });
    expect(unknown.error?.message).toBe('unknown field "dbuser"; this request takes database, db_user, db_name, public_key_pem');
  });
});
