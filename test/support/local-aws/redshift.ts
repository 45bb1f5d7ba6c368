// Provisioned Redshift on the local endpoint: the clusters tests add (id, status, the endpoint
// they answer on, the stand-in PostgreSQL that plays the cluster), and the two actions Gatehouse
// calls — DescribeClusters and GetClusterCredentials — with AWS's checks: IAM permission on the
// dbuser / dbname ARNs, the cluster's existence and state, and the parameters' constraints.
import { randomBytes } from 'node:crypto';
import { accessDenied, AwsApiError, invalidParameter, missingParameter } from './errors.js';
import type { Caller, Iam } from './iam.js';
import type { LoginMinter } from './login-minter.js';
import type { QueryParameters, XmlObject } from './query-protocol.js';
import type { QueryService } from './services.js';

export interface ClusterSpec {
  readonly id: string;
  /** available (default), paused, resizing, rebooting, ... */
  readonly status?: string;
  /** The endpoint DescribeClusters reports (where the stand-in really listens, for tests). */
  readonly host: string;
  readonly port: number;
  readonly dbName?: string;
  readonly masterUsername?: string;
  /** Creates the minted login in the stand-in PostgreSQL; without one, credentials are only returned. */
  readonly minter?: LoginMinter;
}

/** Endpoint-wide settings the credential actions share. */
export interface MintSettings {
  readonly region: string;
  readonly now: () => number;
  /** Overrides every token's lifetime (seconds), so expiry can be tested in seconds. */
  tokenLifetimeSeconds(): number | undefined;
  /** Told about every minted password (tests assert it never shows up in logs). */
  onMint(record: { service: string; target: string; dbUser: string; password: string; expiration: Date }): void;
}

interface ClusterRecord extends ClusterSpec {
  status: string;
  readonly createdAt: Date;
}

export class RedshiftClusters {
  private readonly clusters = new Map<string, ClusterRecord>();

  add(spec: ClusterSpec, now: number): void {
    this.clusters.set(spec.id, { ...spec, status: spec.status ?? 'available', createdAt: new Date(now) });
  }

  setStatus(id: string, status: string): void {
    const cluster = this.clusters.get(id);
    if (cluster === undefined) throw new Error(`no cluster ${id} on the local endpoint`);
    cluster.status = status;
  }

  get(id: string): ClusterRecord | undefined {
    return this.clusters.get(id);
  }

  all(): ClusterRecord[] {
    return [...this.clusters.values()];
  }
}

export function redshiftService(clusters: RedshiftClusters, iam: Iam, settings: MintSettings): QueryService {
  const arn = (resource: string) => `arn:aws:redshift:${settings.region}:${iam.accountId}:${resource}`;
  const authorize = (caller: Caller, action: string, resource: string) => {
    if (!iam.isAllowed(caller, action, resource)) throw accessDenied(caller.arn, action, resource);
  };
  const clusterNotFound = (id: string) => new AwsApiError('ClusterNotFound', `Cluster ${id} not found.`, 404);

  return {
    protocol: 'query',
    signingName: 'redshift',
    version: '2012-12-01',
    namespace: 'http://redshift.amazonaws.com/doc/2012-12-01/',
    unauthenticated: new Set(),
    secretParameters: new Set(),
    actions: {
      async DescribeClusters(params, caller) {
        const who = signed(caller);
        const id = params.optional('ClusterIdentifier');
        authorize(who, 'redshift:DescribeClusters', arn(`cluster:${id ?? '*'}`));
        if (id === undefined) return { Clusters: { Cluster: clusters.all().map((cluster) => clusterXml(cluster, arn)) } };
        const cluster = clusters.get(id);
        if (cluster === undefined) throw clusterNotFound(id);
        return { Clusters: { Cluster: [clusterXml(cluster, arn)] } };
      },

      async GetClusterCredentials(params, caller) {
        const who = signed(caller);
        const request = credentialsRequest(params);
        const { clusterId, dbUser, dbName } = request;
        authorize(who, 'redshift:GetClusterCredentials', arn(`dbuser:${clusterId}/${dbUser}`));
        if (dbName !== undefined) authorize(who, 'redshift:GetClusterCredentials', arn(`dbname:${clusterId}/${dbName}`));
        if (request.autoCreate) authorize(who, 'redshift:CreateClusterUser', arn(`dbuser:${clusterId}/${dbUser}`));
        for (const group of request.groups) authorize(who, 'redshift:JoinGroup', arn(`dbgroup:${clusterId}/${group}`));
        const cluster = clusters.get(clusterId);
        if (cluster === undefined) throw clusterNotFound(clusterId);
        if (cluster.status !== 'available') {
          throw new AwsApiError('InvalidClusterState', `Cluster ${clusterId} is in state ${cluster.status}; credentials can only be issued for an available cluster.`);
        }
        const lifetime = settings.tokenLifetimeSeconds() ?? request.durationSeconds;
        const expiration = new Date(Math.floor(settings.now() / 1000) * 1000 + lifetime * 1000);
        const loginRole = `${request.autoCreate ? 'IAMA' : 'IAM'}:${dbUser}`;
        const password = redshiftStylePassword();
        await mintLogin(cluster.minter, { role: loginRole, password, validUntil: expiration, database: dbName, groups: request.groups });
        settings.onMint({ service: 'redshift', target: clusterId, dbUser: loginRole, password, expiration });
        return { DbUser: loginRole, DbPassword: password, Expiration: expiration };
      },
    },
  };
}

function credentialsRequest(params: QueryParameters) {
  const dbUser = params.required('DbUser');
  // Redshift's documented constraints on DbUser.
  if (!/^[a-z][a-z0-9_+.@-]{0,63}$/.test(dbUser)) {
    throw invalidParameter(
      `DbUser ${dbUser} is invalid: it must be 1 to 64 characters, start with a lowercase letter and contain only lowercase letters, numbers, underscore, plus sign, period, at symbol or hyphen.`,
    );
  }
  const clusterId = params.optional('ClusterIdentifier');
  if (clusterId === undefined) throw missingParameter('ClusterIdentifier');
  const durationSeconds = params.integer('DurationSeconds') ?? 900;
  if (durationSeconds < 900 || durationSeconds > 3600) throw invalidParameter(`DurationSeconds ${durationSeconds} is out of range: it must be between 900 and 3600.`);
  return { dbUser, clusterId, dbName: params.optional('DbName'), durationSeconds, autoCreate: params.boolean('AutoCreate') ?? false, groups: params.list('DbGroups') };
}

/** Creates the login in the stand-in; its failure is the service's, not the caller's. */
export async function mintLogin(minter: LoginMinter | undefined, request: Parameters<LoginMinter['mint']>[0]): Promise<void> {
  if (minter === undefined) return;
  try {
    await minter.mint(request);
  } catch (error) {
    throw new AwsApiError('InternalFailure', `the stand-in PostgreSQL refused the login ${request.role}: ${(error as Error).message}`, 500);
  }
}

/** Looks like Redshift's: base64 of random bytes, about 60 characters. */
export function redshiftStylePassword(): string {
  return randomBytes(45).toString('base64');
}

export function signed(caller: Caller | undefined): Caller {
  if (caller === undefined) throw new AwsApiError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
  return caller;
}

function clusterXml(cluster: ClusterRecord, arn: (resource: string) => string): XmlObject {
  return {
    ClusterIdentifier: cluster.id,
    NodeType: 'ra3.xlplus',
    ClusterStatus: cluster.status,
    ClusterAvailabilityStatus: cluster.status === 'available' ? 'Available' : cluster.status === 'paused' ? 'Paused' : 'Modifying',
    MasterUsername: cluster.masterUsername ?? 'awsuser',
    DBName: cluster.dbName ?? 'dev',
    Endpoint: { Address: cluster.host, Port: cluster.port },
    ClusterCreateTime: cluster.createdAt,
    NumberOfNodes: 1,
    PubliclyAccessible: false,
    Encrypted: true,
    ClusterNamespaceArn: arn(`namespace:${cluster.id}`),
  };
}
