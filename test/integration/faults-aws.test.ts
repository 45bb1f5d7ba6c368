// The AWS API having a bad day, end to end (issue 7, "Faults"): the real AWS SDK in a real Gatehouse
// against the local AWS endpoint (test/support/local-aws) and a stand-in Redshift cluster.
// redshift.test.ts already covers throttling that passes, throttling that does not stop, and one
// hung attempt; this file adds what it does not: server errors (500, 503) that pass and that do
// not, an endpoint lookup (DescribeClusters) that fails once, a Redshift Serverless
// GetCredentials throttled once (the JSON protocol), an API that never answers at all, and an
// endpoint nobody listens on. Each ends in a clear 08001 (and an audit record) or a retried login,
// and a healthy database's sessions go on meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded/postgres-cluster.js';
import { connectionRefusal, startTestGatehouse, type AuditEvent, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { Faults, startLocalAws, type LocalAws } from '../support/local-aws/local-aws.js';
import { startStandInCluster, type StandInCluster } from '../support/local-aws/stand-in.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const CONNECT_TIMEOUT_MS = 2000;
const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
const CLUSTERS = ['healthy-cluster', 'flaky-cluster', 'failing-cluster', 'lookup-cluster', 'silent-cluster'];

let standIn: StandInCluster;
let aws: LocalAws;
let gatehouse: TestGatehouse;
let deadEndpoint: string;
const savedEnv = new Map<string, string | undefined>();
const certificates = new Map<string, ClientCertificate>();

beforeAll(async () => {
  standIn = await startStandInCluster();
  aws = await startLocalAws({ region: REGION, accountId: ACCOUNT });
  const key = aws.addUser({ name: 'gatehouse' });
  aws.allow(key.arn, {
    actions: ['redshift:DescribeClusters', 'redshift:GetClusterCredentials', 'redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'],
    resources: ['*'],
  });
  for (const id of CLUSTERS) aws.addCluster({ id, host: standIn.host, port: standIn.port, minter: standIn.minter });
  aws.addWorkgroup({ name: 'analytics', host: standIn.host, port: standIn.port, minter: standIn.minter });
  for (const name of ENV_KEYS) {
    savedEnv.set(name, process.env[name]);
    delete process.env[name];
  }
  process.env.AWS_ACCESS_KEY_ID = key.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
  deadEndpoint = `http://127.0.0.1:${await freePort()}`;

  const tls = `{ mode: verify-full, ca_file: ${standIn.postgres.caFile} }`;
  const entry = (name: string, awsBlock: string, endpoint = aws.endpoint) =>
    [`  - name: ${name}`, '    labels: { env: dev }', `    tls: ${tls}`, `    aws: { region: ${REGION}, endpoint: ${endpoint}, sts_endpoint: ${endpoint}, ${awsBlock} }`].join('\n');
  const cluster = (id: string) => `redshift: { cluster_id: ${id}, duration: 15m }`;
  const databases: Array<[string, string, string?]> = [
    ['healthy', cluster('healthy-cluster')],
    ['flaky', cluster('flaky-cluster')],
    ['failing', cluster('failing-cluster')],
    ['lookup', cluster('lookup-cluster')],
    ['silent', cluster('silent-cluster')],
    ['serverless', 'redshift_serverless: { workgroup: analytics }'],
    ['unreachable', cluster('healthy-cluster'), deadEndpoint],
  ];
  gatehouse = await startTestGatehouse(
    [
      'databases:',
      ...databases.map(([name, awsBlock, endpoint]) => entry(name, awsBlock, endpoint)),
      'roles:',
      '  - name: all',
      "    allow: { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] }",
      'users:',
      '  - name: alice',
      '    roles: [all]',
    ].join('\n'),
    `  connect_timeout: ${CONNECT_TIMEOUT_MS}ms`,
  );
  for (const [name] of databases) certificates.set(name, gatehouse.issue('alice', { database: name }));
});

afterAll(async () => {
  await gatehouse?.stop();
  await aws?.stop();
  await standIn?.stop();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** Each database logs in as its own db user: the stand-in keeps one password per role, so minting for one must not replace another's. */
async function currentUser(database: string, dbUser = `${database}_user`): Promise<string> {
  const client = await gatehouse.connect(certificates.get(database)!, dbUser, 'dev');
  try {
    return (await client.query<{ who: string }>('SELECT current_user AS who')).rows[0]!.who;
  } finally {
    await client.end();
  }
}

function refusal(database: string, dbUser = `${database}_user`) {
  return connectionRefusal(gatehouse.clientConfig(certificates.get(database)!, dbUser, 'dev'));
}

function outcomes(action: string, parameter: string, value: string): string[] {
  return aws.callsOf(action).filter((call) => call.parameters[parameter] === value).map((call) => call.outcome);
}

async function waitForCall(action: string, cluster: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!aws.callsOf(action).some((call) => call.parameters.ClusterIdentifier === cluster)) {
    if (Date.now() > deadline) throw new Error(`no ${action} for ${cluster}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function auditRecord(match: Partial<AuditEvent>, since: number): Promise<AuditEvent> {
  const fits = (event: AuditEvent) => Object.entries(match).every(([key, value]) => event[key] === value);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = gatehouse.auditEvents.slice(since).find(fits);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no audit record ${JSON.stringify(match)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('AWS server errors', () => {
  it('retries InternalFailure (HTTP 500) with backoff and then logs in', async () => {
    aws.failNext('GetClusterCredentials', Faults.internalFailure(), 2);
    expect(await currentUser('flaky')).toBe('IAM:flaky_user');
    expect(outcomes('GetClusterCredentials', 'ClusterIdentifier', 'flaky-cluster')).toEqual(['InternalFailure', 'InternalFailure', 'ok']);
  });

  it('reports ServiceUnavailable (HTTP 503) that does not stop, after its retries; once AWS recovers the next session logs in', async () => {
    const since = gatehouse.auditEvents.length;
    aws.failNext('GetClusterCredentials', Faults.serviceUnavailable(), Infinity);
    try {
      const error = await refusal('failing');
      const attempts = outcomes('GetClusterCredentials', 'ClusterIdentifier', 'failing-cluster').filter((outcome) => outcome === 'ServiceUnavailable').length;
      expect(attempts).toBeGreaterThan(1);
      expect(error.code).toBe('08001');
      expect(error.message).toBe(
        `the AWS Redshift API failed GetClusterCredentials for database "failing" with a server error (ServiceUnavailable, HTTP 503) through ${attempts} attempts`,
      );
      await auditRecord({ event: 'session.start', success: false, database: 'failing', code: 'GH_ERR_AWS_UNREACHABLE', reason: error.message }, since);
    } finally {
      aws.clearFaults();
    }
    expect(await currentUser('failing')).toBe('IAM:failing_user');
  });

  it('retries a failed endpoint lookup (DescribeClusters) and then logs in', async () => {
    aws.failNext('DescribeClusters', Faults.internalFailure(), 1);
    expect(await currentUser('lookup')).toBe('IAM:lookup_user');
    expect(outcomes('DescribeClusters', 'ClusterIdentifier', 'lookup-cluster')).toEqual(['InternalFailure', 'ok']);
  });

  it('retries a throttled Redshift Serverless GetCredentials (JSON protocol) and then logs in', async () => {
    aws.failNext('GetCredentials', Faults.throttlingException(), 1);
    expect(await currentUser('serverless', 'whoever')).toBe('IAM:gatehouse');
    expect(outcomes('GetCredentials', 'workgroupName', 'analytics')).toEqual(['ThrottlingException', 'ok']);
  });
});

describe('an AWS API that does not answer', () => {
  it('gives up at the deadline with 08001 when every attempt hangs, and other sessions are served meanwhile', async () => {
    const since = gatehouse.auditEvents.length;
    // healthy's password is cached from here on: its sessions need no AWS call.
    expect(await currentUser('healthy')).toBe('IAM:healthy_user');
    aws.failNext('GetClusterCredentials', Faults.hang(), Infinity);
    try {
      const pending = refusal('silent');
      await waitForCall('GetClusterCredentials', 'silent-cluster');
      expect(await currentUser('healthy')).toBe('IAM:healthy_user');
      const error = await pending;
      expect(error.code).toBe('08001');
      expect(error.message).toBe(`the AWS Redshift API at ${aws.endpoint} did not answer GetClusterCredentials for database "silent" within ${CONNECT_TIMEOUT_MS} ms`);
      await auditRecord({ event: 'session.start', success: false, database: 'silent', code: 'GH_ERR_AWS_UNREACHABLE', reason: error.message }, since);
      expect(outcomes('GetClusterCredentials', 'ClusterIdentifier', 'silent-cluster').every((outcome) => outcome === 'hang')).toBe(true);
    } finally {
      aws.clearFaults();
    }
    expect(await currentUser('silent')).toBe('IAM:silent_user');
  });

  it('names an AWS endpoint nobody listens on', async () => {
    const since = gatehouse.auditEvents.length;
    const error = await refusal('unreachable');
    expect(error.code).toBe('08001');
    expect(error.message).toMatch(new RegExp(`^cannot reach the AWS Redshift API at ${deadEndpoint.replace(/\./g, '\\.')} for database "unreachable": ECONNREFUSED$`));
    await auditRecord({ event: 'session.start', success: false, database: 'unreachable', code: 'GH_ERR_AWS_UNREACHABLE' }, since);
    expect(await currentUser('healthy')).toBe('IAM:healthy_user');
  });
});
