// `dbctl login DB`: a database certificate for one database, requested over mutual TLS with the
// identity certificate, for a key pair generated here; stored under the profile and written as a
// section of the pg service file so `psql "service=DB"` works. When no --db-user/--db-name is
// given and the person's roles allow exactly one there, that one becomes the certificate's default
// (libpq always sends some user name, so a service without one would log in as the OS user).
// connect, config and proxy call ensureDatabaseLogin to log in only when needed.
import { DbctlError } from './dbctl-error.js';
import { connectionSettings, serviceSettings, type ConnectionSettings } from './connection-settings.js';
import { certificateMatchesKey, isExpired, withIdentity, type DbctlContext } from './dbctl-context.js';
import { listDatabases, requestDatabaseCertificate, type DatabaseEntry } from './gatehouse-api.js';
import { generateClientKeyPair } from './key-pair.js';
import { readServiceFile, upsertManagedSection, writeServiceFile } from './pg-service-file.js';
import { checkDatabaseName, type DatabaseLogin, type StoredProfile } from './profile-store.js';

export interface DatabaseRequest {
  database: string;
  dbUser?: string;
  dbName?: string;
}

/** The request a command's --db-user / --db-name options make, leaving out what was not given. */
export function databaseRequest(database: string, options: { dbUser?: string; dbName?: string }): DatabaseRequest {
  return {
    database,
    ...(options.dbUser === undefined ? {} : { dbUser: options.dbUser }),
    ...(options.dbName === undefined ? {} : { dbName: options.dbName }),
  };
}

export interface DatabaseLoginResult {
  login: DatabaseLogin;
  settings: ConnectionSettings;
  /** Defaults dbctl chose because the roles allow only one. */
  chosen: string[];
  /** Values the roles allow when dbctl could not choose, for a note. */
  choices: { dbUsers: string[]; dbNames: string[] };
  /** A service section for another proxy that this one replaced. */
  replacedOwner?: string;
}

/** A certificate renewed this close to expiry would not last through a psql session's start. */
const RENEW_MARGIN_MS = 60_000;

export async function loginToDatabase(context: DbctlContext, profile: StoredProfile, request: DatabaseRequest): Promise<DatabaseLoginResult> {
  checkDatabaseName(request.database);
  const chosen: string[] = [];
  let choices = { dbUsers: [] as string[], dbNames: [] as string[] };
  let dbUser = request.dbUser;
  let dbName = request.dbName;
  if (dbUser === undefined || dbName === undefined) {
    const entry = await withIdentity(context, profile, async (client, relogin) => (await listDatabases(client, relogin)).find((item) => item.name === request.database));
    if (entry !== undefined) {
      choices = { dbUsers: entry.db_users, dbNames: entry.db_names };
      if (dbUser === undefined) {
        dbUser = onlyValue(entry.db_users);
        if (dbUser !== undefined) chosen.push(`db user ${dbUser}`);
      }
      if (dbName === undefined) {
        dbName = onlyValue(entry.db_names);
        if (dbName !== undefined) chosen.push(`db name ${dbName}`);
      }
    }
  }
  const keys = await generateClientKeyPair();
  const answer = await withIdentity(context, profile, (client, relogin) =>
    requestDatabaseCertificate(
      client,
      { database: request.database, publicKeyPem: keys.publicKeyPem, ...(dbUser === undefined ? {} : { dbUser }), ...(dbName === undefined ? {} : { dbName }) },
      relogin,
    ),
  );
  if (!certificateMatchesKey(answer.cert_pem, keys.publicKeyPem)) {
    throw new DbctlError(`${profile.profile.proxy} answered with a certificate for a key dbctl did not send`, { hint: 'tell your Gatehouse administrator' });
  }
  if (answer.postgres_addr !== profile.profile.postgres_addr) {
    profile.profile.postgres_addr = answer.postgres_addr;
    context.store.updateProfile(profile.name, profile.profile);
  }
  const login = context.store.saveDatabase(
    profile.name,
    {
      database: request.database,
      ...(answer.db_user === undefined ? {} : { db_user: answer.db_user }),
      ...(answer.db_name === undefined ? {} : { db_name: answer.db_name }),
    },
    { certPem: answer.cert_pem, keyPem: keys.privateKeyPem },
  );
  const settings = connectionSettings(profile, login);
  const file = readServiceFile(context.serviceFile);
  const updated = upsertManagedSection(file, request.database, profile.profile.proxy, serviceSettings(settings), context.serviceFile);
  writeServiceFile(context.serviceFile, updated.file);
  return { login, settings, chosen, choices, ...(updated.replacedOwner === undefined ? {} : { replacedOwner: updated.replacedOwner }) };
}

/**
 * The database's certificate, logging in first when there is none, it (nearly) expired, or other
 * defaults than the certificate's were asked for. Says on stderr why it logs in.
 */
export async function ensureDatabaseLogin(context: DbctlContext, profile: StoredProfile, request: DatabaseRequest): Promise<DatabaseLogin> {
  checkDatabaseName(request.database);
  let existing: DatabaseLogin | undefined;
  try {
    existing = context.store.loadDatabase(profile.name, request.database);
  } catch {
    existing = undefined;
  }
  const reason = loginReason(existing, request, context.now());
  if (existing !== undefined && reason === undefined) return existing;
  context.writeErr(`Logging in to database ${request.database} (${reason ?? 'no certificate yet'})…\n`);
  const result = await loginToDatabase(context, profile, request);
  context.writeErr(`${describeDatabaseLogin(result, context.serviceFile)}\n`);
  return result.login;
}

/** Why a fresh certificate is needed, or undefined when the stored one will do. */
export function loginReason(existing: DatabaseLogin | undefined, request: DatabaseRequest, now: number): string | undefined {
  if (existing === undefined) return 'no certificate yet';
  if (isExpired(existing.notAfter, now + RENEW_MARGIN_MS)) {
    return isExpired(existing.notAfter, now) ? `the certificate expired at ${existing.notAfter.toISOString()}` : 'the certificate is about to expire';
  }
  if (request.dbUser !== undefined && request.dbUser !== existing.route.db_user) return `db user ${request.dbUser} asked for`;
  if (request.dbName !== undefined && request.dbName !== existing.route.db_name) return `db name ${request.dbName} asked for`;
  return undefined;
}

/** One line about a database login: who, where, until when, and the service written. */
export function describeDatabaseLogin(result: DatabaseLoginResult, serviceFile: string): string {
  const { route } = result.login;
  const as = [route.db_user === undefined ? undefined : `as ${route.db_user}`, route.db_name === undefined ? undefined : `to database ${route.db_name}`]
    .filter((part) => part !== undefined)
    .join(' ');
  const lines = [
    `Logged in to ${route.database}${as === '' ? '' : ` (${as})`}; the certificate is valid until ${result.login.notAfter.toISOString()}.`,
    `Wrote service [${route.database}] to ${serviceFile}.`,
  ];
  if (result.chosen.length > 0) lines.push(`(${result.chosen.join(' and ')}: the only one your roles allow there)`);
  if (route.db_user === undefined && result.choices.dbUsers.length > 0) {
    lines.push(`note: no default db user; your roles allow ${listText(result.choices.dbUsers)}: pass --db-user, or user=NAME to psql`);
  }
  if (result.replacedOwner !== undefined) lines.push(`note: replaced the section [${route.database}] dbctl had written for ${result.replacedOwner}`);
  return lines.join('\n');
}

/** The value when exactly one concrete value is allowed ("*" or a template is not a choice). */
function onlyValue(values: DatabaseEntry['db_users']): string | undefined {
  const concrete = values.filter((value) => value !== '*' && !value.includes('{{'));
  return values.length === 1 && concrete.length === 1 ? concrete[0] : undefined;
}

function listText(values: readonly string[]): string {
  return values.map((value) => (value === '*' ? 'any' : value)).join(', ');
}
