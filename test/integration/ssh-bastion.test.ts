// Databases behind an SSH bastion, end to end: a real OpenSSH server on loopback (test/support/sshd.ts),
// a real PostgreSQL, a real Gatehouse, real pg clients. Gatehouse dials the database through the
// bastion (sshd's log shows each forwarded channel), shares one SSH connection among sessions and
// cancel requests, refuses a wrong or unknown host key and a key the bastion does not accept with
// messages that say what to do, tells a running session when the bastion connection is lost and
// reconnects for the next one. `gatehouse ssh-key show` runs as the built executable (needs
// `npm run build`) and makes the key the daemon logs in with.
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { ensureSshKeyPair } from '../../src/ssh/ssh-keys.js';
import { connectionRefusal, startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { runCommand } from '../support/run-command.js';
import { SSHD_LOG, sshdUnavailable, startTestSshd, type TestSshd } from '../support/sshd.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GATEHOUSE = join(REPO_ROOT, 'dist/cli/gatehouse.js');
const APP_PASSWORD = 'app-password-for-ssh-tests-41c9';

const title = sshdUnavailable === undefined ? 'databases behind an SSH bastion' : `databases behind an SSH bastion (skipped: ${sshdUnavailable})`;

describe.skipIf(sshdUnavailable !== undefined)(title, () => {
  let sshd: TestSshd;
  let db: TestPostgres;
  let gatehouse: TestGatehouse;
  let configFile: string;
  let keyLine: string;
  let stopped = false;
  const certificates = new Map<string, ClientCertificate>();

  beforeAll(async () => {
    [sshd, db] = await Promise.all([startTestSshd(), startTestPostgres()]);
    await db.sql(`CREATE ROLE app_user LOGIN PASSWORD '${APP_PASSWORD}'`);
    await db.sql('CREATE DATABASE app OWNER app_user');
    process.env.GH_TEST_SSH_PASSWORD = APP_PASSWORD;
    const files = (name: string) => join(sshd.dir, name);
    writeFileSync(files('known_hosts'), `${sshd.knownHostsLine}\n`);
    // The bastion's address with another key: what a replaced (or impersonated) bastion looks like.
    writeFileSync(files('known_hosts_wrong'), `[127.0.0.1]:${sshd.port} ${utils.generateKeyPairSync('ed25519').public}\n`);
    // The right key, but for another host only.
    writeFileSync(files('known_hosts_other_host'), `bastion.example.com ${sshd.hostKey}\n`);
    ensureSshKeyPair(files('stranger_ed25519'), 'stranger');
    const closedPort = await freePort();
    const tunnel = (options: { knownHosts?: string; key?: string } = {}) =>
      [
        `ssh_tunnel: { host: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, known_hosts_file: ${options.knownHosts ?? files('known_hosts')}`,
        options.key === undefined ? '' : `, private_key_file: ${options.key}`,
        ' }',
      ].join('');
    const database = (name: string, sshTunnel: string, port = db.port) => `
  - name: ${name}
    uri: localhost:${port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile} }
    auth: { password_env: GH_TEST_SSH_PASSWORD }
    ${sshTunnel}`;
    gatehouse = await startTestGatehouse(`
databases:${[
      // The default key file (<data_dir>/ssh/warehouse_ed25519), which `gatehouse ssh-key show` makes below.
      database('warehouse', tunnel()),
      // An authorized key: only the host key check stands in the way.
      database('wrong-host-key', tunnel({ knownHosts: files('known_hosts_wrong'), key: files('shared_ed25519') })),
      database('unknown-host', tunnel({ knownHosts: files('known_hosts_other_host'), key: files('shared_ed25519') })),
      database('stranger', tunnel({ key: files('stranger_ed25519') })),
      database('keyless', tunnel({ key: files('never_made_ed25519') })),
      database('closed-port', tunnel({ key: files('shared_ed25519') }), closedPort),
    ].join('')}
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [app_user], db_names: [app] }
users:
  - name: alice
    roles: [access]
`);
    configFile = join(gatehouse.dir, 'gatehouse.yaml');
    for (const name of ['warehouse', 'wrong-host-key', 'unknown-host', 'stranger', 'keyless', 'closed-port']) {
      certificates.set(name, gatehouse.issue('alice', { database: name }));
    }
    // The administrator's step: `gatehouse ssh-key show` makes the key the daemon uses, and its line goes into authorized_keys.
    const shown = await runCommand(process.execPath, [GATEHOUSE, 'ssh-key', 'show', 'warehouse', '--config', configFile]);
    expect(shown.stderr).toContain(`Add that line to ~${sshd.user}/.ssh/authorized_keys on 127.0.0.1`);
    expect(shown.code).toBe(0);
    keyLine = shown.stdout;
    sshd.authorize(keyLine);
    sshd.authorize(ensureSshKeyPair(files('shared_ed25519'), 'closed-port').publicKeyLine);
  });

  afterAll(async () => {
    if (!stopped) await gatehouse?.stop();
    await Promise.all([sshd?.stop(), db?.stop()]);
  });

  const clientConfig = (database: string) => gatehouse.clientConfig(certificates.get(database) as ClientCertificate, 'app_user', 'app');
  const connect = async (database = 'warehouse') => {
    const client = new pg.Client(clientConfig(database));
    await client.connect();
    client.on('error', () => undefined);
    return client;
  };
  const warehouseBastion = () => gatehouse.daemon.sshTunnels.stats().find((stats) => stats.connections > 0);

  it('`gatehouse ssh-key show` printed one authorized_keys line and wrote a 0600 key in a 0700 directory', async () => {
    expect(keyLine).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* gatehouse-warehouse\n$/);
    const keyFile = join(gatehouse.dir, 'data', 'ssh', 'warehouse_ed25519');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(keyFile)).mode & 0o777).toBe(0o700);
    const again = await runCommand(process.execPath, [GATEHOUSE, 'ssh-key', 'show', 'warehouse', '--config', configFile]);
    expect(again).toMatchObject({ code: 0, stdout: keyLine });
    expect(again.stderr).not.toContain('created');
  });

  it('`gatehouse ssh-key show` refuses a database it does not know, with exit code 1', async () => {
    const unknown = await runCommand(process.execPath, [GATEHOUSE, 'ssh-key', 'show', 'nosuch', '--config', configFile]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(`database "nosuch" is not in ${configFile}`);
    expect(unknown.stderr).toContain('hint: Databases there: warehouse, wrong-host-key');
  });

  it('serves a session through the bastion: the database is dialled over an SSH channel, TLS verified end to end', async () => {
    const channelsBefore = sshd.count(SSHD_LOG.channel);
    const client = await connect();
    try {
      const result = await client.query<{ user: string; ssl: boolean }>('SELECT current_user AS user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(result.rows).toEqual([{ user: 'app_user', ssl: true }]);
    } finally {
      await client.end();
    }
    await sshd.waitForLog(new RegExp(`server_request_direct_tcpip: originator .*, target localhost port ${db.port}`), 1);
    expect(sshd.count(SSHD_LOG.channel)).toBe(channelsBefore + 1);
    expect(sshd.count(SSHD_LOG.login)).toBe(1);
    expect(warehouseBastion()).toMatchObject({ bastion: `${sshd.user}@127.0.0.1:${sshd.port}`, connected: true, connections: 1 });
  });

  it('shares one SSH connection among concurrent sessions, each on its own channel', async () => {
    const loginsBefore = sshd.count(SSHD_LOG.login);
    const channelsBefore = sshd.count(SSHD_LOG.channel);
    const clients = await Promise.all([connect(), connect(), connect()]);
    try {
      const pids = await Promise.all(clients.map(async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid));
      expect(new Set(pids).size).toBe(3);
      expect(warehouseBastion()).toMatchObject({ connections: 1, openChannels: 3 });
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    await sshd.waitForLog(SSHD_LOG.channel, channelsBefore + 3);
    expect(sshd.count(SSHD_LOG.login)).toBe(loginsBefore);
  });

  it('forwards a cancel request through the same SSH connection', async () => {
    const client = await connect();
    try {
      const running = client.query('SELECT pg_sleep(30)');
      await expect.poll(async () => (await db.sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'")).rows[0]?.n).toBe(1);
      const channelsBefore = sshd.count(SSHD_LOG.channel);
      const canceller = new pg.Client(clientConfig('warehouse')) as pg.Client & { cancel(target: pg.Client, query: unknown): void };
      canceller.cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery);
      await expect(running).rejects.toMatchObject({ code: '57014' });
      await sshd.waitForLog(SSHD_LOG.channel, channelsBefore + 1);
      expect(warehouseBastion()).toMatchObject({ connections: 1 });
    } finally {
      await client.end();
    }
  });

  it('ends a running session with a clear error when the bastion connection drops, and reconnects for the next one', async () => {
    const client = await connect();
    const ended = new Promise<Error>((resolvePromise) => client.once('error', resolvePromise));
    await client.query('SELECT 1');
    const loginsBefore = sshd.count(SSHD_LOG.login);
    expect(sshd.dropConnections()).toBeGreaterThan(0);
    const error = (await ended) as pg.DatabaseError;
    expect(error.code).toBe('08006');
    expect(error.message).toBe(`the connection to the database ended: the SSH connection to its bastion ${sshd.user}@127.0.0.1:${sshd.port} was lost (the bastion closed the connection)`);
    expect(error.hint).toContain('Reconnect');
    await expect.poll(() => gatehouse.auditEvents.filter((event) => event.event === 'session.end' && event.sqlstate === '08006').length).toBe(1);

    const again = await connect();
    try {
      expect((await again.query<{ n: number }>('SELECT 42 AS n')).rows).toEqual([{ n: 42 }]);
    } finally {
      await again.end();
    }
    expect(sshd.count(SSHD_LOG.login)).toBe(loginsBefore + 1);
    expect(warehouseBastion()).toMatchObject({ connected: true, connections: 2 });
    expect(gatehouse.logLines.join('')).toContain('SSH connection to the bastion lost');
  });

  it('refuses a bastion whose host key differs from known_hosts, and says to check it', async () => {
    const loginsBefore = sshd.count(SSHD_LOG.login);
    const refusal = await connectionRefusal(clientConfig('wrong-host-key'));
    expect(refusal.code).toBe('08001');
    expect(refusal.message).toMatch(
      new RegExp(`^the host key of SSH bastion 127\\.0\\.0\\.1:${sshd.port} \\(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\\) does not match known_hosts_file .*known_hosts_wrong \\(ssh-ed25519 at line 1\\)`),
    );
    expect(refusal.hint).toMatch(/^Check known_hosts: /);
    expect(gatehouse.logLines.join('')).toContain('SSH bastion host key refused (mismatch)');
    // Gatehouse hung up before logging in: the bastion never saw its key.
    expect(sshd.count(SSHD_LOG.login)).toBe(loginsBefore);
  });

  it('refuses a bastion that known_hosts does not list: no trust on first use', async () => {
    const refusal = await connectionRefusal(clientConfig('unknown-host'));
    expect(refusal.code).toBe('08001');
    expect(refusal.message).toContain(`is not in known_hosts_file ${join(sshd.dir, 'known_hosts_other_host')} (no entry for [127.0.0.1]:${sshd.port})`);
    expect(refusal.hint).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> `);
    expect(gatehouse.logLines.join('')).toContain('SSH bastion host key refused (unknown)');
  });

  it('refuses when the bastion does not accept Gatehouse\'s key, naming the command that prints it', async () => {
    const refusal = await connectionRefusal(clientConfig('stranger'));
    expect(refusal.code).toBe('08001');
    expect(refusal.message).toBe(`SSH bastion ${sshd.user}@127.0.0.1:${sshd.port} refused Gatehouse's key for database "stranger"`);
    expect(refusal.hint).toBe(`The Gatehouse administrator must add this public key to authorized_keys of user ${sshd.user} on the bastion: gatehouse ssh-key show stranger`);
  });

  it('refuses when the key was never made, naming the command that makes it', async () => {
    const refusal = await connectionRefusal(clientConfig('keyless'));
    expect(refusal.code).toBe('08001');
    expect(refusal.message).toBe(`Gatehouse's SSH key for the bastion of database "keyless" does not exist yet (${join(sshd.dir, 'never_made_ed25519')})`);
    expect(refusal.hint).toContain('gatehouse ssh-key show keyless');
  });

  it('passes on the bastion\'s refusal to open a channel when the database is down behind it', async () => {
    const refusal = await connectionRefusal(clientConfig('closed-port'));
    expect(refusal.code).toBe('08001');
    expect(refusal.message).toMatch(new RegExp(`^SSH bastion ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} refused to open a connection to database "closed-port" at localhost:\\d+: `));
    expect(refusal.hint).toContain('not reachable from the bastion');
  });

  it('closes every bastion connection when the daemon stops', async () => {
    expect(gatehouse.daemon.sshTunnels.stats().some((stats) => stats.connected)).toBe(true);
    stopped = true;
    await gatehouse.stop();
    expect(gatehouse.daemon.sshTunnels.stats().some((stats) => stats.connected)).toBe(false);
    await sshd.waitForLog(/Disconnected from user|Received disconnect from/);
  });
});
