// `dbctl config DB --format …`: one database's connection settings written the way each kind of
// client takes them. Every format is quoted for where it goes (the shell, a URI, YAML), so what
// dbctl prints works when pasted or sourced even with spaces or quotes in DBCTL_HOME.
//   cmd   a psql command line
//   uri   postgresql://user@host:port/dbname?sslmode=…&sslrootcert=…&sslcert=…&sslkey=…
//   env   export PGHOST=… lines for `eval "$(dbctl config DB --format env)"`
//   json  every setting, for programs
//   dbt   a profiles.yml profile for dbt's postgres adapter
import { stringify } from 'yaml';
import { DbctlError } from './dbctl-error.js';
import type { ConnectionSettings } from './connection-settings.js';

export const CONNECTION_FORMATS = ['cmd', 'uri', 'env', 'json', 'dbt'] as const;
export type ConnectionFormat = (typeof CONNECTION_FORMATS)[number];

/** dbt runs models in parallel; 4 threads is dbt's own suggestion for a new profile. */
const DBT_THREADS = 4;

export function formatConnection(settings: ConnectionSettings, format: ConnectionFormat): string {
  switch (format) {
    case 'cmd':
      return `${psqlCommandLine(settings)}\n`;
    case 'uri':
      return `${connectionUri(settings)}\n`;
    case 'env':
      return environmentLines(settings);
    case 'json':
      return `${JSON.stringify(connectionJson(settings), null, 2)}\n`;
    case 'dbt':
      return dbtProfile(settings);
  }
}

/** The libpq keyword/value connection string ("host=… port=… …"). */
export function conninfo(settings: ConnectionSettings): string {
  return conninfoPairs(settings)
    .map(([key, value]) => `${key}=${conninfoValue(value)}`)
    .join(' ');
}

/** `psql '<conninfo>'`, one shell word. */
export function psqlCommandLine(settings: ConnectionSettings, psql = 'psql'): string {
  return `${shellQuote(psql)} ${shellQuote(conninfo(settings))}`;
}

export function connectionUri(settings: ConnectionSettings): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const user = settings.user === undefined ? '' : `${encodeURIComponent(settings.user)}@`;
  const path = settings.dbname === undefined ? '' : `/${encodeURIComponent(settings.dbname)}`;
  // gssencmode stays out: drivers that do not know a URI parameter (pgx, for one) send it to the
  // server as a setting, which the server refuses.
  const query = [
    ['sslmode', settings.sslmode],
    ['sslrootcert', settings.sslrootcert],
    ['sslcert', settings.sslcert],
    ['sslkey', settings.sslkey],
  ]
    .map(([key, value]) => `${key}=${encodeURIComponent(value as string)}`)
    .join('&');
  return `postgresql://${user}${host}:${settings.port}${path}?${query}`;
}

export function environmentLines(settings: ConnectionSettings): string {
  const variables: Array<[string, string | undefined]> = [
    ['PGHOST', settings.host],
    ['PGPORT', String(settings.port)],
    ['PGUSER', settings.user],
    ['PGDATABASE', settings.dbname],
    ['PGSSLMODE', settings.sslmode],
    ['PGSSLROOTCERT', settings.sslrootcert],
    ['PGSSLCERT', settings.sslcert],
    ['PGSSLKEY', settings.sslkey],
    ['PGGSSENCMODE', settings.gssencmode],
  ];
  return variables
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join('');
}

export function connectionJson(settings: ConnectionSettings): Record<string, unknown> {
  return {
    database: settings.database,
    host: settings.host,
    port: settings.port,
    ...(settings.user === undefined ? {} : { user: settings.user }),
    ...(settings.dbname === undefined ? {} : { dbname: settings.dbname }),
    sslmode: settings.sslmode,
    sslrootcert: settings.sslrootcert,
    sslcert: settings.sslcert,
    sslkey: settings.sslkey,
    gssencmode: settings.gssencmode,
    expires_at: settings.expiresAt.toISOString(),
    uri: connectionUri(settings),
    conninfo: conninfo(settings),
  };
}

/** A whole dbt profile (named after the database) with one target, `gatehouse`. */
export function dbtProfile(settings: ConnectionSettings): string {
  if (settings.user === undefined || settings.dbname === undefined) {
    const missing = settings.user === undefined ? '--db-user' : '--db-name';
    throw new DbctlError(`dbt needs a database user and a database name, and the certificate for ${settings.database} does not name ${settings.user === undefined ? 'a user' : 'a database'}`, {
      hint: `say which: dbctl config ${settings.database} --format dbt ${missing} NAME (see "dbctl ls" for what you may use)`,
    });
  }
  const target = {
    type: 'postgres',
    host: settings.host,
    port: settings.port,
    user: settings.user,
    // dbt's postgres adapter requires the key; the certificate is what logs in.
    password: '',
    dbname: settings.dbname,
    schema: 'public',
    threads: DBT_THREADS,
    sslmode: settings.sslmode,
    sslcert: settings.sslcert,
    sslkey: settings.sslkey,
    sslrootcert: settings.sslrootcert,
  };
  const header = [
    `# dbt profile for Gatehouse database "${settings.database}"; the certificate is valid until ${settings.expiresAt.toISOString()}`,
    `# (renew it with "dbctl login ${settings.database}"). Put this in ~/.dbt/profiles.yml (or a profiles.yml`,
    `# in the directory DBT_PROFILES_DIR names) and set profile: ${settings.database} in dbt_project.yml.`,
  ];
  return `${header.join('\n')}\n${stringify({ [settings.database]: { target: 'gatehouse', outputs: { gatehouse: target } } })}`;
}

function conninfoPairs(settings: ConnectionSettings): Array<[string, string]> {
  return [
    ['host', settings.host],
    ['port', String(settings.port)],
    ...(settings.user === undefined ? [] : [['user', settings.user] as [string, string]]),
    ...(settings.dbname === undefined ? [] : [['dbname', settings.dbname] as [string, string]]),
    ['sslmode', settings.sslmode],
    ['sslrootcert', settings.sslrootcert],
    ['sslcert', settings.sslcert],
    ['sslkey', settings.sslkey],
    ['gssencmode', settings.gssencmode],
  ];
}

/** A libpq conninfo value: bare when it can be, otherwise single-quoted with \ escapes. */
function conninfoValue(value: string): string {
  if (value !== '' && !/[\s'\\]/.test(value)) return value;
  return `'${value.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

/** One POSIX shell word: bare when it can be, otherwise single-quoted ('\'' for a quote). */
export function shellQuote(text: string): string {
  return text !== '' && /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
