// How a Postgres client reaches one database through Gatehouse with the files dbctl wrote: the
// proxy's Postgres address, the database certificate and key, the host CA, verify-full, and the
// db user / db name. Every output of dbctl (service file section, psql command, URI, PG*
// variables, JSON, dbt target, the local proxy) starts from this one value, so they cannot drift.
import { resolve } from 'node:path';
import { parseHostPort } from '../config/address.js';
import { DbctlError } from './dbctl-error.js';
import type { DatabaseLogin, StoredProfile } from './profile-store.js';

export interface ConnectionSettings {
  /** The Gatehouse database name, which is also the service section's name. */
  database: string;
  host: string;
  port: number;
  user?: string;
  dbname?: string;
  sslmode: 'verify-full';
  sslrootcert: string;
  sslcert: string;
  sslkey: string;
  /** Gatehouse never offers GSSAPI encryption; asking would only cost a round trip. */
  gssencmode: 'disable';
  /** When the database certificate stops working. */
  expiresAt: Date;
}

/**
 * The settings for a database logged in to. `user`/`dbname` are the overrides asked for, else the
 * defaults in the certificate's route; absent when neither names one.
 */
export function connectionSettings(profile: StoredProfile, login: DatabaseLogin, overrides: { dbUser?: string; dbName?: string } = {}): ConnectionSettings {
  const address = postgresAddress(profile);
  const user = overrides.dbUser ?? login.route.db_user;
  const dbname = overrides.dbName ?? login.route.db_name;
  return {
    database: login.route.database,
    host: address.host,
    port: address.port,
    ...(user === undefined ? {} : { user }),
    ...(dbname === undefined ? {} : { dbname }),
    sslmode: 'verify-full',
    sslrootcert: resolve(profile.caPath),
    sslcert: resolve(login.certPath),
    sslkey: resolve(login.keyPath),
    gssencmode: 'disable',
    expiresAt: login.notAfter,
  };
}

/** The proxy's Postgres listener as the login answer gave it (host of public_addr, listener port). */
export function postgresAddress(profile: StoredProfile): { host: string; port: number } {
  try {
    return parseHostPort(profile.profile.postgres_addr);
  } catch (error) {
    throw new DbctlError(`the Postgres address stored for ${profile.profile.proxy} is unusable: ${(error as Error).message}`, {
      hint: `log in again: dbctl login --proxy ${profile.profile.proxy} --user ${profile.profile.user}`,
    });
  }
}

/** The keys of a service file section, in the order people expect to read them. */
export function serviceSettings(settings: ConnectionSettings): Array<readonly [string, string]> {
  return [
    ['host', settings.host],
    ['port', String(settings.port)],
    ...(settings.user === undefined ? [] : [['user', settings.user] as const]),
    ...(settings.dbname === undefined ? [] : [['dbname', settings.dbname] as const]),
    ['sslmode', settings.sslmode],
    ['sslrootcert', settings.sslrootcert],
    ['sslcert', settings.sslcert],
    ['sslkey', settings.sslkey],
    ['gssencmode', settings.gssencmode],
  ];
}
