import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../../src/config/load.js';
import type { GatehouseConfig } from '../../../src/config/types.js';
import { ErrorCodes } from '../../../src/errors.js';

const EXAMPLE = 'test/fixtures/config/example.yaml';

const expectedExample: GatehouseConfig = {
  version: 'v1',
  source: '/srv/gatehouse/test/fixtures/config/example.yaml',
  proxy: {
    postgres_listen_addr: '0.0.0.0:5432',
    web_listen_addr: '0.0.0.0:3080',
    public_addr: 'localhost',
    data_dir: '/srv/gatehouse/data',
    ca_dir: '/srv/gatehouse/certs',
    startup_timeout_ms: 10_000,
    connect_timeout_ms: 10_000,
    users_file: '/srv/gatehouse/data/users.yaml',
    proxy_protocol: 'off',
    proxy_protocol_trusted_cidrs: [],
    login_max_failures: 5,
    login_lockout_ms: 300_000,
    shutdown_grace_ms: 30_000,
    max_connections: 10_000,
    client_idle_timeout_ms: 0,
    disconnect_expired_cert: true,
    tcp_keepalive_ms: 60_000,
    workers: 'auto',
    allocator: 'auto',
  },
  log: { level: 'info' },
  audit: { output: 'stdout', log_query_parameters: true },
  databases: [
    {
      name: 'local',
      description: 'Local PostgreSQL',
      protocol: 'postgres',
      kind: 'postgres',
      uri: '127.0.0.1:5433',
      labels: { env: 'dev' },
      tls: { mode: 'verify-full', ca_file: '/srv/gatehouse/x.pem', server_name: 'db.internal' },
      auth: { user: 'postgres', password_env: 'LOCAL_PG_PASSWORD' },
    },
  ],
  roles: [
    {
      name: 'access',
      allow: { db_labels: { env: ['dev'] }, db_users: ['{{internal.db_users}}'], db_names: ['{{internal.db_names}}', 'postgres'] },
      deny: { db_users: ['postgres'] },
      options: { max_session_ttl_ms: 8 * 3_600_000 },
    },
  ],
  users: [{ name: 'alice', roles: ['access'], traits: { db_users: ['app_reader'], db_names: ['app'] } }],
};

function expectDeeplyFrozen(value: unknown, at = 'config'): void {
  if (typeof value !== 'object' || value === null) return;
  expect(Object.isFrozen(value), `${at} is frozen`).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeeplyFrozen(child, `${at}.${key}`);
}

describe('parseConfig', () => {
  it('loads the documented example to exactly the expected, deeply frozen config', () => {
    const config = parseConfig(readFileSync(EXAMPLE, 'utf8'), EXAMPLE, { cwd: '/srv/gatehouse' });
    expect(config).toStrictEqual(expectedExample);
    expectDeeplyFrozen(config);
    expect(() => {
      (config.proxy as { data_dir: string }).data_dir = '/tmp';
    }).toThrow(TypeError);
  });

  it('fills in every default', () => {
    const config = parseConfig(
      ['version: v1', 'databases:', '  - name: db1', '    uri: db.internal', 'roles:', '  - name: r', 'users:', '  - name: u', '    roles: [r]'].join('\n'),
      'conf/g.yaml',
      { cwd: '/opt/gh' },
    );
    expect(config).toStrictEqual({
      version: 'v1',
      source: '/opt/gh/conf/g.yaml',
      proxy: {
        postgres_listen_addr: '0.0.0.0:5432',
        web_listen_addr: '0.0.0.0:3080',
        public_addr: 'localhost',
        data_dir: '/opt/gh/data',
        ca_dir: '/opt/gh/data/certs',
        startup_timeout_ms: 10_000,
        connect_timeout_ms: 10_000,
        users_file: '/opt/gh/data/users.yaml',
        proxy_protocol: 'off',
        proxy_protocol_trusted_cidrs: [],
        login_max_failures: 5,
        login_lockout_ms: 300_000,
        shutdown_grace_ms: 30_000,
        max_connections: 10_000,
        client_idle_timeout_ms: 0,
        disconnect_expired_cert: true,
        tcp_keepalive_ms: 60_000,
        workers: 'auto',
        allocator: 'auto',
      },
      log: { level: 'info' },
      audit: { output: 'stdout', log_query_parameters: true },
      databases: [
        { name: 'db1', description: '', protocol: 'postgres', kind: 'postgres', uri: 'db.internal', labels: {}, tls: { mode: 'verify-full' } },
      ],
      roles: [{ name: 'r', allow: {}, deny: {}, options: { max_session_ttl_ms: 12 * 3_600_000 } }],
      users: [{ name: 'u', roles: ['r'], traits: {} }],
    } satisfies GatehouseConfig);
  });

  it('defaults sections that are left out to nothing', () => {
    const config = parseConfig('version: v1\n', 'g.yaml', { cwd: '/x' });
    expect(config.databases).toEqual([]);
    expect(config.roles).toEqual([]);
    expect(config.users).toEqual([]);
  });

  it('gives an embedded database its block, with data under the proxy data_dir', () => {
    const config = parseConfig(
      [
        'version: v1',
        'proxy: { data_dir: /var/lib/gatehouse }',
        'databases:',
        '  - name: scratch',
        '    kind: embedded',
        '  - name: pinned',
        '    kind: embedded',
        '    embedded: { port: 15432, data_dir: pg }',
      ].join('\n'),
      'g.yaml',
      { cwd: '/home/me' },
    );
    expect(config.databases[0]).toStrictEqual({
      name: 'scratch',
      description: '',
      protocol: 'postgres',
      kind: 'embedded',
      labels: {},
      tls: { mode: 'verify-full' },
      embedded: { port: 0, data_dir: '/var/lib/gatehouse/embedded/scratch' },
    });
    expect(config.databases[1]?.embedded).toStrictEqual({ port: 15432, data_dir: '/home/me/pg' });
  });

  it('normalizes db_labels values to lists and keeps wildcards', () => {
    const config = parseConfig(
      [
        'version: v1',
        'roles:',
        '  - name: r',
        "    allow: { db_labels: { env: dev, team: [a, b] } }",
        "    deny: { db_labels: { '*': '*' } }",
        '  - name: all',
        "    allow: { db_labels: { '*': ['*'] } }",
      ].join('\n'),
      'g.yaml',
    );
    expect(config.roles[0]?.allow.db_labels).toStrictEqual({ env: ['dev'], team: ['a', 'b'] });
    expect(config.roles[0]?.deny.db_labels).toStrictEqual({ '*': ['*'] });
    expect(config.roles[1]?.allow.db_labels).toStrictEqual({ '*': ['*'] });
  });

  it('resolves file paths against cwd, leaves absolute ones and stdout/stderr alone', () => {
    const text = (output: string) =>
      ['version: v1', `audit: { output: ${output}, log_query_parameters: false }`, 'proxy: { ca_dir: /etc/gh/ca, data_dir: ../state }'].join('\n');
    const relative = parseConfig(text('logs/audit.jsonl'), 'g.yaml', { cwd: '/srv/gh' });
    expect(relative.audit).toStrictEqual({ output: '/srv/gh/logs/audit.jsonl', log_query_parameters: false });
    expect(relative.proxy.data_dir).toBe('/srv/state');
    expect(relative.proxy.ca_dir).toBe('/etc/gh/ca');
    expect(parseConfig(text('stderr'), 'g.yaml', { cwd: '/srv/gh' }).audit.output).toBe('stderr');
  });

  it('reads durations, addresses and password files', () => {
    const config = parseConfig(
      [
        'version: v1',
        'proxy:',
        '  postgres_listen_addr: "[::1]:0"',
        '  public_addr: gatehouse.example.com:443',
        '  startup_timeout: 1m30s',
        '  connect_timeout: 500ms',
        'log: { level: debug }',
        'databases:',
        '  - name: db',
        '    uri: "[2001:db8::5]:6432"',
        '    tls: { mode: insecure }',
        '    auth: { password_file: secrets/pw }',
        'roles:',
        '  - name: short',
        '    options: { max_session_ttl: 1h30m }',
      ].join('\n'),
      'g.yaml',
      { cwd: '/c' },
    );
    expect(config.proxy.postgres_listen_addr).toBe('[::1]:0');
    expect(config.proxy.public_addr).toBe('gatehouse.example.com:443');
    expect(config.proxy.startup_timeout_ms).toBe(90_000);
    expect(config.proxy.connect_timeout_ms).toBe(500);
    expect(config.log.level).toBe('debug');
    expect(config.databases[0]?.tls).toStrictEqual({ mode: 'insecure' });
    expect(config.databases[0]?.auth).toStrictEqual({ password_file: '/c/secrets/pw' });
    expect(config.roles[0]?.options.max_session_ttl_ms).toBe(5_400_000);
  });
});

describe('loadConfigFile', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads a file, resolving it and its paths against cwd', () => {
    const config = loadConfigFile(EXAMPLE, { cwd: process.cwd() });
    expect(config.source).toBe(path.resolve(EXAMPLE));
    expect(config.databases.map((database) => database.name)).toEqual(['local']);
  });

  it('throws ConfigError naming the file when it does not exist', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    let error: unknown;
    try {
      loadConfigFile('missing.yaml', { cwd: dir });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(configError.sqlState).toBe('XX000');
    expect(configError.message).toBe(`missing.yaml: cannot read the config file: ${dir}/missing.yaml does not exist`);
    expect(configError.issues).toEqual([
      { file: 'missing.yaml', line: 0, column: 0, path: '', message: `cannot read the config file: ${dir}/missing.yaml does not exist` },
    ]);
  });

  it('throws ConfigError when the path is a directory', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    expect(() => loadConfigFile(dir as string)).toThrow(`${dir}: cannot read the config file: ${dir} is a directory, not a file`);
  });

  it('reports problems with the file name as given', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gh-config-'));
    writeFileSync(path.join(dir, 'bad.yaml'), 'version: v2\n');
    expect(() => loadConfigFile('bad.yaml', { cwd: dir })).toThrow(new ConfigError([
      { file: 'bad.yaml', line: 1, column: 10, path: 'version', message: 'must be v1, not "v2"' },
    ]));
  });
});
