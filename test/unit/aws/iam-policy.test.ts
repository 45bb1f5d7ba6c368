import { describe, expect, it } from 'vitest';
import { gatehousePolicy } from '../../../src/aws/iam-policy.js';
import { parseConfig } from '../../../src/config/load.js';

function policyOf(yaml: string, accountId?: string) {
  return gatehousePolicy(parseConfig(`version: v1\n${yaml}`, 'g.yaml', { cwd: '/srv' }), accountId);
}

describe('gatehousePolicy', () => {
  it('grants dbuser:CLUSTER/* and dbname:CLUSTER/* for wildcards and trait templates', () => {
    const { policy } = policyOf(`
databases:
  - name: rs
    labels: { env: prod }
    aws: { region: cn-north-1, redshift: { cluster_id: c1 } }
roles:
  - name: a
    allow: { db_labels: { env: prod }, db_users: ["{{internal.db_users}}"], db_names: ["*"] }
  - name: other
    allow: { db_labels: { env: dev }, db_users: [nobody], db_names: [none] }
`);
    expect(policy.Statement.find((statement) => statement.Sid === 'RsGetClusterCredentials')?.Resource).toEqual([
      'arn:aws-cn:redshift:cn-north-1:*:dbuser:c1/*',
      'arn:aws-cn:redshift:cn-north-1:*:dbname:c1/*',
    ]);
  });

  it('collects the literal users and names of every role that selects the database, and uses auth.user when set', () => {
    const roles = `
roles:
  - name: a
    allow: { db_labels: { "*": "*" }, db_users: [reader, writer], db_names: [dev] }
  - name: b
    allow: { db_labels: { team: data }, db_users: [reader, etl], db_names: [sales] }
`;
    const collected = policyOf(`databases:\n  - name: rs\n    labels: { team: data }\n    aws: { region: us-east-1, redshift: { cluster_id: c1 } }\n${roles}`, '111122223333');
    expect(collected.policy.Statement[1]?.Resource).toEqual([
      'arn:aws:redshift:us-east-1:111122223333:dbuser:c1/reader',
      'arn:aws:redshift:us-east-1:111122223333:dbuser:c1/writer',
      'arn:aws:redshift:us-east-1:111122223333:dbuser:c1/etl',
      'arn:aws:redshift:us-east-1:111122223333:dbname:c1/dev',
      'arn:aws:redshift:us-east-1:111122223333:dbname:c1/sales',
    ]);
    const fixed = policyOf(`databases:\n  - name: rs\n    labels: { team: data }\n    auth: { user: etl }\n    aws: { region: us-east-1, redshift: { cluster_id: c1 } }\n${roles}`, '111122223333');
    expect(fixed.policy.Statement[1]?.Resource).toEqual([
      'arn:aws:redshift:us-east-1:111122223333:dbuser:c1/etl',
      'arn:aws:redshift:us-east-1:111122223333:dbname:c1/dev',
      'arn:aws:redshift:us-east-1:111122223333:dbname:c1/sales',
    ]);
  });

  it('says so when no role reaches a database, and when no database needs AWS', () => {
    const unreached = policyOf('databases:\n  - name: rs\n    aws: { region: us-east-1, redshift: { cluster_id: c1 } }\n');
    expect(unreached.policy.Statement.map((statement) => statement.Sid)).toEqual(['RsDescribeCluster']);
    expect(unreached.notes).toEqual(['No role allows any database user on database "rs": the policy grants no GetClusterCredentials for it.']);
    expect(policyOf('databases:\n  - { name: pg, uri: "db:5432" }\n')).toEqual({
      policy: { Version: '2012-10-17', Statement: [] },
      notes: ['No database in this config has an aws block: Gatehouse needs no AWS permissions.'],
    });
  });

  it('gives statement ids from database names, unique, and leaves web identity roles out of sts:AssumeRole', () => {
    const { policy, notes } = policyOf(`
databases:
  - name: wh-1
    aws: { region: us-east-1, assume_role_arn: "arn:aws:iam::123456789012:role/web", web_identity_token_file: /var/run/token, redshift_serverless: { workgroup: wg1 } }
  - name: wh_1
    aws: { region: us-east-1, redshift_serverless: { workgroup: wg2 } }
`);
    expect(policy.Statement.map((statement) => statement.Sid)).toEqual(['Wh1ServerlessCredentials', 'Wh1ServerlessCredentials2']);
    expect(policy.Statement[0]?.Resource).toBe('arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*');
    expect(notes.at(-1)).toBe(
      'Role arn:aws:iam::123456789012:role/web (databases "wh-1") needs the statements of those databases, and a trust policy that allows sts:AssumeRoleWithWebIdentity for the token\'s OIDC provider.',
    );
  });
});
