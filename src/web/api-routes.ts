// The web API's routes, built from the daemon's parts in one place so the daemon wires one object.
import type { LockLookup } from '../admin/lock-store.js';
import type { AuditLog } from '../audit/events.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { GatehouseConfig } from '../config/types.js';
import type { WebMetrics } from '../metrics/hooks.js';
import type { LoginOutcome, LoginRequest } from '../users/password-login.js';
import { caRoute } from './ca-endpoint.js';
import { databasesRoute, meRoute } from './databases-endpoint.js';
import { dbCertRoute } from './db-cert-endpoint.js';
import { loginRoute } from './login-endpoint.js';
import type { ApiRoute } from './web-server.js';

export interface WebApiOptions {
  /** The merged config in force now (gatehouse.yaml plus the users file). */
  readonly config: () => GatehouseConfig;
  readonly login: { login(request: LoginRequest): Promise<LoginOutcome> };
  readonly userCa: CertificateAuthority;
  readonly hostCaPem: string;
  readonly audit: AuditLog;
  /** host:port for psql: the public host and the Postgres listener's bound port. */
  readonly postgresAddress: () => string;
  readonly now?: () => number;
  /** The administrators' locks (POST /v1/db-certs refuses a locked user). */
  readonly locks?: LockLookup;
  /** Logins and certificates issued, for /metrics. */
  readonly metrics?: WebMetrics;
}

export function webApiRoutes(options: WebApiOptions): ApiRoute[] {
  return [
    caRoute(options.hostCaPem),
    loginRoute(options),
    dbCertRoute(options),
    databasesRoute(options.config),
    meRoute(),
  ];
}
