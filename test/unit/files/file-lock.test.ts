// withFileLock: one change at a time on a shared file, released however the change ends, a stale
// lock from a process that died taken over, and a clear error when another holds it too long.
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLockBusyError, withFileLock } from '../../../src/files/file-lock.js';
import { makeTempDir } from '../../support/temp-dir.js';

let temp: ReturnType<typeof makeTempDir> | undefined;
afterEach(() => temp?.remove());

function target(): string {
  temp = makeTempDir('file-lock');
  return join(temp.path, 'locks.yaml');
}

describe('withFileLock', () => {
  it('holds <file>.lock, naming this process, while the change runs, and returns its result', () => {
    const path = target();
    const result = withFileLock(path, () => {
      expect(readFileSync(`${path}.lock`, 'utf8')).toBe(`${process.pid}\n`);
      return 42;
    });
    expect(result).toBe(42);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('creates the directory the first change needs, 0700', () => {
    const path = join(target(), '..', 'data', 'locks.yaml');
    expect(withFileLock(path, () => 'first')).toBe('first');
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
  });

  it('releases the lock when the change throws', () => {
    const path = target();
    expect(() => withFileLock(path, () => { throw new Error('no'); })).toThrow('no');
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('waits for a lock another process holds, then gives up with what to look at', () => {
    const path = target();
    writeFileSync(`${path}.lock`, '99999\n');
    let ran = false;
    const started = Date.now();
    expect(() => withFileLock(path, () => (ran = true), { waitMs: 100 })).toThrow(FileLockBusyError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(ran).toBe(false);
    expect(() => withFileLock(path, () => undefined, { waitMs: 10 })).toThrow(`another process has been changing ${path} for over 0 s (it holds ${path}.lock)`);
    // Someone else's lock is left alone.
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('99999\n');
  });

  it('takes over a lock left by a process that died during its change', () => {
    const path = target();
    writeFileSync(`${path}.lock`, '99999\n');
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, longAgo, longAgo);
    expect(withFileLock(path, () => 'changed', { waitMs: 100, staleMs: 30_000 })).toBe('changed');
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
