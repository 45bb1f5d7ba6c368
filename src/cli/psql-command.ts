// The psql command lines Gatehouse prints for people to copy: values quoted for libpq's conninfo
// and for the shell, so a path with spaces or quotes still works exactly as printed.

export interface PsqlTarget {
  host: string;
  port: number;
  /** sslrootcert: the host CA that signed Gatehouse's server certificate. */
  ca: string;
  cert: string;
  key: string;
  dbUser?: string;
  dbName?: string;
}

export function psqlCommand(target: PsqlTarget): string {
  const conninfo = [
    ['host', target.host],
    ['port', String(target.port)],
    ['sslmode', 'verify-full'],
    ['sslrootcert', target.ca],
    ['sslcert', target.cert],
    ['sslkey', target.key],
    ...(target.dbUser === undefined ? [] : [['user', target.dbUser]]),
    ...(target.dbName === undefined ? [] : [['dbname', target.dbName]]),
  ]
    .map(([key, value]) => `${key}=${conninfoValue(value as string)}`)
    .join(' ');
  return `psql ${shellDoubleQuote(conninfo)}`;
}

/** One shell word: bare when it can be, otherwise double-quoted. */
export function shellWord(text: string): string {
  return text !== '' && /^[\w@%+=:,./-]+$/.test(text) ? text : shellDoubleQuote(text);
}

/** A libpq conninfo value: bare when it can be, otherwise single-quoted with \ escapes. */
function conninfoValue(value: string): string {
  if (value !== '' && !/[\s'\\]/.test(value)) return value;
  return `'${value.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

/** Double quotes make only ", \, $ and ` special. */
function shellDoubleQuote(text: string): string {
  return `"${text.replace(/["\\$`]/g, (character) => `\\${character}`)}"`;
}
