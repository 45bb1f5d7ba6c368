import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/rbac/decide.js';
import { withStoredUsers } from '../../../src/users/merge-users.js';
import { storedUser, usersTestConfig } from './users-config.js';

describe('withStoredUsers', () => {
  it('returns the config itself when the users file adds nobody', () => {
    const config = usersTestConfig();
    expect(withStoredUsers(config, [])).toEqual({ config, warnings: [] });
    const merged = withStoredUsers(config, [storedUser('alice', { password_hash: 'h' })]);
    expect(merged.config).toBe(config);
    expect(merged.warnings).toEqual([]);
  });

  it('appends stored users after the gatehouse.yaml users, with their roles and traits', () => {
    const config = usersTestConfig();
    const { config: merged, warnings } = withStoredUsers(config, [
      storedUser('bob', { roles: ['access'], traits: { db_users: ['bob_rw'] } }),
      storedUser('carol', { roles: ['admin', 'access'] }),
    ]);
    expect(warnings).toEqual([]);
    expect(merged.users).toEqual([
      { name: 'alice', roles: ['access'], traits: { db_users: ['app_reader'] } },
      { name: 'bob', roles: ['access'], traits: { db_users: ['bob_rw'] } },
      { name: 'carol', roles: ['admin', 'access'], traits: {} },
    ]);
    // Everything else is the same config, and RBAC sees the new users.
    expect(merged.roles).toBe(config.roles);
    expect(merged.source).toBe(config.source);
    expect(decide(merged, { user: 'bob', database: 'local', dbUser: 'bob_rw', dbName: 'app' }).allowed).toBe(true);
    expect(decide(merged, { user: 'bob', database: 'local', dbUser: 'app_reader', dbName: 'app' }).allowed).toBe(false);
    // The input config is untouched.
    expect(config.users.map((user) => user.name)).toEqual(['alice']);
  });

  it('lets gatehouse.yaml win for a user defined in both, warning only when the stored record has roles or traits', () => {
    const config = usersTestConfig();
    const { config: merged, warnings } = withStoredUsers(config, [storedUser('alice', { roles: ['admin'], traits: { db_users: ['postgres'] } })]);
    expect(merged.users).toEqual([{ name: 'alice', roles: ['access'], traits: { db_users: ['app_reader'] } }]);
    expect(warnings).toEqual([
      'user "alice" is defined in both /etc/gatehouse/gatehouse.yaml and the users file; the roles and traits in /etc/gatehouse/gatehouse.yaml apply',
    ]);
  });

  it('drops roles the config does not define, saying which', () => {
    const { config: merged, warnings } = withStoredUsers(usersTestConfig(), [
      storedUser('bob', { roles: ['access', 'ops'] }),
      storedUser('dave', { roles: ['gone'] }),
    ]);
    expect(merged.users.slice(1)).toEqual([
      { name: 'bob', roles: ['access'], traits: {} },
      { name: 'dave', roles: [], traits: {} },
    ]);
    expect(warnings).toEqual([
      'user "bob": role "ops" is not defined in /etc/gatehouse/gatehouse.yaml; ignoring it',
      'user "dave": role "gone" is not defined in /etc/gatehouse/gatehouse.yaml; ignoring it',
    ]);
  });

  it('freezes the merged config without freezing the stored records', () => {
    const bob = storedUser('bob', { roles: ['access'], traits: { db_users: ['x'] } });
    const { config } = withStoredUsers(usersTestConfig(), [bob]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.users)).toBe(true);
    expect(Object.isFrozen(config.users[1]?.traits.db_users)).toBe(true);
    expect(Object.isFrozen(bob.traits.db_users)).toBe(false);
    expect(Object.isFrozen(bob.roles)).toBe(false);
  });
});
