// databases[].ssh_tunnel: defaults (port 22, the key under data_dir, dbt Cloud's keepalives), paths,
// and the exact message for each mistake, above all a missing known_hosts_file.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function load(...databaseLines: string[]) {
  return parseConfig(
    ['version: v1', 'proxy: { data_dir: /srv/data }', 'databases:', '  - name: warehouse', ...databaseLines].join('\n'),
    'conf/gatehouse.yaml',
    { cwd: '/srv' },
  );
}

function problems(...databaseLines: string[]): string[] {
  try {
    load(...databaseLines);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('the config loaded, but it should not have');
}

describe('databases[].ssh_tunnel', () => {
  it('fills in port 22, the key under data_dir and the keepalives; paths resolve against the working directory', () => {
    const [database] = load('    uri: db.internal:5432', '    ssh_tunnel: { host: bastion.example.com, user: gatehouse, known_hosts_file: etc/known_hosts }').databases;
    expect(database?.ssh_tunnel).toEqual({
      host: 'bastion.example.com',
      port: 22,
      user: 'gatehouse',
      private_key_file: '/srv/data/ssh/warehouse_ed25519',
      known_hosts_file: '/srv/etc/known_hosts',
      keepalive_interval_ms: 30_000,
      keepalive_count_max: 10,
    });
  });

  it('takes every key, an IPv6 bastion, and keepalive 0 (off)', () => {
    const [database] = load(
      '    uri: db.internal',
      '    ssh_tunnel:',
      '      host: "2001:db8::7"',
      '      port: 2222',
      '      user: ec2-user',
      '      private_key_file: /etc/gatehouse/bastion_key',
      '      known_hosts_file: /etc/gatehouse/known_hosts',
      '      keepalive_interval: 0',
      '      keepalive_count_max: 3',
    ).databases;
    expect(database?.ssh_tunnel).toEqual({
      host: '2001:db8::7',
      port: 2222,
      user: 'ec2-user',
      private_key_file: '/etc/gatehouse/bastion_key',
      known_hosts_file: '/etc/gatehouse/known_hosts',
      keepalive_interval_ms: 0,
      keepalive_count_max: 3,
    });
  });

  it('is absent unless configured', () => {
    expect(load('    uri: db.internal').databases[0]?.ssh_tunnel).toBeUndefined();
  });

  it('requires known_hosts_file, saying how to make one for this bastion: a host key is never trusted on first use', () => {
    expect(problems('    uri: db.internal', '    ssh_tunnel: { host: bastion.example.com, port: 2222, user: gatehouse }')).toEqual([
      'conf/gatehouse.yaml:6:17: databases[0].ssh_tunnel.known_hosts_file: is required: Gatehouse never trusts a bastion\'s host key on first use. ' +
        'Write its keys to a file with "ssh-keyscan -p 2222 bastion.example.com > known_hosts", check their fingerprints ("ssh-keygen -lf known_hosts") ' +
        'against the bastion\'s own ("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" there), and name the file here',
    ]);
  });

  it('reports a missing known_hosts_file together with the other mistakes in the block', () => {
    expect(problems('    uri: db.internal', '    ssh_tunnel: { host: "bastion:22", user: "a b", port: 0, keepalive_count_max: 0, keepalive_interval: 10, hots: x }')).toEqual([
      'conf/gatehouse.yaml:6:17: databases[0].ssh_tunnel.known_hosts_file: is required: Gatehouse never trusts a bastion\'s host key on first use. ' +
        'Write its keys to a file with "ssh-keyscan -p 22 BASTION > known_hosts", check their fingerprints ("ssh-keygen -lf known_hosts") ' +
        'against the bastion\'s own ("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" there), and name the file here',
      'conf/gatehouse.yaml:6:25: databases[0].ssh_tunnel.host: "bastion:22" must be a host name or IP address alone; put the port in ssh_tunnel.port',
      'conf/gatehouse.yaml:6:45: databases[0].ssh_tunnel.user: must be an account name on the bastion, without spaces, "@" or ":"',
      'conf/gatehouse.yaml:6:58: databases[0].ssh_tunnel.port: must be a whole number from 1 to 65535',
      'conf/gatehouse.yaml:6:82: databases[0].ssh_tunnel.keepalive_count_max: must be a whole number from 1 to 1000',
      'conf/gatehouse.yaml:6:105: databases[0].ssh_tunnel.keepalive_interval: must be a duration such as 10s, 30m, 8h or 1h30m, not the number 10',
      'conf/gatehouse.yaml:6:109: databases[0].ssh_tunnel.hots: unknown key "hots"; did you mean "host"? (allowed here: host, port, user, private_key_file, known_hosts_file, keepalive_interval, keepalive_count_max)',
    ]);
  });

  it('needs host and user', () => {
    expect(problems('    uri: db.internal', '    ssh_tunnel: { known_hosts_file: /kh }')).toEqual([
      'conf/gatehouse.yaml:6:17: databases[0].ssh_tunnel.host: is required',
      'conf/gatehouse.yaml:6:17: databases[0].ssh_tunnel.user: is required',
    ]);
    expect(problems('    uri: db.internal', '    ssh_tunnel: { host: "bad host", user: u, known_hosts_file: /kh }')).toEqual([
      'conf/gatehouse.yaml:6:25: databases[0].ssh_tunnel.host: "bad host" is not a host name or IP address',
    ]);
  });

  it('must be a mapping', () => {
    expect(problems('    uri: db.internal', '    ssh_tunnel: bastion.example.com')).toEqual([
      'conf/gatehouse.yaml:6:17: databases[0].ssh_tunnel: must be a mapping, not "bastion.example.com"',
    ]);
  });

  it('is not allowed for an embedded database, naming kind', () => {
    expect(problems('    kind: embedded', '    ssh_tunnel: { host: bastion.example.com, user: gatehouse, known_hosts_file: /kh }')).toEqual([
      'conf/gatehouse.yaml:6:5: databases[0].ssh_tunnel: is only allowed when databases[0].kind is postgres, but it is embedded: Gatehouse runs that database on its own host',
    ]);
  });
});
