// Read-modify-write of a file that several processes change: the workers of one Gatehouse and the
// instances sharing a data directory all write the locks file. Each change reads the file afresh
// and renames a new one over it (atomic-write.ts), but two changes that overlap would each write
// what they read plus their own edit, and one edit would be lost: a lock an administrator added,
// silently gone. So a change holds <file>.lock, created exclusively (O_EXCL, atomic on local file
// systems and NFSv3+), for the few milliseconds it takes. The change is synchronous and short, so
// a process that finds the lock taken waits for it in short sleeps rather than queueing callbacks.
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FileLockOptions {
  /** How long to wait for another process's change before giving up. */
  readonly waitMs?: number;
  /**
   * A lock file older than this was left by a process that died during its change (a change takes
   * milliseconds): it is removed. Two processes could both find the same stale lock and one remove
   * the other's new one; that needs a crash first, and costs at most that one overlap.
   */
  readonly staleMs?: number;
}

const DEFAULT_WAIT_MS = 5_000;
const DEFAULT_STALE_MS = 30_000;
const RETRY_SLEEP_MS = 5;

/** Another process held the lock for longer than the wait. */
export class FileLockBusyError extends Error {
  constructor(readonly lockPath: string, waitedMs: number) {
    super(`another process has been changing ${lockPath.replace(/\.lock$/, '')} for over ${Math.round(waitedMs / 1000)} s (it holds ${lockPath})`);
    this.name = 'FileLockBusyError';
  }
}

/** Runs `change` while holding `<path>.lock`; the lock is released however `change` ends. */
export function withFileLock<T>(path: string, change: () => T, options: FileLockOptions = {}): T {
  const lockPath = `${path}.lock`;
  // The first change may come before the directory exists (atomic-write.ts creates it the same way).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const descriptor = acquire(lockPath, options.waitMs ?? DEFAULT_WAIT_MS, options.staleMs ?? DEFAULT_STALE_MS);
  try {
    return change();
  } finally {
    closeSync(descriptor);
    rmSync(lockPath, { force: true });
  }
}

function acquire(lockPath: string, waitMs: number, staleMs: number): number {
  const started = Date.now();
  for (;;) {
    try {
      const descriptor = openSync(lockPath, 'wx', 0o600);
      // Who holds it, for a person who finds the file.
      writeSync(descriptor, `${process.pid}\n`);
      return descriptor;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (isStale(lockPath, staleMs)) {
      rmSync(lockPath, { force: true });
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= waitMs) throw new FileLockBusyError(lockPath, waited);
    sleep(RETRY_SLEEP_MS);
  }
}

function isStale(lockPath: string, staleMs: number): boolean {
  try {
    return Date.now() - statSync(lockPath).mtimeMs > staleMs;
  } catch {
    // Released meanwhile: the next attempt takes it.
    return false;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
