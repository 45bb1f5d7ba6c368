// dbctl's files under DBCTL_HOME (default ~/.dbctl): one profile per proxy, holding the host CA the
// person trusted, the identity certificate and its key, and one directory per database logged in
// to. Directories are 0700 and private keys 0600 (read back through key-files.ts, which refuses a
// key others could read, as ssh and libpq do). Every file is written to a temporary name and
// renamed, so an interrupted dbctl never leaves half a certificate behind.
//
//   $DBCTL_HOME/current                                  name of the current profile
//   $DBCTL_HOME/profiles/<host_port>/profile.json        see StoredProfile
//                                   /ca.pem              host CA (psql's sslrootcert)
//                                   /identity.key, identity.crt
//                                   /databases/<db>/client.key, client.crt, route.json
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readPrivateKeyFile } from '../ca/key-files.js';
import { writeFileAtomically } from '../files/atomic-write.js';
import { DbctlError } from './dbctl-error.js';

const DIR_MODE = 0o700;
const KEY_MODE = 0o600;
// Profiles, certificates and routes say who the user is and where they may go: owner-only, like the keys.
const FILE_MODE = 0o600;
/** The config's rule for database names: safe as a directory name and as a service section name. */
const DATABASE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const profileSchema = z.object({
  proxy: z.string().min(1),
  postgres_addr: z.string().min(1),
  user: z.string().min(1),
  roles: z.array(z.string()),
  ca_fingerprint: z.string(),
  insecure: z.boolean(),
});
const routeSchema = z.object({ database: z.string(), db_user: z.string().optional(), db_name: z.string().optional() });

export type Profile = z.infer<typeof profileSchema>;
export type DatabaseRoute = z.infer<typeof routeSchema>;

export interface CertificateFile {
  certPath: string;
  keyPath: string;
  certPem: string;
  notAfter: Date;
}

export interface StoredProfile {
  name: string;
  profile: Profile;
  caPath: string;
  caPem: string;
  identity: CertificateFile;
}

export interface DatabaseLogin extends CertificateFile {
  route: DatabaseRoute;
  dir: string;
}

export class ProfileStore {
  constructor(readonly home: string) {}

  /** The directory name of a proxy's profile: host_port, with anything unusual replaced. */
  static profileName(proxy: { host: string; port: number }): string {
    return `${proxy.host}_${proxy.port}`.replace(/[^A-Za-z0-9.-]/g, '_');
  }

  currentName(): string | undefined {
    const path = join(this.home, 'current');
    if (!existsSync(path)) return undefined;
    const name = readFileSync(path, 'utf8').trim();
    return name !== '' && existsSync(this.profilePath(name)) ? name : undefined;
  }

  setCurrent(name: string): void {
    this.ensureDir(this.home);
    writeFileAtomically(join(this.home, 'current'), `${name}\n`, FILE_MODE);
  }

  profileDir(name: string): string {
    return join(this.home, 'profiles', name);
  }

  /** profile.json alone, or undefined when it is missing or damaged (logout must work on a damaged profile). */
  peekProfile(name: string): Profile | undefined {
    try {
      return existsSync(this.profilePath(name)) ? readJson(this.profilePath(name), profileSchema, `profile ${name}`) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Names of every profile on disk. */
  profileNames(): string[] {
    const dir = join(this.home, 'profiles');
    return existsSync(dir) ? readdirSync(dir).filter((entry) => existsSync(this.profilePath(entry))).sort() : [];
  }

  loadProfile(name: string): StoredProfile | undefined {
    const dir = this.profileDir(name);
    if (!existsSync(this.profilePath(name))) return undefined;
    const profile = readJson(this.profilePath(name), profileSchema, `profile ${name}`);
    const caPath = join(dir, 'ca.pem');
    const identity = readCertificateFile(join(dir, 'identity.crt'), join(dir, 'identity.key'), `profile ${name}`);
    return { name, profile, caPath, caPem: readText(caPath, `profile ${name}`), identity };
  }

  /** Writes (or replaces) a profile with its CA and identity certificate. */
  saveProfile(name: string, profile: Profile, caPem: string, identity: { certPem: string; keyPem: string }): StoredProfile {
    const dir = this.profileDir(name);
    this.ensureDir(join(this.home, 'profiles'));
    this.ensureDir(dir);
    writeFileAtomically(join(dir, 'ca.pem'), caPem, FILE_MODE);
    writeFileAtomically(join(dir, 'identity.key'), identity.keyPem, KEY_MODE);
    writeFileAtomically(join(dir, 'identity.crt'), identity.certPem, FILE_MODE);
    writeFileAtomically(this.profilePath(name), `${JSON.stringify(profile, null, 2)}\n`, FILE_MODE);
    return this.loadProfile(name) as StoredProfile;
  }

  /** Rewrites profile.json alone (the Postgres address Gatehouse last reported, for one). */
  updateProfile(name: string, profile: Profile): void {
    writeFileAtomically(this.profilePath(name), `${JSON.stringify(profile, null, 2)}\n`, FILE_MODE);
  }

  /** Names of the databases a profile has a directory for, sorted (without reading their files). */
  databaseNames(name: string): string[] {
    const dir = join(this.profileDir(name), 'databases');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((entry) => DATABASE_NAME.test(entry))
      .sort();
  }

  /** Every database of a profile that has a certificate, sorted by name. */
  listDatabases(name: string): DatabaseLogin[] {
    return this.databaseNames(name)
      .map((database) => this.loadDatabase(name, database))
      .filter((login): login is DatabaseLogin => login !== undefined);
  }

  loadDatabase(name: string, database: string): DatabaseLogin | undefined {
    const dir = this.databaseDir(name, database);
    const routePath = join(dir, 'route.json');
    if (!existsSync(routePath)) return undefined;
    const route = readJson(routePath, routeSchema, `database ${database}`);
    return { route, dir, ...readCertificateFile(join(dir, 'client.crt'), join(dir, 'client.key'), `database ${database}`) };
  }

  saveDatabase(name: string, route: DatabaseRoute, certificate: { certPem: string; keyPem: string }): DatabaseLogin {
    const dir = this.databaseDir(name, route.database);
    this.ensureDir(join(this.profileDir(name), 'databases'));
    this.ensureDir(dir);
    writeFileAtomically(join(dir, 'client.key'), certificate.keyPem, KEY_MODE);
    writeFileAtomically(join(dir, 'client.crt'), certificate.certPem, FILE_MODE);
    writeFileAtomically(join(dir, 'route.json'), `${JSON.stringify(route, null, 2)}\n`, FILE_MODE);
    return this.loadDatabase(name, route.database) as DatabaseLogin;
  }

  /** Removes a database's certificate; false when there was none. */
  removeDatabase(name: string, database: string): boolean {
    const dir = this.databaseDir(name, database);
    if (!existsSync(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  }

  /** Removes a profile and everything in it, and forgets it as the current one. */
  removeProfile(name: string): void {
    rmSync(this.profileDir(name), { recursive: true, force: true });
    const currentPath = join(this.home, 'current');
    if (existsSync(currentPath) && readFileSync(currentPath, 'utf8').trim() === name) rmSync(currentPath, { force: true });
  }

  private profilePath(name: string): string {
    return join(this.profileDir(name), 'profile.json');
  }

  private databaseDir(name: string, database: string): string {
    checkDatabaseName(database);
    return join(this.profileDir(name), 'databases', database);
  }

  /** Creates a directory 0700, or narrows an existing one: it holds private keys. */
  private ensureDir(path: string): void {
    if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: DIR_MODE });
    if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) chmodSync(path, DIR_MODE);
  }
}

/** Refuses a name that is not a Gatehouse database name (it becomes a path and a service section). */
export function checkDatabaseName(database: string): void {
  if (!DATABASE_NAME.test(database)) {
    throw new DbctlError(`${JSON.stringify(database)} is not a Gatehouse database name (1-63 characters of a-z, 0-9, _ and -)`, {
      hint: 'see the names "dbctl ls" prints',
    });
  }
}

function readCertificateFile(certPath: string, keyPath: string, owner: string): CertificateFile {
  const certPem = readText(certPath, owner);
  // Read (and permission-check) the key now, so a damaged profile is found here and not by psql.
  readPrivateKeyFile(keyPath);
  let notAfter: Date;
  try {
    notAfter = new Date(new X509Certificate(certPem).validTo);
  } catch {
    throw damaged(owner, `${certPath} is not a certificate`);
  }
  return { certPath, keyPath, certPem, notAfter };
}

function readText(path: string, owner: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw damaged(owner, `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function readJson<T>(path: string, schema: z.ZodType<T>, owner: string): T {
  let value: unknown;
  try {
    value = JSON.parse(readText(path, owner));
  } catch (error) {
    if (error instanceof DbctlError) throw error;
    throw damaged(owner, `${path} is not JSON`);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw damaged(owner, `${path} does not hold what dbctl wrote there`);
  return result.data;
}

function damaged(owner: string, why: string): DbctlError {
  return new DbctlError(`dbctl's files for ${owner} are damaged: ${why}`, {
    hint: 'log out ("dbctl logout") and log in again; dbctl rewrites them',
  });
}
