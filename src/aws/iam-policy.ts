// The IAM policy Gatehouse's AWS identity needs for the databases in a config, with the ARNs filled in,
// in the shape of the policies in the Redshift guides ("Create an IAM role or user with permissions to
// call GetClusterCredentials"): DescribeClusters on each cluster, GetClusterCredentials on the
// database users and names the roles allow there, the Serverless calls on each workgroup, and
// sts:AssumeRole on the roles Gatehouse assumes. Pure: the CLI prints what this returns.
import type { DatabaseConfig, GatehouseConfig } from '../config/types.js';
import { parseTraitValue } from '../rbac/traits.js';
import { matchLabels, WILDCARD } from '../rbac/match.js';
import { clusterArn, dbNameArn, dbUserArn, partitionFor, workgroupArn, type ArnScope } from './arns.js';

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string | string[];
  readonly Resource: string | string[];
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

export interface GatehousePolicy {
  readonly policy: PolicyDocument;
  /** What to attach where, and what to narrow by hand; one sentence each. */
  readonly notes: string[];
}

/**
 * `accountId` fills the account of cluster and workgroup ARNs; without it, the account of the
 * database's assume_role_arn (the cluster usually lives with the role), else '*'.
 */
export function gatehousePolicy(config: GatehouseConfig, accountId?: string): GatehousePolicy {
  const statements: PolicyStatement[] = [];
  const notes: string[] = [];
  const sids = new Set<string>();
  const sid = (text: string) => {
    let candidate = text;
    for (let n = 2; sids.has(candidate); n++) candidate = `${text}${n}`;
    sids.add(candidate);
    return candidate;
  };
  const assumed = new Map<string, string[]>();
  const viaWebIdentity = new Map<string, string[]>();

  for (const database of config.databases) {
    const aws = database.aws;
    if (aws === undefined) continue;
    const scope: ArnScope = { partition: partitionFor(aws.region), region: aws.region, account: accountId ?? accountOf(aws.assume_role_arn) ?? WILDCARD };
    const name = sidName(database.name);
    if (aws.redshift !== undefined) {
      const cluster = aws.redshift.cluster_id;
      statements.push({ Sid: sid(`${name}DescribeCluster`), Effect: 'Allow', Action: 'redshift:DescribeClusters', Resource: clusterArn(scope, cluster) });
      const users = database.auth?.user !== undefined ? [database.auth.user] : allowedValues(config, database, 'db_users');
      const names = allowedValues(config, database, 'db_names');
      if (users.length === 0 || names.length === 0) {
        notes.push(`No role allows any database ${users.length === 0 ? 'user' : 'name'} on database "${database.name}": the policy grants no GetClusterCredentials for it.`);
      } else {
        statements.push({
          Sid: sid(`${name}GetClusterCredentials`),
          Effect: 'Allow',
          Action: 'redshift:GetClusterCredentials',
          Resource: [...users.map((user) => dbUserArn(scope, cluster, user)), ...names.map((dbName) => dbNameArn(scope, cluster, dbName))],
        });
      }
    } else if (aws.redshift_serverless !== undefined) {
      const workgroup = aws.redshift_serverless.workgroup;
      statements.push({
        Sid: sid(`${name}ServerlessCredentials`),
        Effect: 'Allow',
        Action: ['redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'],
        Resource: workgroupArn(scope, WILDCARD),
      });
      notes.push(
        `Workgroup ARNs carry the workgroup id, not its name: replace "workgroup/*" in ${name}ServerlessCredentials with "workgroup/" and the id of workgroup "${workgroup}" (aws redshift-serverless get-workgroup --workgroup-name ${workgroup} --region ${aws.region} --query workgroup.workgroupId).`,
      );
    }
    const role = aws.assume_role_arn;
    if (role !== undefined) {
      const users = aws.web_identity_token_file !== undefined ? viaWebIdentity : assumed;
      users.set(role, [...(users.get(role) ?? []), database.name]);
    }
  }

  if (assumed.size > 0) {
    statements.unshift({ Sid: 'GatehouseBaseIdentityAssumesRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [...assumed.keys()] });
    notes.unshift(
      'GatehouseBaseIdentityAssumesRoles is for the identity Gatehouse runs as (its environment, profile or instance role); the other statements are for the roles it assumes.',
    );
    for (const [role, databases] of assumed) {
      const externalIds = [...new Set(config.databases.filter((database) => database.aws?.assume_role_arn === role).flatMap((database) => database.aws?.external_id ?? []))];
      const condition = externalIds.length > 0 ? ` with the condition StringEquals sts:ExternalId ${externalIds.map((id) => JSON.stringify(id)).join(', ')}` : '';
      notes.push(`Role ${role} (databases ${databases.map((name) => `"${name}"`).join(', ')}) needs the statements of those databases, and a trust policy that lets Gatehouse's base identity assume it${condition}.`);
    }
  }
  for (const [role, databases] of viaWebIdentity) {
    notes.push(`Role ${role} (databases ${databases.map((name) => `"${name}"`).join(', ')}) needs the statements of those databases, and a trust policy that allows sts:AssumeRoleWithWebIdentity for the token's OIDC provider.`);
  }
  if (statements.length === 0) notes.push('No database in this config has an aws block: Gatehouse needs no AWS permissions.');
  return { policy: { Version: '2012-10-17', Statement: statements }, notes };
}

/** The db users (or names) the roles that select this database allow: '*' alone when any is a wildcard or a trait template. */
function allowedValues(config: GatehouseConfig, database: DatabaseConfig, field: 'db_users' | 'db_names'): string[] {
  const values = new Set<string>();
  for (const role of config.roles) {
    if (role.allow.db_labels === undefined || !matchLabels(role.allow.db_labels, database.labels)) continue;
    for (const value of role.allow[field] ?? []) {
      // A template's values come from each user's traits, which the users file can change at run time.
      if (value === WILDCARD || parseTraitValue(value).kind !== 'literal') return [WILDCARD];
      values.add(value);
    }
  }
  return [...values];
}

function accountOf(roleArn: string | undefined): string | undefined {
  return roleArn === undefined ? undefined : /^arn:[^:]+:iam::(\d{12}):/.exec(roleArn)?.[1];
}

/** A statement id from a database name: letters and digits only, as IAM requires ("my-db_1" → "MyDb1"). */
function sidName(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
