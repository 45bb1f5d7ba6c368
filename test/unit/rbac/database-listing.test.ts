import { describe, expect, it } from 'vitest';
import type { GatehouseConfig, RoleConfig } from '../../../src/config/types.js';
import { databasesForUser } from '../../../src/rbac/database-listing.js';
import { rbacConfig } from './rbac-config.js';

const config = rbacConfig();
const names = (user: string, from: GatehouseConfig = config) => databasesForUser(from, user).map((database) => database.name);
const entry = (user: string, database: string, from: GatehouseConfig = config) => databasesForUser(from, user).find((candidate) => candidate.name === database);

/** The fixture plus one role and one user holding it (and any fixture roles named). */
function withRole(role: Pick<RoleConfig, 'name' | 'allow' | 'deny'>, userRoles: string[] = [], traits: Record<string, string[]> = {}): GatehouseConfig {
  const full: RoleConfig = { ...role, options: { max_session_ttl_ms: 3_600_000 } };
  return { ...config, roles: [...config.roles, full], users: [...config.users, { name: 'zed', roles: [role.name, ...userRoles], traits }] };
}

describe('databasesForUser', () => {
  it('lists the databases a role selects by labels, sorted by name, with description, protocol and labels', () => {
    expect(databasesForUser(config, 'alice')).toEqual([
      { name: 'local', description: '', protocol: 'postgres', labels: { env: 'dev' }, db_users: ['app_reader'], db_names: ['app', 'postgres'] },
      { name: 'staging', description: '', protocol: 'postgres', labels: { env: 'staging', team: 'payments' }, db_users: ['app_reader'], db_names: ['app', 'postgres'] },
    ]);
  });

  it('expands traits, deduplicates and sorts the values of all matching roles', () => {
    expect(entry('bob', 'local')).toMatchObject({ db_users: ['app_reader', 'app_writer'], db_names: ['app', 'app_audit', 'postgres'] });
    expect(entry('bob', 'prod')).toMatchObject({ db_users: ['reader'], db_names: ['app'] });
    expect(entry('judy', 'staging')).toMatchObject({ db_users: ['analyst', 'app_reader'], db_names: ['app', 'postgres', 'reports'] });
    expect(entry('judy', 'prod')).toMatchObject({ db_users: ['analyst'], db_names: ['reports'] });
    expect(entry('erin', 'prod')).toMatchObject({ db_users: ['erin_rw'], db_names: ['db_payments'] });
  });

  it('uses only the roles that select that database', () => {
    expect(names('bob')).toEqual(['local', 'prod', 'staging']);
    expect(names('judy')).toEqual(['local', 'prod', 'staging']);
    expect(names('erin')).toEqual(['local', 'prod', 'staging']);
  });

  it('keeps "*" as "*", also when a deny names one value under it', () => {
    expect(names('root')).toEqual(['bare', 'local', 'prod', 'staging']);
    expect(entry('root', 'bare')).toMatchObject({ labels: {}, db_users: ['*'], db_names: ['*'] });
    expect(entry('ivan', 'prod')).toMatchObject({ db_users: ['*'], db_names: ['*'] });
  });

  it('leaves out a database a deny shuts entirely, and keeps one a deny only narrows', () => {
    expect(names('carol')).toEqual(['bare', 'local', 'staging']);
    expect(names('dave')).toEqual(['bare', 'local', 'prod', 'staging']);
  });

  it('removes values a deny names literally, on the databases that deny applies to', () => {
    const zed = withRole({
      name: 'mixed',
      allow: { db_labels: { '*': ['*'] }, db_users: ['postgres', 'reader', '{{internal.extra}}'], db_names: ['app', 'secrets'] },
      deny: { db_labels: { env: ['prod'] }, db_users: ['postgres', '{{internal.blocked}}'] },
    }, ['no-secrets'], { extra: ['ops'], blocked: ['ops'] });
    expect(entry('zed', 'prod', zed)).toMatchObject({ db_users: ['reader'], db_names: ['app'] });
    expect(entry('zed', 'local', zed)).toMatchObject({ db_users: ['ops', 'postgres', 'reader'], db_names: ['app'] });
  });

  it('keeps a value a deny refuses only together with another condition', () => {
    const zed = withRole({
      name: 'narrow',
      allow: { db_labels: { env: ['dev'] }, db_users: ['postgres'], db_names: ['template1', 'app'] },
      deny: { db_users: ['postgres'], db_names: ['template1'] },
    });
    expect(entry('zed', 'local', zed)).toMatchObject({ db_users: ['postgres'], db_names: ['app', 'template1'] });
  });

  it('lists a selected database even when no value is left (the user learns the database exists and what is missing)', () => {
    expect(entry('frank', 'local')).toMatchObject({ db_users: [], db_names: ['postgres'] });
  });

  it('is empty for users without usable roles and for unknown users', () => {
    expect(names('gina')).toEqual([]);
    expect(names('hank')).toEqual([]);
    expect(names('mallory')).toEqual([]);
  });

  it('does not hand out the config objects themselves', () => {
    const listed = databasesForUser(config, 'alice')[0];
    expect(listed?.labels).not.toBe(config.databases[0]?.labels);
  });
});
