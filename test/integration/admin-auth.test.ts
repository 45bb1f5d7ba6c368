// The web listener's 'admin' route kind over real mutual TLS: an administrator gets through, a
// user without an admin role gets 403 GH_ERR_NOT_ADMIN (audited), a client without an identity
// certificate the usual 401 (not an administrator's action, so not audited).
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging.js';
import { adminRoute } from '../../src/web/admin-routes.js';
import { WebServer } from '../../src/web/web-server.js';
import { CaptureStream } from '../support/capture-stream.js';
import { RecordingAudit } from '../unit/web/recording-audit.js';

const config = parseConfig(
  `version: v1
roles:
  - { name: ops, options: { admin: true } }
  - { name: access }
users:
  - { name: root, roles: [access, ops] }
  - { name: bob, roles: [access] }
  - { name: nobody, roles: [] }
`,
  'gh.yaml',
);

let userCa: CertificateAuthority;
let hostCa: CertificateAuthority;
let server: WebServer;
let port: number;
const audit = new RecordingAudit();

beforeAll(async () => {
  userCa = CertificateAuthority.create('test user CA');
  hostCa = CertificateAuthority.create('test host CA');
  const serverPair = hostCa.issueServerCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlMs: 3_600_000 });
  server = new WebServer({
    certPem: serverPair.certPem,
    keyPem: serverPair.keyPem,
    userCaPem: userCa.certPem,
    isReady: () => true,
    config: () => config,
    logger: createLogger('info', new CaptureStream()),
    routes: [adminRoute(audit, { method: 'GET', path: '/v1/admin/ping', action: 'ping', handle: (request) => ({ status: 200, body: { hello: request.caller.user.name } }) })],
  });
  port = (await server.listen('127.0.0.1', 0)).port;
});

afterAll(async () => {
  await server?.close();
});

function get(user: string | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
  const identity = user === undefined ? undefined : userCa.issueClientCertificate({ user, ttlMs: 300_000 });
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/admin/ping',
        ca: hostCa.certPem,
        servername: 'localhost',
        agent: false,
        ...(identity === undefined ? {} : { cert: identity.certPem, key: identity.keyPem }),
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    request.on('error', reject);
  });
}

describe("auth: 'admin' routes", () => {
  it('let an administrator through and audit the action', async () => {
    expect(await get('root')).toEqual({ status: 200, body: { hello: 'root' } });
    expect(audit.adminActions.at(-1)).toMatchObject({ user: 'root', action: 'ping', success: true, client_addr: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown });
  });

  it('refuse a user without an admin role with 403, audited', async () => {
    expect(await get('bob')).toEqual({
      status: 403,
      body: {
        error: {
          code: 'GH_ERR_NOT_ADMIN',
          message: "bob is not a Gatehouse administrator: none of bob's roles (access) has options.admin",
          hint: 'administrators have a role with "options: { admin: true }" in gatehouse.yaml',
        },
      },
    });
    expect(audit.adminActions.at(-1)).toMatchObject({ user: 'bob', action: 'ping', success: false, error: "bob is not a Gatehouse administrator: none of bob's roles (access) has options.admin" });
    expect((await get('nobody')).body.error).toMatchObject({ message: 'nobody is not a Gatehouse administrator: nobody has no roles' });
  });

  it('refuse a client without an identity certificate with 401, not audited', async () => {
    const before = audit.adminActions.length;
    const { status, body } = await get(undefined);
    expect(status).toBe(401);
    expect(body.error).toMatchObject({ code: 'GH_ERR_IDENTITY_REQUIRED' });
    expect(audit.adminActions).toHaveLength(before);
  });
});
