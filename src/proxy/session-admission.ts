// Whether one more session may start: none while Gatehouse drains for shutdown, and none past
// proxy.max_connections or the user's own max_connections. It counts the admitted sessions (from
// the moment the user is known until the session ends), proxy-wide and per user, so the daemon can
// wait for them to finish on their own before it ends the rest. With proxy.workers > 1 the limits
// are the whole Gatehouse's: the sessions other workers admitted count too (AdmittedElsewhere).
import type { GatehouseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { findUser, rolesOf } from '../rbac/subject.js';

/** The smallest max_connections among the user's roles, with the role that sets it; undefined: no per-user limit. */
export function userConnectionLimit(config: GatehouseConfig, userName: string): { limit: number; role: string } | undefined {
  const user = findUser(config, userName);
  if (user === undefined) return undefined;
  let strictest: { limit: number; role: string } | undefined;
  for (const role of rolesOf(config, user)) {
    const limit = role.options.max_connections;
    if (limit !== undefined && (strictest === undefined || limit < strictest.limit)) strictest = { limit, role: role.name };
  }
  return strictest;
}

/**
 * The sessions the other workers of a multi-process Gatehouse have admitted, as they last reported
 * them (an IPC round trip behind), and where this worker reports its own. Two workers admitting at
 * the same instant can together pass a limit by at most workers-1 sessions.
 */
export interface AdmittedElsewhere {
  total(): number;
  ofUser(user: string): number;
  /** This process admitted (+1) or released (-1) a session of `user`. */
  changed(user: string, delta: 1 | -1): void;
}

export class SessionAdmission {
  private draining = false;
  private total = 0;
  private readonly perUser = new Map<string, number>();
  private emptied: (() => void)[] = [];

  constructor(private readonly elsewhere?: AdmittedElsewhere) {}

  /** Sessions admitted and not yet ended. */
  get admitted(): number {
    return this.total;
  }

  sessionsOf(user: string): number {
    return this.perUser.get(user) ?? 0;
  }

  /** From now on every new session is refused with 57P01; running ones go on. */
  startDraining(): void {
    this.draining = true;
  }

  /** Throws the 57P01 refusal while Gatehouse is shutting down. */
  refuseIfDraining(): void {
    if (!this.draining) return;
    throw new GatehouseError(ErrorCodes.SHUTTING_DOWN, 'Gatehouse is shutting down; reconnect in a moment', {
      sqlState: SqlState.ADMIN_SHUTDOWN,
      hint: 'This Gatehouse is restarting or being replaced; connect again in a few seconds.',
    });
  }

  /** Admits a session of `user` or throws 57P01/53300; the returned function releases it (once). */
  admit(user: string, config: GatehouseConfig): () => void {
    this.refuseIfDraining();
    const proxyLimit = config.proxy.max_connections;
    const serving = this.total + (this.elsewhere?.total() ?? 0);
    if (serving >= proxyLimit) {
      throw new GatehouseError(ErrorCodes.TOO_MANY_CONNECTIONS, `too many connections: Gatehouse already serves ${serving} sessions, its limit (proxy.max_connections) is ${proxyLimit}`, {
        sqlState: SqlState.TOO_MANY_CONNECTIONS,
        hint: 'Try again once other sessions have ended, or ask the Gatehouse administrator to raise proxy.max_connections.',
      });
    }
    const userLimit = userConnectionLimit(config, user);
    const heldHere = this.sessionsOf(user);
    const held = heldHere + (this.elsewhere?.ofUser(user) ?? 0);
    if (userLimit !== undefined && held >= userLimit.limit) {
      throw new GatehouseError(
        ErrorCodes.TOO_MANY_CONNECTIONS,
        `too many connections for user ${user}: ${held} sessions open, the limit is ${userLimit.limit} (max_connections of role ${JSON.stringify(userLimit.role)})`,
        { sqlState: SqlState.TOO_MANY_CONNECTIONS, hint: 'Close one of your other sessions (or a connection pool\'s idle ones) and try again.' },
      );
    }
    this.total += 1;
    this.perUser.set(user, heldHere + 1);
    this.elsewhere?.changed(user, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      this.elsewhere?.changed(user, -1);
      const left = this.sessionsOf(user) - 1;
      if (left > 0) this.perUser.set(user, left);
      else this.perUser.delete(user);
      if (this.total === 0) this.notifyEmpty();
    };
  }

  /**
   * Resolves true once no admitted session is left, or false when `graceMs` passed or `interrupt`
   * fired first (a second SIGTERM).
   */
  whenEmpty(graceMs: number, interrupt?: AbortSignal): Promise<boolean> {
    if (this.total === 0) return Promise.resolve(true);
    if (graceMs <= 0 || interrupt?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (empty: boolean) => {
        clearTimeout(timer);
        interrupt?.removeEventListener('abort', onInterrupt);
        this.emptied = this.emptied.filter((waiter) => waiter !== onEmpty);
        resolve(empty);
      };
      const onEmpty = () => settle(true);
      const onInterrupt = () => settle(false);
      const timer = setTimeout(() => settle(false), graceMs);
      interrupt?.addEventListener('abort', onInterrupt, { once: true });
      this.emptied.push(onEmpty);
    });
  }

  private notifyEmpty(): void {
    for (const waiter of [...this.emptied]) waiter();
  }
}
