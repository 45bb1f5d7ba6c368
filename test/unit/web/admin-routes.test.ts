import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReloadOutcome } from '../../../src/admin/config-reload.js';
import { LockStore } from '../../../src/admin/lock-store.js';
import { recheckSessions } from '../../../src/admin/session-recheck.js';
import { parseConfig } from '../../../src/config/load.js';
import type { GatehouseError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logging.js';
import { LocalSessions, type AdminSession } from '../../../src/admin/session-directory.js';
import { adminApiRoutes } from '../../../src/web/admin-routes.js';
import { ApiError } from '../../../src/web/api-errors.js';
import type { ApiReply, ApiRoute } from '../../../src/web/web-server.js';
import { CaptureStream } from '../../support/capture-stream.js';
import { RecordingAudit } from './recording-audit.js';

const config = parseConfig(
  `version: v1
databases:
  - { name: main, uri: db.internal:5432, labels: { env: dev } }
  - { name: embedded-one, kind: embedded, labels: { env: dev } }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }
  - name: ops
    options: { admin: true }
users:
  - { name: root, roles: [ops] }
  - { name: alice, roles: [access] }
`,
  'gh.yaml',
);
const NOW = Date.parse('2030-01-01T10:00:00.000Z');

class FakeSession implements AdminSession {
  ended: { error: GatehouseError; reason: string } | undefined;
  terminating = false;
  readonly clientAddress = '10.0.0.7:50123';
  readonly startedAt = NOW - 60_000;
  readonly bytesFromClient = 120;
  readonly bytesToClient = 4096;

  readonly databaseName: string | undefined;
  readonly dbUser: string | undefined;
  readonly dbName: string | undefined;

  /** Without `authorized`, the session is still in its startup: no route yet. */
  constructor(
    readonly id: string,
    readonly user: string | undefined,
    authorized = true,
  ) {
    this.databaseName = authorized ? 'main' : undefined;
    this.dbUser = authorized ? 'app_user' : undefined;
    this.dbName = authorized ? 'app' : undefined;
  }

  terminate(error: GatehouseError, reason: string): void {
    this.ended = { error, reason };
    this.terminating = true;
  }
}

let dir: string;
let locks: LockStore;
let audit: RecordingAudit;
let sessions: FakeSession[];
let reloadOutcome: ReloadOutcome;
let routes: ApiRoute[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-routes-'));
  locks = new LockStore({ dataDir: dir, logger: createLogger('info', new CaptureStream()), now: () => NOW });
  audit = new RecordingAudit();
  sessions = [new FakeSession('s-alice', 'alice'), new FakeSession('s-starting', 'alice', false)];
  reloadOutcome = { ok: true, warnings: [], sessionsEnded: [] };
  routes = adminApiRoutes({
    config: () => config,
    audit,
    sessions: new LocalSessions(() => sessions),
    locks,
    enforce: () => recheckSessions(sessions, config, locks),
    reload: () => reloadOutcome,
    status: () => ({ startedAt: NOW - 3_661_000, pid: 4242, listeners: { postgres: '127.0.0.1:5432', web: '127.0.0.1:3080' }, embeddedAddress: () => '127.0.0.1:40001' }),
    summary: () => Promise.resolve({ sessions_started: 3 }),
    now: () => NOW,
  });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const caller = { user: config.users[0]!, notAfter: new Date(NOW + 300_000), serialNumber: '01' };

/** Calls a route as the web server would for an administrator, refusals included. */
async function call(method: 'GET' | 'POST', path: string, body: Record<string, unknown> = {}): Promise<{ reply?: ApiReply; error?: ApiError }> {
  const route = routes.find((candidate) => candidate.method === method && candidate.path === path);
  if (route === undefined) throw new Error(`no route ${method} ${path}`);
  expect(route.auth).toBe('admin');
  try {
    return { reply: await route.handle({ id: 'r', clientAddress: '127.0.0.1', clientEndpoint: '127.0.0.1:9', body, caller }) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    route.refused?.({ clientEndpoint: '127.0.0.1:9', caller, body }, error);
    return { error };
  }
}

describe('the admin API routes', () => {
  it('status: versions, uptime, listeners, databases with kind, address and TLS mode, counts and the metrics summary', async () => {
    const { reply } = await call('GET', '/v1/admin/status');
    expect(reply?.body).toMatchObject({
      node: process.version,
      openssl: process.versions.openssl,
      pid: 4242,
      started_at: '2030-01-01T08:58:59.000Z',
      uptime_s: 3661,
      listeners: { postgres: '127.0.0.1:5432', web: '127.0.0.1:3080' },
      databases: [
        { name: 'main', kind: 'postgres', address: 'db.internal:5432', tls_mode: 'verify-full' },
        { name: 'embedded-one', kind: 'embedded', address: '127.0.0.1:40001', tls_mode: 'verify-full' },
      ],
      sessions_active: 1,
      locks_active: 0,
      summary: { sessions_started: 3 },
    });
    expect(audit.adminActions).toEqual([{ user: 'root', action: 'status', client_addr: '127.0.0.1:9', success: true }]);
  });

  it('sessions: lists authorized sessions only, kills one with 57P01 naming the administrator, and 404s an unknown id', async () => {
    const listed = await call('GET', '/v1/admin/sessions');
    expect(listed.reply?.body).toEqual({
      sessions: [
        {
          id: 's-alice',
          user: 'alice',
          database: 'main',
          db_user: 'app_user',
          db_name: 'app',
          client_addr: '10.0.0.7:50123',
          started_at: '2030-01-01T09:59:00.000Z',
          bytes_from_client: 120,
          bytes_to_client: 4096,
        },
      ],
    });
    const killed = await call('POST', '/v1/admin/sessions/kill', { id: 's-alice', reason: 'maintenance' });
    expect(killed.reply?.status).toBe(200);
    expect(sessions[0]?.ended?.error).toMatchObject({ code: 'GH_ERR_SESSION_KILLED', sqlState: '57P01', message: 'ended by Gatehouse administrator root: maintenance' });
    expect(sessions[0]?.ended?.reason).toBe('killed by Gatehouse administrator root: maintenance');
    // An ending session is nobody's to kill again.
    const again = await call('POST', '/v1/admin/sessions/kill', { id: 's-alice' });
    expect(again.error?.status).toBe(404);
    expect(again.error?.body()).toEqual({
      error: {
        code: 'GH_ERR_UNKNOWN_SESSION',
        message: 'no running session has the id "s-alice"',
        hint: 'list the running sessions with "gatehouse sessions ls"; the session may have ended already',
      },
    });
    expect(audit.adminActions.slice(1)).toEqual([
      { user: 'root', action: 'sessions.kill', target: 's-alice', reason: 'maintenance', client_addr: '127.0.0.1:9', success: true },
      { user: 'root', action: 'sessions.kill', target: 's-alice', client_addr: '127.0.0.1:9', success: false, error: 'no running session has the id "s-alice"' },
    ]);
  });

  it('locks: adding one ends the matching sessions and lists it; bad requests are refused with what is wrong', async () => {
    const added = await call('POST', '/v1/admin/locks', { user: 'alice', database: 'main', ttl: '1h', reason: 'incident 42' });
    expect(added.reply?.body).toMatchObject({ sessions_ended: 1, lock: { user: 'alice', database: 'main', expires_at: '2030-01-01T11:00:00.000Z', created_by: 'root' } });
    expect(sessions[0]?.ended?.error.message).toBe('user alice is locked for database main until 2030-01-01T11:00:00.000Z by root: incident 42');
    const listed = await call('GET', '/v1/admin/locks');
    expect((listed.reply?.body as { locks: unknown[] }).locks).toHaveLength(1);

    const refusals = await Promise.all([
      call('POST', '/v1/admin/locks', { user: 'mallory', reason: 'r' }),
      call('POST', '/v1/admin/locks', { user: 'alice', database: 'nope', reason: 'r' }),
      call('POST', '/v1/admin/locks', { user: 'alice', ttl: '1d', reason: 'r' }),
      call('POST', '/v1/admin/locks', { user: 'alice', ttl: '0', reason: 'r' }),
      call('POST', '/v1/admin/locks', { user: 'alice' }),
      call('POST', '/v1/admin/locks/remove', { id: 'ffffffffffff' }),
    ]);
    expect(refusals.map(({ error }) => [error?.status, error?.code, error?.message])).toEqual([
      [404, 'GH_ERR_UNKNOWN_USER', 'Gatehouse has no user named "mallory"'],
      [404, 'GH_ERR_UNKNOWN_DATABASE', 'Gatehouse has no database named "nope"'],
      [400, 'GH_ERR_BAD_REQUEST', 'the field "ttl" is not a duration: "1d" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)'],
      [400, 'GH_ERR_BAD_REQUEST', 'the field "ttl" must be longer than 0; leave it out for a lock that lasts until it is removed'],
      [400, 'GH_ERR_BAD_REQUEST', 'the field "reason" is missing'],
      [404, 'GH_ERR_UNKNOWN_LOCK', 'no lock in force has the id "ffffffffffff"'],
    ]);
    const id = (added.reply?.body as { lock: { id: string } }).lock.id;
    expect((await call('POST', '/v1/admin/locks/remove', { id })).reply?.body).toMatchObject({ removed: { id, user: 'alice' } });
    expect(locks.active()).toEqual([]);
    expect(audit.adminActions.find((action) => action.action === 'locks.add' && action.success)).toEqual({
      user: 'root',
      action: 'locks.add',
      target: 'alice on database main',
      reason: 'incident 42',
      client_addr: '127.0.0.1:9',
      success: true,
    });
  });

  it('locks: a change that waits over 5 s for another one holding the file is refused with 503, naming the lock file and what to do', async () => {
    const lockFile = join(dir, 'locks.yaml.lock');
    writeFileSync(lockFile, '4242\n');
    const { error } = await call('POST', '/v1/admin/locks', { user: 'alice', reason: 'incident 43' });
    expect(error?.status).toBe(503);
    expect(error?.body()).toEqual({
      error: {
        code: 'GH_ERR_FILE_BUSY',
        message: `the locks file cannot be changed now: another process has been changing ${join(dir, 'locks.yaml')} for over 5 s (it holds ${lockFile})`,
        hint: `try again; if it persists and no Gatehouse is changing locks, remove ${lockFile}`,
      },
    });
    expect(locks.active()).toEqual([]);
  }, 15_000);

  it('reload: the warnings and ended sessions, or 422 with the config problems', async () => {
    reloadOutcome = { ok: true, warnings: ['proxy.web_listen_addr changed …'], sessionsEnded: [{ id: 's1', user: 'alice', reason: 'access revoked: …' }] };
    expect((await call('POST', '/v1/admin/reload')).reply?.body).toEqual({
      reloaded: true,
      warnings: ['proxy.web_listen_addr changed …'],
      sessions_ended: [{ id: 's1', user: 'alice', reason: 'access revoked: …' }],
    });
    reloadOutcome = { ok: false, errors: ['gh.yaml:3:5: roles[0].alow: unknown key "alow"'] };
    const { error } = await call('POST', '/v1/admin/reload');
    expect(error?.status).toBe(422);
    expect(error?.body()).toEqual({
      error: {
        code: 'GH_ERR_CONFIG_INVALID',
        message: 'the configuration was not reloaded: it has 1 problem; the configuration in force is unchanged',
        hint: 'fix the lines listed in "errors" (gatehouse config check shows the same), then reload again',
      },
      errors: ['gh.yaml:3:5: roles[0].alow: unknown key "alow"'],
    });
    expect((await call('POST', '/v1/admin/reload', { force: true })).error?.message).toBe('this request takes no fields; send an empty JSON object, {}');
  });
});
