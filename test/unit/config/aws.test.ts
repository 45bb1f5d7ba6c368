// The aws block of a database (Redshift and Redshift Serverless): what it loads to, and every
// problem a person can write into it, with the exact FILE:LINE:COL: PATH: MESSAGE they see.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function load(...lines: string[]) {
  return parseConfig(lines.join('\n'), 'conf/gatehouse.yaml', { cwd: '/srv' });
}

/** The printed problems of a config that must not load. */
function problems(...lines: string[]): string[] {
  try {
    load(...lines);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('the config loaded, but it should not have');
}

/** The issue's example databases, as an operator would write them. */
const ISSUE_EXAMPLE = [
  'version: v1',
  'databases:',
  '  - name: redshift',
  '    description: AWS Redshift PostgreSQL',
  '    protocol: postgres',
  '    uri: redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com:5439   # optional',
  '    labels: { env: dev }',
  '    aws:',
  '      region: us-east-1',
  '      assume_role_arn: arn:aws:iam::123456789012:role/gatehouse-redshift   # optional',
  '      external_id: example-external-id                                    # optional',
  '      redshift: { cluster_id: redshift-cluster-1, duration: 15m }',
  '  - name: analytics',
  '    protocol: postgres',
  '    aws: { region: us-east-1, redshift_serverless: { workgroup: analytics } }',
];

describe('the aws block', () => {
  it('loads the example from the issue', () => {
    const [redshift, analytics] = load(...ISSUE_EXAMPLE).databases;
    expect(redshift).toStrictEqual({
      name: 'redshift',
      description: 'AWS Redshift PostgreSQL',
      protocol: 'postgres',
      kind: 'postgres',
      uri: 'redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com:5439',
      labels: { env: 'dev' },
      tls: { mode: 'verify-full' },
      aws: {
        region: 'us-east-1',
        assume_role_arn: 'arn:aws:iam::123456789012:role/gatehouse-redshift',
        external_id: 'example-external-id',
        redshift: { cluster_id: 'redshift-cluster-1', duration_ms: 900_000 },
      },
    });
    expect(analytics).toStrictEqual({
      name: 'analytics',
      description: '',
      protocol: 'postgres',
      kind: 'postgres',
      labels: {},
      tls: { mode: 'verify-full' },
      aws: { region: 'us-east-1', redshift_serverless: { workgroup: 'analytics', duration_ms: 900_000 } },
    });
  });

  it('reads endpoints, web identity and durations, and resolves the token file against the working directory', () => {
    const [database] = load(
      'version: v1',
      'databases:',
      '  - name: rs',
      '    aws:',
      '      region: eu-west-2',
      '      endpoint: http://127.0.0.1:4566',
      '      sts_endpoint: https://sts.eu-west-2.amazonaws.com/',
      '      assume_role_arn: arn:aws:iam::123456789012:role/path/to/gatehouse',
      '      web_identity_token_file: ./token',
      '      redshift: { cluster_id: c-1, duration: 1h }',
    ).databases;
    expect(database?.aws).toStrictEqual({
      region: 'eu-west-2',
      endpoint: 'http://127.0.0.1:4566',
      sts_endpoint: 'https://sts.eu-west-2.amazonaws.com/',
      assume_role_arn: 'arn:aws:iam::123456789012:role/path/to/gatehouse',
      web_identity_token_file: '/srv/token',
      redshift: { cluster_id: 'c-1', duration_ms: 3_600_000 },
    });
    expect(database?.uri).toBeUndefined();
  });

  it('checks names, ARNs, endpoints and durations against what AWS allows', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: rs',
        '    aws:',
        '      region: US-East',
        '      endpoint: redshift.example.com',
        '      sts_endpoint: ftp://sts.example.com',
        '      assume_role_arn: arn:aws:iam::1234:user/me',
        '      external_id: "x"',
        '      redshift: { cluster_id: Cluster--1-, duration: 10m }',
        '  - name: sl',
        '    aws:',
        '      region: us-east-1',
        '      endpoint: https://user:pw@vpce.example.com/path',
        '      redshift_serverless: { workgroup: ab, duration: 15m500ms }',
        '  - name: long',
        '    aws: { region: us-east-1, redshift: { cluster_id: c, duration: 2h }, colour: red }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:5:15: databases[0].aws.region: "US-East" is not an AWS region; write e.g. us-east-1',
      'conf/gatehouse.yaml:6:17: databases[0].aws.endpoint: "redshift.example.com" is not a URL; write e.g. https://vpce-0123-abcd.redshift.us-east-1.vpce.amazonaws.com',
      'conf/gatehouse.yaml:7:21: databases[0].aws.sts_endpoint: "ftp://sts.example.com" must start with https:// (or http:// for a local test endpoint)',
      'conf/gatehouse.yaml:8:24: databases[0].aws.assume_role_arn: "arn:aws:iam::1234:user/me" is not an IAM role ARN; write e.g. arn:aws:iam::123456789012:role/gatehouse-redshift',
      'conf/gatehouse.yaml:9:20: databases[0].aws.external_id: must be 2 to 1224 characters of letters, digits and +=,.@:/_-',
      'conf/gatehouse.yaml:10:31: databases[0].aws.redshift.cluster_id: "Cluster--1-" is not a Redshift cluster identifier: 1-63 lowercase letters, digits and hyphens, starting with a letter, without a trailing hyphen or two hyphens in a row',
      'conf/gatehouse.yaml:10:54: databases[0].aws.redshift.duration: "10m" is out of range: it must be from 15m to 1h',
      'conf/gatehouse.yaml:14:17: databases[1].aws.endpoint: "https://user:pw@vpce.example.com/path" may hold only a scheme, a host and a port',
      'conf/gatehouse.yaml:15:41: databases[1].aws.redshift_serverless.workgroup: "ab" is not a Redshift Serverless workgroup name: 3-64 lowercase letters, digits and hyphens',
      'conf/gatehouse.yaml:15:55: databases[1].aws.redshift_serverless.duration: must be a whole number of seconds',
      'conf/gatehouse.yaml:17:68: databases[2].aws.redshift.duration: "2h" is out of range: it must be from 15m to 1h',
      'conf/gatehouse.yaml:17:74: databases[2].aws.colour: unknown key "colour" (allowed here: region, endpoint, sts_endpoint, assume_role_arn, external_id, web_identity_token_file, redshift, redshift_serverless)',
    ]);
  });

  it('requires the region and the cluster id or workgroup', () => {
    expect(problems('version: v1', 'databases:', '  - name: rs', '    aws:', '      redshift: {}', '  - name: sl', '    aws: { region: us-east-1, redshift_serverless: {} }')).toEqual([
      'conf/gatehouse.yaml:5:7: databases[0].aws.region: is required',
      'conf/gatehouse.yaml:5:17: databases[0].aws.redshift.cluster_id: is required',
      'conf/gatehouse.yaml:7:52: databases[1].aws.redshift_serverless.workgroup: is required',
    ]);
  });
});

describe('aws cross-field rules', () => {
  it('needs exactly one of redshift and redshift_serverless', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: neither',
        '    aws: { region: us-east-1 }',
        '  - name: both',
        '    aws:',
        '      region: us-east-1',
        '      redshift: { cluster_id: c }',
        '      redshift_serverless: { workgroup: wg1 }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:4:5: databases[0].aws: needs databases[0].aws.redshift (a provisioned cluster: { cluster_id: ID }) or databases[0].aws.redshift_serverless (a workgroup: { workgroup: NAME })',
      'conf/gatehouse.yaml:9:7: databases[1].aws.redshift_serverless: cannot be set together with databases[1].aws.redshift; a database is either a provisioned cluster or a Serverless workgroup',
    ]);
  });

  it('allows aws only for kind postgres, where uri becomes optional', () => {
    expect(problems('version: v1', 'databases:', '  - name: e', '    kind: embedded', '    aws: { region: us-east-1, redshift: { cluster_id: c } }')).toEqual([
      'conf/gatehouse.yaml:5:5: databases[0].aws: is only allowed when databases[0].kind is postgres, but it is embedded: Redshift is a database somewhere else',
    ]);
    expect(load('version: v1', 'databases:', '  - name: rs', '    kind: postgres', '    aws: { region: us-east-1, redshift: { cluster_id: c } }').databases[0]?.uri).toBeUndefined();
  });

  it('refuses a static password next to aws, naming both fields', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: rs',
        '    aws: { region: us-east-1, redshift: { cluster_id: c } }',
        '    auth:',
        '      password_env: PW',
        '  - name: sl',
        '    aws: { region: us-east-1, redshift_serverless: { workgroup: wg1 } }',
        '    auth: { password_file: ./pw }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:6:7: databases[0].auth.password_env: cannot be set together with databases[0].aws: Gatehouse mints a temporary password through AWS for each session',
      'conf/gatehouse.yaml:9:13: databases[1].auth.password_file: cannot be set together with databases[1].aws: Gatehouse mints a temporary password through AWS for each session',
    ]);
    // A fixed database user is fine: Gatehouse mints the password for that user.
    expect(load('version: v1', 'databases:', '  - name: rs', '    aws: { region: us-east-1, redshift: { cluster_id: c } }', '    auth: { user: etl }').databases[0]?.auth).toEqual({ user: 'etl' });
  });

  it('uses external_id and web_identity_token_file only with assume_role_arn, and not together', () => {
    expect(
      problems(
        'version: v1',
        'databases:',
        '  - name: a',
        '    aws:',
        '      region: us-east-1',
        '      external_id: ext-1',
        '      web_identity_token_file: /var/run/token',
        '      redshift: { cluster_id: c }',
        '  - name: b',
        '    aws:',
        '      region: us-east-1',
        '      assume_role_arn: arn:aws:iam::123456789012:role/r',
        '      external_id: ext-1',
        '      web_identity_token_file: /var/run/token',
        '      redshift: { cluster_id: c }',
      ),
    ).toEqual([
      'conf/gatehouse.yaml:6:7: databases[0].aws.external_id: needs databases[0].aws.assume_role_arn: it is used only when Gatehouse assumes a role',
      'conf/gatehouse.yaml:6:7: databases[0].aws.external_id: cannot be set together with databases[0].aws.web_identity_token_file: AssumeRoleWithWebIdentity takes no external id',
      'conf/gatehouse.yaml:7:7: databases[0].aws.web_identity_token_file: needs databases[0].aws.assume_role_arn: it is used only when Gatehouse assumes a role',
      'conf/gatehouse.yaml:13:7: databases[1].aws.external_id: cannot be set together with databases[1].aws.web_identity_token_file: AssumeRoleWithWebIdentity takes no external id',
    ]);
  });
});
