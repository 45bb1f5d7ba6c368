// GET /v1/admin/status: what `gatehouse status` prints about a running daemon: its version and
// runtime, how long it has run, where it listens, the databases it serves (how it reaches each and
// how it checks the database's certificate), the sessions and locks in force, and the metrics'
// plain numbers when there are metrics.
import type { DatabaseConfig } from '../config/types.js';
import { packageVersion } from '../cli/version.js';
import { adminRoute, type AdminApiOptions } from './admin-routes.js';
import type { ApiRoute } from './web-server.js';

/** What only the daemon knows. */
export interface StatusFacts {
  /** ms since the epoch. */
  readonly startedAt: number;
  /** The process to signal (SIGHUP, SIGTERM): the daemon's, or with workers the primary's. */
  readonly pid: number;
  /** host:port each listener is bound to. */
  readonly listeners: { readonly postgres: string; readonly web: string };
  /** host:port of an embedded database Gatehouse started, by name. */
  readonly embeddedAddress: (name: string) => string | undefined;
}

export interface StatusDatabase {
  readonly name: string;
  /** postgres | embedded | redshift | redshift-serverless */
  readonly kind: string;
  readonly address: string;
  /** How Gatehouse checks the database's certificate. */
  readonly tls_mode: string;
}

export function statusRoute(options: AdminApiOptions): ApiRoute {
  const version = packageVersion();
  return adminRoute(options.audit, {
    method: 'GET',
    path: '/v1/admin/status',
    action: 'status',
    handle: async () => {
      const sessions = await options.sessions.list();
      const summary = await options.summary?.();
      const facts = options.status();
      const now = (options.now ?? Date.now)();
      const config = options.config();
      return {
        status: 200,
        body: {
          version,
          node: process.version,
          openssl: process.versions.openssl,
          pid: facts.pid,
          started_at: new Date(facts.startedAt).toISOString(),
          uptime_s: Math.max(0, Math.floor((now - facts.startedAt) / 1000)),
          listeners: facts.listeners,
          databases: config.databases.map((database) => statusOf(database, facts)),
          sessions_active: sessions.length,
          locks_active: options.locks.active().length,
          ...(summary === undefined ? {} : { summary }),
        },
      };
    },
  });
}

function statusOf(database: DatabaseConfig, facts: StatusFacts): StatusDatabase {
  if (database.kind === 'embedded') {
    // Gatehouse's host CA signed the embedded server's certificate, and it is verified in full.
    return { name: database.name, kind: 'embedded', address: facts.embeddedAddress(database.name) ?? 'not started', tls_mode: 'verify-full' };
  }
  const aws = database.aws;
  if (aws !== undefined) {
    const kind = aws.redshift !== undefined ? 'redshift' : 'redshift-serverless';
    const resource = aws.redshift !== undefined ? `cluster ${aws.redshift.cluster_id}` : `workgroup ${aws.redshift_serverless?.workgroup ?? '?'}`;
    return { name: database.name, kind, address: database.uri ?? `${resource} in ${aws.region} (address from AWS)`, tls_mode: database.tls.mode };
  }
  return { name: database.name, kind: 'postgres', address: database.uri ?? '?', tls_mode: database.tls.mode };
}
