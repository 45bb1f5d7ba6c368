// A temporary password for one provisioned-cluster login, from GetClusterCredentials: for the
// session's database user (or the database's fixed auth.user) and database name, never creating the
// user (AutoCreate false). Redshift answers with the user as it must log in, `IAM:<user>`, and a
// password valid until Expiration; both are cached per cluster, user and database until shortly
// before then (credential-cache.ts), with one request in flight per key. The cluster is looked up
// first, so an unavailable cluster or a forged uri gets no credentials at all.
import { GetClusterCredentialsCommand } from '@aws-sdk/client-redshift';
import type { CredentialRequest, UpstreamCredentials } from '../auth/credentials.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import type { AwsCalls } from './aws-calls.js';
import type { AwsClients } from './aws-clients.js';
import { identityKey } from './aws-credentials.js';
import type { ExpiringCache } from './credential-cache.js';
import { redshiftOf, type RedshiftClusters } from './redshift-clusters.js';

export interface MintDependencies {
  readonly clients: AwsClients;
  readonly calls: AwsCalls;
  readonly cache: ExpiringCache<UpstreamCredentials>;
  readonly deadlineMs: () => number;
}

// Redshift's rules for DbUser and DbName (GetClusterCredentials API reference): checked here so the
// person at psql hears what is wrong with the name they typed, rather than an AWS validation error.
const REDSHIFT_NAME = /^[A-Za-z][A-Za-z0-9_+.@-]{0,63}$/;

export class RedshiftCredentials {
  constructor(
    private readonly clusters: RedshiftClusters,
    private readonly deps: MintDependencies,
  ) {}

  async credentialsFor({ database, dbUser, dbName }: CredentialRequest): Promise<UpstreamCredentials> {
    const { aws, clusterId, durationMs } = redshiftOf(database);
    const user = database.auth?.user ?? dbUser;
    checkRedshiftName('database user', user);
    checkRedshiftName('database name', dbName);
    await this.clusters.endpointFor(database);
    return this.deps.cache.get(this.keyFor({ database, dbUser, dbName }), async () => {
      const deadlineMs = this.deps.deadlineMs();
      const client = this.deps.clients.redshift(aws, deadlineMs);
      const context = { database: database.name, action: 'GetClusterCredentials', region: aws.region, endpoint: aws.endpoint, clusterId, dbUser: user, dbName, deadlineMs } as const;
      const output = await this.deps.calls.run(context, (abortSignal) =>
        client.send(
          new GetClusterCredentialsCommand({
            ClusterIdentifier: clusterId,
            DbUser: user,
            DbName: dbName,
            DurationSeconds: Math.floor(durationMs / 1000),
            AutoCreate: false,
          }),
          { abortSignal },
        ),
      );
      if (output.DbUser === undefined || output.DbPassword === undefined || output.Expiration === undefined) {
        throw incomplete(database.name, 'GetClusterCredentials');
      }
      return { value: { user: output.DbUser, password: output.DbPassword }, expiresAt: output.Expiration.getTime() };
    });
  }

  /** Drops the cached password for this request (e.g. after the database refused it). */
  forget(request: CredentialRequest): void {
    this.deps.cache.delete(this.keyFor(request));
  }

  private keyFor({ database, dbUser, dbName }: CredentialRequest): string {
    const { aws, clusterId, durationMs } = redshiftOf(database);
    const user = database.auth?.user ?? dbUser;
    return JSON.stringify(['redshift', identityKey(aws), aws.region, aws.endpoint ?? null, clusterId, user, dbName, durationMs]);
  }
}

/** Throws a 28000 refusal naming the rule when `value` cannot be a Redshift user or database name. */
export function checkRedshiftName(what: 'database user' | 'database name', value: string): void {
  if (REDSHIFT_NAME.test(value) && value.toLowerCase() !== 'public') return;
  throw new GatehouseError(
    ErrorCodes.ACCESS_DENIED,
    `${what} ${JSON.stringify(value)} cannot be used with Redshift IAM credentials: it must be 1-64 letters, digits and _+.@-, start with a letter, and not be PUBLIC`,
    {
      sqlState: SqlState.INVALID_AUTHORIZATION,
      hint: what === 'database user' ? 'Connect with another database user (psql -U).' : 'Connect to another database name (psql -d).',
    },
  );
}

export function incomplete(database: string, action: string): GatehouseError {
  return new GatehouseError(ErrorCodes.AWS_REQUEST_FAILED, `AWS answered ${action} for database "${database}" without a user, password or expiration`, {
    sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
    hint: 'Tell the Gatehouse administrator; AWS may be having trouble.',
  });
}
