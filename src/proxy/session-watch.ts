// Ends a relaying session from Gatehouse's side when it has been idle for client_idle_timeout, or
// when its client certificate expires (proxy.disconnect_expired_cert), with an ErrorResponse that
// says why. The relay is the hot path: it only sets a flag per chunk, and one timer per session
// looks at that flag at most once a second (for long timeouts, every tenth of the timeout).
import type { GatehouseConfig } from '../config/types.js';
import { formatDuration } from '../config/duration.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { findUser, rolesOf } from '../rbac/subject.js';

/** Node fires timers longer than this at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The idle timeout for a user's sessions: the smallest non-zero client_idle_timeout among the
 * user's roles replaces the proxy-wide one (shorter or longer); without one, proxy.client_idle_timeout.
 * 0 means no idle timeout.
 */
export function idleTimeoutMsFor(config: GatehouseConfig, userName: string): number {
  const user = findUser(config, userName);
  const roleTimeouts = user === undefined ? [] : rolesOf(config, user).map((role) => role.options.client_idle_timeout_ms ?? 0).filter((ms) => ms > 0);
  return roleTimeouts.length > 0 ? Math.min(...roleTimeouts) : config.proxy.client_idle_timeout_ms;
}

/** What the watch needs of the relay: its activity flag and a way to end it with a reason. */
export interface WatchedRelay {
  /** Set by the relay whenever bytes move either way; the watch clears it. */
  sawTraffic: boolean;
  end(error: GatehouseError, reason: string): void;
}

export interface SessionWatchOptions {
  /** 0: no idle timeout. */
  readonly idleTimeoutMs: number;
  /** When the client certificate expires; undefined: do not end the session for it. */
  readonly certificateExpiresAt?: Date;
  readonly now?: () => number;
}

export class SessionWatch {
  private idleTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private lastTrafficAt: number;
  private readonly now: () => number;

  constructor(
    private readonly relay: WatchedRelay,
    private readonly options: SessionWatchOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.lastTrafficAt = this.now();
  }

  start(): void {
    const { idleTimeoutMs, certificateExpiresAt } = this.options;
    if (idleTimeoutMs > 0) {
      const checkEveryMs = Math.min(idleTimeoutMs, Math.max(1_000, Math.ceil(idleTimeoutMs / 10)));
      this.idleTimer = setInterval(() => this.checkIdle(), checkEveryMs);
    }
    if (certificateExpiresAt !== undefined) this.armExpiry(certificateExpiresAt);
  }

  stop(): void {
    clearInterval(this.idleTimer);
    clearTimeout(this.expiryTimer);
  }

  private checkIdle(): void {
    const now = this.now();
    if (this.relay.sawTraffic) {
      this.relay.sawTraffic = false;
      this.lastTrafficAt = now;
      return;
    }
    const timeoutMs = this.options.idleTimeoutMs;
    if (now - this.lastTrafficAt < timeoutMs) return;
    this.stop();
    const idle = formatDuration(timeoutMs);
    this.relay.end(
      new GatehouseError(ErrorCodes.IDLE_TIMEOUT, `terminating connection due to idle timeout: no activity for ${idle} (client_idle_timeout)`, {
        sqlState: SqlState.IDLE_SESSION_TIMEOUT,
        hint: 'Reconnect; a connection pool should close or ping idle connections before this timeout.',
      }),
      `client_idle_timeout: no activity for ${idle}`,
    );
  }

  private armExpiry(expiresAt: Date): void {
    const delay = expiresAt.getTime() - this.now();
    if (delay > MAX_TIMER_MS) {
      this.expiryTimer = setTimeout(() => this.armExpiry(expiresAt), MAX_TIMER_MS);
      return;
    }
    this.expiryTimer = setTimeout(() => {
      this.stop();
      this.relay.end(
        new GatehouseError(ErrorCodes.CERT_EXPIRED, `terminating connection: your client certificate expired at ${expiresAt.toISOString()}`, {
          sqlState: SqlState.INVALID_AUTHORIZATION,
          hint: 'Get a new certificate ("dbctl login <database>") and reconnect.',
        }),
        'client certificate expired (disconnect_expired_cert)',
      );
    }, Math.max(0, delay));
  }
}
