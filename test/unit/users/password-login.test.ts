import { beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../src/users/login-throttle.js';
import { withStoredUsers } from '../../../src/users/merge-users.js';
import { hashPassword } from '../../../src/users/password-hash.js';
import { LOGIN_FAILED_MESSAGE, PasswordLogin, TOTP_INVALID_MESSAGE, TOTP_REQUIRED_MESSAGE, type LoginOutcome } from '../../../src/users/password-login.js';
import { totpCode } from '../../../src/users/totp.js';
import type { StoredUser } from '../../../src/users/users-file.js';
import { storedUser, usersTestConfig } from './users-config.js';

const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const START = 1_700_000_000_000;
let hash: string;

beforeAll(async () => {
  hash = await hashPassword('right password');
});

/** alice (gatehouse.yaml, password stored), bob (file, password + TOTP), carol (file, no password), erin (file, admin). */
function setup(maxFailures = 3) {
  const clock = { now: START };
  const stored: StoredUser[] = [
    storedUser('alice', { password_hash: hash }),
    storedUser('bob', { roles: ['access'], password_hash: hash, totp_secret: SECRET }),
    storedUser('carol', { roles: ['access'] }),
    storedUser('erin', { roles: ['admin'], password_hash: hash }),
  ];
  const byName = new Map(stored.map((user) => [user.name, user]));
  let config = withStoredUsers(usersTestConfig(), stored).config;
  const throttle = new LoginThrottle({ maxFailures, lockoutMs: 300_000, now: () => clock.now });
  const login = new PasswordLogin({ config: () => config, directory: { find: (name) => byName.get(name) }, throttle, now: () => clock.now });
  return {
    clock,
    throttle,
    login: (user: string, password: string, totp?: string, clientAddress = '10.0.0.1') => login.login({ user, password, totpCode: totp, clientAddress }),
    dropFromConfig: (name: string) => {
      config = { ...config, users: config.users.filter((user) => user.name !== name) };
    },
  };
}

function failed(outcome: LoginOutcome) {
  if (outcome.ok) throw new Error('expected the login to fail');
  return outcome;
}

describe('PasswordLogin', () => {
  it('logs in a gatehouse.yaml user with a stored password, returning their config entry', async () => {
    const { login } = setup();
    expect(await login('alice', 'right password')).toEqual({ ok: true, user: { name: 'alice', roles: ['access'], traits: { db_users: ['app_reader'] } }, mfa: false });
  });

  it('logs in a users-file user', async () => {
    const { login } = setup();
    const outcome = await login('erin', 'right password');
    expect(outcome).toEqual({ ok: true, user: { name: 'erin', roles: ['admin'], traits: {} }, mfa: false });
  });

  it('gives one answer for a wrong password, an unknown user and a user without a password', async () => {
    const { login } = setup(100);
    const answers = [await login('alice', 'wrong'), await login('mallory', 'right password'), await login('carol', 'right password')].map(failed);
    for (const answer of answers) {
      expect(answer.code).toBe('GH_ERR_LOGIN_FAILED');
      expect(answer.message).toBe(LOGIN_FAILED_MESSAGE);
      expect(answer.message).toBe('invalid user name or password');
      expect(answer.retryAfterMs).toBeUndefined();
    }
    expect(answers.map((answer) => answer.reason)).toEqual(['wrong password', 'unknown user', 'no password set']);
  });

  it('refuses a stored user that is not in the merged config', async () => {
    const { login, dropFromConfig } = setup();
    dropFromConfig('erin');
    expect(failed(await login('erin', 'right password'))).toMatchObject({ code: 'GH_ERR_LOGIN_FAILED', reason: 'unknown user' });
  });

  it('asks for a TOTP code after the right password, without counting a failure', async () => {
    const { login, throttle } = setup(1);
    const outcome = failed(await login('bob', 'right password'));
    expect(outcome).toEqual({ ok: false, code: 'GH_ERR_TOTP_REQUIRED', message: TOTP_REQUIRED_MESSAGE, reason: 'TOTP code required' });
    expect(failed(await login('bob', 'right password', ''))).toMatchObject({ code: 'GH_ERR_TOTP_REQUIRED' });
    expect(throttle.retryAfterMs('bob', '10.0.0.1')).toBe(0);
  });

  it('never asks a caller with the wrong password for a TOTP code', async () => {
    const { login } = setup();
    expect(failed(await login('bob', 'wrong'))).toMatchObject({ code: 'GH_ERR_LOGIN_FAILED', reason: 'wrong password' });
    expect(failed(await login('bob', 'wrong', totpCode(SECRET, START)))).toMatchObject({ code: 'GH_ERR_LOGIN_FAILED' });
  });

  it('accepts the right code (also typed with a space) once, with mfa', async () => {
    const { login, clock } = setup();
    const code = totpCode(SECRET, clock.now);
    expect(await login('bob', 'right password', code)).toEqual({ ok: true, user: { name: 'bob', roles: ['access'], traits: {} }, mfa: true });
    const reused = failed(await login('bob', 'right password', code));
    expect(reused).toEqual({ ok: false, code: 'GH_ERR_TOTP_INVALID', message: TOTP_INVALID_MESSAGE, reason: 'reused TOTP code' });
    clock.now += 30_000;
    const next = totpCode(SECRET, clock.now);
    expect(await login('bob', 'right password', `${next.slice(0, 3)} ${next.slice(3)}`)).toMatchObject({ ok: true, mfa: true });
  });

  it('refuses a code from an earlier step once a later one was used', async () => {
    const { login, clock } = setup();
    const previous = totpCode(SECRET, clock.now - 30_000);
    expect(await login('bob', 'right password', totpCode(SECRET, clock.now))).toMatchObject({ ok: true });
    expect(failed(await login('bob', 'right password', previous))).toMatchObject({ code: 'GH_ERR_TOTP_INVALID', reason: 'reused TOTP code' });
  });

  it('accepts only one of two concurrent logins with the same code', async () => {
    const { login, clock } = setup();
    const code = totpCode(SECRET, clock.now);
    const outcomes = await Promise.all([login('bob', 'right password', code), login('bob', 'right password', code)]);
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
  });

  it('refuses a wrong code and counts it as a failure', async () => {
    const { login, clock, throttle } = setup();
    const wrong = totpCode(SECRET, clock.now + 120_000);
    expect(failed(await login('bob', 'right password', wrong))).toEqual({ ok: false, code: 'GH_ERR_TOTP_INVALID', message: TOTP_INVALID_MESSAGE, reason: 'wrong TOTP code' });
    expect(failed(await login('bob', 'right password', 'abcdef'))).toMatchObject({ code: 'GH_ERR_TOTP_INVALID' });
    await login('bob', 'right password', '000000x');
    expect(throttle.retryAfterMs('bob', '10.0.0.9')).toBe(300_000);
  });

  it('throttles after maxFailures, before checking the password, and says when to retry', async () => {
    const { login, clock } = setup(3);
    for (let i = 0; i < 3; i++) await login('alice', `guess ${i}`);
    const refused = failed(await login('alice', 'right password'));
    expect(refused).toEqual({
      ok: false,
      code: 'GH_ERR_LOGIN_THROTTLED',
      message: 'too many failed logins; try again in 300 s',
      retryAfterMs: 300_000,
      reason: 'throttled',
    });
    clock.now += 299_001;
    expect(failed(await login('alice', 'right password')).message).toBe('too many failed logins; try again in 1 s');
    clock.now += 999;
    expect(await login('alice', 'right password')).toMatchObject({ ok: true });
  });

  it('throttles an address guessing across users, even for a user it never tried', async () => {
    const { login } = setup(3);
    await login('alice', 'x', undefined, '192.0.2.1');
    await login('mallory', 'x', undefined, '192.0.2.1');
    await login('bob', 'x', undefined, '192.0.2.1');
    expect(failed(await login('erin', 'right password', undefined, '192.0.2.1')).code).toBe('GH_ERR_LOGIN_THROTTLED');
    expect(await login('erin', 'right password', undefined, '192.0.2.2')).toMatchObject({ ok: true });
  });

  it('clears the user count on success', async () => {
    const { login } = setup(3);
    await login('alice', 'x', undefined, '10.0.0.1');
    await login('alice', 'x', undefined, '10.0.0.2');
    expect(await login('alice', 'right password', undefined, '10.0.0.3')).toMatchObject({ ok: true });
    await login('alice', 'x', undefined, '10.0.0.4');
    await login('alice', 'x', undefined, '10.0.0.5');
    expect(await login('alice', 'right password', undefined, '10.0.0.6')).toMatchObject({ ok: true });
  });
});
