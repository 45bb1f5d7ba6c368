// Every kind of config problem, with the exact FILE:LINE:COL: PATH: MESSAGE a person sees.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

/** The printed problems of a config that must not load. */
function problems(...lines: string[]): string[] {
  try {
    parseConfig(lines.join('\n'), 'conf/gatehouse.yaml', { cwd: '/srv' });
  } catch (error) {
    if (error instanceof ConfigError) {
      expect(error.message.split('\n')).toHaveLength(error.issues.length);
      return error.message.split('\n');
    }
    throw error;
  }
  throw new Error('the config loaded, but it should not have');
}

const DB = ['databases:', '  - name: db', '    uri: db.internal:5432'];

describe('YAML syntax', () => {
  it('reports syntax errors at their position and checks nothing else', () => {
    expect(problems('version: v2', 'proxy:', '  data_dir: [a, b', 'log: {}')).toEqual([
      'conf/gatehouse.yaml:4:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('reports a key written twice in one mapping', () => {
    expect(problems('version: v1', 'proxy:', '  data_dir: a', '  data_dir: b')).toEqual([
      'conf/gatehouse.yaml:4:3: invalid YAML: Map keys must be unique',
    ]);
  });

  it('reports an empty file and a file that is not a mapping', () => {
    expect(problems('')).toEqual(['conf/gatehouse.yaml:1:1: the file is empty; a config needs at least "version: v1"']);
    expect(problems('# only a comment')).toEqual(['conf/gatehouse.yaml:1:1: the file is empty; a config needs at least "version: v1"']);
    expect(problems('- version: v1')).toEqual(['conf/gatehouse.yaml:1:1: must be a mapping, not a list']);
  });
});

describe('unknown keys', () => {
  it('points at the key itself, suggests a near miss and lists what is allowed', () => {
    expect(problems('version: v1', 'databases:', '  - name: db', '    uri: db:5432', '    lables: { env: dev }')).toEqual([
      'conf/gatehouse.yaml:5:5: databases[0].lables: unknown key "lables"; did you mean "labels"? (allowed here: name, description, protocol, kind, uri, labels, tls, auth, embedded, aws, ssh_tunnel)',
    ]);
  });

  it('reports each unknown key, at the top level too', () => {
    // The proxy block grows with every feature; the list of allowed keys is checked by its start.
    expect(problems('version: v1', 'databse: []', 'proxy:', '  listen: x', '  web_listen_addr: 0.0.0.0:3080', '  colour: red')).toEqual([
      'conf/gatehouse.yaml:2:1: databse: unknown key "databse"; did you mean "databases"? (allowed here: version, proxy, log, audit, databases, roles, users)',
      expect.stringMatching(/^conf\/gatehouse\.yaml:4:3: proxy\.listen: unknown key "listen" \(allowed here: postgres_listen_addr, web_listen_addr, public_addr, data_dir, ca_dir, [a-z_, ]+\)$/),
      expect.stringMatching(/^conf\/gatehouse\.yaml:6:3: proxy\.colour: unknown key "colour" \(allowed here: postgres_listen_addr, web_listen_addr, public_addr, data_dir, ca_dir, [a-z_, ]+\)$/),
    ]);
  });

  it('is strict in nested blocks such as tls, auth, allow and options', () => {
    expect(
      problems(
        'version: v1',
        ...DB,
        '    tls: { mode: verify-ca, ca: x }',
        'roles:',
        '  - name: r',
        '    allow: { db_user: [a] }',
        '    options: { ttl: 1h }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:5:29: databases[0].tls.ca: unknown key "ca" (allowed here: mode, ca_file, server_name)',
      'conf/gatehouse.yaml:8:14: roles[0].allow.db_user: unknown key "db_user"; did you mean "db_users"? (allowed here: db_labels, db_users, db_names)',
      'conf/gatehouse.yaml:9:16: roles[0].options.ttl: unknown key "ttl" (allowed here: max_session_ttl, max_connections, client_idle_timeout, admin)',
    ]);
  });
});

describe('missing and mistyped values', () => {
  it('points a missing required key at the mapping it is missing from', () => {
    expect(problems('proxy: {}', 'databases:', '  - uri: db:5432', '    description: no name', 'users:', '  - name: u')).toEqual([
      'conf/gatehouse.yaml:1:1: version: is required',
      'conf/gatehouse.yaml:3:5: databases[0].name: is required',
      'conf/gatehouse.yaml:6:5: users[0].roles: is required',
    ]);
  });

  it('says what type a value must be and what it is', () => {
    expect(
      problems(
        'version: v1',
        'log:',
        'audit: { output: 5, log_query_parameters: "yes" }',
        'databases:',
        '  - name: db',
        '    uri: db:5432',
        '    labels: { version: 14 }',
        '    embedded: { port: "5432" }',
        'users: { name: u }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:2:1: log: must be a mapping, not an empty value',
      'conf/gatehouse.yaml:3:18: audit.output: must be a string, not the number 5; YAML reads 5 as a number, so put it in quotes: "5"',
      'conf/gatehouse.yaml:3:43: audit.log_query_parameters: must be true or false, not "yes"',
      'conf/gatehouse.yaml:7:24: databases[0].labels.version: must be a string, not the number 14; YAML reads 14 as a number, so put it in quotes: "14"',
      'conf/gatehouse.yaml:8:5: databases[0].embedded: is only allowed when databases[0].kind is embedded, but databases[0].kind is postgres (the default)',
      'conf/gatehouse.yaml:8:23: databases[0].embedded.port: must be a number, not "5432"',
      'conf/gatehouse.yaml:9:8: users: must be a list, not a mapping',
    ]);
  });

  it('lists the choices of an enumeration', () => {
    expect(
      problems('version: 1', 'log: { level: verbose }', 'databases:', '  - name: db', '    uri: db:5432', '    kind: aurora', '    protocol: mysql', '    tls: { mode: strict }'),
    ).toEqual([
      'conf/gatehouse.yaml:1:10: version: must be v1, not the number 1',
      'conf/gatehouse.yaml:2:15: log.level: must be one of trace, debug, info, warn, error, fatal, silent, not "verbose"',
      'conf/gatehouse.yaml:6:11: databases[0].kind: must be one of postgres, embedded, not "aurora"',
      'conf/gatehouse.yaml:7:15: databases[0].protocol: must be postgres, not "mysql"',
      'conf/gatehouse.yaml:8:18: databases[0].tls.mode: must be one of verify-full, verify-ca, insecure, not "strict"',
    ]);
  });

  it('checks names, environment variable names, ports, label selectors and trait templates', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: Prod_DB',
        '    uri: db:5432',
        '    auth: { password_env: 1PASSWORD }',
        '  - name: e',
        '    kind: embedded',
        '    embedded: { port: 70000 }',
        'roles:',
        '  - name: ""',
        "    allow: { db_labels: { '*': dev, env: 3 }, db_users: ['{{db_users}}', '{{internal.db_users}}'], db_names: ['{{internal.x}'] }",
      ),
    ).toEqual([
      'conf/gatehouse.yaml:3:11: databases[0].name: database name "Prod_DB" must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit',
      'conf/gatehouse.yaml:5:27: databases[0].auth.password_env: must be an environment variable name (letters, digits and _, not starting with a digit)',
      'conf/gatehouse.yaml:8:23: databases[1].embedded.port: must be a whole number from 0 to 65535',
      'conf/gatehouse.yaml:10:11: roles[0].name: must not be empty',
      'conf/gatehouse.yaml:11:32: roles[0].allow.db_labels["*"]: the label key \'*\' can only be used as \'*\': \'*\' (which matches every database)',
      'conf/gatehouse.yaml:11:42: roles[0].allow.db_labels.env: must be a label value or a list of label values',
      'conf/gatehouse.yaml:11:58: roles[0].allow.db_users[0]: "{{db_users}}" is not a valid trait template; write {{internal.<trait>}} or {{external.<trait>}}, e.g. {{internal.db_users}}',
      'conf/gatehouse.yaml:11:111: roles[0].allow.db_names[0]: "{{internal.x}" is not a valid trait template; write {{internal.<trait>}} or {{external.<trait>}}, e.g. {{internal.db_users}}',
    ]);
  });
});

describe('addresses', () => {
  it('names the bad address and why', () => {
    expect(
      problems(
        'version: v1',
        'proxy:',
        '  postgres_listen_addr: 0.0.0.0:99999',
        '  web_listen_addr: localhost',
        '  public_addr: "https://gatehouse.example.com"',
        'databases:',
        '  - name: db',
        '    uri: ::1:5432',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:3:25: proxy.postgres_listen_addr: "0.0.0.0:99999" is not a valid host:port (port must be 0-65535)',
      'conf/gatehouse.yaml:4:20: proxy.web_listen_addr: "localhost" is not a valid host:port (the port is missing)',
      'conf/gatehouse.yaml:5:16: proxy.public_addr: "https://gatehouse.example.com" is not a valid host:port (write it without a scheme, e.g. db.internal:5432)',
      'conf/gatehouse.yaml:8:10: databases[0].uri: "::1:5432" is not a valid host:port (put an IPv6 address in brackets, e.g. [::1]:5432)',
    ]);
  });
});

describe('durations', () => {
  it('rejects bad text, numbers without units and values out of range', () => {
    expect(
      problems(
        'version: v1',
        'proxy:',
        '  startup_timeout: 10',
        '  connect_timeout: 10 seconds',
        'roles:',
        '  - name: a',
        '    options: { max_session_ttl: 24h }',
        '  - name: b',
        '    options: { max_session_ttl: 0s }',
        '  - name: c',
        '    options: { max_session_ttl: "90" }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:3:20: proxy.startup_timeout: must be a duration such as 10s, 30m, 8h or 1h30m, not the number 10',
      'conf/gatehouse.yaml:4:20: proxy.connect_timeout: "10 seconds" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)',
      'conf/gatehouse.yaml:7:33: roles[0].options.max_session_ttl: "24h" is out of range: it must be from 1m to 12h',
      'conf/gatehouse.yaml:9:33: roles[1].options.max_session_ttl: "0s" is out of range: it must be from 1m to 12h',
      'conf/gatehouse.yaml:11:33: roles[2].options.max_session_ttl: "90" has no unit; write e.g. 90s or 90ms (units: h, m, s, ms)',
    ]);
    expect(problems('version: v1', 'proxy: { startup_timeout: 25h, connect_timeout: 0s }')).toEqual([
      'conf/gatehouse.yaml:2:27: proxy.startup_timeout: "25h" is out of range: it must be from 1ms to 24h',
      'conf/gatehouse.yaml:2:49: proxy.connect_timeout: "0s" is out of range: it must be from 1ms to 24h',
    ]);
  });
});

describe('cross-field rules', () => {
  it('reports duplicate database, role and user names with where the first one is', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: x',
        '    uri: a:5432',
        '  - name: y',
        '    uri: b:5432',
        '  - name: x',
        '    uri: c:5432',
        'roles:',
        '  - name: r',
        '  - name: r',
        'users:',
        '  - { name: u, roles: [r] }',
        '  - { name: u, roles: [] }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:7:11: databases[2].name: duplicate database name "x" (first defined at databases[0].name, line 3)',
      'conf/gatehouse.yaml:11:11: roles[1].name: duplicate role name "r" (first defined at roles[0].name, line 10)',
      'conf/gatehouse.yaml:14:13: users[1].name: duplicate user name "u" (first defined at users[0].name, line 13)',
    ]);
  });

  it('reports a user role that names no role, listing the roles there are', () => {
    expect(
      problems('version: v1', 'roles:', '  - name: access', '  - name: admin', 'users:', '  - name: alice', '    roles: [access, acess]'),
    ).toEqual(['conf/gatehouse.yaml:7:21: users[0].roles[1]: role "acess" is not defined in roles (defined: access, admin)']);
    expect(problems('version: v1', 'users:', '  - name: alice', '    roles:', '      - access')).toEqual([
      'conf/gatehouse.yaml:5:9: users[0].roles[0]: role "access" is not defined in roles (no roles are defined)',
    ]);
  });

  it('requires uri for kind postgres and forbids it for kind embedded', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: a',
        '    description: no uri',
        '  - name: b',
        '    kind: postgres',
        '  - name: c',
        '    kind: embedded',
        '    uri: localhost:5432',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:3:5: databases[0].uri: is required because databases[0].kind is postgres (the default); set uri: host:port, or kind: embedded to have Gatehouse run the database',
      'conf/gatehouse.yaml:5:5: databases[1].uri: is required because databases[1].kind is postgres; set uri: host:port, or kind: embedded to have Gatehouse run the database',
      'conf/gatehouse.yaml:9:5: databases[2].uri: must not be set because databases[2].kind is embedded: Gatehouse starts that database and knows its address',
    ]);
  });

  it('allows the embedded block only for kind embedded', () => {
    expect(problems('version: v1', 'databases:', '  - name: a', '    kind: postgres', '    uri: a:1', '    embedded: { port: 5 }')).toEqual([
      'conf/gatehouse.yaml:6:5: databases[0].embedded: is only allowed when databases[0].kind is embedded, but databases[0].kind is postgres',
    ]);
  });

  it('allows only one password source', () => {
    expect(problems('version: v1', ...DB, '    auth:', '      password_env: PGPASS', '      password_file: ./pw')).toEqual([
      'conf/gatehouse.yaml:7:7: databases[0].auth.password_file: cannot be set together with databases[0].auth.password_env; use one of them',
    ]);
  });
});

describe('collecting', () => {
  it('reports schema and cross-field problems together, in file order, with structured issues', () => {
    let error: ConfigError | undefined;
    try {
      parseConfig(['version: v1', 'users:', '  - name: u', '    roles: [nope]', 'proxy:', '  startup_timeout: soon'].join('\n'), 'g.yaml');
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.issues).toEqual([
      { file: 'g.yaml', line: 4, column: 13, path: 'users[0].roles[0]', message: 'role "nope" is not defined in roles (no roles are defined)' },
      {
        file: 'g.yaml',
        line: 6,
        column: 20,
        path: 'proxy.startup_timeout',
        message: '"soon" is not a duration; write e.g. 10s, 30m, 8h, 1h30m or 500ms (units: h, m, s, ms)',
      },
    ]);
  });

  it('points at the key when a block is left empty', () => {
    expect(problems('version: v1', 'databases:', '  - name: db', '    uri: db:1', '    tls:')).toEqual([
      'conf/gatehouse.yaml:5:5: databases[0].tls: must be a mapping, not an empty value',
    ]);
  });
});
