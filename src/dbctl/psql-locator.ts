// Finds psql for `dbctl connect`: --psql when given, else the first executable psql on PATH, else
// the newest of Debian/Ubuntu's /usr/lib/postgresql/<version>/bin/psql (the postgresql-client
// package installs psql there and only a wrapper on PATH, which some images leave out).
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DbctlError } from './dbctl-error.js';

export interface PsqlSearch {
  /** --psql */
  override?: string;
  path?: string;
  /** Where versioned installs live; default /usr/lib/postgresql. */
  versionedRoot?: string;
}

export function locatePsql(search: PsqlSearch = {}): string {
  if (search.override !== undefined) {
    if (!isExecutableFile(search.override)) {
      throw new DbctlError(`--psql ${search.override}: no executable file there`, { hint: 'give the full path of psql, e.g. /usr/lib/postgresql/16/bin/psql' });
    }
    return search.override;
  }
  for (const dir of (search.path ?? process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'psql');
    if (isExecutableFile(candidate)) return candidate;
  }
  const root = search.versionedRoot ?? '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+(\.\d+)?$/.test(name)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const candidate = join(root, version, 'bin', 'psql');
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new DbctlError(`psql was not found on PATH or in ${root}/*/bin`, {
    hint:
      'install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq) or point --psql at it; ' +
      'other clients can use "dbctl config" or "dbctl proxy" instead',
  });
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
