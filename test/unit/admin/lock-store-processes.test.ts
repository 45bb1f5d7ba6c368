// Several processes adding locks to one data directory at the same moment (the workers of one
// Gatehouse, or instances sharing the directory): every lock is kept. Without the file lock around
// each read-modify-write, overlapping changes each wrote what they read plus their own lock.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readLocksFile } from '../../../src/admin/locks-file.js';
import { makeTempDir } from '../../support/temp-dir.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '../../support/add-locks-child.ts');
const PROCESSES = 4;
const LOCKS_EACH = 40;

let temp: ReturnType<typeof makeTempDir> | undefined;
afterEach(() => temp?.remove());

function addLocks(dataDir: string, prefix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, prefix, String(LOCKS_EACH)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child ${prefix} exited ${code}: ${stderr}`))));
  });
}

describe('LockStore across processes', () => {
  it(`keeps every lock ${PROCESSES} processes add at the same time`, async () => {
    temp = makeTempDir('locks-processes');
    const prefixes = Array.from({ length: PROCESSES }, (_, index) => `p${index}`);
    await Promise.all(prefixes.map((prefix) => addLocks(temp!.path, prefix)));
    const users = readLocksFile(join(temp.path, 'locks.yaml')).map((lock) => lock.user);
    expect(users).toHaveLength(PROCESSES * LOCKS_EACH);
    expect(new Set(users).size).toBe(PROCESSES * LOCKS_EACH);
  }, 60_000);
});
