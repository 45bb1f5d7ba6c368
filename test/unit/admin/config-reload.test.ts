import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepRestartOnlyValues, reloadConfigFile } from '../../../src/admin/config-reload.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function yaml(proxy: string, databases: string, role = 'allow: { db_labels: { env: [dev] }, db_users: [app], db_names: [app] }'): string {
  return `version: v1
proxy:
${proxy}
databases:
${databases}
roles:
  - name: access
    ${role}
users:
  - { name: alice, roles: [access] }
`;
}

const PROXY = `  postgres_listen_addr: 127.0.0.1:5432
  web_listen_addr: 127.0.0.1:3080
  data_dir: /var/lib/gatehouse
  max_connections: 100`;
const DATABASES = `  - { name: main, uri: db.internal:5432, labels: { env: dev } }
  - { name: scratch, kind: embedded, labels: { env: dev } }`;

describe('reloadConfigFile', () => {
  it('applies a valid file: roles and reloadable proxy keys change, nothing to warn about', () => {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, yaml(PROXY, DATABASES));
    const running = loadConfigFile(file);
    writeFileSync(file, yaml(PROXY.replace('max_connections: 100', 'max_connections: 5'), DATABASES, 'allow: { db_labels: { env: [dev] }, db_users: [other], db_names: [app] }'));
    const reloaded = reloadConfigFile(running);
    if (!reloaded.ok) throw new Error(reloaded.errors.join('\n'));
    expect(reloaded.warnings).toEqual([]);
    expect(reloaded.config.proxy.max_connections).toBe(5);
    expect(reloaded.config.roles[0]?.allow.db_users).toEqual(['other']);
    expect(Object.isFrozen(reloaded.config.proxy)).toBe(true);
  });

  it('changes nothing for an invalid file and returns its problems as FILE:LINE:COL lines', () => {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, yaml(PROXY, DATABASES));
    const running = loadConfigFile(file);
    writeFileSync(file, yaml(PROXY, DATABASES).replace('roles: [access]', 'roles: [acess]').replace('max_connections: 100', 'max_conections: 100'));
    const reloaded = reloadConfigFile(running);
    if (reloaded.ok) throw new Error('an invalid file was applied');
    expect(reloaded.errors).toHaveLength(2);
    expect(reloaded.errors[0]).toMatch(new RegExp(`^${file}:6:3: proxy\\.max_conections: unknown key "max_conections"; did you mean "max_connections"\\?`));
    expect(reloaded.errors[1]).toBe(`${file}:14:28: users[0].roles[0]: role "acess" is not defined in roles (defined: access)`);
  });

  it('says so when the file is gone', () => {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, yaml(PROXY, DATABASES));
    const running = loadConfigFile(file);
    rmSync(file);
    expect(reloadConfigFile(running)).toEqual({ ok: false, errors: [`${file}: cannot read the config file: ${file} does not exist`] });
  });
});

describe('keepRestartOnlyValues', () => {
  const running = parseConfig(yaml(PROXY, DATABASES), '/etc/gatehouse.yaml');

  it('keeps listen addresses, directories, the users file and the login throttle, warning "needs a restart" for each', () => {
    const next = parseConfig(
      yaml(
        `  postgres_listen_addr: 127.0.0.1:6432
  web_listen_addr: 127.0.0.1:4080
  data_dir: /srv/gatehouse
  ca_dir: /srv/certs
  users_file: /srv/users.yaml
  public_addr: gatehouse.example.com
  login_max_failures: 9
  login_lockout: 1m
  max_connections: 7`,
        DATABASES,
      ).replace('version: v1', 'version: v1\naudit: { output: /var/log/gh-audit.log }'),
      '/etc/gatehouse.yaml',
    );
    const { config, warnings } = keepRestartOnlyValues(running, next);
    expect(config.proxy).toMatchObject({
      postgres_listen_addr: '127.0.0.1:5432',
      web_listen_addr: '127.0.0.1:3080',
      data_dir: '/var/lib/gatehouse',
      ca_dir: '/var/lib/gatehouse/certs',
      users_file: '/var/lib/gatehouse/users.yaml',
      public_addr: 'localhost',
      login_max_failures: 5,
      login_lockout_ms: 300_000,
      max_connections: 7,
    });
    expect(config.audit.output).toBe('stdout');
    expect(warnings).toEqual([
      'proxy.postgres_listen_addr changed to 127.0.0.1:6432, but that needs a restart; 127.0.0.1:5432 stays in force until then',
      'proxy.web_listen_addr changed to 127.0.0.1:4080, but that needs a restart; 127.0.0.1:3080 stays in force until then',
      'proxy.public_addr changed to gatehouse.example.com, but that needs a restart; localhost stays in force until then',
      'proxy.data_dir changed to /srv/gatehouse, but that needs a restart; /var/lib/gatehouse stays in force until then',
      'proxy.ca_dir changed to /srv/certs, but that needs a restart; /var/lib/gatehouse/certs stays in force until then',
      'proxy.users_file changed to /srv/users.yaml, but that needs a restart; /var/lib/gatehouse/users.yaml stays in force until then',
      'proxy.login_max_failures changed to 9, but that needs a restart; 5 stays in force until then',
      'proxy.login_lockout changed to 1m, but that needs a restart; 5m stays in force until then',
      'audit.output changed to /var/log/gh-audit.log, but that needs a restart; stdout stays in force until then',
      // Its data directory is under proxy.data_dir by default.
      'databases: the definition of embedded database "scratch" changed, but that needs a restart; the running definition stays in force until then',
    ]);
  });

  it('keeps embedded databases as they were started; other databases change freely', () => {
    const next = parseConfig(
      yaml(
        PROXY,
        `  - { name: main, uri: db2.internal:5432, labels: { env: dev } }
  - { name: scratch, kind: embedded, labels: { env: dev }, embedded: { port: 15999 } }
  - { name: fresh, kind: embedded, labels: { env: dev } }
  - { name: reports, uri: reports.internal, labels: { env: dev } }`,
      ),
      '/etc/gatehouse.yaml',
    );
    const { config, warnings } = keepRestartOnlyValues(running, next);
    expect(config.databases.map((database) => [database.name, database.uri ?? database.embedded?.port])).toEqual([
      ['main', 'db2.internal:5432'],
      ['scratch', 0],
      ['reports', 'reports.internal'],
    ]);
    expect(warnings).toEqual([
      'databases: the definition of embedded database "scratch" changed, but that needs a restart; the running definition stays in force until then',
      'databases: "fresh" is a new embedded database; starting it needs a restart, so it is not served until then',
    ]);
    const removed = keepRestartOnlyValues(running, parseConfig(yaml(PROXY, '  - { name: main, uri: db.internal:5432, labels: { env: dev } }'), '/etc/gatehouse.yaml'));
    expect(removed.config.databases.map((database) => database.name)).toEqual(['main', 'scratch']);
    expect(removed.warnings).toEqual(['databases: embedded database "scratch" was removed, but stopping it needs a restart; it is served until then']);
  });
});
