// Slows password guessing: failed logins are counted per user name and per client address, and once
// either has `maxFailures` failures within the last `lockoutMs`, further attempts for it are refused
// until the oldest of those failures leaves the window (a sliding window: at most maxFailures
// failures per lockoutMs, per user and per address). A success clears the user's count, not the
// address's, so one good password does not reset a guesser working through many names.
//
// Memory is bounded: each key keeps at most maxFailures timestamps and is at most 256 characters
// (longer names are hashed), and each of the two tables holds at most maxKeys keys, evicting the one
// whose last failure is oldest. Users and addresses have
// separate tables so that a guesser cycling through many addresses cannot evict the count of the
// user it attacks (and one cycling through names cannot evict an address's).

import { createHash } from 'node:crypto';

export const DEFAULT_MAX_THROTTLE_KEYS = 10_000;
/** Longer keys (a login request may name any user) are kept as their SHA-256, so a key's size is bounded too. */
const MAX_KEY_LENGTH = 256;

export interface LoginThrottleOptions {
  /** proxy.login_max_failures */
  maxFailures: number;
  /** proxy.login_lockout_ms */
  lockoutMs: number;
  now?: () => number;
  /** Most users (and, separately, most addresses) remembered at once; default 10,000. */
  maxKeys?: number;
}

export class LoginThrottle {
  private readonly maxFailures: number;
  private readonly lockoutMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  /** Key → failure times, oldest first; Map order is the order of each key's latest failure. */
  private readonly users = new Map<string, number[]>();
  private readonly addresses = new Map<string, number[]>();

  constructor(options: LoginThrottleOptions) {
    if (!Number.isInteger(options.maxFailures) || options.maxFailures < 1) throw new RangeError('maxFailures must be a whole number of at least 1');
    if (!(options.lockoutMs > 0)) throw new RangeError('lockoutMs must be more than 0');
    this.maxFailures = options.maxFailures;
    this.lockoutMs = options.lockoutMs;
    this.now = options.now ?? Date.now;
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_THROTTLE_KEYS);
  }

  /** Milliseconds until this user may try again from this address; 0 means now. */
  retryAfterMs(user: string, address: string): number {
    const now = this.now();
    return Math.max(this.waitFor(this.users, boundedKey(user), now), this.waitFor(this.addresses, boundedKey(normalizeAddress(address)), now));
  }

  recordFailure(user: string, address: string): void {
    const now = this.now();
    this.addFailure(this.users, boundedKey(user), now);
    this.addFailure(this.addresses, boundedKey(normalizeAddress(address)), now);
  }

  recordSuccess(user: string, _address: string): void {
    this.users.delete(boundedKey(user));
  }

  private waitFor(table: Map<string, number[]>, key: string, now: number): number {
    const failures = this.recent(table, key, now);
    if (failures.length < this.maxFailures) return 0;
    // Attempts resume when the count drops below maxFailures, i.e. when this failure expires.
    const blocking = failures[failures.length - this.maxFailures] ?? now;
    return Math.max(0, blocking + this.lockoutMs - now);
  }

  private addFailure(table: Map<string, number[]>, key: string, now: number): void {
    const failures = this.recent(table, key, now);
    failures.push(now);
    // Only the latest maxFailures can ever decide a wait.
    if (failures.length > this.maxFailures) failures.splice(0, failures.length - this.maxFailures);
    table.delete(key);
    table.set(key, failures);
    while (table.size > this.maxKeys) {
      const oldest = table.keys().next().value;
      if (oldest === undefined) break;
      table.delete(oldest);
    }
  }

  /** The key's failures still inside the window (dropping expired ones, and the key once none are left). */
  private recent(table: Map<string, number[]>, key: string, now: number): number[] {
    const failures = table.get(key);
    if (failures === undefined) return [];
    const windowStart = now - this.lockoutMs;
    const kept = failures.filter((at) => at > windowStart);
    if (kept.length === 0) table.delete(key);
    else table.set(key, kept);
    return kept;
  }
}

function boundedKey(text: string): string {
  return text.length <= MAX_KEY_LENGTH ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) and "192.0.2.1" are one address. */
function normalizeAddress(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
