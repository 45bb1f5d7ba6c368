import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerUsersCommand } from '../../../src/cli/users.js';
import { verifyPassword } from '../../../src/users/password-hash.js';
import { decodeBase32, matchTotp, totpCode } from '../../../src/users/totp.js';
import { readUsersFile, writeUsersFile, type StoredUser } from '../../../src/users/users-file.js';
import { runCommand, writeConfig } from './cli-harness.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const LATER = new Date('2024-06-01T08:30:00.000Z');
let root: string;
let config: string;
let usersFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-users-cli-'));
  config = writeConfig(root);
  usersFile = join(root, 'data', 'users.yaml');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function users(args: string[], options: { stdin?: string; now?: Date } = {}) {
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  const now = options.now ?? NOW;
  return runCommand((program) => registerUsersCommand(program, { stdin, now: () => now }), ['users', ...args, '--config', config]);
}

const stored = (): StoredUser[] => readUsersFile(usersFile);
const storedUser = (name: string): StoredUser | undefined => stored().find((user) => user.name === name);

/** The URI's secret parameter. */
function secretIn(output: string): string {
  const match = /otpauth:\/\/totp\/\S+\?secret=([A-Z2-7]+)&/.exec(output);
  if (match?.[1] === undefined) throw new Error(`no otpauth URI in: ${output}`);
  return match[1];
}

describe('gatehouse users add', () => {
  it('adds a user with roles, traits and a generated password it prints once', async () => {
    const result = await users(['add', 'bob', '--roles', 'access', '--traits', 'db_users=app_reader,db_names=app', '--traits', 'db_users=app_writer']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBeUndefined();
    const password = /Generated password for bob \(it will not be shown again; hand it over safely\):\n {2}(\S+)\n/.exec(result.stdout)?.[1] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(result.stdout).toMatch(/^Added user bob \(roles: access\)\.\n/);
    expect(result.stdout).toContain(`Wrote ${usersFile}; a running Gatehouse picks up the change within a few seconds.\n`);

    const bob = storedUser('bob');
    expect(bob).toMatchObject({
      name: 'bob',
      roles: ['access'],
      traits: { db_users: ['app_reader', 'app_writer'], db_names: ['app'] },
      created_at: NOW.toISOString(),
      updated_at: NOW.toISOString(),
    });
    expect(bob?.totp_secret).toBeUndefined();
    expect(await verifyPassword(password, bob?.password_hash)).toBe(true);
    expect(statSync(usersFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'data')).mode & 0o777).toBe(0o700);
  });

  it('generates a different password each time', async () => {
    const first = await users(['add', 'bob', '--roles', 'access']);
    const second = await users(['add', 'carol', '--roles', 'access']);
    const grab = (text: string) => /\n {2}(\S{20,})\n/.exec(text)?.[1];
    expect(grab(first.stdout)).toBeDefined();
    expect(grab(first.stdout)).not.toBe(grab(second.stdout));
  });

  it('reads the password from stdin, without one trailing newline, and prints none', async () => {
    const result = await users(['add', 'bob', '--roles', 'access', '--password-stdin'], { stdin: 'pass word ok\n' });
    expect(result.exitCode).toBeUndefined();
    expect(result.stdout).not.toContain('Generated password');
    expect(await verifyPassword('pass word ok', storedUser('bob')?.password_hash)).toBe(true);

    await users(['add', 'carol', '--roles', 'access', '--password-stdin'], { stdin: 'trailing\n\n' });
    expect(await verifyPassword('trailing\n', storedUser('carol')?.password_hash)).toBe(true);
    await users(['add', 'dave', '--roles', 'access', '--password-stdin'], { stdin: 'windows!\r\n' });
    expect(await verifyPassword('windows!', storedUser('dave')?.password_hash)).toBe(true);
  });

  it('enrols TOTP with --totp, printing the otpauth URI and a QR code', async () => {
    const result = await users(['add', 'bob', '--roles', 'access', '--totp']);
    expect(result.exitCode).toBeUndefined();
    const secret = secretIn(result.stdout);
    expect(result.stdout).toContain(`otpauth://totp/Gatehouse:bob%40gatehouse.test?secret=${secret}&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30\n`);
    expect(result.stdout).toMatch(/[▄▀█]{5,}/);
    expect(storedUser('bob')?.totp_secret).toBe(secret);
    expect(decodeBase32(secret)).toHaveLength(20);
  });

  it('leaves the QR code out with --no-qr', async () => {
    const result = await users(['add', 'bob', '--roles', 'access', '--totp', '--no-qr']);
    expect(result.exitCode).toBeUndefined();
    expect(result.stdout).toContain('otpauth://totp/');
    expect(result.stdout).not.toMatch(/[▄▀█]/);
  });

  it.each([
    [['add', 'alice', '--roles', 'access'], /^user "alice" is already defined in .*gatehouse\.yaml; to let it log in with dbctl, give it a password with: gatehouse users set-password alice\n$/],
    [['add', 'bob', '--roles', 'admin'], /^role "admin" is not defined in .*gatehouse\.yaml \(roles: access\)\n$/],
    [['add', 'bob', '--roles', ' , '], /^--roles needs at least one role, e\.g\. --roles access\n$/],
    [['add', 'bob', '--roles', 'access', '--traits', 'db_users'], /^--traits: "db_users" is not KEY=VALUE; write e\.g\. --traits db_users=app_reader,db_names=app\n$/],
    [['add', 'bob', '--roles', 'access', '--traits', '=x'], /^--traits: "=x" is not KEY=VALUE/],
    [['add', 'bo\u0007b', '--roles', 'access'], /^"bo\\u0007b" cannot be a user name: it contains control characters\n$/],
    [['add', ' bob', '--roles', 'access'], /^" bob" cannot be a user name: it starts or ends with white space\n$/],
    [['add', '', '--roles', 'access'], /^"" cannot be a user name: it is empty\n$/],
    [['add', 'bob'], /required option '--roles <roles>' not specified/],
  ])('refuses %j', async (args, message) => {
    const result = await users(args);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(existsSync(usersFile)).toBe(false);
  });

  it('refuses a name the users file already has', async () => {
    await users(['add', 'bob', '--roles', 'access']);
    const before = readFileSync(usersFile, 'utf8');
    const result = await users(['add', 'bob', '--roles', 'access']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `user "bob" already exists in ${usersFile}; change its password with "gatehouse users set-password bob", or remove it first with "gatehouse users rm bob"\n`,
    );
    expect(readFileSync(usersFile, 'utf8')).toBe(before);
  });

  it.each([
    ['', /^--password-stdin: stdin was empty; pipe the password in, e\.g\.: printf '%s' "\$PASSWORD" \| gatehouse users \.\.\. --password-stdin\n$/],
    ['\n', /stdin was empty/],
    ['short\n', /^--password-stdin: the password has fewer than 8 characters; choose a longer one, or leave out --password-stdin to have one generated\n$/],
    ['x'.repeat(1025), /^--password-stdin: the password is longer than 1024 bytes\n$/],
    ['x'.repeat(100_000), /^--password-stdin: the password is longer than 1024 bytes\n$/],
  ])('refuses the stdin password %#', async (stdin, message) => {
    const result = await users(['add', 'bob', '--roles', 'access', '--password-stdin'], { stdin });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(usersFile)).toBe(false);
  });

  it.skipIf(process.platform === 'win32')('refuses to touch a users file others can read', async () => {
    await users(['add', 'bob', '--roles', 'access']);
    chmodSync(usersFile, 0o644);
    const result = await users(['add', 'carol', '--roles', 'access']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`fix it with: chmod 600 ${usersFile}`);
  });

  it('reports a broken users file with its line and column', async () => {
    await users(['add', 'bob', '--roles', 'access']);
    writeFileSync(usersFile, 'version: v1\nusers:\n  - nam: bob\n', { mode: 0o600 });
    const result = await users(['add', 'carol', '--roles', 'access']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${usersFile}:3:5: users[0].nam: unknown key "nam"; did you mean "name"?`);
  });

  it('reports a broken config', async () => {
    writeFileSync(config, 'version: v2\n');
    const result = await users(['add', 'bob', '--roles', 'access']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/gatehouse\.yaml:1:10: version: must be v1/);
  });
});

describe('gatehouse users set-password', () => {
  it("stores a gatehouse.yaml user's password in a record of its own, without roles", async () => {
    const result = await users(['set-password', 'alice', '--password-stdin'], { stdin: 'alice-secret\n' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`Set the password of alice.\nWrote ${usersFile}; a running Gatehouse picks up the change within a few seconds.\n`);
    const alice = storedUser('alice');
    expect(alice).toMatchObject({ name: 'alice', roles: [], traits: {}, created_at: NOW.toISOString() });
    expect(await verifyPassword('alice-secret', alice?.password_hash)).toBe(true);
  });

  it('replaces the password of a stored user, keeping everything else', async () => {
    await users(['add', 'bob', '--roles', 'access', '--traits', 'db_users=x', '--totp', '--no-qr']);
    const before = storedUser('bob');
    const result = await users(['set-password', 'bob'], { now: LATER });
    expect(result.exitCode).toBeUndefined();
    const password = /Generated password for bob .*\n {2}(\S+)\n/.exec(result.stdout)?.[1];
    const after = storedUser('bob');
    expect(after).toMatchObject({ roles: ['access'], traits: { db_users: ['x'] }, totp_secret: before?.totp_secret, created_at: NOW.toISOString(), updated_at: LATER.toISOString() });
    expect(after?.password_hash).not.toBe(before?.password_hash);
    expect(await verifyPassword(password ?? '', after?.password_hash)).toBe(true);
  });

  it('refuses an unknown user, saying how to add one', async () => {
    const result = await users(['set-password', 'mallory']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^unknown user "mallory": neither .*gatehouse\.yaml nor .*users\.yaml defines it; add it with: gatehouse users add mallory --roles ROLE\n$/);
  });
});

describe('gatehouse users rm', () => {
  it('removes a stored user', async () => {
    await users(['add', 'bob', '--roles', 'access']);
    await users(['add', 'carol', '--roles', 'access']);
    const result = await users(['rm', 'bob']);
    expect(result.stdout).toBe(`Removed user bob.\nWrote ${usersFile}; a running Gatehouse picks up the change within a few seconds.\n`);
    expect(stored().map((user) => user.name)).toEqual(['carol']);
  });

  it("removes only a gatehouse.yaml user's stored secrets, and says so", async () => {
    await users(['set-password', 'alice']);
    const result = await users(['rm', 'alice']);
    expect(result.exitCode).toBeUndefined();
    expect(result.stdout).toMatch(/^Removed the stored password and TOTP of alice; alice is still defined in .*gatehouse\.yaml but can no longer log in with dbctl\.\n/);
    expect(stored()).toEqual([]);
  });

  it('refuses a user only gatehouse.yaml defines, and an unknown user', async () => {
    const yamlOnly = await users(['rm', 'alice']);
    expect(yamlOnly.exitCode).toBe(1);
    expect(yamlOnly.stderr).toMatch(/^user "alice" is defined in (.*gatehouse\.yaml), and the users file holds nothing for it; remove it from \1 instead\n$/);
    const unknown = await users(['rm', 'mallory']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^unknown user "mallory"/);
  });
});

describe('gatehouse users ls', () => {
  beforeEach(async () => {
    await users(['add', 'bob', '--roles', 'access', '--traits', 'db_users=bob_rw', '--totp', '--no-qr']);
    await users(['set-password', 'alice']);
    await users(['add', 'carol', '--roles', 'access', '--password-stdin'], { stdin: 'carol-password' });
  });

  it('prints a table of every user, sorted by name', async () => {
    await users(['rm', 'alice']);
    const result = await users(['ls']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'NAME   SOURCE  ROLES   PASSWORD  TOTP',
        'alice  yaml    access  no        no',
        'bob    file    access  yes       yes',
        'carol  file    access  yes       no',
        '',
      ].join('\n'),
    );
  });

  it('shows yaml+file for a gatehouse.yaml user with stored secrets', async () => {
    const result = await users(['ls']);
    expect(result.stdout.split('\n')[1]).toBe('alice  yaml+file  access  yes       no');
  });

  it('prints JSON without hashes or seeds', async () => {
    const result = await users(['ls', '--format', 'json']);
    expect(result.exitCode).toBeUndefined();
    expect(JSON.parse(result.stdout)).toEqual({
      users: [
        { name: 'alice', source: 'yaml+file', roles: ['access'], traits: { db_users: ['app_reader'], db_names: ['app'] }, password: true, totp: false },
        { name: 'bob', source: 'file', roles: ['access'], traits: { db_users: ['bob_rw'] }, password: true, totp: true },
        { name: 'carol', source: 'file', roles: ['access'], traits: {}, password: true, totp: false },
      ],
    });
    for (const user of stored()) {
      if (user.password_hash !== undefined) expect(result.stdout).not.toContain(user.password_hash.split('$')[4]);
      if (user.totp_secret !== undefined) expect(result.stdout).not.toContain(user.totp_secret);
    }
  });

  it('warns about stored roles the config no longer defines, and lists the user without them', async () => {
    writeUsersFile(usersFile, [...stored().filter((user) => user.name !== 'carol'), { ...(storedUser('carol') as StoredUser), roles: ['access', 'retired'] }]);
    const result = await users(['ls']);
    expect(result.exitCode).toBeUndefined();
    expect(result.stderr).toMatch(/^warning: user "carol": role "retired" is not defined in .*gatehouse\.yaml; ignoring it\n$/);
    expect(result.stdout).toContain('carol  file       access  yes       no');
  });

  it('refuses an unknown format', async () => {
    const result = await users(['ls', '--format', 'xml']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/argument 'xml' is invalid\. Allowed choices are text, json/);
  });
});

describe('gatehouse users ls without users', () => {
  it('says how to add one, or prints an empty list', async () => {
    writeFileSync(config, readFileSync(config, 'utf8').replace(/\nusers:\n[\s\S]*$/, '\n'));
    const text = await users(['ls']);
    expect(text.exitCode).toBeUndefined();
    expect(text.stdout).toBe('No users. Add one with: gatehouse users add NAME --roles ROLE\n');
    expect(JSON.parse((await users(['ls', '--format', 'json'])).stdout)).toEqual({ users: [] });
  });
});

describe('gatehouse users totp', () => {
  it("enrols a gatehouse.yaml user, whose code then matches, and notes it has no password yet", async () => {
    const result = await users(['totp', 'enroll', 'alice', '--no-qr']);
    expect(result.exitCode).toBeUndefined();
    expect(result.stderr).toBe('note: alice has no password yet, so cannot log in; set one with: gatehouse users set-password alice\n');
    expect(result.stdout).toMatch(/^Enrolled a TOTP authenticator for alice; from now on its logins need the current 6-digit code too\.\n/);
    const secret = secretIn(result.stdout);
    expect(result.stdout).toContain(`(secret for manual entry: ${secret}; it will not be shown again)`);
    expect(storedUser('alice')).toMatchObject({ roles: [], totp_secret: secret });
    const at = Date.now();
    expect(matchTotp(secret, totpCode(secret, at), at)).toBeDefined();
  });

  it('prints a QR code unless --no-qr', async () => {
    const result = await users(['totp', 'enroll', 'alice']);
    expect(result.stdout).toMatch(/[▄▀█]{5,}/);
  });

  it('refuses to replace an enrolment without --force, and replaces it with', async () => {
    await users(['add', 'bob', '--roles', 'access', '--totp', '--no-qr']);
    const first = storedUser('bob')?.totp_secret;
    const refused = await users(['totp', 'enroll', 'bob', '--no-qr']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe('bob already has a TOTP authenticator enrolled; to replace it (the old one stops working), run: gatehouse users totp enroll bob --force\n');
    expect(storedUser('bob')?.totp_secret).toBe(first);
    const replaced = await users(['totp', 'enroll', 'bob', '--no-qr', '--force']);
    expect(replaced.exitCode).toBeUndefined();
    expect(replaced.stderr).toBe('');
    expect(storedUser('bob')?.totp_secret).toBe(secretIn(replaced.stdout));
    expect(storedUser('bob')?.totp_secret).not.toBe(first);
  });

  it('removes an enrolment, dropping a gatehouse.yaml user record left with no secret', async () => {
    await users(['add', 'bob', '--roles', 'access', '--totp', '--no-qr']);
    await users(['totp', 'enroll', 'alice', '--no-qr']);
    const result = await users(['totp', 'rm', 'bob'], { now: LATER });
    expect(result.stdout).toBe(`Removed the TOTP authenticator of bob; its logins need only the password now.\nWrote ${usersFile}; a running Gatehouse picks up the change within a few seconds.\n`);
    expect(storedUser('bob')?.totp_secret).toBeUndefined();
    expect(storedUser('bob')?.updated_at).toBe(LATER.toISOString());
    await users(['totp', 'rm', 'alice']);
    expect(storedUser('alice')).toBeUndefined();
  });

  it('refuses to remove what is not there', async () => {
    await users(['add', 'bob', '--roles', 'access']);
    const result = await users(['totp', 'rm', 'bob']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('bob has no TOTP authenticator enrolled; nothing to remove\n');
    const unknown = await users(['totp', 'enroll', 'mallory']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^unknown user "mallory"/);
  });
});
