// Where a provisioned Redshift cluster lives, from DescribeClusters: its endpoint, port and status.
// Answers are cached briefly (30 s by default, less for a cluster that is not available, so a resumed
// cluster is usable soon). A cluster that is not `available` (paused, resizing, rebooting) is
// refused with its status, and a configured uri must be the cluster's real endpoint (endpoint-check.ts).
import { DescribeClustersCommand, type Cluster } from '@aws-sdk/client-redshift';
import type { DatabaseConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import type { AwsCalls } from './aws-calls.js';
import type { AwsClients } from './aws-clients.js';
import { identityKey } from './aws-credentials.js';
import { ExpiringCache } from './credential-cache.js';
import { checkedAddress } from './endpoint-check.js';

export const DEFAULT_ENDPOINT_CACHE_MS = 30_000;
/** How long a cluster that is not available is remembered as such. */
const UNAVAILABLE_CACHE_MS = 5_000;

export interface EndpointLookupDependencies {
  readonly clients: AwsClients;
  readonly calls: AwsCalls;
  readonly now: () => number;
  /** The deadline of one AWS call (the session's connect timeout), read at each call. */
  readonly deadlineMs: () => number;
  readonly cacheMs: number;
}

/** The parts of a DescribeClusters answer Gatehouse uses. */
interface ClusterState {
  readonly status: string;
  readonly host?: string;
  readonly port?: number;
  readonly customDomainName?: string;
}

export class RedshiftClusters {
  private readonly cache: ExpiringCache<ClusterState>;

  constructor(private readonly deps: EndpointLookupDependencies) {
    this.cache = new ExpiringCache({ now: deps.now, marginMs: () => 0 });
  }

  /** The address to dial for this database, once AWS says the cluster is available there. */
  async endpointFor(database: DatabaseConfig): Promise<{ host: string; port: number }> {
    const { aws, clusterId } = redshiftOf(database);
    const cluster = await this.describe(database);
    const what = `Redshift cluster "${clusterId}"`;
    if (cluster.status !== 'available' || cluster.host === undefined || cluster.port === undefined) {
      throw new GatehouseError(ErrorCodes.AWS_NOT_AVAILABLE, `${what} of database "${database.name}" is ${cluster.status}, not available`, {
        sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
        hint: `Gatehouse connects only to an available cluster: resume it or wait until it is available (aws redshift describe-clusters --cluster-identifier ${clusterId} --region ${aws.region}), then connect again.`,
      });
    }
    const aliases = cluster.customDomainName === undefined ? [] : [cluster.customDomainName];
    return checkedAddress(database, { host: cluster.host, port: cluster.port, aliases }, what);
  }

  private describe(database: DatabaseConfig): Promise<ClusterState> {
    const { aws, clusterId } = redshiftOf(database);
    const key = JSON.stringify([identityKey(aws), aws.region, aws.endpoint ?? null, clusterId]);
    return this.cache.get(key, async () => {
      const deadlineMs = this.deps.deadlineMs();
      const client = this.deps.clients.redshift(aws, deadlineMs);
      const context = { database: database.name, action: 'DescribeClusters', region: aws.region, endpoint: aws.endpoint, clusterId, deadlineMs } as const;
      const output = await this.deps.calls.run(context, (abortSignal) =>
        client.send(new DescribeClustersCommand({ ClusterIdentifier: clusterId }), { abortSignal }),
      );
      const state = stateOf(output.Clusters?.find((cluster) => cluster.ClusterIdentifier === clusterId) ?? output.Clusters?.[0]);
      const ttl = state.status === 'available' ? this.deps.cacheMs : Math.min(this.deps.cacheMs, UNAVAILABLE_CACHE_MS);
      return { value: state, expiresAt: this.deps.now() + ttl };
    });
  }
}

function stateOf(cluster: Cluster | undefined): ClusterState {
  if (cluster === undefined) return { status: 'not listed by DescribeClusters' };
  return {
    status: cluster.ClusterStatus ?? 'of unknown status',
    host: cluster.Endpoint?.Address,
    port: cluster.Endpoint?.Port,
    customDomainName: cluster.CustomDomainName,
  };
}

export function redshiftOf(database: DatabaseConfig) {
  const aws = database.aws;
  const redshift = aws?.redshift;
  if (aws === undefined || redshift === undefined) throw new Error(`database "${database.name}" is not a Redshift cluster`);
  return { aws, clusterId: redshift.cluster_id, durationMs: redshift.duration_ms };
}
