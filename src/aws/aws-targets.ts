// The TargetResolver for databases with an aws block: the address AWS reports (DescribeClusters,
// GetWorkgroup; a configured uri only when it is that address), verified with the database's tls
// block, whose server_name defaults to the endpoint host. A router keeps ConfiguredTargets for the rest.
import type { DatabaseConfig } from '../config/types.js';
import { ConfiguredTargets, type TargetResolver, type UpstreamTarget } from '../proxy/upstream-targets.js';
import type { RedshiftClusters } from './redshift-clusters.js';
import type { ServerlessWorkgroups } from './serverless-credentials.js';

export class AwsTargets implements TargetResolver {
  // Reused for the TLS half of a target (CA file reading and caching, server_name default).
  private readonly tls = new ConfiguredTargets();

  constructor(
    private readonly clusters: RedshiftClusters,
    private readonly workgroups: ServerlessWorkgroups,
  ) {}

  async targetFor(database: DatabaseConfig): Promise<UpstreamTarget> {
    const { host, port } = database.aws?.redshift !== undefined ? await this.clusters.endpointFor(database) : await this.workgroups.endpointFor(database);
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return this.tls.targetFor({ ...database, uri: address });
  }
}

/** AWS endpoints for databases with an aws block, `otherwise` for the rest. */
export class RoutingTargets implements TargetResolver {
  constructor(
    private readonly aws: TargetResolver,
    private readonly otherwise: TargetResolver,
  ) {}

  targetFor(database: DatabaseConfig): Promise<UpstreamTarget> {
    return (database.aws === undefined ? this.otherwise : this.aws).targetFor(database);
  }
}
