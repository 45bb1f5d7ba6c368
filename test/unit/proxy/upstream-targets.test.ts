// ConfiguredTargets: where a database lives and how its certificate is checked, from the config
// or from what Gatehouse registered at run time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../../src/config/types.js';
import { parseConfig } from '../../../src/config/load.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';
import { ConfiguredTargets, sniName, type UpstreamTarget } from '../../../src/proxy/upstream-targets.js';
import { makeTempDir } from '../../support/temp-dir.js';

function database(overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
  return {
    name: 'app',
    description: '',
    protocol: 'postgres',
    kind: 'postgres',
    uri: 'db.internal:6543',
    labels: {},
    tls: { mode: 'verify-full' },
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

let temp: { path: string; remove: () => void };
beforeEach(() => {
  temp = makeTempDir('targets');
});
afterEach(() => {
  temp.remove();
});

describe('ConfiguredTargets from the uri', () => {
  it('dials the host and port of the uri and verifies the certificate against the host', async () => {
    expect(await new ConfiguredTargets().targetFor(database())).toEqual({
      host: 'db.internal',
      port: 6543,
      tls: { mode: 'verify-full', caPem: undefined, serverName: 'db.internal' },
    });
  });

  it('uses port 5432 when the uri has none', async () => {
    const target = await new ConfiguredTargets().targetFor(database({ uri: 'db.internal' }));
    expect(target.host).toBe('db.internal');
    expect(target.port).toBe(5432);
  });

  it('reads IPv4 and bracketed IPv6 addresses', async () => {
    const targets = new ConfiguredTargets();
    const v4 = await targets.targetFor(database({ uri: '10.1.2.3:5433' }));
    expect([v4.host, v4.port, v4.tls.serverName]).toEqual(['10.1.2.3', 5433, '10.1.2.3']);
    const v6 = await targets.targetFor(database({ uri: '[::1]:5434' }));
    expect([v6.host, v6.port, v6.tls.serverName]).toEqual(['::1', 5434, '::1']);
    const v6DefaultPort = await targets.targetFor(database({ uri: '[fd00::5]' }));
    expect([v6DefaultPort.host, v6DefaultPort.port]).toEqual(['fd00::5', 5432]);
  });

  it('verifies against server_name when it is set, and keeps the tls mode', async () => {
    const target = await new ConfiguredTargets().targetFor(
      database({ uri: '10.0.0.7:5432', tls: { mode: 'verify-ca', server_name: 'pg.prod.internal' } }),
    );
    expect(target.tls).toEqual({ mode: 'verify-ca', caPem: undefined, serverName: 'pg.prod.internal' });
  });

  it('reads the database as parseConfig produces it', async () => {
    const ca = join(temp.path, 'db-ca.pem');
    writeFileSync(ca, 'PEM FROM CONFIG');
    const config = parseConfig(
      ['version: v1', 'databases:', '  - name: prod', '    uri: pg.example.com', `    tls: { mode: insecure, ca_file: ${ca} }`].join('\n'),
      'gatehouse.yaml',
    );
    expect(await new ConfiguredTargets().targetFor(config.databases[0]!)).toEqual({
      host: 'pg.example.com',
      port: 5432,
      tls: { mode: 'insecure', caPem: 'PEM FROM CONFIG', serverName: 'pg.example.com' },
    });
  });

  it('refuses a database with neither uri nor registered address', async () => {
    const error = await rejection(new ConfiguredTargets().targetFor(database({ name: 'scratch', kind: 'embedded', uri: undefined })));
    expect(error.message).toBe('database "scratch" has no address yet');
    expect(error.code).toBe(ErrorCodes.UPSTREAM_UNREACHABLE);
    expect(error.sqlState).toBe('08001');
  });
});

describe('ConfiguredTargets and the CA file', () => {
  it('reads ca_file into caPem', async () => {
    const ca = join(temp.path, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const target = await new ConfiguredTargets().targetFor(database({ tls: { mode: 'verify-full', ca_file: ca } }));
    expect(target.tls.caPem).toBe('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  });

  it('reads a CA file once and serves later sessions from memory, for every database that names it', async () => {
    const ca = join(temp.path, 'ca.pem');
    writeFileSync(ca, 'FIRST');
    const targets = new ConfiguredTargets();
    expect((await targets.targetFor(database({ tls: { mode: 'verify-full', ca_file: ca } }))).tls.caPem).toBe('FIRST');
    writeFileSync(ca, 'SECOND');
    expect((await targets.targetFor(database({ tls: { mode: 'verify-full', ca_file: ca } }))).tls.caPem).toBe('FIRST');
    expect((await targets.targetFor(database({ name: 'other', tls: { mode: 'verify-ca', ca_file: ca } }))).tls.caPem).toBe('FIRST');
    // A new instance (a restart) reads the file again.
    expect((await new ConfiguredTargets().targetFor(database({ tls: { mode: 'verify-full', ca_file: ca } }))).tls.caPem).toBe('SECOND');
  });

  it('says which CA file it could not read, and tries again next time', async () => {
    const ca = join(temp.path, 'missing', 'ca.pem');
    const targets = new ConfiguredTargets();
    const db = database({ tls: { mode: 'verify-full', ca_file: ca } });
    const error = await rejection(targets.targetFor(db));
    expect(error.message).toBe(`cannot read the database CA file ${ca}: ENOENT`);
    expect(error.code).toBe(ErrorCodes.UPSTREAM_TLS);
    expect(error.sqlState).toBe('08001');

    mkdirSync(join(temp.path, 'missing'));
    writeFileSync(ca, 'NOW THERE');
    expect((await targets.targetFor(db)).tls.caPem).toBe('NOW THERE');
  });

  it('names the reason when the CA path is a directory', async () => {
    const error = await rejection(new ConfiguredTargets().targetFor(database({ tls: { mode: 'verify-full', ca_file: temp.path } })));
    expect(error.message).toBe(`cannot read the database CA file ${temp.path}: EISDIR`);
  });
});

describe('ConfiguredTargets with registered targets', () => {
  const embedded: UpstreamTarget = { host: '127.0.0.1', port: 54321, tls: { mode: 'verify-full', caPem: 'HOST CA', serverName: 'localhost' } };

  it('returns the registered target of an embedded database', async () => {
    const targets = new ConfiguredTargets(new Map([['scratch', embedded]]));
    expect(await targets.targetFor(database({ name: 'scratch', kind: 'embedded', uri: undefined }))).toBe(embedded);
  });

  it('prefers the registered target over the uri and CA file in the config', async () => {
    const targets = new ConfiguredTargets(new Map([['app', embedded]]));
    const db = database({ name: 'app', uri: 'elsewhere:1', tls: { mode: 'insecure', ca_file: join(temp.path, 'absent.pem') } });
    expect(await targets.targetFor(db)).toBe(embedded);
  });

  it('uses the config for databases that are not registered', async () => {
    const targets = new ConfiguredTargets(new Map([['scratch', embedded]]));
    expect((await targets.targetFor(database({ name: 'app' }))).host).toBe('db.internal');
  });
});

describe('sniName', () => {
  it('passes host names through', () => {
    expect(sniName('db.internal')).toBe('db.internal');
    expect(sniName('localhost')).toBe('localhost');
    expect(sniName('pg-1.eu-west-1.rds.amazonaws.com')).toBe('pg-1.eu-west-1.rds.amazonaws.com');
  });

  it('sends no SNI for IPv4 and IPv6 addresses', () => {
    expect(sniName('127.0.0.1')).toBeUndefined();
    expect(sniName('10.20.30.40')).toBeUndefined();
    expect(sniName('::1')).toBeUndefined();
    expect(sniName('fd00::5')).toBeUndefined();
    expect(sniName('::ffff:192.0.2.1')).toBeUndefined();
  });
});
