import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/logging.js';
import { UserDirectory } from '../../../src/users/user-directory.js';
import { writeUsersFile } from '../../../src/users/users-file.js';
import { CaptureStream } from '../../support/capture-stream.js';
import { storedUser } from './users-config.js';

const HASH = '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U';
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

let dir: string;
let path: string;
let log: CaptureStream;
let directory: UserDirectory | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-user-directory-'));
  path = join(dir, 'users.yaml');
  log = new CaptureStream();
});

afterEach(() => {
  directory?.stop();
  directory = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function start(onChange: () => void = () => {}): UserDirectory {
  directory = new UserDirectory({ path, logger: createLogger('info', log), pollIntervalMs: 20 });
  directory.start(onChange);
  return directory;
}

const messages = () => log.lines().map((line) => line.msg);
const names = (d: UserDirectory) => d.users().map((user) => user.name);

describe('UserDirectory', () => {
  it('loads the file at start and finds users by name', () => {
    writeUsersFile(path, [storedUser('alice', { password_hash: HASH }), storedUser('bob', { totp_secret: SECRET })]);
    let changes = 0;
    const d = start(() => changes++);
    expect(names(d)).toEqual(['alice', 'bob']);
    expect(d.find('alice')?.password_hash).toBe(HASH);
    expect(d.find('carol')).toBeUndefined();
    expect(changes).toBe(1);
    expect(messages()).toEqual(['users file loaded (2 users)']);
    expect(log.lines()[0]).toMatchObject({ level: 30, users_file: path, users: 2 });
  });

  it('starts empty without a file and picks the file up once it is written', async () => {
    let changes = 0;
    const d = start(() => changes++);
    expect(d.users()).toEqual([]);
    writeUsersFile(path, [storedUser('carol')]);
    await vi.waitFor(() => expect(names(d)).toEqual(['carol']), { timeout: 5000, interval: 20 });
    expect(changes).toBe(2);
    expect(messages()).toEqual(['users file loaded (0 users)', 'users file reloaded (1 user)']);
  });

  it('picks up a rewrite by gatehouse users (an atomic rename)', async () => {
    writeUsersFile(path, [storedUser('alice')]);
    const d = start();
    writeUsersFile(path, [storedUser('alice'), storedUser('bob', { password_hash: HASH })]);
    await vi.waitFor(() => expect(names(d)).toEqual(['alice', 'bob']), { timeout: 5000, interval: 20 });
    expect(d.find('bob')?.password_hash).toBe(HASH);
    expect(messages()).toContain('users file reloaded (2 users)');
  });

  it('refresh() reads a changed file at once, without waiting for the poll, and nothing when unchanged', () => {
    writeUsersFile(path, [storedUser('alice')]);
    let changes = 0;
    directory = new UserDirectory({ path, logger: createLogger('info', log), pollIntervalMs: 60_000 });
    const d = directory;
    d.start(() => changes++);
    d.refresh();
    expect(changes).toBe(1);
    writeUsersFile(path, [storedUser('alice'), storedUser('bob', { password_hash: HASH })]);
    d.refresh();
    expect(d.find('bob')?.password_hash).toBe(HASH);
    expect(changes).toBe(2);
  });

  it('keeps the previous users when the file turns bad, logging where, and recovers when it is fixed', async () => {
    writeUsersFile(path, [storedUser('alice', { password_hash: HASH, totp_secret: SECRET })]);
    let changes = 0;
    const d = start(() => changes++);
    writeFileSync(path, `version: v1\nusers:\n  - name: alice\n    password_hash: ${HASH}\n    roles: [access\n`);
    await vi.waitFor(() => expect(log.lines()).toHaveLength(2), { timeout: 5000, interval: 20 });
    const error = log.lines()[1];
    expect(error).toMatchObject({ level: 50, msg: 'users file not reloaded; keeping the previous 1 user', users_file: path });
    expect(error?.error).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: invalid YAML: `));
    expect(names(d)).toEqual(['alice']);
    expect(d.find('alice')?.password_hash).toBe(HASH);
    expect(changes).toBe(1);

    writeUsersFile(path, [storedUser('dave')]);
    await vi.waitFor(() => expect(names(d)).toEqual(['dave']), { timeout: 5000, interval: 20 });
    expect(changes).toBe(2);
    // No hash or seed ever reaches the log.
    expect(log.text).not.toContain(HASH.slice(20));
    expect(log.text).not.toContain(SECRET);
  });

  it.skipIf(process.platform === 'win32')('keeps the previous users when the file becomes readable by others', async () => {
    writeUsersFile(path, [storedUser('alice')]);
    const d = start();
    chmodSync(path, 0o644);
    await vi.waitFor(() => expect(log.lines()).toHaveLength(2), { timeout: 5000, interval: 20 });
    expect(log.lines()[1]?.error).toContain(`chmod 600 ${path}`);
    expect(names(d)).toEqual(['alice']);
  });

  it('logs a failing onChange without losing the reload', () => {
    writeUsersFile(path, [storedUser('alice')]);
    const d = start(() => {
      throw new Error('boom');
    });
    expect(names(d)).toEqual(['alice']);
    expect(log.lines()[1]).toMatchObject({ level: 50, msg: 'applying the reloaded users file failed', error: 'boom' });
  });

  it('stops watching', async () => {
    writeUsersFile(path, [storedUser('alice')]);
    const d = start();
    // A second directory on the same file (node polls one path once for all its listeners) shows
    // when the change has been seen; the stopped one must not have followed it.
    const other = new UserDirectory({ path, logger: createLogger('silent'), pollIntervalMs: 20 });
    other.start(() => {});
    try {
      d.stop();
      writeUsersFile(path, [storedUser('bob')]);
      await vi.waitFor(() => expect(names(other)).toEqual(['bob']), { timeout: 5000, interval: 20 });
      expect(names(d)).toEqual(['alice']);
    } finally {
      other.stop();
    }
  });
});
