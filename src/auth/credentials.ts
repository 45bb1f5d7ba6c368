// Where the credentials for an upstream login come from. The person at psql never sees them:
// static secrets (environment or file), the embedded database's generated password, and, with
// the Redshift issue, passwords minted per session through AWS.
import type { DatabaseConfig } from '../config/types.js';

export interface UpstreamCredentials {
  /** The role Gatehouse logs in to the database as. */
  readonly user: string;
  /** Absent when the database is expected not to ask for a password. */
  readonly password?: string;
}

export interface CredentialRequest {
  readonly database: DatabaseConfig;
  readonly dbUser: string;
  readonly dbName: string;
}

export interface CredentialSource {
  credentialsFor(request: CredentialRequest): Promise<UpstreamCredentials>;
  /** Drops cached credentials the database just refused, so the next session gets fresh ones. */
  forget?(request: CredentialRequest): void;
}
