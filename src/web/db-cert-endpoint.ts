// POST /v1/db-certs: for a caller holding a dbctl identity certificate (mutual TLS), a database
// certificate whose route names one database, with an optional default db user and db name. RBAC
// is asked up front so that a database the user could never use, or a default no role allows, is
// refused now with its reason rather than at every psql connection later; decide() still has the
// last word at connect time. The certificate never outlives the identity certificate behind it.
import { X509Certificate } from 'node:crypto';
import type { LockLookup } from '../admin/lock-store.js';
import { LOCK_HINT, lockMessage } from '../admin/session-access.js';
import type { AuditLog } from '../audit/events.js';
import type { CertificateAuthority, RouteToDatabase } from '../ca/certificate-authority.js';
import type { GatehouseConfig } from '../config/types.js';
import { ErrorCodes } from '../errors.js';
import type { WebMetrics } from '../metrics/hooks.js';
import { canEverAccessDatabase } from '../rbac/database-access.js';
import { databasesForUser } from '../rbac/database-listing.js';
import { checkRouteDefaults } from '../rbac/route-defaults.js';
import { maxSessionTtlMs } from '../rbac/session-ttl.js';
import { ApiError } from './api-errors.js';
import type { CallerIdentity } from './client-identity.js';
import { clientPublicKey } from './public-key.js';
import { certificateText, onlyFields, optionalString, requiredString } from './request-fields.js';
import type { ApiReply, ApiRequest, ApiRoute } from './web-server.js';

export interface DbCertEndpointOptions {
  readonly config: () => GatehouseConfig;
  readonly userCa: CertificateAuthority;
  readonly audit: AuditLog;
  readonly postgresAddress: () => string;
  readonly now?: () => number;
  /** The administrators' locks: a locked user gets no certificate for the database the lock covers. */
  readonly locks?: LockLookup;
  /** Counts database certificates issued. */
  readonly metrics?: WebMetrics;
}

const FIELDS = ['database', 'db_user', 'db_name', 'public_key_pem'] as const;
/** A database certificate good for less than this could not be used before it expires. */
const MIN_USEFUL_TTL_MS = 60_000;

export function dbCertRoute(options: DbCertEndpointOptions): ApiRoute {
  return { method: 'POST', path: '/v1/db-certs', auth: 'identity', handle: (request) => issueDatabaseCertificate(options, request) };
}

function issueDatabaseCertificate(options: DbCertEndpointOptions, request: ApiRequest): ApiReply {
  const caller = request.caller as CallerIdentity;
  const { body } = request;
  onlyFields(body, FIELDS);
  const database = certificateText('database', requiredString(body, 'database'));
  const dbUserText = optionalString(body, 'db_user');
  const dbNameText = optionalString(body, 'db_name');
  const dbUser = dbUserText === undefined ? undefined : certificateText('db_user', dbUserText);
  const dbName = dbNameText === undefined ? undefined : certificateText('db_name', dbNameText);
  const publicKeyPem = clientPublicKey('public_key_pem', requiredString(body, 'public_key_pem'));

  const config = options.config();
  const user = caller.user.name;
  if (!config.databases.some((candidate) => candidate.name === database)) {
    const available = databasesForUser(config, user).map((listed) => listed.name);
    throw new ApiError(404, ErrorCodes.UNKNOWN_DATABASE, `Gatehouse has no database named ${JSON.stringify(database)}`, {
      hint: available.length === 0 ? 'you may not use any database yet; ask a Gatehouse administrator for a role' : `databases you may use: ${available.join(', ')}`,
      extra: { available },
    });
  }
  const access = canEverAccessDatabase(config, user, database);
  if (!access.allowed) throw new ApiError(403, ErrorCodes.ACCESS_DENIED, access.reason);
  const defaults = checkRouteDefaults(config, { user, database, ...(dbUser === undefined ? {} : { dbUser }), ...(dbName === undefined ? {} : { dbName }) });
  if (!defaults.allowed) throw new ApiError(403, ErrorCodes.ACCESS_DENIED, defaults.reason);
  const lock = options.locks?.lockFor(user, database);
  if (lock !== undefined) throw new ApiError(403, ErrorCodes.LOCKED, lockMessage(lock), { hint: LOCK_HINT });

  const now = (options.now ?? Date.now)();
  const identityLeftMs = caller.notAfter.getTime() - now;
  if (identityLeftMs < MIN_USEFUL_TTL_MS) {
    throw new ApiError(401, ErrorCodes.IDENTITY_REQUIRED, `your identity certificate expires at ${caller.notAfter.toISOString()}, too soon for a database certificate; run dbctl login again`, {
      hint: 'run "dbctl login" to get a new identity certificate',
    });
  }
  const ttlMs = Math.min(maxSessionTtlMs(config, user), identityLeftMs);
  const route: RouteToDatabase = { database, ...(dbUser === undefined ? {} : { dbUser }), ...(dbName === undefined ? {} : { dbName }) };
  const issued = options.userCa.issueClientCertificate({ user, route, ttlMs, publicKeyPem });
  const expiresAt = issued.notAfter.toISOString();
  options.audit.certIssued({
    user,
    kind: 'database',
    database,
    ...(dbUser === undefined ? {} : { db_user: dbUser }),
    ...(dbName === undefined ? {} : { db_name: dbName }),
    serial: new X509Certificate(issued.certPem).serialNumber,
    expires_at: expiresAt,
    client_addr: request.clientEndpoint,
  });
  options.metrics?.certIssued('database');
  return {
    status: 200,
    body: {
      cert_pem: issued.certPem,
      expires_at: expiresAt,
      database,
      ...(dbUser === undefined ? {} : { db_user: dbUser }),
      ...(dbName === undefined ? {} : { db_name: dbName }),
      postgres_addr: options.postgresAddress(),
    },
  };
}
