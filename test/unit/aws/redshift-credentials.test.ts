// Provisioned Redshift through the real SDK client, answered by canned AWS documents: the endpoint
// from DescribeClusters, the checks before anything is minted, GetClusterCredentials' parameters,
// caching with one request in flight, and the refusals a person at psql sees.
import { describe, expect, it } from 'vitest';
import { clusterCredentials, describeClusters, HANG, queryError } from './canned-aws.js';
import { at, awsSetup, CLUSTER_HOST, redshiftDatabase } from './fixtures.js';
import { refusal } from '../../support/refusal.js';

const request = (database = redshiftDatabase(), dbUser = 'awsuser', dbName = 'dev') => ({ database, dbUser, dbName });

describe('Redshift credentials', () => {
  it('mints with GetClusterCredentials for the session user and database, and returns the IAM: user', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:awsuser', 'minted-password-1', at(clock, 900_000)));
    expect(await aws.credentials.credentialsFor(request())).toEqual({ user: 'IAM:awsuser', password: 'minted-password-1' });
    const mint = canned.requests.find((recorded) => recorded.action === 'GetClusterCredentials');
    expect(mint?.params).toEqual({
      Action: 'GetClusterCredentials',
      Version: '2012-12-01',
      ClusterIdentifier: 'redshift-cluster-1',
      DbUser: 'awsuser',
      DbName: 'dev',
      DurationSeconds: '900',
      AutoCreate: 'false',
    });
    // Signed with Gatehouse's base identity.
    expect(mint?.headers.authorization).toContain('Credential=AKIDBASEKEY0000000/');
    expect(canned.requests.find((recorded) => recorded.action === 'DescribeClusters')?.params).toMatchObject({ ClusterIdentifier: 'redshift-cluster-1' });
  });

  it('mints for the fixed auth.user and with the configured duration', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:etl', 'pw', at(clock, 3_600_000)));
    const database = { ...redshiftDatabase(['auth: { user: etl }']) };
    const withHour = { ...database, aws: { ...database.aws!, redshift: { cluster_id: 'redshift-cluster-1', duration_ms: 3_600_000 } } };
    expect(await aws.credentials.credentialsFor(request(withHour, 'alice'))).toEqual({ user: 'IAM:etl', password: 'pw' });
    expect(canned.requests.at(-1)?.params).toMatchObject({ DbUser: 'etl', DurationSeconds: '3600' });
  });

  it('asks AWS once for many sessions at once, and again only near expiry', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on(
      'GetClusterCredentials',
      clusterCredentials('IAM:awsuser', 'first', at(clock, 900_000)),
      clusterCredentials('IAM:awsuser', 'second', at(clock, 2 * 900_000)),
    );
    const sessions = await Promise.all(Array.from({ length: 25 }, () => aws.credentials.credentialsFor(request())));
    expect(new Set(sessions.map((credentials) => credentials.password))).toEqual(new Set(['first']));
    expect(canned.count('GetClusterCredentials')).toBe(1);
    expect(canned.count('DescribeClusters')).toBe(1);

    clock.now += 900_000 - 60_000; // inside the safety margin before `first` expires
    expect((await aws.credentials.credentialsFor(request())).password).toBe('second');
    expect(canned.count('GetClusterCredentials')).toBe(2);
  });

  it('mints anew after forget(), for the session to call when the database refuses a password', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:awsuser', 'first', at(clock, 900_000)), clusterCredentials('IAM:awsuser', 'second', at(clock, 900_000)));
    expect((await aws.credentials.credentialsFor(request())).password).toBe('first');
    aws.credentials.forget(request(undefined, 'someone-else'));
    expect((await aws.credentials.credentialsFor(request())).password).toBe('first');
    aws.credentials.forget(request());
    expect((await aws.credentials.credentialsFor(request())).password).toBe('second');
  });

  it('keeps credentials apart per db user and db name', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:x', 'pw', at(clock, 900_000)));
    await aws.credentials.credentialsFor(request(undefined, 'awsuser', 'dev'));
    await aws.credentials.credentialsFor(request(undefined, 'awsuser', 'sales'));
    await aws.credentials.credentialsFor(request(undefined, 'bob', 'dev'));
    await aws.credentials.credentialsFor(request(undefined, 'bob', 'dev'));
    expect(canned.count('GetClusterCredentials')).toBe(3);
  });

  it('dials the endpoint DescribeClusters reports, verifying TLS against its host name', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST, port: 5439 }));
    expect(await aws.targets.targetFor(redshiftDatabase())).toEqual({ host: CLUSTER_HOST, port: 5439, tls: { mode: 'verify-full', caPem: undefined, serverName: CLUSTER_HOST } });
    // Cached: the credential source and the target resolver share one lookup.
    await aws.targets.targetFor(redshiftDatabase());
    expect(canned.count('DescribeClusters')).toBe(1);
  });

  it('accepts a uri that is the real endpoint, in any case and with the default port 5439', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST, port: 5439, customDomainName: 'warehouse.example.com' }));
    for (const uri of [`${CLUSTER_HOST.toUpperCase()}:5439`, CLUSTER_HOST, `${CLUSTER_HOST}.`, 'warehouse.example.com']) {
      const target = await aws.targets.targetFor(redshiftDatabase([`uri: "${uri}"`, 'tls: { server_name: db.internal }']));
      expect(target.port).toBe(5439);
      expect(target.tls.serverName).toBe('db.internal');
    }
  });

  it('refuses a uri that is not the cluster endpoint, before minting anything', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST, port: 5439 }));
    canned.on('GetClusterCredentials', queryError(500, 'InternalFailure', 'must not be called'));
    for (const uri of ['evil.example.com:5439', `${CLUSTER_HOST}:5440`]) {
      const error = await refusal(aws.credentials.credentialsFor(request(redshiftDatabase([`uri: "${uri}"`]))));
      expect(error).toMatchObject({ code: 'GH_ERR_AWS_ENDPOINT_MISMATCH', sqlState: '08001' });
      expect(error.message).toBe(
        `the uri of database "rs" (${uri.includes('evil') ? 'evil.example.com:5439' : `${CLUSTER_HOST}:5440`}) is not the endpoint of Redshift cluster "redshift-cluster-1" (${CLUSTER_HOST}:5439); Gatehouse does not send credentials to it`,
      );
      expect(error.hint).toBe('Correct or remove uri for database "rs" in the Gatehouse config: without it Gatehouse uses the endpoint AWS reports.');
    }
    expect(canned.count('GetClusterCredentials')).toBe(0);
  });

  it('refuses a cluster that is not available, naming its status, and looks again soon', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on(
      'DescribeClusters',
      describeClusters({ id: 'redshift-cluster-1', status: 'paused', host: CLUSTER_HOST }),
      describeClusters({ id: 'redshift-cluster-1', status: 'resizing', host: CLUSTER_HOST }),
      describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }),
    );
    canned.on('GetClusterCredentials', clusterCredentials('IAM:awsuser', 'pw', at(clock, 900_000)));
    const paused = await refusal(aws.credentials.credentialsFor(request()));
    expect(paused).toMatchObject({ code: 'GH_ERR_AWS_NOT_AVAILABLE', sqlState: '08001', message: 'Redshift cluster "redshift-cluster-1" of database "rs" is paused, not available' });
    expect(paused.hint).toContain('aws redshift describe-clusters --cluster-identifier redshift-cluster-1 --region us-east-1');
    clock.now += 5_000;
    expect((await refusal(aws.targets.targetFor(redshiftDatabase()))).message).toBe('Redshift cluster "redshift-cluster-1" of database "rs" is resizing, not available');
    clock.now += 5_000;
    expect((await aws.credentials.credentialsFor(request())).password).toBe('pw');
    expect(canned.count('GetClusterCredentials')).toBe(1);
  });

  it('refuses a cluster DescribeClusters does not list, and one AWS does not know', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters(), queryError(404, 'ClusterNotFound', 'Cluster redshift-cluster-1 not found.'));
    expect((await refusal(aws.targets.targetFor(redshiftDatabase()))).message).toBe(
      'Redshift cluster "redshift-cluster-1" of database "rs" is not listed by DescribeClusters, not available',
    );
    const { canned: canned2, aws: aws2 } = awsSetup();
    canned2.on('DescribeClusters', queryError(404, 'ClusterNotFound', 'Cluster redshift-cluster-1 not found.'));
    const error = await refusal(aws2.credentials.credentialsFor(request()));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_NOT_FOUND',
      sqlState: '08001',
      message: 'Redshift cluster "redshift-cluster-1" of database "rs" does not exist in region us-east-1',
      detail: 'Cluster redshift-cluster-1 not found.',
      hint: 'Check aws.redshift.cluster_id and aws.region of database "rs" in the Gatehouse config.',
    });
    expect(canned2.count('GetClusterCredentials')).toBe(0);
  });

  it('names the missing permission when GetClusterCredentials is denied, with the account from the message', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    const awsMessage =
      'User: arn:aws:iam::123456789012:user/gatehouse is not authorized to perform: redshift:GetClusterCredentials on resource: arn:aws:redshift:us-east-1:123456789012:dbuser:redshift-cluster-1/awsuser';
    canned.on('GetClusterCredentials', queryError(403, 'AccessDenied', awsMessage));
    const error = await refusal(aws.credentials.credentialsFor(request()));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_ACCESS_DENIED',
      sqlState: '08001',
      message:
        'AWS denied Gatehouse GetClusterCredentials for database "rs": its AWS identity needs redshift:GetClusterCredentials on arn:aws:redshift:us-east-1:123456789012:dbuser:redshift-cluster-1/awsuser and arn:aws:redshift:us-east-1:123456789012:dbname:redshift-cluster-1/dev',
      detail: awsMessage,
      hint: 'Run "gatehouse aws policy --config FILE" for the IAM policy Gatehouse needs and attach it to the identity named in the detail.',
    });
    // Denied is not retried, and not cached: the next session asks again (the policy may be fixed by then).
    expect(canned.count('GetClusterCredentials')).toBe(1);
    await refusal(aws.credentials.credentialsFor(request()));
    expect(canned.count('GetClusterCredentials')).toBe(2);
  });

  it('names the DescribeClusters permission, with * for an account the message does not reveal', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', queryError(403, 'AccessDenied', 'Access denied'));
    expect((await refusal(aws.targets.targetFor(redshiftDatabase()))).message).toBe(
      'AWS denied Gatehouse DescribeClusters for database "rs": its AWS identity needs redshift:DescribeClusters on arn:aws:redshift:us-east-1:*:cluster:redshift-cluster-1',
    );
  });

  it('retries throttling with backoff, then succeeds', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on(
      'GetClusterCredentials',
      queryError(400, 'Throttling', 'Rate exceeded'),
      queryError(500, 'InternalFailure', 'try again'),
      clusterCredentials('IAM:awsuser', 'pw', at(clock, 900_000)),
    );
    expect((await aws.credentials.credentialsFor(request())).password).toBe('pw');
    expect(canned.count('GetClusterCredentials')).toBe(3);
  });

  it('reports throttling that outlasts the retries', async () => {
    const { canned, aws, out } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', queryError(400, 'Throttling', 'Rate exceeded'));
    const error = await refusal(aws.credentials.credentialsFor(request()));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_THROTTLED',
      sqlState: '08001',
      message: 'AWS throttled GetClusterCredentials for database "rs" through 4 attempts (Throttling)',
    });
    expect(canned.count('GetClusterCredentials')).toBe(4);
    expect(out.lines().find((line) => line.outcome === 'error')).toMatchObject({ aws_action: 'GetClusterCredentials', attempts: 4, code: 'GH_ERR_AWS_THROTTLED' });
  });

  it('reports server errors that outlast the retries', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', queryError(503, 'ServiceUnavailable', 'Service is unavailable'));
    expect(await refusal(aws.targets.targetFor(redshiftDatabase()))).toMatchObject({
      code: 'GH_ERR_AWS_UNREACHABLE',
      message: 'the AWS Redshift API failed DescribeClusters for database "rs" with a server error (ServiceUnavailable, HTTP 503) through 4 attempts',
    });
  });

  it('gives up on a hung endpoint within the deadline, with a clear message', async () => {
    const { canned, aws } = awsSetup({ connectTimeoutMs: 200 });
    canned.on('DescribeClusters', HANG);
    const error = await refusal(aws.credentials.credentialsFor(request(redshiftDatabase([], ['endpoint: http://127.0.0.1:9']))));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_UNREACHABLE',
      sqlState: '08001',
      message: 'the AWS Redshift API at http://127.0.0.1:9 did not answer DescribeClusters for database "rs" within 200 ms',
    });
  });

  it('refuses a database user or name Redshift cannot take, without calling AWS', async () => {
    const { canned, aws } = awsSetup();
    const user = await refusal(aws.credentials.credentialsFor(request(undefined, 'IAM:admin')));
    expect(user).toMatchObject({
      code: 'GH_ERR_ACCESS_DENIED',
      sqlState: '28000',
      message: 'database user "IAM:admin" cannot be used with Redshift IAM credentials: it must be 1-64 letters, digits and _+.@-, start with a letter, and not be PUBLIC',
      hint: 'Connect with another database user (psql -U).',
    });
    expect((await refusal(aws.credentials.credentialsFor(request(undefined, 'public')))).sqlState).toBe('28000');
    expect((await refusal(aws.credentials.credentialsFor(request(undefined, 'awsuser', 'dev/x')))).hint).toBe('Connect to another database name (psql -d).');
    expect(canned.requests).toEqual([]);
  });

  it('logs every call with latency and outcome, and never the password', async () => {
    const { canned, clock, aws, out } = awsSetup();
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:awsuser', 'very-secret-minted-password', at(clock, 900_000)));
    await aws.credentials.credentialsFor(request());
    const calls = out.lines().filter((line) => line.msg === 'aws call');
    expect(calls.map((line) => line.aws_action)).toEqual(['DescribeClusters', 'GetClusterCredentials']);
    expect(calls[1]).toMatchObject({
      database: 'rs',
      aws_region: 'us-east-1',
      aws_target: 'redshift-cluster-1',
      db_user: 'awsuser',
      db_name: 'dev',
      outcome: 'ok',
      attempts: 1,
      latency_ms: expect.any(Number),
    });
    expect(out.text).not.toContain('very-secret-minted-password');
    expect(out.text).not.toContain('base-secret-access-key');
  });
});
