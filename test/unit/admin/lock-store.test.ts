import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LockStore } from '../../../src/admin/lock-store.js';
import { parseLocksFile, readLocksFile } from '../../../src/admin/locks-file.js';
import { createLogger } from '../../../src/logging.js';
import { CaptureStream } from '../../support/capture-stream.js';

const HOUR = 3_600_000;
let dir: string;
let log: CaptureStream;
let clock: { now: number };
const stores: LockStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-locks-'));
  log = new CaptureStream();
  clock = { now: Date.parse('2030-01-01T10:00:00.000Z') };
});

afterEach(() => {
  for (const store of stores.splice(0)) store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function start(onChange: () => void = () => {}): LockStore {
  const store = new LockStore({ dataDir: dir, logger: createLogger('info', log), now: () => clock.now, pollIntervalMs: 20 });
  store.start(onChange);
  stores.push(store);
  return store;
}

describe('LockStore', () => {
  it('adds locks to <data_dir>/locks.yaml (0600, no temporary file left) and finds the one that applies', () => {
    const store = start();
    const everywhere = store.add({ user: 'alice', reason: 'incident 42', createdBy: 'root' });
    const onMain = store.add({ user: 'bob', database: 'main', ttlMs: HOUR, reason: 'rotating keys', createdBy: 'root' });
    expect(everywhere.id).toMatch(/^[0-9a-f]{12}$/);
    expect(onMain).toMatchObject({ user: 'bob', database: 'main', created_by: 'root', created_at: '2030-01-01T10:00:00.000Z', expires_at: '2030-01-01T11:00:00.000Z' });
    expect(everywhere).not.toHaveProperty('expires_at');

    const file = join(dir, 'locks.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['locks.yaml']);
    expect(readLocksFile(file)).toEqual([everywhere, onMain]);

    expect(store.lockFor('alice', 'main')).toEqual(everywhere);
    expect(store.lockFor('alice', 'other')).toEqual(everywhere);
    expect(store.lockFor('bob', 'main')).toEqual(onMain);
    expect(store.lockFor('bob', 'other')).toBeUndefined();
    expect(store.lockFor('carol', 'main')).toBeUndefined();
  });

  it('ignores an expired lock at once and drops it from the file at the next write', () => {
    const store = start();
    const brief = store.add({ user: 'alice', ttlMs: 60_000, reason: 'a minute', createdBy: 'root' });
    expect(store.lockFor('alice', 'main')).toEqual(brief);
    clock.now += 60_000;
    expect(store.lockFor('alice', 'main')).toBeUndefined();
    expect(store.active()).toEqual([]);
    expect(readLocksFile(join(dir, 'locks.yaml'))).toEqual([brief]);
    const next = store.add({ user: 'bob', reason: 'r', createdBy: 'root' });
    expect(readLocksFile(join(dir, 'locks.yaml'))).toEqual([next]);
  });

  it('removes a lock by id, and says undefined for an unknown or expired one', () => {
    const store = start();
    const lock = store.add({ user: 'alice', reason: 'r', createdBy: 'root' });
    const brief = store.add({ user: 'bob', ttlMs: 1_000, reason: 'r', createdBy: 'root' });
    expect(store.remove('abcdef012345')).toBeUndefined();
    clock.now += 1_000;
    expect(store.remove(brief.id)).toBeUndefined();
    expect(store.remove(lock.id)).toEqual(lock);
    expect(store.active()).toEqual([]);
    expect(readLocksFile(join(dir, 'locks.yaml'))).toEqual([]);
  });

  it('sees locks another process sharing the data directory adds and removes', async () => {
    let changes = 0;
    const here = start(() => changes++);
    const elsewhere = start();
    const lock = elsewhere.add({ user: 'alice', database: 'main', reason: 'from the other instance', createdBy: 'root' });
    await vi.waitFor(() => expect(here.lockFor('alice', 'main')).toEqual(lock), { timeout: 5000, interval: 20 });
    expect(changes).toBeGreaterThanOrEqual(1);
    elsewhere.remove(lock.id);
    await vi.waitFor(() => expect(here.lockFor('alice', 'main')).toBeUndefined(), { timeout: 5000, interval: 20 });
    // And a change made here is read afresh first: the other instance's lock is not lost.
    const second = elsewhere.add({ user: 'bob', reason: 'r', createdBy: 'root' });
    const third = here.add({ user: 'carol', reason: 'r', createdBy: 'root' });
    expect(readLocksFile(join(dir, 'locks.yaml'))).toEqual([second, third]);
  });

  it('keeps the locks it read when the file stops reading, logging FILE:LINE:COL, and does not overwrite it', async () => {
    const file = join(dir, 'locks.yaml');
    const store = start();
    const lock = store.add({ user: 'alice', reason: 'r', createdBy: 'root' });
    const text = readFileSync(file, 'utf8').replace('user: alice', 'usr: alice');
    writeFileSync(file, text, { mode: 0o600 });
    await vi.waitFor(() => expect(log.lines().some((line) => String(line.msg).startsWith('locks file not reloaded'))).toBe(true), { timeout: 5000, interval: 20 });
    const failure = log.lines().find((line) => String(line.msg).startsWith('locks file not reloaded'));
    expect(failure?.msg).toBe('locks file not reloaded; keeping the 1 lock(s) read before');
    expect(String(failure?.error)).toContain(`${file}:7:5: locks[0].usr: unknown key "usr"; did you mean "user"?`);
    expect(store.lockFor('alice', 'main')).toEqual(lock);
    expect(() => store.add({ user: 'bob', reason: 'r', createdBy: 'root' })).toThrow(/^the locks file cannot be changed until it reads again: .*unknown key "usr"/s);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('refuses a locks file other users may write', () => {
    const file = join(dir, 'locks.yaml');
    writeFileSync(file, 'version: v1\nlocks: []\n');
    chmodSync(file, 0o666);
    expect(() => readLocksFile(file)).toThrow(`locks file ${file} has mode 0666, so users other than its owner can change the locks; fix it with: chmod 600 ${file}`);
    start();
    expect(log.lines()[0]?.msg).toBe('locks file not loaded; keeping the 0 lock(s) read before');
  });

  it('reads a missing or empty file as no locks and names the line of a bad value', () => {
    expect(readLocksFile(join(dir, 'missing.yaml'))).toEqual([]);
    expect(parseLocksFile('', 'l.yaml')).toEqual([]);
    expect(() => parseLocksFile('version: v1\nlocks:\n  - { id: 0a0a0a0a0a0a, user: alice, reason: r, created_by: root, created_at: yesterday }\n', 'l.yaml')).toThrow(
      /^l\.yaml:3:\d+: locks\[0\]\.created_at: must be a UTC time/,
    );
  });
});
