// Re-deciding running sessions after something that grants access changed: a reload of
// gatehouse.yaml, the users file (a user removed, roles changed), or the locks. Each session whose
// user and route are known is asked the same question it was asked when it connected
// (session-access.ts); those whose answer is now no are ended at once with an ErrorResponse saying
// why. Sessions still in their startup are left alone: they are decided against the new state when
// they reach that step.
import type { GatehouseConfig } from '../config/types.js';
import type { GatehouseError } from '../errors.js';
import type { LockLookup } from './lock-store.js';
import { revocation, sessionAccess } from './session-access.js';

/** What the re-check needs of a session (proxy/session.ts's Session has it). */
export interface RecheckableSession {
  readonly id: string;
  readonly user: string | undefined;
  readonly databaseName: string | undefined;
  readonly dbUser: string | undefined;
  readonly dbName: string | undefined;
  /** True once Gatehouse has ended it (it leaves the listener's set a moment later). */
  readonly terminating: boolean;
  terminate(error: GatehouseError, reason: string): void;
}

export interface EndedSession {
  readonly id: string;
  readonly user: string;
  readonly reason: string;
}

/** Ends every session the configuration and locks no longer allow; returns which, and why. */
export function recheckSessions(sessions: Iterable<RecheckableSession>, config: GatehouseConfig, locks: LockLookup | undefined): EndedSession[] {
  const ended: EndedSession[] = [];
  for (const session of [...sessions]) {
    if (session.terminating) continue;
    const { user, databaseName, dbUser, dbName } = session;
    if (user === undefined || databaseName === undefined || dbUser === undefined || dbName === undefined) continue;
    const verdict = sessionAccess(config, locks, { user, database: databaseName, dbUser, dbName });
    if (verdict.allowed) continue;
    const { error, reason } = revocation(verdict);
    session.terminate(error, reason);
    ended.push({ id: session.id, user, reason });
  }
  return ended;
}
