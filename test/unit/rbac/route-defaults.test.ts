import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/rbac/decide.js';
import { checkRouteDefaults } from '../../../src/rbac/route-defaults.js';
import { rbacConfig } from './rbac-config.js';

const config = rbacConfig();

describe('checkRouteDefaults', () => {
  it('is decide() when both a db user and a db name are given', () => {
    const request = { user: 'alice', database: 'local', dbUser: 'app_reader', dbName: 'app' };
    expect(checkRouteDefaults(config, request)).toEqual(decide(config, request));
    const refused = { user: 'alice', database: 'local', dbUser: 'app_reader', dbName: 'other' };
    expect(checkRouteDefaults(config, refused)).toEqual(decide(config, refused));
    expect(checkRouteDefaults(config, refused).allowed).toBe(false);
  });

  it('allows a database alone when a role selects it', () => {
    expect(checkRouteDefaults(config, { user: 'alice', database: 'local' })).toEqual({
      allowed: true,
      reason: 'access to database "local" allowed for alice by role access',
    });
  });

  it.each([
    [{ dbUser: 'app_reader' }, true, 'access to db user "app_reader" on database "local" allowed for alice by role access'],
    [{ dbName: 'postgres' }, true, 'access to db name "postgres" on database "local" allowed for alice by role access'],
    [{ dbUser: 'admin' }, false, 'access to db user "admin" on database "local" denied for alice: no role of alice allows db user "admin" (allowed: app_reader)'],
    [{ dbName: 'other' }, false, 'access to db name "other" on database "local" denied for alice: no role of alice allows db name "other" (allowed: app, postgres)'],
    [{ dbUser: 'postgres' }, false, 'access to db user "postgres" on database "local" denied for alice: denied by role access'],
  ] as const)('alice on local with %o → %s', (defaults, allowed, reason) => {
    expect(checkRouteDefaults(config, { user: 'alice', database: 'local', ...defaults })).toEqual({ allowed, reason });
  });

  it('honours a deny about the given value alone, and ignores one that also needs the other value', () => {
    expect(checkRouteDefaults(config, { user: 'dave', database: 'local', dbName: 'secrets' })).toEqual({
      allowed: false,
      reason: 'access to db name "secrets" on database "local" denied for dave: denied by role no-secrets',
    });
    expect(checkRouteDefaults(config, { user: 'ivan', database: 'prod', dbName: 'app' }).allowed).toBe(true);
    expect(checkRouteDefaults(config, { user: 'ivan', database: 'prod', dbUser: 'postgres' }).reason).toBe(
      'access to db user "postgres" on database "prod" denied for ivan: denied by role prod-superuser-block',
    );
  });

  it('refuses what canEverAccessDatabase refuses, with the same words', () => {
    expect(checkRouteDefaults(config, { user: 'alice', database: 'prod', dbUser: 'app_reader' }).reason).toBe(
      "access to database \"prod\" denied for alice: none of alice's roles (access) allow databases with labels env=prod, team=payments",
    );
    expect(checkRouteDefaults(config, { user: 'mallory', database: 'local' }).reason).toBe(
      'access to database "local" denied for mallory: the user mallory is not known to Gatehouse',
    );
  });
});
