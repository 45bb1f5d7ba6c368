// A cache of values that expire (minted database passwords, DescribeClusters answers), with one load
// in flight per key however many sessions ask at once. A value is served only until a safety margin
// before it expires, so a password handed to a session still has time to be used for the login; a
// value that is already past that point when it arrives is given to the callers that waited for it
// but never kept. A failed load is not kept either: the next caller tries again.

export interface Expiring<T> {
  readonly value: T;
  /** When the value stops being valid, in ms since the epoch (the clock of `now`). */
  readonly expiresAt: number;
}

export interface ExpiringCacheOptions {
  readonly now: () => number;
  /** How long before expiry to stop serving a value, given how long it lived when it was loaded. */
  readonly marginMs: (lifetimeMs: number) => number;
  /** Entries kept at most; beyond it the entry that expires first goes. */
  readonly maxEntries?: number;
}

/** For minted passwords: 60 s before expiry, or a fifth of a short life (short-lived test tokens are still reused a little). */
export function credentialMargin(lifetimeMs: number): number {
  return Math.min(60_000, Math.max(0, lifetimeMs) * 0.2);
}

export class ExpiringCache<T> {
  private readonly entries = new Map<string, { value: T; usableUntil: number }>();
  private readonly inFlight = new Map<string, Promise<T>>();
  private readonly maxEntries: number;

  constructor(private readonly options: ExpiringCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** The cached value, or the one being loaded, or a new load. */
  get(key: string, load: () => Promise<Expiring<T>>): Promise<T> {
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      if (this.options.now() < cached.usableUntil) return Promise.resolve(cached.value);
      this.entries.delete(key);
    }
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.load(key, load);
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Forgets a key's value, e.g. after the database refused it. A load in flight is not affected. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private async load(key: string, load: () => Promise<Expiring<T>>): Promise<T> {
    const startedAt = this.options.now();
    try {
      const { value, expiresAt } = await load();
      const usableUntil = expiresAt - this.options.marginMs(expiresAt - startedAt);
      if (this.options.now() < usableUntil) this.store(key, value, usableUntil);
      return value;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private store(key: string, value: T, usableUntil: number): void {
    this.entries.set(key, { value, usableUntil });
    if (this.entries.size <= this.maxEntries) return;
    const now = this.options.now();
    for (const [candidate, entry] of this.entries) if (entry.usableUntil <= now) this.entries.delete(candidate);
    while (this.entries.size > this.maxEntries) {
      let soonest: string | undefined;
      let soonestAt = Number.POSITIVE_INFINITY;
      for (const [candidate, entry] of this.entries) {
        if (entry.usableUntil < soonestAt) {
          soonest = candidate;
          soonestAt = entry.usableUntil;
        }
      }
      if (soonest === undefined) break;
      this.entries.delete(soonest);
    }
  }
}
