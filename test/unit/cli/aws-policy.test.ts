// `gatehouse aws policy` on the issue's example config: the exact policy JSON on stdout, the notes on
// stderr, and the refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerAwsPolicyCommand } from '../../../src/cli/aws-policy.js';
import { runCommand } from './cli-harness.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-aws-policy-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The issue's example databases, and a role that lets the data team in as awsuser on dev. */
function writeIssueConfig(): string {
  const path = join(root, 'gatehouse.yaml');
  writeFileSync(
    path,
    `version: v1
databases:
  - name: redshift
    description: AWS Redshift PostgreSQL
    protocol: postgres
    uri: redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com:5439   # optional
    labels: { env: dev }
    aws:
      region: us-east-1
      assume_role_arn: arn:aws:iam::123456789012:role/gatehouse-redshift   # optional
      external_id: example-external-id                                    # optional
      redshift: { cluster_id: redshift-cluster-1, duration: 15m }
  - name: analytics
    protocol: postgres
    aws: { region: us-east-1, redshift_serverless: { workgroup: analytics } }
  - name: local
    uri: 127.0.0.1:5432
    labels: { env: dev }
roles:
  - name: data-team
    allow:
      db_labels: { env: dev }
      db_users: [awsuser]
      db_names: [dev]
users:
  - { name: alice, roles: [data-team] }
`,
  );
  return path;
}

function policy(...args: string[]) {
  return runCommand(registerAwsPolicyCommand, ['aws', 'policy', ...args]);
}

describe('gatehouse aws policy', () => {
  it('prints the policy for the issue example, ARNs filled in', async () => {
    const result = await policy('--config', writeIssueConfig());
    expect(result.exitCode).toBeUndefined();
    expect(JSON.parse(result.stdout)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'GatehouseBaseIdentityAssumesRoles',
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: ['arn:aws:iam::123456789012:role/gatehouse-redshift'],
        },
        {
          Sid: 'RedshiftDescribeCluster',
          Effect: 'Allow',
          Action: 'redshift:DescribeClusters',
          Resource: 'arn:aws:redshift:us-east-1:123456789012:cluster:redshift-cluster-1',
        },
        {
          Sid: 'RedshiftGetClusterCredentials',
          Effect: 'Allow',
          Action: 'redshift:GetClusterCredentials',
          Resource: [
            'arn:aws:redshift:us-east-1:123456789012:dbuser:redshift-cluster-1/awsuser',
            'arn:aws:redshift:us-east-1:123456789012:dbname:redshift-cluster-1/dev',
          ],
        },
        {
          Sid: 'AnalyticsServerlessCredentials',
          Effect: 'Allow',
          Action: ['redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'],
          Resource: 'arn:aws:redshift-serverless:us-east-1:*:workgroup/*',
        },
      ],
    });
    expect(result.stdout.endsWith('}\n')).toBe(true);
    expect(result.stderr.split('\n')).toEqual([
      "note: GatehouseBaseIdentityAssumesRoles is for the identity Gatehouse runs as (its environment, profile or instance role); the other statements are for the roles it assumes.",
      'note: Workgroup ARNs carry the workgroup id, not its name: replace "workgroup/*" in AnalyticsServerlessCredentials with "workgroup/" and the id of workgroup "analytics" (aws redshift-serverless get-workgroup --workgroup-name analytics --region us-east-1 --query workgroup.workgroupId).',
      'note: Role arn:aws:iam::123456789012:role/gatehouse-redshift (databases "redshift") needs the statements of those databases, and a trust policy that lets Gatehouse\'s base identity assume it with the condition StringEquals sts:ExternalId "example-external-id".',
      '',
    ]);
  });

  it('uses --account-id for every cluster and workgroup ARN', async () => {
    const result = await policy('--config', writeIssueConfig(), '--account-id', '210987654321');
    const statements = (JSON.parse(result.stdout) as { Statement: { Resource: string | string[] }[] }).Statement;
    expect(statements.flatMap((statement) => statement.Resource).filter((arn) => arn.includes(':redshift'))).toEqual([
      'arn:aws:redshift:us-east-1:210987654321:cluster:redshift-cluster-1',
      'arn:aws:redshift:us-east-1:210987654321:dbuser:redshift-cluster-1/awsuser',
      'arn:aws:redshift:us-east-1:210987654321:dbname:redshift-cluster-1/dev',
      'arn:aws:redshift-serverless:us-east-1:210987654321:workgroup/*',
    ]);
  });

  it('refuses a malformed account id and an invalid config, with exit code 1', async () => {
    const bad = await policy('--config', writeIssueConfig(), '--account-id', '1234');
    expect(bad).toEqual({ stdout: '', stderr: '--account-id "1234" is not an AWS account id\nhint: An account id is 12 digits, e.g. 123456789012.\n', exitCode: 1 });
    const path = join(root, 'broken.yaml');
    writeFileSync(path, 'version: v1\ndatabases:\n  - name: rs\n    aws: { region: us-east-1 }\n');
    const broken = await policy('--config', path);
    expect(broken.exitCode).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toContain('databases[0].aws: needs databases[0].aws.redshift');
  });
});
