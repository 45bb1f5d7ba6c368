// Who is calling an identity-only endpoint (/v1/db-certs, /v1/databases, /v1/me): the user of the
// dbctl identity certificate presented in the TLS handshake. The web listener asks every client
// for a certificate but lets the handshake finish without one (login needs none), so this is where
// a missing, foreign, expired or wrong-kind certificate is refused, with a 401 that says what to do.
import type { TLSSocket } from 'node:tls';
import { identityFromCertificate } from '../ca/identity.js';
import type { GatehouseConfig, UserConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError } from '../errors.js';
import { findUser } from '../rbac/subject.js';
import { ApiError } from './api-errors.js';

export interface CallerIdentity {
  /** The user, as found in the configuration in force now. */
  readonly user: UserConfig;
  /** When the identity certificate expires: nothing issued on its strength may outlive it. */
  readonly notAfter: Date;
  readonly serialNumber: string;
}

const LOGIN_HINT = 'run "dbctl login" to get an identity certificate';

/** The verified caller, or an ApiError 401 GH_ERR_IDENTITY_REQUIRED. */
export function callerIdentity(socket: TLSSocket, config: GatehouseConfig, nowMs: number): CallerIdentity {
  const peer = socket.getPeerCertificate();
  if (peer === null || peer === undefined || peer.raw === undefined || peer.raw.length === 0) {
    throw identityRequired('no client certificate was presented; this request needs your dbctl identity certificate');
  }
  if (socket.authorized !== true) throw unverified(String(socket.authorizationError ?? 'unknown reason'), peer.valid_from, peer.valid_to);
  let identity;
  try {
    identity = identityFromCertificate(peer.raw);
  } catch (error) {
    if (error instanceof GatehouseError) throw identityRequired(error.message);
    throw error;
  }
  if (identity.route !== undefined) {
    throw identityRequired(
      `a database certificate (for database ${JSON.stringify(identity.route.database)}) was presented instead of your dbctl identity certificate`,
      'present the identity certificate "dbctl login" wrote (identity.crt), not a database certificate',
    );
  }
  // A keep-alive connection can outlast the certificate its handshake verified.
  if (identity.notAfter.getTime() <= nowMs) throw expired(identity.notAfter);
  const user = findUser(config, identity.user);
  if (user === undefined) {
    throw identityRequired(`the user ${identity.user} no longer exists in this Gatehouse`, 'ask a Gatehouse administrator whether your account was removed or renamed');
  }
  return { user, notAfter: identity.notAfter, serialNumber: identity.serialNumber };
}

/** OpenSSL's verdict on a certificate that did not verify against the user CA. */
function unverified(reason: string, validFrom: string, validTo: string): ApiError {
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return expired(new Date(validTo));
    case 'CERT_NOT_YET_VALID':
      return identityRequired(
        `your identity certificate is not valid until ${isoOrAsIs(validFrom)}; check the clocks of this machine and the Gatehouse server`,
        'run "dbctl login" again once the clocks agree',
      );
    default:
      return identityRequired(`the client certificate was not issued by this Gatehouse's user CA (${reason})`);
  }
}

function expired(notAfter: Date): ApiError {
  return new ApiError(401, ErrorCodes.IDENTITY_REQUIRED, `your identity certificate expired at ${isoOrAsIs(notAfter)}; run dbctl login again`, {
    hint: 'run "dbctl login" to get a new identity certificate',
  });
}

function identityRequired(message: string, hint: string = LOGIN_HINT): ApiError {
  return new ApiError(401, ErrorCodes.IDENTITY_REQUIRED, message, { hint });
}

function isoOrAsIs(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}
