// A local stand-in for the AWS APIs Gatehouse's Redshift support calls, for tests and demos. The
// real SDK clients reach it through `aws.endpoint` / `aws.sts_endpoint` (http://127.0.0.1:PORT)
// and run unchanged: Query protocol for Redshift and STS, JSON 1.1 for Redshift Serverless, real
// SigV4 checks, real error codes. Minted credentials become real logins in a stand-in PostgreSQL.
// It is never imported from src/: production code only ever talks to AWS.
//
// The test-facing API: identities and roles (iam), clusters and workgroups, a status switch
// (pause a cluster), planned faults, a token lifetime override, the call log and the passwords
// minted so far.
import { FaultPlan, type Fault } from './faults.js';
import { HttpFront, type CallRecord } from './http-front.js';
import { Iam, type AccessKey, type Grant, type RoleSpec, type UserSpec } from './iam.js';
import { RedshiftClusters, redshiftService, type ClusterSpec } from './redshift.js';
import { ServerlessWorkgroups, redshiftServerlessService, type WorkgroupSpec } from './redshift-serverless.js';
import { stsService } from './sts.js';
import { registerSecret } from '../secret-ledger.js';

export type { CallRecord } from './http-front.js';
export type { AccessKey, Grant, RoleSpec, UserSpec } from './iam.js';
export type { ClusterSpec } from './redshift.js';
export type { WorkgroupSpec } from './redshift-serverless.js';
export { Faults, type Fault } from './faults.js';

export interface LocalAwsOptions {
  /** The one region this endpoint serves; requests signed for another are refused. Default us-east-1. */
  readonly region?: string;
  readonly accountId?: string;
  readonly now?: () => number;
  /** Told about each call as it is logged (the demo prints them). */
  readonly onCall?: (call: CallRecord) => void;
}

export interface MintedPassword {
  readonly service: string;
  /** The cluster id or workgroup name. */
  readonly target: string;
  readonly dbUser: string;
  readonly password: string;
  readonly expiration: Date;
}

export class LocalAws {
  readonly region: string;
  readonly accountId: string;
  /** Every call, oldest first. */
  readonly calls: CallRecord[] = [];
  /** Every password handed out, oldest first. */
  readonly minted: MintedPassword[] = [];
  private readonly iam: Iam;
  private readonly clusters = new RedshiftClusters();
  private readonly workgroups = new ServerlessWorkgroups();
  private readonly faults = new FaultPlan();
  private readonly now: () => number;
  private readonly onCall: ((call: CallRecord) => void) | undefined;
  private lifetimeOverride: number | undefined;
  private front: HttpFront | undefined;
  private listeningPort = 0;

  private constructor(options: LocalAwsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.now = options.now ?? Date.now;
    this.onCall = options.onCall;
    this.iam = new Iam(this.accountId, this.now);
  }

  static async start(options: LocalAwsOptions = {}): Promise<LocalAws> {
    const aws = new LocalAws(options);
    const settings = {
      region: aws.region,
      now: aws.now,
      tokenLifetimeSeconds: () => aws.lifetimeOverride,
      onMint: (record: MintedPassword) => {
        registerSecret('minted-password', `password minted for ${record.dbUser} on ${record.target}`, record.password);
        aws.minted.push(record);
      },
    };
    aws.front = new HttpFront({
      region: aws.region,
      now: aws.now,
      iam: aws.iam,
      services: [redshiftService(aws.clusters, aws.iam, settings), stsService(aws.iam), redshiftServerlessService(aws.workgroups, aws.iam, settings)],
      faults: aws.faults,
      onCall: (call) => {
        aws.calls.push(call);
        aws.onCall?.(call);
      },
    });
    aws.listeningPort = await aws.front.listen();
    return aws;
  }

  /** What `aws.endpoint` and `aws.sts_endpoint` point at. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.listeningPort}`;
  }

  get port(): number {
    return this.listeningPort;
  }

  addUser(spec: UserSpec): AccessKey {
    const key = this.iam.addUser(spec);
    registerSecret('aws-secret-key', `AWS secret access key of ${spec.name}`, key.secretAccessKey);
    return key;
  }

  /** Returns the role's ARN. */
  addRole(spec: RoleSpec): string {
    return this.iam.addRole(spec);
  }

  /** Attaches an Allow statement to a user or role ARN. */
  allow(principalArn: string, grant: Grant): void {
    this.iam.allow(principalArn, grant);
  }

  revokeAll(principalArn: string): void {
    this.iam.revokeAll(principalArn);
  }

  addCluster(spec: ClusterSpec): void {
    this.clusters.add(spec, this.now());
  }

  /** e.g. `paused`, `resizing`, `available`. */
  setClusterStatus(id: string, status: string): void {
    this.clusters.setStatus(id, status);
  }

  addWorkgroup(spec: WorkgroupSpec): void {
    this.workgroups.add(spec, this.now());
  }

  setWorkgroupStatus(name: string, status: string): void {
    this.workgroups.setStatus(name, status);
  }

  /** The next `times` calls of `action` meet `fault` (Infinity: until clearFaults). */
  failNext(action: string, fault: Fault, times = 1): void {
    this.faults.failNext(action, times, fault);
  }

  clearFaults(action?: string): void {
    this.faults.clear(action);
  }

  /** Every minted token lives this many seconds instead of its DurationSeconds; undefined restores. */
  setTokenLifetime(seconds: number | undefined): void {
    this.lifetimeOverride = seconds;
  }

  /** The calls of one action, optionally only the successful ones. */
  callsOf(action: string, outcome?: string): CallRecord[] {
    return this.calls.filter((call) => call.action === action && (outcome === undefined || call.outcome === outcome));
  }

  async stop(): Promise<void> {
    await this.front?.close();
  }
}

export function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  return LocalAws.start(options);
}
