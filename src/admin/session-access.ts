// Whether a user may hold a session on a database, db user and db name right now: RBAC against the
// configuration in force (which also covers a user who no longer exists) and then the locks. One
// function for both moments it is asked, so they can never disagree: when a session connects
// (a refusal, 28000 GH_ERR_ACCESS_DENIED or GH_ERR_LOCKED) and when a running session is re-decided
// after a reload, a users file change or a new lock (it is ended, 28000 GH_ERR_ACCESS_REVOKED or
// GH_ERR_LOCKED).
import type { GatehouseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { decide, type DecideRequest } from '../rbac/decide.js';
import type { LockLookup } from './lock-store.js';
import type { Lock } from './locks-file.js';

export type AccessVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly kind: 'rbac'; readonly reason: string }
  | { readonly allowed: false; readonly kind: 'locked'; readonly lock: Lock };

export function sessionAccess(config: GatehouseConfig, locks: LockLookup | undefined, request: DecideRequest): AccessVerdict {
  const decision = decide(config, request);
  if (!decision.allowed) return { allowed: false, kind: 'rbac', reason: decision.reason };
  const lock = locks?.lockFor(request.user, request.database);
  if (lock !== undefined) return { allowed: false, kind: 'locked', lock };
  return { allowed: true };
}

/** What a connecting client is told when the verdict is no. */
export function connectRefusal(verdict: Exclude<AccessVerdict, { allowed: true }>): GatehouseError {
  if (verdict.kind === 'locked') return lockedError(verdict.lock);
  return new GatehouseError(ErrorCodes.ACCESS_DENIED, verdict.reason, { sqlState: SqlState.INVALID_AUTHORIZATION });
}

/** What a running session is ended with when the verdict has turned to no, and the session.end reason. */
export function revocation(verdict: Exclude<AccessVerdict, { allowed: true }>): { error: GatehouseError; reason: string } {
  if (verdict.kind === 'locked') {
    return { error: lockedError(verdict.lock), reason: `locked by ${verdict.lock.created_by} (lock ${verdict.lock.id}): ${verdict.lock.reason}` };
  }
  return {
    error: new GatehouseError(ErrorCodes.ACCESS_REVOKED, `terminating connection: access revoked: ${verdict.reason}`, {
      sqlState: SqlState.INVALID_AUTHORIZATION,
      hint: 'Your access changed while you were connected. Run "dbctl ls" to see what you may use now, or ask a Gatehouse administrator.',
    }),
    reason: `access revoked: ${verdict.reason}`,
  };
}

/** "user alice is locked for database main until 2030-01-01T10:00:00.000Z by bob: incident 42" */
export function lockMessage(lock: Lock): string {
  const scope = lock.database === undefined ? '' : ` for database ${lock.database}`;
  const until = lock.expires_at === undefined ? '' : ` until ${lock.expires_at}`;
  return `user ${lock.user} is locked${scope}${until} by ${lock.created_by}: ${lock.reason}`;
}

export const LOCK_HINT = 'Ask a Gatehouse administrator; they see the lock with "gatehouse locks ls".';

export function lockedError(lock: Lock): GatehouseError {
  return new GatehouseError(ErrorCodes.LOCKED, lockMessage(lock), { sqlState: SqlState.INVALID_AUTHORIZATION, hint: LOCK_HINT });
}
