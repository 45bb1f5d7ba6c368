// POST /v1/login: user name, password (and TOTP code) in, identity certificate out. The client made
// its key pair and sends only the public key. The decision itself (throttle, scrypt, TOTP, the
// same answer for an unknown user and a wrong password) is PasswordLogin's; this endpoint checks
// the request, signs the certificate, writes the audit events and shapes the reply.
import { X509Certificate } from 'node:crypto';
import type { AuditLog } from '../audit/events.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { GatehouseConfig } from '../config/types.js';
import { ErrorCodes } from '../errors.js';
import type { WebMetrics } from '../metrics/hooks.js';
import { maxSessionTtlMs } from '../rbac/session-ttl.js';
import { LOGIN_FAILED_MESSAGE, type LoginOutcome, type LoginRequest } from '../users/password-login.js';
import { ApiError } from './api-errors.js';
import { clientPublicKey } from './public-key.js';
import { certificateText, onlyFields, optionalString, requiredString } from './request-fields.js';
import type { ApiReply, ApiRequest, ApiRoute } from './web-server.js';

export interface LoginEndpointOptions {
  readonly login: { login(request: LoginRequest): Promise<LoginOutcome> };
  /** The merged config in force now (gatehouse.yaml plus the users file). */
  readonly config: () => GatehouseConfig;
  readonly userCa: CertificateAuthority;
  readonly audit: AuditLog;
  /** host:port clients connect to with psql: the public host and the Postgres listener's bound port. */
  readonly postgresAddress: () => string;
  /** Counts logins by outcome and identity certificates issued. */
  readonly metrics?: WebMetrics;
}

const FIELDS = ['user', 'password', 'totp_code', 'public_key_pem'] as const;

export function loginRoute(options: LoginEndpointOptions): ApiRoute {
  return { method: 'POST', path: '/v1/login', auth: 'none', handle: (request) => login(options, request) };
}

async function login(options: LoginEndpointOptions, request: ApiRequest): Promise<ApiReply> {
  const { body } = request;
  onlyFields(body, FIELDS);
  const user = certificateText('user', requiredString(body, 'user'));
  const password = requiredString(body, 'password', { allowEmpty: true });
  const totpCode = optionalString(body, 'totp_code');
  // Checked before the password, so a malformed key never costs the user a throttled attempt.
  const publicKeyPem = clientPublicKey('public_key_pem', requiredString(body, 'public_key_pem'));

  const outcome = await options.login.login({ user, password, clientAddress: request.clientAddress, ...(totpCode === undefined ? {} : { totpCode }) });
  if (!outcome.ok) {
    options.audit.login({
      user,
      client_addr: request.clientEndpoint,
      success: false,
      reason: outcome.reason,
      // The password was right and a second factor was (or is to be) checked.
      mfa: outcome.code === 'GH_ERR_TOTP_REQUIRED' || outcome.code === 'GH_ERR_TOTP_INVALID',
    });
    options.metrics?.login(false, outcome.code);
    throw refusal(outcome);
  }

  const config = options.config();
  const ttlMs = maxSessionTtlMs(config, outcome.user.name);
  const issued = options.userCa.issueClientCertificate({ user: outcome.user.name, ttlMs, publicKeyPem });
  const expiresAt = issued.notAfter.toISOString();
  options.audit.login({ user: outcome.user.name, client_addr: request.clientEndpoint, success: true, mfa: outcome.mfa });
  options.audit.certIssued({
    user: outcome.user.name,
    kind: 'identity',
    serial: new X509Certificate(issued.certPem).serialNumber,
    expires_at: expiresAt,
    client_addr: request.clientEndpoint,
  });
  options.metrics?.login(true);
  options.metrics?.certIssued('identity');
  return {
    status: 200,
    body: {
      user: outcome.user.name,
      roles: [...outcome.user.roles],
      identity_cert_pem: issued.certPem,
      expires_at: expiresAt,
      postgres_addr: options.postgresAddress(),
    },
  };
}

function refusal(outcome: Extract<LoginOutcome, { ok: false }>): ApiError {
  switch (outcome.code) {
    case 'GH_ERR_LOGIN_FAILED':
      // Always this constant, whatever the outcome's message: the same bytes for an unknown user,
      // a user without a password and a wrong password.
      return new ApiError(401, ErrorCodes.LOGIN_FAILED, LOGIN_FAILED_MESSAGE);
    case 'GH_ERR_TOTP_REQUIRED':
      return new ApiError(401, ErrorCodes.TOTP_REQUIRED, outcome.message, { extra: { totp_required: true } });
    case 'GH_ERR_TOTP_INVALID':
      return new ApiError(401, ErrorCodes.TOTP_INVALID, outcome.message);
    case 'GH_ERR_LOGIN_THROTTLED': {
      const retryAfterS = Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1000) / 1000));
      return new ApiError(429, ErrorCodes.LOGIN_THROTTLED, outcome.message, {
        extra: { retry_after_s: retryAfterS },
        headers: { 'retry-after': String(retryAfterS) },
      });
    }
  }
}
