// Redshift through Gatehouse, end to end, with nothing mocked on Gatehouse's side: the real AWS
// SDK clients talk to the local AWS endpoint (test/support/local-aws), which checks their SigV4
// signatures and mints each temporary password as a real login (`IAM:awsuser`, VALID UNTIL the
// expiration) in a real PostgreSQL standing in for the cluster; psql and pg connect through a real
// Gatehouse. Gatehouse's own AWS identity comes from the default provider chain (environment keys).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectionRefusal, startTestGatehouse, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { Faults, startLocalAws, type AccessKey, type LocalAws } from '../support/local-aws/local-aws.js';
import { PostgresLoginMinter } from '../support/local-aws/login-minter.js';
import { startStandInCluster, type StandInCluster } from '../support/local-aws/stand-in.js';
import { PrometheusText } from '../support/prometheus-text.js';
import { makeTempDir } from '../support/temp-dir.js';

const execFileAsync = promisify(execFile);
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const FORGED_HOST = 'redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com';
const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];

let standIn: StandInCluster;
let aws: LocalAws;
let gatehouse: TestGatehouse;
let baseKey: AccessKey;
let roleArn: string;
let webRoleArn: string;
const savedEnv = new Map<string, string | undefined>();
const certificates = new Map<string, ClientCertificate>();
const temp = makeTempDir('redshift');

const redshiftArn = (resource: string) => `arn:aws:redshift:${REGION}:${ACCOUNT}:${resource}`;

beforeAll(async () => {
  standIn = await startStandInCluster();
  aws = await startLocalAws({ region: REGION, accountId: ACCOUNT });

  // Gatehouse's base identity: may describe any cluster and mint awsuser on dev of the clusters below.
  baseKey = aws.addUser({ name: 'gatehouse' });
  const baseClusters = ['redshift-cluster-1', 'busy-cluster', 'expiring-cluster', 'paused-cluster', 'no-such-cluster', 'throttled-cluster', 'hung-cluster'];
  aws.allow(baseKey.arn, {
    actions: ['redshift:DescribeClusters'],
    resources: [redshiftArn('cluster:*')],
  });
  aws.allow(baseKey.arn, {
    actions: ['redshift:GetClusterCredentials'],
    resources: [
      ...baseClusters.flatMap((cluster) => [redshiftArn(`dbuser:${cluster}/awsuser`), redshiftArn(`dbname:${cluster}/dev`)]),
      // Its own db user, so revoking its password disturbs no other test's cached one.
      redshiftArn('dbuser:revoked-cluster/revoked_user'),
      redshiftArn('dbname:revoked-cluster/dev'),
    ],
  });
  aws.allow(baseKey.arn, { actions: ['redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'], resources: ['*'] });
  // Only the roles may mint on role-only-cluster: a successful login there proves the role was used.
  const roleOnly = { actions: ['redshift:DescribeClusters', 'redshift:GetClusterCredentials'], resources: [redshiftArn('cluster:role-only-cluster'), redshiftArn('dbuser:role-only-cluster/*'), redshiftArn('dbname:role-only-cluster/*')] };
  roleArn = aws.addRole({ name: 'gatehouse-redshift', externalId: 'example-external-id' });
  aws.allow(roleArn, roleOnly);
  aws.allow(roleArn, { actions: ['redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'], resources: ['*'] });
  aws.allow(baseKey.arn, { actions: ['sts:AssumeRole'], resources: [roleArn] });
  webRoleArn = aws.addRole({ name: 'gatehouse-web', webIdentityTokens: ['token-from-the-oidc-provider'] });
  aws.allow(webRoleArn, roleOnly);
  const tokenFile = join(temp.path, 'web-identity-token');
  writeFileSync(tokenFile, 'token-from-the-oidc-provider');

  const cluster = { host: standIn.host, port: standIn.port, minter: standIn.minter };
  for (const id of ['redshift-cluster-1', 'busy-cluster', 'expiring-cluster', 'revoked-cluster', 'role-only-cluster', 'throttled-cluster', 'hung-cluster']) aws.addCluster({ id, ...cluster });
  aws.addCluster({ id: 'paused-cluster', ...cluster, status: 'paused' });
  aws.addWorkgroup({ name: 'analytics', ...cluster });

  for (const key of ENV_KEYS) {
    savedEnv.set(key, process.env[key]);
    delete process.env[key];
  }
  process.env.AWS_ACCESS_KEY_ID = baseKey.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = baseKey.secretAccessKey;

  const tls = `{ mode: verify-full, ca_file: ${standIn.postgres.caFile} }`;
  const endpoints = `endpoint: ${aws.endpoint}, sts_endpoint: ${aws.endpoint}`;
  const entry = (name: string, awsBlock: string, uri?: string) =>
    [`  - name: ${name}`, ...(uri === undefined ? [] : [`    uri: ${uri}`]), '    labels: { env: dev }', `    tls: ${tls}`, `    aws: { region: ${REGION}, ${endpoints}, ${awsBlock} }`].join('\n');
  const redshift = (cluster: string) => `redshift: { cluster_id: ${cluster}, duration: 15m }`;
  const databases: Array<[string, string, string?]> = [
    ['redshift', redshift('redshift-cluster-1')],
    ['checked-uri', redshift('redshift-cluster-1'), `localhost:${standIn.port}`],
    ['forged-uri', redshift('redshift-cluster-1'), `${FORGED_HOST}:5439`],
    ['busy', redshift('busy-cluster')],
    ['expiring', redshift('expiring-cluster')],
    ['revoked', redshift('revoked-cluster')],
    ['paused', redshift('paused-cluster')],
    ['unknown', redshift('no-such-cluster')],
    ['throttled', redshift('throttled-cluster')],
    ['hung', redshift('hung-cluster')],
    ['assumed', `assume_role_arn: '${roleArn}', external_id: example-external-id, ${redshift('role-only-cluster')}`],
    ['wrong-external-id', `assume_role_arn: '${roleArn}', external_id: not-the-external-id, ${redshift('role-only-cluster')}`],
    ['web-identity', `assume_role_arn: '${webRoleArn}', web_identity_token_file: ${tokenFile}, ${redshift('role-only-cluster')}`],
    ['analytics', 'redshift_serverless: { workgroup: analytics }'],
    ['analytics-role', `assume_role_arn: '${roleArn}', external_id: example-external-id, redshift_serverless: { workgroup: analytics }`],
    ['missing-workgroup', 'redshift_serverless: { workgroup: no-such-workgroup }'],
  ];
  gatehouse = await startTestGatehouse(
    [
      'databases:',
      ...databases.map(([name, awsBlock, uri]) => entry(name, awsBlock, uri)),
      'roles:',
      '  - name: all',
      "    allow: { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] }",
      'users:',
      '  - name: alice',
      '    roles: [all]',
    ].join('\n'),
  );
  for (const [name] of databases) certificates.set(name, gatehouse.issue('alice', { database: name }));
});

afterAll(async () => {
  await gatehouse?.stop();
  await aws?.stop();
  await standIn?.stop();
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  temp.remove();
});

function connect(database: string, user = 'awsuser', dbName = 'dev'): Promise<pg.Client> {
  return gatehouse.connect(certificates.get(database)!, user, dbName);
}

async function currentUser(database: string, user = 'awsuser'): Promise<string> {
  const client = await connect(database, user);
  try {
    return (await client.query<{ who: string }>('SELECT current_user AS who')).rows[0]!.who;
  } finally {
    await client.end();
  }
}

function refusal(database: string, user = 'awsuser'): Promise<pg.DatabaseError> {
  return connectionRefusal(gatehouse.clientConfig(certificates.get(database)!, user, 'dev'));
}

function mintsOf(cluster: string, outcome = 'ok') {
  return aws.callsOf('GetClusterCredentials', outcome).filter((call) => call.parameters.ClusterIdentifier === cluster);
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('logging in with minted credentials', () => {
  it('serves psql as awsuser on dev, logged in upstream as IAM:awsuser', async () => {
    const files = gatehouse.writeClientFiles(certificates.get('redshift')!, 'psql');
    const conninfo = `host=localhost port=${gatehouse.port} sslmode=verify-full sslrootcert=${files.ca} sslcert=${files.cert} sslkey=${files.key} user=awsuser dbname=dev`;
    // Async: the proxy runs in this process, so a synchronous spawn would deadlock it.
    const result = await execFileAsync('psql', [conninfo, '-X', '-Atc', 'SELECT current_user, current_database()'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('IAM:awsuser|dev');
    const mint = mintsOf('redshift-cluster-1').at(-1)!;
    expect(mint).toMatchObject({
      accessKeyId: baseKey.accessKeyId,
      parameters: { ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DbName: 'dev', DurationSeconds: '900', AutoCreate: 'false' },
    });
    expect(aws.callsOf('DescribeClusters', 'ok').some((call) => call.parameters.ClusterIdentifier === 'redshift-cluster-1')).toBe(true);
  });

  it('serves pg the same way, reusing the cached password', async () => {
    const before = mintsOf('redshift-cluster-1').length;
    expect(await currentUser('redshift')).toBe('IAM:awsuser');
    expect(mintsOf('redshift-cluster-1')).toHaveLength(before);
  });

  it('accepts a configured uri that is the cluster\'s real endpoint', async () => {
    expect(await currentUser('checked-uri')).toBe('IAM:awsuser');
  });

  it('mints once for many sessions starting at once', async () => {
    const sessions = await Promise.all(Array.from({ length: 20 }, () => currentUser('busy')));
    expect(sessions).toEqual(Array.from({ length: 20 }, () => 'IAM:awsuser'));
    expect(mintsOf('busy-cluster')).toHaveLength(1);
  });

  it('mints again after expiry, never reuses an expired password, and keeps sessions that outlive it', async () => {
    aws.setTokenLifetime(3);
    try {
      const longSession = await connect('expiring');
      const first = aws.minted.filter((mint) => mint.target === 'expiring-cluster');
      expect(first).toHaveLength(1);
      // Keep logging in until Gatehouse has minted again; a reused expired password would fail the login.
      await waitFor(async () => {
        expect(await currentUser('expiring')).toBe('IAM:awsuser');
        return mintsOf('expiring-cluster').length >= 2;
      }, 'a second GetClusterCredentials');
      const mints = aws.minted.filter((mint) => mint.target === 'expiring-cluster');
      expect(new Set(mints.map((mint) => mint.password)).size).toBe(mints.length);

      // Expiry is real in the stand-in: once the latest password's time is up, it no longer logs in.
      const latest = mints.at(-1)!;
      await waitFor(() => Date.now() > latest.expiration.getTime() + 1000, 'the latest password to expire');
      const direct = new pg.Client({ host: '127.0.0.1', port: standIn.port, user: latest.dbUser, password: latest.password, database: 'dev', ssl: { ca: standIn.postgres.caPem } });
      await expect(direct.connect()).rejects.toMatchObject({ code: '28P01' });
      await direct.end().catch(() => undefined);
      // Gatehouse mints a new one rather than handing out the expired one.
      expect(await currentUser('expiring')).toBe('IAM:awsuser');
      expect(aws.minted.filter((mint) => mint.target === 'expiring-cluster').length).toBeGreaterThan(mints.length);

      expect((await longSession.query('SELECT 1 AS still_here')).rows).toEqual([{ still_here: 1 }]);
      await longSession.end();
    } finally {
      aws.setTokenLifetime(undefined);
    }
  });
  it('mints again when the database refuses a cached password, instead of serving it again', async () => {
    expect(await currentUser('revoked', 'revoked_user')).toBe('IAM:revoked_user');
    expect(mintsOf('revoked-cluster')).toHaveLength(1);
    // The cached password stops working before its expiration (an operator reset the role, say).
    await standIn.postgres.sql(`ALTER ROLE "IAM:revoked_user" PASSWORD 'changed-behind-gatehouses-back'`);
    const refused = await refusal('revoked', 'revoked_user');
    expect(refused.code).toBe('28P01');
    expect(mintsOf('revoked-cluster')).toHaveLength(1);
    // The refused password was dropped from the cache: the next session mints and logs in.
    expect(await currentUser('revoked', 'revoked_user')).toBe('IAM:revoked_user');
    expect(mintsOf('revoked-cluster')).toHaveLength(2);
  });
});

describe('refusals reach the client as Postgres errors', () => {
  it('AccessDenied names the missing permission', async () => {
    const error = await refusal('redshift', 'intruder');
    expect(error.code).toBe('08001');
    expect(error.message).toBe(
      `AWS denied Gatehouse GetClusterCredentials for database "redshift": its AWS identity needs redshift:GetClusterCredentials on ${redshiftArn('dbuser:redshift-cluster-1/intruder')} and ${redshiftArn('dbname:redshift-cluster-1/dev')}`,
    );
    expect(mintsOf('redshift-cluster-1', 'AccessDenied').at(-1)?.parameters.DbUser).toBe('intruder');
  });

  it('an unknown cluster is named with its region', async () => {
    const error = await refusal('unknown');
    expect(error.code).toBe('08001');
    expect(error.message).toBe('Redshift cluster "no-such-cluster" of database "unknown" does not exist in region us-east-1');
  });

  it('a paused cluster is refused with its status, without asking for credentials', async () => {
    const error = await refusal('paused');
    expect(error.code).toBe('08001');
    expect(error.message).toBe('Redshift cluster "paused-cluster" of database "paused" is paused, not available');
    expect(mintsOf('paused-cluster', 'ok')).toHaveLength(0);
    expect(aws.callsOf('GetClusterCredentials').filter((call) => call.parameters.ClusterIdentifier === 'paused-cluster')).toHaveLength(0);
  });

  it('a uri that is not the cluster\'s endpoint gets no credentials', async () => {
    const before = mintsOf('redshift-cluster-1').length;
    const error = await refusal('forged-uri');
    expect(error.code).toBe('08001');
    expect(error.message).toBe(
      `the uri of database "forged-uri" (${FORGED_HOST}:5439) is not the endpoint of Redshift cluster "redshift-cluster-1" (localhost:${standIn.port}); Gatehouse does not send credentials to it`,
    );
    expect(mintsOf('redshift-cluster-1')).toHaveLength(before);
  });
});

describe('AWS identities', () => {
  it('uses the assumed role\'s temporary credentials, asked for with the external id', async () => {
    expect(await currentUser('assumed')).toBe('IAM:awsuser');
    const assume = aws.callsOf('AssumeRole', 'ok').at(-1)!;
    expect(assume).toMatchObject({ accessKeyId: baseKey.accessKeyId, parameters: { RoleArn: roleArn, ExternalId: 'example-external-id', RoleSessionName: 'gatehouse' } });
    const mint = mintsOf('role-only-cluster').at(-1)!;
    expect(mint.accessKeyId).toMatch(/^ASIA/);
    expect(mint).toMatchObject({ roleArn, callerArn: `arn:aws:sts::${ACCOUNT}:assumed-role/gatehouse-redshift/gatehouse` });
  });

  it('refuses when the role does not accept the external id', async () => {
    const error = await refusal('wrong-external-id');
    expect(error.code).toBe('08001');
    expect(error.message).toBe(`AWS denied Gatehouse sts:AssumeRole on ${roleArn} for database "wrong-external-id"`);
    expect(aws.callsOf('AssumeRole', 'AccessDenied').at(-1)?.parameters.ExternalId).toBe('not-the-external-id');
  });

  it('federates with a web identity token file', async () => {
    expect(await currentUser('web-identity')).toBe('IAM:awsuser');
    expect(aws.callsOf('AssumeRoleWithWebIdentity', 'ok').at(-1)?.parameters).toMatchObject({ RoleArn: webRoleArn, WebIdentityToken: '<redacted>' });
    expect(mintsOf('role-only-cluster').at(-1)?.roleArn).toBe(webRoleArn);
  });
});

describe('a misbehaving AWS API', () => {
  it('retries throttling and then logs in', async () => {
    aws.failNext('GetClusterCredentials', Faults.throttling(), 2);
    expect(await currentUser('throttled')).toBe('IAM:awsuser');
    expect(aws.callsOf('GetClusterCredentials').filter((call) => call.parameters.ClusterIdentifier === 'throttled-cluster').map((call) => call.outcome)).toEqual([
      'Throttling',
      'Throttling',
      'ok',
    ]);
  });

  it('reports throttling that does not stop', async () => {
    aws.failNext('GetClusterCredentials', Faults.throttling(), Infinity);
    try {
      const error = await refusal('throttled', 'analyst');
      const attempts = mintsOf('throttled-cluster', 'Throttling').filter((call) => call.parameters.DbUser === 'analyst').length;
      expect(attempts).toBeGreaterThan(1);
      expect(error.code).toBe('08001');
      expect(error.message).toBe(`AWS throttled GetClusterCredentials for database "throttled" through ${attempts} attempts (Throttling)`);
    } finally {
      aws.clearFaults();
    }
  });

  it('gives up on a hung attempt and retries', async () => {
    aws.failNext('GetClusterCredentials', Faults.hang());
    expect(await currentUser('hung')).toBe('IAM:awsuser');
    expect(aws.callsOf('GetClusterCredentials').filter((call) => call.parameters.ClusterIdentifier === 'hung-cluster').map((call) => call.outcome)).toEqual(['hang', 'ok']);
  });
});

describe('Redshift Serverless', () => {
  it('finds the workgroup with GetWorkgroup and logs in with GetCredentials as the IAM identity\'s user', async () => {
    expect(await currentUser('analytics', 'whoever')).toBe('IAM:gatehouse');
    expect(aws.callsOf('GetWorkgroup', 'ok').at(-1)).toMatchObject({ accessKeyId: baseKey.accessKeyId, parameters: { workgroupName: 'analytics' } });
    expect(aws.callsOf('GetCredentials', 'ok').at(-1)).toMatchObject({ parameters: { workgroupName: 'analytics', dbName: 'dev', durationSeconds: 900 } });
  });

  it('logs in as IAMR:<role> through an assumed role', async () => {
    expect(await currentUser('analytics-role', 'whoever')).toBe('IAMR:gatehouse-redshift');
    expect(aws.callsOf('GetCredentials', 'ok').at(-1)).toMatchObject({ roleArn, accessKeyId: expect.stringMatching(/^ASIA/) });
  });

  it('names a workgroup that does not exist', async () => {
    const error = await refusal('missing-workgroup');
    expect(error.code).toBe('08001');
    expect(error.message).toBe('Redshift Serverless workgroup "no-such-workgroup" of database "missing-workgroup" does not exist in region us-east-1');
    expect(aws.callsOf('GetCredentials').filter((call) => call.parameters.workgroupName === 'no-such-workgroup')).toHaveLength(0);
  });
});

describe('the stand-in cluster', () => {
  it('accepts SCRAM verifiers as well as MD5 ones, and only until VALID UNTIL', async () => {
    const minter = new PostgresLoginMinter(() => standIn.postgres.connect(), 'scram-sha-256');
    const login = (password: string) => {
      const client = new pg.Client({ host: '127.0.0.1', port: standIn.port, user: 'IAM:scram_check', password, database: 'dev', ssl: { ca: standIn.postgres.caPem } });
      return client.connect().finally(() => client.end().catch(() => undefined));
    };
    try {
      await minter.mint({ role: 'IAM:scram_check', password: 'first-password', validUntil: new Date(Date.now() + 60_000), database: 'dev' });
      await login('first-password');
      await expect(login('not-the-password')).rejects.toMatchObject({ code: '28P01' });
      await minter.mint({ role: 'IAM:scram_check', password: 'second-password', validUntil: new Date(Date.now() - 1000), database: 'dev' });
      await expect(login('second-password')).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await minter.close();
    }
  });
});

describe('secrets', () => {
  it('logs every AWS call with its latency and outcome, and never a minted password or a secret key', async () => {
    const logs = gatehouse.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs).toContainEqual(expect.objectContaining({ aws_action: 'GetClusterCredentials', outcome: 'ok', latency_ms: expect.any(Number) }));
    expect(logs).toContainEqual(expect.objectContaining({ aws_action: 'GetClusterCredentials', outcome: 'error', latency_ms: expect.any(Number) }));
    expect(aws.minted.length).toBeGreaterThan(5);
    const everything = gatehouse.logLines.join('\n') + JSON.stringify(gatehouse.auditEvents);
    for (const { password } of aws.minted) expect(everything).not.toContain(password);
    expect(everything).not.toContain(baseKey.secretAccessKey);
    expect(gatehouse.auditEvents.length).toBeGreaterThan(0);
  });
});

describe('metrics', () => {
  it('times every AWS call by operation and outcome and counts the failures by AWS error', async () => {
    const text = new PrometheusText(await gatehouse.daemon.metrics.render());
    const calls = (operation: string, outcome: string) => text.value('gatehouse_aws_call_duration_seconds_count', { operation, outcome });
    // A call that was retried (throttling, a hung attempt) is one call, ended by one successful attempt.
    expect(calls('GetClusterCredentials', 'ok')).toBe(aws.callsOf('GetClusterCredentials', 'ok').length);
    expect(calls('GetCredentials', 'ok')).toBe(aws.callsOf('GetCredentials', 'ok').length);
    expect(calls('DefaultCredentials', 'ok')).toBe(1);
    expect(calls('AssumeRoleWithWebIdentity', 'ok')).toBe(1);
    const errors = (operation: string, error: string) => text.value('gatehouse_aws_call_errors_total', { operation, error });
    expect(errors('GetClusterCredentials', 'AccessDenied')).toBe(1);
    expect(errors('GetClusterCredentials', 'Throttling')).toBe(1);
    expect(errors('DescribeClusters', 'ClusterNotFoundFault')).toBe(1);
    expect(errors('GetWorkgroup', 'ResourceNotFoundException')).toBe(1);
    // A role that refuses Gatehouse: the AssumeRole, and the call that needed its credentials.
    expect(errors('AssumeRole', 'AccessDenied')).toBe(1);
    expect(errors('DescribeClusters', 'AwsCredentialsError')).toBe(1);
    expect(calls('GetClusterCredentials', 'error')).toBe(text.value('gatehouse_aws_call_errors_total', { operation: 'GetClusterCredentials' }));
    // The minting is part of the first connect phase of a Redshift session.
    expect(text.value('gatehouse_connect_duration_seconds_count', { database: 'redshift', phase: 'credentials' })).toBeGreaterThan(0);
  });
});
