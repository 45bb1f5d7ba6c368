// The admin API on the web listener, for `gatehouse status|sessions|locks|reload`: every route is
// `auth: 'admin'` (a dbctl-style identity certificate whose user has a role with options.admin)
// and every call, allowed or refused, is one `admin.action` audit event. The endpoints themselves
// are in admin-*-endpoint.ts; this file wires them to what the daemon provides and does the auditing.
import type { AuditLog } from '../audit/events.js';
import type { LockStore } from '../admin/lock-store.js';
import type { ReloadOutcome } from '../admin/config-reload.js';
import type { SessionDirectory } from '../admin/session-directory.js';
import type { EndedSession } from '../admin/session-recheck.js';
import type { GatehouseConfig } from '../config/types.js';
import { lockRoutes } from './admin-locks-endpoint.js';
import { reloadRoute } from './admin-reload-endpoint.js';
import { killSessionRoute, sessionsRoute } from './admin-sessions-endpoint.js';
import { statusRoute, type StatusFacts } from './admin-status-endpoint.js';
import { ApiError } from './api-errors.js';
import type { CallerIdentity } from './client-identity.js';
import type { ApiReply, ApiRequest, ApiRoute } from './web-server.js';

export interface AdminApiOptions {
  readonly config: () => GatehouseConfig;
  readonly audit: AuditLog;
  /** The running sessions: listing and killing them. */
  readonly sessions: SessionDirectory;
  readonly locks: LockStore;
  /** Re-decides the running sessions (of every worker) against the config and locks in force; returns the ones it ended. */
  readonly enforce: () => EndedSession[] | Promise<EndedSession[]>;
  readonly reload: () => ReloadOutcome | Promise<ReloadOutcome>;
  readonly status: () => StatusFacts;
  /** The metrics' plain numbers (sessions, bytes, certificates), when the daemon has metrics. */
  readonly summary?: () => Record<string, number> | Promise<Record<string, number>>;
  readonly now?: () => number;
}

export function adminApiRoutes(options: AdminApiOptions): ApiRoute[] {
  return [statusRoute(options), sessionsRoute(options), killSessionRoute(options), ...lockRoutes(options), reloadRoute(options)];
}

/** What an admin action was about, for its audit event: read from the request body (strings only). */
export interface ActionSubject {
  readonly target?: string;
  readonly reason?: string;
}

export interface AdminRouteSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** status | sessions.list | sessions.kill | locks.list | locks.add | locks.remove | reload */
  readonly action: string;
  readonly subject?: (body: Record<string, unknown>) => ActionSubject;
  handle(request: ApiRequest & { readonly caller: CallerIdentity }): ApiReply | Promise<ApiReply>;
}

/** An admin route whose every outcome, success or refusal, becomes one admin.action audit event. */
export function adminRoute(audit: AuditLog, spec: AdminRouteSpec): ApiRoute {
  const subjectOf = (body: Record<string, unknown> | undefined): ActionSubject => (body === undefined || spec.subject === undefined ? {} : spec.subject(body));
  return {
    method: spec.method,
    path: spec.path,
    auth: 'admin',
    handle: async (request) => {
      const caller = request.caller as CallerIdentity;
      let reply: ApiReply;
      try {
        reply = await spec.handle({ ...request, caller });
      } catch (error) {
        // An ApiError reaches refused() below; anything else is a 500 and is audited here.
        if (!(error instanceof ApiError)) {
          audit.admin({ user: caller.user.name, action: spec.action, ...auditable(subjectOf(request.body)), client_addr: request.clientEndpoint, success: false, error: 'internal error' });
        }
        throw error;
      }
      audit.admin({ user: caller.user.name, action: spec.action, ...auditable(subjectOf(request.body)), client_addr: request.clientEndpoint, success: true });
      return reply;
    },
    refused: (request, error: ApiError) => {
      // A caller without a valid identity certificate has not reached the admin API: the 401 is the
      // identity check's, as for every identity route, and is not an administrator's action.
      if (request.caller === undefined) return;
      audit.admin({
        user: request.caller.user.name,
        action: spec.action,
        ...auditable(subjectOf(request.body)),
        client_addr: request.clientEndpoint,
        success: false,
        error: error.message,
      });
    },
  };
}

/** A string field of the body, or undefined; what an audit event may quote of it (at most 1 KiB). */
export function bodyText(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function auditable(subject: ActionSubject): ActionSubject {
  const clip = (text: string) => (text.length > 1024 ? `${text.slice(0, 1024)}…` : text);
  return {
    ...(subject.target === undefined ? {} : { target: clip(subject.target) }),
    ...(subject.reason === undefined ? {} : { reason: clip(subject.reason) }),
  };
}
