// Amazon Resource Names of the things Gatehouse asks AWS about, spelled as IAM policies and AWS's
// error messages spell them; shared by the AccessDenied messages and `gatehouse aws policy`.

/** The ARN partition of a region: aws, aws-cn (China) or aws-us-gov (GovCloud). */
export function partitionFor(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export interface ArnScope {
  readonly partition: string;
  readonly region: string;
  /** Twelve digits, or '*' when it is not known. */
  readonly account: string;
}

export function clusterArn(scope: ArnScope, clusterId: string): string {
  return `arn:${scope.partition}:redshift:${scope.region}:${scope.account}:cluster:${clusterId}`;
}

/** GetClusterCredentials is authorized on the database user it mints for ('*' for any)... */
export function dbUserArn(scope: ArnScope, clusterId: string, dbUser: string): string {
  return `arn:${scope.partition}:redshift:${scope.region}:${scope.account}:dbuser:${clusterId}/${dbUser}`;
}

/** ...and on the database name it is for. */
export function dbNameArn(scope: ArnScope, clusterId: string, dbName: string): string {
  return `arn:${scope.partition}:redshift:${scope.region}:${scope.account}:dbname:${clusterId}/${dbName}`;
}

/** Serverless workgroup ARNs carry the workgroup's id (a UUID), not its name: '*' when it is not known. */
export function workgroupArn(scope: ArnScope, workgroupId: string): string {
  return `arn:${scope.partition}:redshift-serverless:${scope.region}:${scope.account}:workgroup/${workgroupId}`;
}

/**
 * The account and partition an AWS error message reveals: the resource's ARN first (the cluster's
 * account), else the caller's (`User: arn:aws:sts::123456789012:assumed-role/...`).
 */
export function scopeFromMessage(message: string, region: string): ArnScope {
  const resource = /arn:(aws[a-z-]*):redshift(?:-serverless)?:[a-z0-9-]*:(\d{12}):/.exec(message);
  const principal = /arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):/.exec(message);
  const found = resource ?? principal;
  return { partition: found?.[1] ?? partitionFor(region), region, account: found?.[2] ?? '*' };
}
