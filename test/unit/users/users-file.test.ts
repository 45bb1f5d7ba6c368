import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/load.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';
import { MAX_USERS_FILE_BYTES, parseUsersFile, readUsersFile, writeUsersFile, type StoredUser } from '../../../src/users/users-file.js';

// A real hash (of "secret"), so the file validates; its cost does not matter for parsing.
const HASH = '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U';
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const TIME = '2024-05-01T12:00:00.000Z';

const alice: StoredUser = {
  name: 'alice',
  roles: ['access'],
  traits: { db_users: ['app_reader'], db_names: ['app'] },
  password_hash: HASH,
  totp_secret: SECRET,
  created_at: TIME,
  updated_at: TIME,
};
const bob: StoredUser = { name: 'bob', roles: [], traits: {}, created_at: TIME, updated_at: TIME };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-users-file-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (path: string): number => statSync(path).mode & 0o777;

function writeRaw(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
}

function failure(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected a refusal');
}

describe('users file', () => {
  it('has no users when it does not exist, is empty, or holds only comments', () => {
    expect(readUsersFile(join(dir, 'missing.yaml'))).toEqual([]);
    expect(readUsersFile(writeRaw('empty.yaml', ''))).toEqual([]);
    expect(readUsersFile(writeRaw('comments.yaml', '# nothing yet\n'))).toEqual([]);
    expect(readUsersFile(writeRaw('no-users.yaml', 'version: v1\n'))).toEqual([]);
  });

  it('writes 0600 into a new 0700 directory and reads back what it wrote', () => {
    const path = join(dir, 'data', 'nested', 'users.yaml');
    writeUsersFile(path, [alice, bob]);
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(join(dir, 'data'))).toBe(0o700);
    expect(modeOf(join(dir, 'data', 'nested'))).toBe(0o700);
    expect(readUsersFile(path)).toEqual([alice, bob]);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^# Gatehouse users/);
    expect(text).toContain('version: v1');
  });

  it('replaces the file by renaming and leaves no temporary file behind', () => {
    const path = join(dir, 'users.yaml');
    writeUsersFile(path, [alice]);
    const before = statSync(path).ino;
    writeUsersFile(path, [bob]);
    expect(statSync(path).ino).not.toBe(before);
    expect(readUsersFile(path)).toEqual([bob]);
    expect(readdirSync(dir)).toEqual(['users.yaml']);
  });

  it('quotes names YAML would otherwise read as something else', () => {
    const path = join(dir, 'users.yaml');
    const odd = ['yes', '123', 'null', 'a: b', '- x', '#hash', 'zoë'].map((name) => ({ ...bob, name }));
    writeUsersFile(path, odd);
    expect(readUsersFile(path).map((user) => user.name)).toEqual(odd.map((user) => user.name));
  });

  it('refuses to write a user the daemon would refuse to read', () => {
    const path = join(dir, 'users.yaml');
    expect(() => writeUsersFile(path, [{ ...bob, name: 'bad\nname' }])).toThrow(/users\[0\]\.name: cannot be a user name: it contains control characters/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')('refuses a file other users can read, saying how to fix it', () => {
    const path = join(dir, 'users.yaml');
    writeUsersFile(path, [alice]);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      const error = failure(() => readUsersFile(path));
      expect(error.code).toBe(ErrorCodes.KEY_PERMISSIONS);
      expect(error.message).toBe(
        `users file ${path} has mode ${'0' + mode.toString(8)}, so users other than its owner can read the password hashes and TOTP secrets in it; fix it with: chmod 600 ${path}`,
      );
    }
    chmodSync(path, 0o400);
    expect(readUsersFile(path)).toEqual([alice]);
  });

  it.skipIf(process.platform === 'win32')('quotes an odd path in the chmod advice', () => {
    const path = writeRaw("it's users.yaml", 'version: v1\n', 0o644);
    expect(failure(() => readUsersFile(path)).message).toContain(`chmod 600 '${dir}/it'\\''s users.yaml'`);
  });

  it('refuses a directory and an oversized file', () => {
    const sub = join(dir, 'users.yaml');
    mkdirSync(sub, { mode: 0o700 });
    expect(failure(() => readUsersFile(sub)).message).toBe(`${sub}: cannot read the users file: it is not a regular file`);
    const big = writeRaw('big.yaml', `# ${'x'.repeat(MAX_USERS_FILE_BYTES)}\n`);
    const error = failure(() => readUsersFile(big));
    expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(error.message).toMatch(/the users file is \d+ bytes; Gatehouse reads users files of at most 8388608 bytes/);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const error = failure(() => parseUsersFile('version: v1\nusers:\n  - name: alice\n    roles: [access\n', '/x/users.yaml'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(error.message).toMatch(/^\/x\/users\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('reports every schema problem as FILE:LINE:COL: PATH: MESSAGE', () => {
    const text = [
      'version: v1', //                                1
      'users:', //                                     2
      '  - name: alice', //                            3
      '    roles: [access]', //                        4
      '    rolse: [x]', //                             5
      '    password_hash: nope', //                    6
      `    created_at: ${TIME}`, //                    7
      `    updated_at: yesterday`, //                  8
      '  - name: ""', //                               9
      '    totp_secret: "abc!"', //                    10
      `    created_at: ${TIME}`, //                    11
      `    updated_at: ${TIME}`, //                    12
      '  - name: alice', //                            13
      `    created_at: ${TIME}`, //                    14
      `    updated_at: ${TIME}`, //                    15
      '  - name: carol', //                            16
      '    totp_secret: GEZDGNBV', //                  17
      '    traits: { db_users: app }', //              18
      '', //                                           19
    ].join('\n');
    const error = failure(() => parseUsersFile(text, 'users.yaml'));
    expect(error.message.split('\n')).toEqual([
      'users.yaml:5:5: users[0].rolse: unknown key "rolse"; did you mean "roles"? (allowed here: name, roles, traits, password_hash, totp_secret, created_at, updated_at)',
      'users.yaml:6:20: users[0].password_hash: is not a Gatehouse password hash ($scrypt$ln=N,r=N,p=N$SALT$KEY); set the password again with "gatehouse users set-password"',
      'users.yaml:8:17: users[0].updated_at: must be a UTC time such as 2024-05-01T12:00:00.000Z',
      'users.yaml:9:11: users[1].name: cannot be a user name: it is empty',
      'users.yaml:10:18: users[1].totp_secret: is not base32: it contains a character other than A-Z and 2-7; enrol again with "gatehouse users totp enroll"',
      'users.yaml:13:11: users[2].name: duplicate user name "alice" (first defined at users[0].name, line 3)',
      'users.yaml:16:5: users[3].created_at: is required',
      'users.yaml:16:5: users[3].updated_at: is required',
      'users.yaml:17:18: users[3].totp_secret: is a 5-byte secret; Gatehouse accepts 10 to 64 bytes',
      'users.yaml:18:25: users[3].traits.db_users: must be a list, not "app"',
    ]);
  });

  it('never repeats a password hash or TOTP secret in a message', () => {
    const text = `version: v1\nusers:\n  - name: a\n    password_hash: "$scrypt$SEEKRIT"\n    totp_secret: "SEEKRIT!"\n    created_at: ${TIME}\n    updated_at: ${TIME}\n  - name: b\n    password_hash: 12345\n    totp_secret: [SEEKRIT]\n    created_at: ${TIME}\n    updated_at: ${TIME}\n`;
    const message = failure(() => parseUsersFile(text, 'users.yaml')).message;
    expect(message.split('\n')).toHaveLength(4);
    expect(message).not.toContain('SEEKRIT');
    expect(message).not.toContain('12345');
    expect(message).toContain('users[1].password_hash: must be a string');
  });

  it('requires version v1 and refuses unknown top-level keys', () => {
    const message = failure(() => parseUsersFile('users: []\nextra: 1\n', 'u.yaml')).message;
    expect(message).toContain('u.yaml:1:1: version: is required');
    expect(message).toContain('u.yaml:2:1: extra: unknown key "extra" (allowed here: version, users)');
  });
});
