import { describe, expect, it } from 'vitest';
import { canEverAccessDatabase, rolesMatchingDatabase } from '../../../src/rbac/database-access.js';
import { rbacConfig } from './rbac-config.js';

const config = rbacConfig();
const roleNames = (user: string, database: string) => rolesMatchingDatabase(config, user, database).map((role) => role.name);

describe('rolesMatchingDatabase', () => {
  it('lists the user roles whose allow labels select the database, in the user order', () => {
    expect(roleNames('alice', 'local')).toEqual(['access']);
    expect(roleNames('alice', 'prod')).toEqual([]);
    expect(roleNames('bob', 'prod')).toEqual(['readonly-prod']);
    expect(roleNames('judy', 'staging')).toEqual(['access', 'payments-any-env']);
    expect(roleNames('root', 'bare')).toEqual(['admin']);
    expect(roleNames('hank', 'local')).toEqual([]);
  });

  it('is empty for an unknown user or database', () => {
    expect(roleNames('mallory', 'local')).toEqual([]);
    expect(roleNames('alice', 'nope')).toEqual([]);
  });
});

describe('canEverAccessDatabase', () => {
  it.each([
    ['alice', 'local', true, 'access to database "local" allowed for alice by role access'],
    ['bob', 'prod', true, 'access to database "prod" allowed for bob by role readonly-prod'],
    // a deny of a single db user or db name leaves the database usable
    ['alice', 'staging', true, 'access to database "staging" allowed for alice by role access'],
    ['dave', 'prod', true, 'access to database "prod" allowed for dave by role admin'],
    ['ivan', 'prod', true, 'access to database "prod" allowed for ivan by role admin'],
    // a deny by labels alone shuts the database
    ['carol', 'prod', false, 'access to database "prod" denied for carol: denied by role no-prod'],
    ['carol', 'local', true, 'access to database "local" allowed for carol by role admin'],
    ['alice', 'prod', false, 'access to database "prod" denied for alice: none of alice\'s roles (access) allow databases with labels env=prod, team=payments'],
    ['gina', 'local', false, 'access to database "local" denied for gina: gina has no roles'],
    ['mallory', 'local', false, 'access to database "local" denied for mallory: the user mallory is not known to Gatehouse'],
    ['alice', 'nope', false, 'access to database "nope" denied for alice: Gatehouse has no database named "nope"'],
  ] as const)('%s on %s → %s', (user, database, allowed, reason) => {
    expect(canEverAccessDatabase(config, user, database)).toEqual({ allowed, reason });
  });

  it('honours a deny whose db users are "*"', () => {
    const role = config.roles.find((candidate) => candidate.name === 'no-secrets');
    if (role === undefined) throw new Error('fixture has no-secrets');
    const everyone = { ...role, name: 'no-one', deny: { db_labels: { env: ['dev'] }, db_users: ['*'] } };
    const changed = { ...config, roles: [...config.roles, everyone], users: [{ name: 'zed', roles: ['admin', 'no-one'], traits: {} }] };
    expect(canEverAccessDatabase(changed, 'zed', 'local')).toEqual({ allowed: false, reason: 'access to database "local" denied for zed: denied by role no-one' });
    expect(canEverAccessDatabase(changed, 'zed', 'staging').allowed).toBe(true);
  });
});
