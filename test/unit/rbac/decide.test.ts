import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/rbac/decide.js';
import { rbacConfig } from './rbac-config.js';

const config = rbacConfig();

describe('decide: the allow/deny matrix', () => {
  it.each([
    // user, database, db user, db name, allowed
    // trait templates fill db_users and db_names; labels pick the databases
    ['alice', 'local', 'app_reader', 'app', true],
    ['alice', 'staging', 'app_reader', 'postgres', true],
    ['alice', 'prod', 'app_reader', 'app', false], // env=prod not in [dev, staging]
    ['alice', 'bare', 'app_reader', 'app', false], // no labels: nothing selects it
    ['alice', 'local', 'app_writer', 'app', false], // not in alice's traits
    ['alice', 'local', 'app_reader', 'other', false],
    ['alice', 'local', '{{internal.db_users}}', 'app', false], // a template never matches literally
    // deny wins over allow, within the same role
    ['alice', 'local', 'postgres', 'app', false],
    // multiple roles: each role is checked as a whole
    ['bob', 'local', 'app_writer', 'app_audit', true],
    ['bob', 'prod', 'reader', 'app', true], // readonly-prod; label value from a list
    ['bob', 'prod', 'app_writer', 'app', false], // access does not reach prod, readonly-prod does not allow app_writer
    ['bob', 'prod', 'reader', 'app_audit', false],
    ['bob', 'local', 'reader', 'app', false], // reader is allowed only where readonly-prod applies
    // '*' everywhere
    ['root', 'prod', 'postgres', 'anything', true],
    ['root', 'bare', 'x', 'y', true], // '*': '*' also matches a database without labels
    // a deny with only labels shuts out the whole database, even for an admin
    ['carol', 'prod', 'reader', 'app', false],
    ['carol', 'staging', 'postgres', 'postgres', true],
    // a deny with only db_names applies on every database
    ['dave', 'local', 'postgres', 'secrets', false],
    ['dave', 'prod', 'postgres', 'secrets', false],
    ['dave', 'prod', 'postgres', 'public', true],
    // a deny with labels and db users needs both
    ['ivan', 'prod', 'postgres', 'app', false],
    ['ivan', 'staging', 'postgres', 'app', true],
    ['ivan', 'prod', 'reader', 'app', true],
    // external traits, templates with a prefix, label value '*', an empty deny list
    ['erin', 'prod', 'erin_rw', 'db_payments', true],
    ['erin', 'local', 'erin_rw', 'db_payments', true],
    ['erin', 'bare', 'erin_rw', 'db_payments', false], // env: '*' needs an env label
    ['erin', 'prod', 'erin_rw', 'payments', false],
    ['erin', 'prod', 'erin', 'db_payments', false],
    // missing traits expand to nothing
    ['frank', 'local', 'app_reader', 'postgres', false],
    // no roles, roles without labels
    ['gina', 'local', 'a', 'b', false],
    ['hank', 'local', 'a', 'b', false],
    // one role picks the database, another the db user: still no single role allows all three
    ['judy', 'prod', 'app_reader', 'app', false],
    ['judy', 'prod', 'analyst', 'reports', true],
    ['judy', 'staging', 'app_reader', 'reports', false],
    // unknown user, unknown database
    ['mallory', 'local', 'app_reader', 'app', false],
    ['alice', 'nope', 'app_reader', 'app', false],
  ] as const)('%s on %s as %s/%s → %s', (user, database, dbUser, dbName, allowed) => {
    expect(decide(config, { user, database, dbUser, dbName }).allowed).toBe(allowed);
  });
});

describe('decide: the reasons a person reads', () => {
  const reason = (user: string, database: string, dbUser: string, dbName: string) => decide(config, { user, database, dbUser, dbName }).reason;

  it('says which role allowed it', () => {
    expect(reason('alice', 'local', 'app_reader', 'app')).toBe(
      'access to db user "app_reader" and db name "app" on database "local" allowed for alice by role access',
    );
    expect(reason('bob', 'prod', 'reader', 'app')).toBe(
      'access to db user "reader" and db name "app" on database "prod" allowed for bob by role readonly-prod',
    );
  });

  it('names the role whose deny matched', () => {
    expect(reason('alice', 'local', 'postgres', 'app')).toBe('access to db user "postgres" on database "local" denied for alice: denied by role access');
    expect(reason('carol', 'prod', 'reader', 'app')).toBe('access to db user "reader" on database "prod" denied for carol: denied by role no-prod');
    expect(reason('ivan', 'prod', 'postgres', 'app')).toBe(
      'access to db user "postgres" on database "prod" denied for ivan: denied by role prod-superuser-block',
    );
  });

  it('names the roles and the labels when no role selects the database', () => {
    expect(reason('alice', 'prod', 'app_reader', 'app')).toBe(
      'access to database "prod" denied for alice: none of alice\'s roles (access) allow databases with labels env=prod, team=payments',
    );
    expect(reason('hank', 'local', 'a', 'b')).toBe('access to database "local" denied for hank: none of hank\'s roles (nothing) allow databases with labels env=dev');
    expect(reason('alice', 'bare', 'app_reader', 'app')).toBe(
      'access to database "bare" denied for alice: none of alice\'s roles (access) allow databases without labels',
    );
    expect(reason('gina', 'local', 'a', 'b')).toBe('access to database "local" denied for gina: gina has no roles');
  });

  it('names the db user and the db users that are allowed', () => {
    expect(reason('alice', 'local', 'admin', 'app')).toBe(
      'access to db user "admin" on database "local" denied for alice: no role of alice allows db user "admin" (allowed: app_reader)',
    );
    expect(reason('bob', 'prod', 'app_writer', 'app')).toBe(
      'access to db user "app_writer" on database "prod" denied for bob: no role of bob allows db user "app_writer" (allowed: reader)',
    );
    expect(reason('judy', 'prod', 'app_reader', 'app')).toBe(
      'access to db user "app_reader" on database "prod" denied for judy: no role of judy allows db user "app_reader" (allowed: analyst)',
    );
    expect(reason('frank', 'local', 'app_reader', 'postgres')).toBe(
      'access to db user "app_reader" on database "local" denied for frank: no role of frank allows db user "app_reader" (allowed: none)',
    );
  });

  it('names the db name and the db names that are allowed', () => {
    expect(reason('alice', 'local', 'app_reader', 'other')).toBe(
      'access to db name "other" as db user "app_reader" on database "local" denied for alice: no role of alice allows db name "other" (allowed: app, postgres)',
    );
    expect(reason('erin', 'prod', 'erin_rw', 'payments')).toBe(
      'access to db name "payments" as db user "erin_rw" on database "prod" denied for erin: no role of erin allows db name "payments" (allowed: db_payments)',
    );
  });

  it('says when the user or the database is unknown', () => {
    expect(reason('mallory', 'local', 'app_reader', 'app')).toBe('access to database "local" denied for mallory: the user mallory is not known to Gatehouse');
    expect(reason('alice', 'nope', 'app_reader', 'app')).toBe('access to database "nope" denied for alice: Gatehouse has no database named "nope"');
  });
});
