import { describe, expect, it } from 'vitest';
import type { LockLookup } from '../../../src/admin/lock-store.js';
import type { Lock } from '../../../src/admin/locks-file.js';
import { connectRefusal, sessionAccess } from '../../../src/admin/session-access.js';
import { recheckSessions, type RecheckableSession } from '../../../src/admin/session-recheck.js';
import { parseConfig } from '../../../src/config/load.js';
import type { GatehouseError } from '../../../src/errors.js';

function config(accessDbUsers: string, users: string) {
  return parseConfig(
    `version: v1
databases:
  - { name: main, uri: db.internal:5432, labels: { env: dev } }
  - { name: other, uri: other.internal:5432, labels: { env: dev } }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: ${accessDbUsers}, db_names: [app] }
  - name: ops
    options: { admin: true }
users:
${users}`,
    'gh.yaml',
  );
}

const BOTH = '  - { name: alice, roles: [access] }\n  - { name: bob, roles: [access, ops] }\n';
const before = config('[app_user, app_admin]', BOTH);

class FakeSession implements RecheckableSession {
  ended: { error: GatehouseError; reason: string } | undefined;
  terminating = false;

  constructor(
    readonly id: string,
    readonly user: string | undefined,
    readonly databaseName: string | undefined,
    readonly dbUser: string | undefined,
    readonly dbName: string | undefined,
  ) {}

  terminate(error: GatehouseError, reason: string): void {
    this.ended = { error, reason };
    this.terminating = true;
  }
}

function locks(...held: Lock[]): LockLookup {
  return { lockFor: (user, database) => held.find((lock) => lock.user === user && (lock.database === undefined || lock.database === database)) };
}

const LOCK: Lock = { id: '0123456789ab', user: 'alice', database: 'main', reason: 'incident 42', created_by: 'bob', created_at: '2030-01-01T10:00:00.000Z', expires_at: '2030-01-01T11:00:00.000Z' };

describe('recheckSessions', () => {
  it('leaves sessions the new config still allows alone and ends the ones a role edit revoked, with 28000 GH_ERR_ACCESS_REVOKED', () => {
    const reader = new FakeSession('s1', 'alice', 'main', 'app_user', 'app');
    const admin = new FakeSession('s2', 'alice', 'main', 'app_admin', 'app');
    const after = config('[app_user]', BOTH);
    expect(recheckSessions([reader, admin], before, undefined)).toEqual([]);
    const ended = recheckSessions([reader, admin], after, undefined);
    expect(reader.ended).toBeUndefined();
    const reason = 'access to db user "app_admin" on database "main" denied for alice: no role of alice allows db user "app_admin" (allowed: app_user)';
    expect(ended).toEqual([{ id: 's2', user: 'alice', reason: `access revoked: ${reason}` }]);
    expect(admin.ended?.reason).toBe(`access revoked: ${reason}`);
    expect(admin.ended?.error).toMatchObject({ code: 'GH_ERR_ACCESS_REVOKED', sqlState: '28000', message: `terminating connection: access revoked: ${reason}` });
    expect(admin.ended?.error.hint).toContain('dbctl ls');
  });

  it('ends the sessions of a user who was removed, saying so', () => {
    const alice = new FakeSession('s1', 'alice', 'main', 'app_user', 'app');
    const bob = new FakeSession('s2', 'bob', 'other', 'app_user', 'app');
    const ended = recheckSessions([alice, bob], config('[app_user]', '  - { name: bob, roles: [access] }\n'), undefined);
    expect(ended.map((session) => session.id)).toEqual(['s1']);
    expect(alice.ended?.error.message).toBe('terminating connection: access revoked: access to database "main" denied for alice: the user alice is not known to Gatehouse');
    expect(bob.ended).toBeUndefined();
  });

  it('ends the sessions a lock covers (only on its database) with 28000 GH_ERR_LOCKED and the lock reason', () => {
    const onMain = new FakeSession('s1', 'alice', 'main', 'app_user', 'app');
    const onOther = new FakeSession('s2', 'alice', 'other', 'app_user', 'app');
    const bob = new FakeSession('s3', 'bob', 'main', 'app_user', 'app');
    const ended = recheckSessions([onMain, onOther, bob], before, locks(LOCK));
    expect(ended).toEqual([{ id: 's1', user: 'alice', reason: 'locked by bob (lock 0123456789ab): incident 42' }]);
    expect(onMain.ended?.error).toMatchObject({
      code: 'GH_ERR_LOCKED',
      sqlState: '28000',
      message: 'user alice is locked for database main until 2030-01-01T11:00:00.000Z by bob: incident 42',
      hint: 'Ask a Gatehouse administrator; they see the lock with "gatehouse locks ls".',
    });
    const everywhere: Lock = { id: LOCK.id, user: 'alice', reason: LOCK.reason, created_by: 'bob', created_at: LOCK.created_at };
    recheckSessions([onOther], before, locks(everywhere));
    expect(onOther.ended?.error.message).toBe('user alice is locked by bob: incident 42');
  });

  it('skips sessions still in their startup and sessions already ending', () => {
    const starting = new FakeSession('s1', 'alice', undefined, undefined, undefined);
    const anonymous = new FakeSession('s2', undefined, undefined, undefined, undefined);
    const ending = new FakeSession('s3', 'alice', 'main', 'app_user', 'app');
    ending.terminating = true;
    expect(recheckSessions([starting, anonymous, ending], config('[]', '  []'), locks(LOCK))).toEqual([]);
    expect([starting, anonymous, ending].map((session) => session.ended)).toEqual([undefined, undefined, undefined]);
  });
});

describe('sessionAccess at connect time', () => {
  it('is the same verdict: RBAC first (28000 GH_ERR_ACCESS_DENIED), then the lock (GH_ERR_LOCKED)', () => {
    const denied = sessionAccess(before, locks(LOCK), { user: 'alice', database: 'main', dbUser: 'postgres', dbName: 'app' });
    expect(denied.allowed).toBe(false);
    if (denied.allowed) throw new Error('RBAC allowed a denied db user');
    expect(connectRefusal(denied)).toMatchObject({ code: 'GH_ERR_ACCESS_DENIED', sqlState: '28000' });
    const locked = sessionAccess(before, locks(LOCK), { user: 'alice', database: 'main', dbUser: 'app_user', dbName: 'app' });
    if (locked.allowed) throw new Error('the lock was not seen');
    expect(connectRefusal(locked)).toMatchObject({ code: 'GH_ERR_LOCKED', sqlState: '28000', message: 'user alice is locked for database main until 2030-01-01T11:00:00.000Z by bob: incident 42' });
    expect(sessionAccess(before, locks(LOCK), { user: 'alice', database: 'other', dbUser: 'app_user', dbName: 'app' })).toEqual({ allowed: true });
  });
});
