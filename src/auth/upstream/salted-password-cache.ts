// Remembers SCRAM salted passwords. PBKDF2 with PostgreSQL's 4096 iterations costs a millisecond
// or two of CPU on the event loop for every upstream login, and a proxy logs in to the same
// database with the same password again and again; the salt and iteration count only change when
// the password is changed. Keys are built by the SCRAM client from a hash of the password, the
// salt and the iteration count, never from the password itself.

export interface SaltedPasswordCache {
  get(key: string): Buffer | undefined;
  set(key: string, value: Buffer): void;
}

/** A bounded least-recently-used cache; a Map iterates in insertion order, oldest first. */
export class LruSaltedPasswordCache implements SaltedPasswordCache {
  private readonly entries = new Map<string, Buffer>();

  constructor(private readonly maxEntries = 1024) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`LruSaltedPasswordCache needs a positive whole number of entries, not ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    // A copy: the caller must not be able to change what the next login gets.
    return Buffer.from(value);
  }

  set(key: string, value: Buffer): void {
    this.entries.delete(key);
    this.entries.set(key, Buffer.from(value));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
