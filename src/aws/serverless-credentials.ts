// Redshift Serverless: GetWorkgroup for the endpoint (cached briefly, refused unless AVAILABLE, a
// configured uri checked against it) and GetCredentials for a temporary password. Serverless takes
// no database user: AWS derives it from Gatehouse's IAM identity (`IAMR:<role>` for a role,
// `IAM:<user>` for a user), so the cache key is the identity, workgroup and database name.
import { GetCredentialsCommand, GetWorkgroupCommand, type Workgroup } from '@aws-sdk/client-redshift-serverless';
import type { CredentialRequest, UpstreamCredentials } from '../auth/credentials.js';
import type { DatabaseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { identityKey } from './aws-credentials.js';
import { ExpiringCache } from './credential-cache.js';
import { checkedAddress } from './endpoint-check.js';
import type { EndpointLookupDependencies } from './redshift-clusters.js';
import { checkRedshiftName, incomplete, type MintDependencies } from './redshift-credentials.js';

const UNAVAILABLE_CACHE_MS = 5_000;

interface WorkgroupState {
  readonly status: string;
  readonly arn?: string;
  readonly host?: string;
  readonly port?: number;
  readonly customDomainName?: string;
}

export class ServerlessWorkgroups {
  private readonly cache: ExpiringCache<WorkgroupState>;

  constructor(private readonly deps: EndpointLookupDependencies) {
    this.cache = new ExpiringCache({ now: deps.now, marginMs: () => 0 });
  }

  async endpointFor(database: DatabaseConfig): Promise<{ host: string; port: number }> {
    return (await this.available(database)).address;
  }

  /** The workgroup's address and ARN, once AWS says it is AVAILABLE there. */
  async available(database: DatabaseConfig): Promise<{ address: { host: string; port: number }; arn?: string }> {
    const { aws, workgroup } = serverlessOf(database);
    const state = await this.describe(database);
    const what = `Redshift Serverless workgroup "${workgroup}"`;
    if (state.status !== 'AVAILABLE' || state.host === undefined || state.port === undefined) {
      throw new GatehouseError(ErrorCodes.AWS_NOT_AVAILABLE, `${what} of database "${database.name}" is ${state.status}, not AVAILABLE`, {
        sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
        hint: `Wait until it is available (aws redshift-serverless get-workgroup --workgroup-name ${workgroup} --region ${aws.region}), then connect again.`,
      });
    }
    const aliases = state.customDomainName === undefined ? [] : [state.customDomainName];
    return { address: checkedAddress(database, { host: state.host, port: state.port, aliases }, what), arn: state.arn };
  }

  private describe(database: DatabaseConfig): Promise<WorkgroupState> {
    const { aws, workgroup } = serverlessOf(database);
    const key = JSON.stringify([identityKey(aws), aws.region, aws.endpoint ?? null, workgroup]);
    return this.cache.get(key, async () => {
      const deadlineMs = this.deps.deadlineMs();
      const client = this.deps.clients.serverless(aws, deadlineMs);
      const context = { database: database.name, action: 'GetWorkgroup', region: aws.region, endpoint: aws.endpoint, workgroup, deadlineMs } as const;
      const output = await this.deps.calls.run(context, (abortSignal) => client.send(new GetWorkgroupCommand({ workgroupName: workgroup }), { abortSignal }));
      const state = stateOf(output.workgroup);
      const ttl = state.status === 'AVAILABLE' ? this.deps.cacheMs : Math.min(this.deps.cacheMs, UNAVAILABLE_CACHE_MS);
      return { value: state, expiresAt: this.deps.now() + ttl };
    });
  }
}

export class ServerlessCredentials {
  constructor(
    private readonly workgroups: ServerlessWorkgroups,
    private readonly deps: MintDependencies,
  ) {}

  async credentialsFor({ database, dbName }: CredentialRequest): Promise<UpstreamCredentials> {
    const { aws, workgroup, durationMs } = serverlessOf(database);
    checkRedshiftName('database name', dbName);
    const { arn } = await this.workgroups.available(database);
    return this.deps.cache.get(this.keyFor(database, dbName), async () => {
      const deadlineMs = this.deps.deadlineMs();
      const client = this.deps.clients.serverless(aws, deadlineMs);
      const context = { database: database.name, action: 'GetCredentials', region: aws.region, endpoint: aws.endpoint, workgroup, workgroupArn: arn, dbName, deadlineMs } as const;
      const output = await this.deps.calls.run(context, (abortSignal) =>
        client.send(new GetCredentialsCommand({ workgroupName: workgroup, dbName, durationSeconds: Math.floor(durationMs / 1000) }), { abortSignal }),
      );
      if (output.dbUser === undefined || output.dbPassword === undefined || output.expiration === undefined) throw incomplete(database.name, 'GetCredentials');
      return { value: { user: output.dbUser, password: output.dbPassword }, expiresAt: output.expiration.getTime() };
    });
  }

  /** Drops the cached password for this request (e.g. after the database refused it). */
  forget({ database, dbName }: CredentialRequest): void {
    this.deps.cache.delete(this.keyFor(database, dbName));
  }

  private keyFor(database: DatabaseConfig, dbName: string): string {
    const { aws, workgroup, durationMs } = serverlessOf(database);
    return JSON.stringify(['serverless', identityKey(aws), aws.region, aws.endpoint ?? null, workgroup, dbName, durationMs]);
  }
}

function stateOf(workgroup: Workgroup | undefined): WorkgroupState {
  if (workgroup === undefined) return { status: 'not returned by GetWorkgroup' };
  return {
    status: workgroup.status ?? 'of unknown status',
    arn: workgroup.workgroupArn,
    host: workgroup.endpoint?.address,
    port: workgroup.endpoint?.port ?? workgroup.port,
    customDomainName: workgroup.customDomainName,
  };
}

export function serverlessOf(database: DatabaseConfig) {
  const aws = database.aws;
  const serverless = aws?.redshift_serverless;
  if (aws === undefined || serverless === undefined) throw new Error(`database "${database.name}" is not a Redshift Serverless workgroup`);
  return { aws, workgroup: serverless.workgroup, durationMs: serverless.duration_ms };
}
