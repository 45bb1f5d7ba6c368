import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ConnectionSettings } from '../../../src/dbctl/connection-settings.js';
import { connectionUri, formatConnection } from '../../../src/dbctl/connection-formats.js';
import { DbctlError } from '../../../src/dbctl/dbctl-error.js';

// A home with a space and a quote, so every format's quoting is exercised.
const HOME = "/home/o'neil/My Files/.dbctl/profiles/gh_3080";
const SETTINGS: ConnectionSettings = {
  database: 'local',
  host: 'gatehouse.example.com',
  port: 15432,
  user: 'app reader',
  dbname: 'app',
  sslmode: 'verify-full',
  sslrootcert: `${HOME}/ca.pem`,
  sslcert: `${HOME}/databases/local/client.crt`,
  sslkey: `${HOME}/databases/local/client.key`,
  gssencmode: 'disable',
  expiresAt: new Date('2030-01-01T08:00:00Z'),
};

/** Runs a script with /bin/sh and returns its output. */
function sh(script: string): string {
  return execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
}

/** libpq's conninfo parser, enough for the tests: key=value, values bare or single-quoted with \\ escapes. */
function parseConninfo(text: string): Map<string, string> {
  const result = new Map<string, string>();
  const pattern = /(\w+)=(?:'((?:\\.|[^'\\])*)'|(\S+))\s*/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    result.set(match[1]!, match[2] === undefined ? match[3]! : match[2].replace(/\\(.)/g, '$1'));
  }
  expect(pattern.lastIndex === 0 ? text.length : pattern.lastIndex).toBe(text.length);
  return result;
}

describe('connection formats', () => {
  it('cmd: one psql command whose conninfo survives the shell', () => {
    const line = formatConnection(SETTINGS, 'cmd').trimEnd();
    expect(line.startsWith('psql ')).toBe(true);
    const words = sh(`set -- ${line.slice('psql '.length)}; printf '%s\\n' "$#" "$1"`).split('\n');
    expect(words[0]).toBe('1');
    const conninfo = parseConninfo(words[1]!);
    expect(Object.fromEntries(conninfo)).toEqual({
      host: 'gatehouse.example.com',
      port: '15432',
      user: 'app reader',
      dbname: 'app',
      sslmode: 'verify-full',
      sslrootcert: SETTINGS.sslrootcert,
      sslcert: SETTINGS.sslcert,
      sslkey: SETTINGS.sslkey,
      gssencmode: 'disable',
    });
  });

  it('uri: percent-encoded user, database and query parameters', () => {
    const uri = formatConnection(SETTINGS, 'uri').trimEnd();
    expect(uri.startsWith('postgresql://app%20reader@gatehouse.example.com:15432/app?sslmode=verify-full&sslrootcert=%2Fhome%2Fo\'neil')).toBe(true);
    const parsed = new URL(uri);
    expect(decodeURIComponent(parsed.username)).toBe('app reader');
    expect(parsed.pathname).toBe('/app');
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      sslmode: 'verify-full',
      sslrootcert: SETTINGS.sslrootcert,
      sslcert: SETTINGS.sslcert,
      sslkey: SETTINGS.sslkey,
    });
  });

  it('uri: brackets an IPv6 host and leaves out what is unknown', () => {
    const { user: _user, dbname: _dbname, ...rest } = SETTINGS;
    expect(connectionUri({ ...rest, host: '::1' }).startsWith('postgresql://[::1]:15432?sslmode=')).toBe(true);
  });

  it('env: export lines that a shell sources back to the same values', () => {
    const lines = formatConnection(SETTINGS, 'env');
    expect(lines.split('\n').filter(Boolean).every((line) => line.startsWith('export PG'))).toBe(true);
    const values = sh(`${lines}\nprintf '%s\\n' "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE" "$PGSSLMODE" "$PGSSLROOTCERT" "$PGSSLCERT" "$PGSSLKEY" "$PGGSSENCMODE"`);
    expect(values.split('\n').slice(0, 9)).toEqual([
      'gatehouse.example.com',
      '15432',
      'app reader',
      'app',
      'verify-full',
      SETTINGS.sslrootcert,
      SETTINGS.sslcert,
      SETTINGS.sslkey,
      'disable',
    ]);
  });

  it('env: leaves out PGUSER and PGDATABASE when the certificate names none', () => {
    const { user: _user, dbname: _dbname, ...rest } = SETTINGS;
    const lines = formatConnection(rest, 'env');
    expect(lines).not.toContain('PGUSER');
    expect(lines).not.toContain('PGDATABASE');
  });

  it('json: every setting, the expiry, the URI and the conninfo', () => {
    const json = JSON.parse(formatConnection(SETTINGS, 'json')) as Record<string, unknown>;
    expect(json).toMatchObject({
      database: 'local',
      host: 'gatehouse.example.com',
      port: 15432,
      user: 'app reader',
      dbname: 'app',
      sslmode: 'verify-full',
      sslkey: SETTINGS.sslkey,
      gssencmode: 'disable',
      expires_at: '2030-01-01T08:00:00.000Z',
      uri: connectionUri(SETTINGS),
    });
  });

  it('dbt: a profiles.yml profile for the postgres adapter, with the empty password dbt requires', () => {
    const text = formatConnection(SETTINGS, 'dbt');
    expect(text).toContain('password: ""');
    const profile = parse(text) as Record<string, { target: string; outputs: Record<string, Record<string, unknown>> }>;
    expect(profile.local!.target).toBe('gatehouse');
    expect(profile.local!.outputs.gatehouse).toEqual({
      type: 'postgres',
      host: 'gatehouse.example.com',
      port: 15432,
      user: 'app reader',
      password: '',
      dbname: 'app',
      schema: 'public',
      threads: 4,
      sslmode: 'verify-full',
      sslcert: SETTINGS.sslcert,
      sslkey: SETTINGS.sslkey,
      sslrootcert: SETTINGS.sslrootcert,
    });
  });

  it('dbt: refuses without a db user, saying which option to add', () => {
    const { user: _user, ...rest } = SETTINGS;
    const attempt = () => formatConnection(rest, 'dbt');
    expect(attempt).toThrow(DbctlError);
    expect(attempt).toThrow('dbt needs a database user and a database name, and the certificate for local does not name a user');
    try {
      attempt();
    } catch (error) {
      expect((error as DbctlError).hint).toBe('say which: dbctl config local --format dbt --db-user NAME (see "dbctl ls" for what you may use)');
    }
  });
});
