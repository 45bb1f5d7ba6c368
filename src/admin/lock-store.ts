// The locks in force, as the daemon sees them: the locks file (<data_dir>/locks.yaml) read at start
// and again whenever it changes, so that a lock another Gatehouse process sharing the data directory
// adds or removes applies here within a poll interval. Expired locks are ignored when asked about
// and dropped from the file at its next write. A file that stops reading (a bad hand edit) is
// logged with its FILE:LINE:COL and the locks read before stay in force: a typo never lifts a lock.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { LOCKS_FILE_NAME, newLockId, readLocksFile, writeLocksFile, type Lock } from './locks-file.js';
import { FileLockBusyError, withFileLock } from '../files/file-lock.js';
import { PolledFile } from '../files/polled-file.js';

export const DEFAULT_LOCKS_POLL_INTERVAL_MS = 1000;

export interface LockStoreOptions {
  /** proxy.data_dir; the file is <data_dir>/locks.yaml. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly pollIntervalMs?: number;
}

export interface NewLock {
  readonly user: string;
  readonly database?: string;
  /** Absent: until removed. */
  readonly ttlMs?: number;
  readonly reason: string;
  readonly createdBy: string;
}

/** What the session and the web API ask: the lock that keeps `user` off `database`, if any. */
export interface LockLookup {
  lockFor(user: string, database: string): Lock | undefined;
}

export class LockStore implements LockLookup {
  readonly path: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly file: PolledFile;
  private locks: readonly Lock[] = [];

  constructor(options: LockStoreOptions) {
    this.path = join(options.dataDir, LOCKS_FILE_NAME);
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.file = new PolledFile(this.path, options.pollIntervalMs ?? DEFAULT_LOCKS_POLL_INTERVAL_MS);
  }

  /** Reads the file now, then polls it; `onChange` runs after every later read that succeeded. */
  start(onChange: () => void): void {
    this.read('loaded');
    this.file.start(() => {
      if (this.read('reloaded')) onChange();
    });
  }

  stop(): void {
    this.file.stop();
  }

  /** Reads the file now if it changed since the last read: a lock another process wrote a moment ago. */
  refresh(): void {
    if (this.file.changed()) this.read('reloaded');
  }

  /** The locks in force (not expired), oldest first. */
  active(): Lock[] {
    const now = this.now();
    return this.locks.filter((lock) => !isExpired(lock, now));
  }

  lockFor(user: string, database: string): Lock | undefined {
    // Asked at every connection: no allocation, and nothing at all to do when there are no locks.
    if (this.locks.length === 0) return undefined;
    const now = this.now();
    return this.locks.find((lock) => lock.user === user && (lock.database === undefined || lock.database === database) && !isExpired(lock, now));
  }

  /**
   * Adds a lock: the file is read afresh (another process may have changed it since the last poll),
   * expired locks are dropped, and the result is written atomically. A file that does not read is
   * not overwritten: the error says what is wrong with it.
   */
  add(request: NewLock): Lock {
    const now = this.now();
    const lock: Lock = {
      id: newLockId(),
      user: request.user,
      ...(request.database === undefined ? {} : { database: request.database }),
      reason: request.reason,
      created_by: request.createdBy,
      created_at: new Date(now).toISOString(),
      ...(request.ttlMs === undefined ? {} : { expires_at: new Date(now + request.ttlMs).toISOString() }),
    };
    this.rewrite((locks) => [...locks, lock]);
    return lock;
  }

  /** Removes the lock with this id (expired ones count as gone); undefined when there is none. */
  remove(id: string): Lock | undefined {
    let removed: Lock | undefined;
    this.rewrite((locks) => {
      removed = locks.find((lock) => lock.id === id);
      return locks.filter((lock) => lock.id !== id);
    });
    return removed;
  }

  /** Under the file's lock (file-lock.ts): a change another process makes at the same moment is kept too. */
  private rewrite(change: (locks: readonly Lock[]) => readonly Lock[]): void {
    try {
      withFileLock(this.path, () => this.rewriteLocked(change));
    } catch (error) {
      if (!(error instanceof FileLockBusyError)) throw error;
      throw new GatehouseError(ErrorCodes.FILE_BUSY, `the locks file cannot be changed now: ${error.message}`, {
        sqlState: SqlState.INTERNAL_ERROR,
        hint: `try again; if it persists and no Gatehouse is changing locks, remove ${error.lockPath}`,
      });
    }
  }

  private rewriteLocked(change: (locks: readonly Lock[]) => readonly Lock[]): void {
    let onDisk: Lock[];
    try {
      onDisk = readLocksFile(this.path);
    } catch (error) {
      throw new GatehouseError(ErrorCodes.CONFIG_INVALID, `the locks file cannot be changed until it reads again: ${(error as Error).message}`, {
        sqlState: SqlState.INTERNAL_ERROR,
        hint: `fix or remove ${this.path} (the running Gatehouse keeps enforcing the locks it read before)`,
      });
    }
    const now = this.now();
    const next = change(onDisk.filter((lock) => !isExpired(lock, now)));
    writeLocksFile(this.path, next);
    // In force here at once; the next poll reads the file again (it may hold another process's
    // change made a moment later), which is harmless: enforcing the same locks twice ends nothing new.
    this.locks = Object.freeze([...next]);
  }

  /** True when the file was read (and `locks` replaced). */
  private read(verb: 'loaded' | 'reloaded'): boolean {
    // Taken before reading: if the file changes in between, the next poll reads it again.
    const signature = this.file.signature();
    try {
      this.locks = Object.freeze(readLocksFile(this.path));
    } catch (error) {
      // Remembered, so the same broken file is reported once, not at every poll.
      this.file.markRead(signature);
      this.logger.error({ locks_file: this.path, error: (error as Error).message }, `locks file not ${verb}; keeping the ${this.locks.length} lock(s) read before`);
      return false;
    }
    this.file.markRead(signature);
    if (verb === 'reloaded' || this.locks.length > 0) this.logger.info({ locks_file: this.path, locks: this.active().length }, `locks file ${verb}`);
    return true;
  }
}

export function isExpired(lock: Lock, nowMs: number): boolean {
  return lock.expires_at !== undefined && Date.parse(lock.expires_at) <= nowMs;
}
