// The local AWS endpoint against the real SDK clients: what a well-signed call gets, what a bad
// signature, an unknown key, a wrong region, a stale date or an expired session token get, and
// that errors come out as the SDK's typed exceptions with their messages. The stand-in
// PostgreSQL side (real logins) is exercised by test/integration/redshift.test.ts.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterNotFoundFault,
  DescribeClustersCommand,
  GetClusterCredentialsCommand,
  InvalidClusterStateFault,
  RedshiftClient,
  type RedshiftClientConfig,
} from '@aws-sdk/client-redshift';
import {
  AccessDeniedException,
  GetCredentialsCommand,
  GetWorkgroupCommand,
  RedshiftServerlessClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-redshift-serverless';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { Faults, startLocalAws, type AccessKey, type LocalAws } from '../../support/local-aws/local-aws.js';
import { passwordVerifier } from '../../support/local-aws/login-minter.js';
import { xmlElement } from '../../support/local-aws/query-protocol.js';
import { NodeSha256 } from '../../support/local-aws/sigv4.js';

const REGION = 'us-east-1';
let aws: LocalAws;
let gatehouse: AccessKey;
let stranger: AccessKey;
let roleArn: string;
let webRoleArn: string;
let clockOffsetMs = 0;

beforeAll(async () => {
  aws = await startLocalAws({ region: REGION, now: () => Date.now() + clockOffsetMs });
  gatehouse = aws.addUser({ name: 'gatehouse' });
  stranger = aws.addUser({ name: 'stranger' });
  aws.allow(gatehouse.arn, {
    actions: ['redshift:DescribeClusters', 'redshift:GetClusterCredentials', 'sts:AssumeRole'],
    resources: [`arn:aws:redshift:${REGION}:${aws.accountId}:*`, `arn:aws:iam::${aws.accountId}:role/*`],
  });
  aws.allow(gatehouse.arn, { actions: ['redshift-serverless:GetWorkgroup', 'redshift-serverless:GetCredentials'], resources: ['*'] });
  roleArn = aws.addRole({ name: 'gatehouse-redshift', externalId: 'example-external-id' });
  aws.allow(roleArn, { actions: ['redshift:*', 'redshift-serverless:*'], resources: ['*'] });
  webRoleArn = aws.addRole({ name: 'gatehouse-web', webIdentityTokens: ['token-from-the-oidc-provider'] });
  aws.addCluster({ id: 'redshift-cluster-1', host: 'redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com', port: 5439 });
  aws.addCluster({ id: 'paused-cluster', status: 'paused', host: 'paused.example', port: 5439 });
  aws.addWorkgroup({ name: 'analytics', host: 'analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com', port: 5439 });
});

afterAll(async () => {
  await aws?.stop();
});

afterEach(() => {
  aws.clearFaults();
  aws.setTokenLifetime(undefined);
  clockOffsetMs = 0;
});

function redshift(key: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, extra: Partial<RedshiftClientConfig> = {}): RedshiftClient {
  return new RedshiftClient({ region: REGION, endpoint: aws.endpoint, credentials: key, maxAttempts: 1, ...extra });
}

function serverless(key: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): RedshiftServerlessClient {
  return new RedshiftServerlessClient({ region: REGION, endpoint: aws.endpoint, credentials: key, maxAttempts: 1 });
}

async function failure(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the call succeeded');
}

describe('SigV4', () => {
  it('answers a well-signed DescribeClusters with the cluster, its endpoint and status', async () => {
    const { Clusters } = await redshift(gatehouse).send(new DescribeClustersCommand({ ClusterIdentifier: 'redshift-cluster-1' }));
    expect(Clusters).toHaveLength(1);
    expect(Clusters?.[0]).toMatchObject({
      ClusterIdentifier: 'redshift-cluster-1',
      ClusterStatus: 'available',
      DBName: 'dev',
      Endpoint: { Address: 'redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com', Port: 5439 },
    });
    expect(Clusters?.[0]?.ClusterCreateTime).toBeInstanceOf(Date);
    expect(aws.calls.at(-1)).toMatchObject({ service: 'redshift', action: 'DescribeClusters', accessKeyId: gatehouse.accessKeyId, callerArn: gatehouse.arn, outcome: 'ok' });
  });

  it('lists every cluster without an identifier', async () => {
    const { Clusters } = await redshift(gatehouse).send(new DescribeClustersCommand({}));
    expect(Clusters?.map((cluster) => cluster.ClusterIdentifier)).toEqual(['redshift-cluster-1', 'paused-cluster']);
  });

  it('refuses a wrong secret with SignatureDoesNotMatch', async () => {
    const error = await failure(redshift({ accessKeyId: gatehouse.accessKeyId, secretAccessKey: 'not-the-secret' }).send(new DescribeClustersCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toContain('The request signature we calculated does not match the signature you provided');
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });

  it('refuses an unknown access key with InvalidClientTokenId', async () => {
    const error = await failure(redshift({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever' }).send(new DescribeClustersCommand({})));
    expect(error.name).toBe('InvalidClientTokenId');
    expect(error.message).toBe('The security token included in the request is invalid.');
  });

  it('refuses a request signed for another region', async () => {
    const error = await failure(redshift(gatehouse, { region: 'eu-west-1' }).send(new DescribeClustersCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toBe("Credential should be scoped to a valid region, not 'eu-west-1'.");
  });

  it('refuses a request signed more than 15 minutes off, and the SDK corrects its clock from the Date header', async () => {
    clockOffsetMs = 20 * 60 * 1000;
    const error = await failure(redshift(gatehouse).send(new DescribeClustersCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    // With retries, the SDK learns the offset from the answer's Date header and signs again.
    await redshift(gatehouse, { maxAttempts: 2 }).send(new DescribeClustersCommand({}));
    expect(aws.calls.at(-1)?.outcome).toBe('ok');
  });

  it('refuses a tampered body: the payload is covered by the signature', async () => {
    const body = 'Action=DescribeClusters&Version=2012-12-01&ClusterIdentifier=redshift-cluster-1';
    const signer = new SignatureV4({ credentials: gatehouse, region: REGION, service: 'redshift', sha256: NodeSha256 });
    const host = new URL(aws.endpoint).host;
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    const send = (payload: string) => fetch(aws.endpoint, { method: 'POST', headers: signed.headers as Record<string, string>, body: payload });
    expect((await send(body)).status).toBe(200);
    const tampered = await send(body.replace('redshift-cluster-1', 'paused-cluster'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('asks for a signature when there is none, and for a well-formed one', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(aws.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'Action=DescribeClusters&Version=2012-12-01' });
    const unsigned = await post({});
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');
    const garbled = await post({ authorization: 'AWS4-HMAC-SHA256 Credential=garbage' });
    expect(garbled.status).toBe(400);
    expect(await garbled.text()).toContain('<Code>IncompleteSignature</Code>');
  });
});

describe('Redshift', () => {
  it('mints IAM:<user> credentials with an expiration DurationSeconds away, and logs the call', async () => {
    const before = Date.now();
    const result = await redshift(gatehouse).send(
      new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DbName: 'dev', DurationSeconds: 1800, AutoCreate: false }),
    );
    expect(result.DbUser).toBe('IAM:awsuser');
    expect(result.DbPassword).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    const lifetime = result.Expiration!.getTime() - before;
    expect(lifetime).toBeGreaterThan(1790_000);
    expect(lifetime).toBeLessThanOrEqual(1800_000);
    expect(aws.minted.at(-1)).toMatchObject({ service: 'redshift', dbUser: 'IAM:awsuser', password: result.DbPassword });
    expect(aws.calls.at(-1)).toMatchObject({
      action: 'GetClusterCredentials',
      accessKeyId: gatehouse.accessKeyId,
      outcome: 'ok',
      parameters: { ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DbName: 'dev', DurationSeconds: '1800', AutoCreate: 'false' },
    });
  });

  it('applies the token lifetime override', async () => {
    aws.setTokenLifetime(5);
    const before = Date.now();
    const { Expiration } = await redshift(gatehouse).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser' }));
    expect(Expiration!.getTime() - before).toBeLessThanOrEqual(5000);
  });

  it('answers a caller without the permission with AccessDenied naming the dbuser resource', async () => {
    const error = await failure(redshift(stranger).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DbName: 'dev' })));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(
      `User: ${stranger.arn} is not authorized to perform: redshift:GetClusterCredentials on resource: arn:aws:redshift:us-east-1:123456789012:dbuser:redshift-cluster-1/awsuser because no identity-based policy allows the redshift:GetClusterCredentials action`,
    );
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });

  it('checks the dbname resource too', async () => {
    aws.allow(stranger.arn, { actions: ['redshift:GetClusterCredentials'], resources: ['arn:aws:redshift:us-east-1:123456789012:dbuser:redshift-cluster-1/awsuser'] });
    try {
      const error = await failure(redshift(stranger).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DbName: 'dev' })));
      expect(error.message).toContain('on resource: arn:aws:redshift:us-east-1:123456789012:dbname:redshift-cluster-1/dev');
    } finally {
      aws.revokeAll(stranger.arn);
    }
  });

  it('answers an unknown cluster with ClusterNotFoundFault', async () => {
    const error = await failure(redshift(gatehouse).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'no-such-cluster', DbUser: 'awsuser' })));
    expect(error).toBeInstanceOf(ClusterNotFoundFault);
    expect(error.message).toBe('Cluster no-such-cluster not found.');
    const described = await failure(redshift(gatehouse).send(new DescribeClustersCommand({ ClusterIdentifier: 'no-such-cluster' })));
    expect(described).toBeInstanceOf(ClusterNotFoundFault);
  });

  it('reports a paused cluster in DescribeClusters and refuses credentials with InvalidClusterStateFault', async () => {
    const { Clusters } = await redshift(gatehouse).send(new DescribeClustersCommand({ ClusterIdentifier: 'paused-cluster' }));
    expect(Clusters?.[0]?.ClusterStatus).toBe('paused');
    const error = await failure(redshift(gatehouse).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'paused-cluster', DbUser: 'awsuser' })));
    expect(error).toBeInstanceOf(InvalidClusterStateFault);
    expect(error.message).toContain('paused');
  });

  it('refuses malformed requests with the real error codes', async () => {
    const missing = await failure(redshift(gatehouse).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1' } as never)));
    expect(missing.name).toBe('MissingParameter');
    expect(missing.message).toBe('The request must contain the parameter DbUser');
    const duration = await failure(redshift(gatehouse).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DurationSeconds: 60 })));
    expect(duration.name).toBe('InvalidParameterValue');
    expect(duration.message).toContain('between 900 and 3600');
    const user = await failure(redshift(gatehouse).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'IAM:awsuser' })));
    expect(user.name).toBe('InvalidParameterValue');
  });

  it('throttles as planned: retried by the SDK, then reported once retries run out', async () => {
    aws.failNext('GetClusterCredentials', Faults.throttling(), 2);
    const before = aws.calls.length;
    await redshift(gatehouse, { maxAttempts: 3 }).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser' }));
    expect(aws.calls.slice(before).map((call) => call.outcome)).toEqual(['Throttling', 'Throttling', 'ok']);
    aws.failNext('GetClusterCredentials', Faults.throttling(), Infinity);
    const error = await failure(redshift(gatehouse, { maxAttempts: 2 }).send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser' })));
    expect(error.name).toBe('Throttling');
    expect(error.message).toBe('Rate exceeded');
  });

  it('hangs as planned until the client gives up', async () => {
    aws.failNext('DescribeClusters', Faults.hang());
    const client = redshift(gatehouse, { requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } });
    const error = await failure(client.send(new DescribeClustersCommand({})));
    expect(error.name).toBe('TimeoutError');
    expect(aws.calls.at(-1)).toMatchObject({ action: 'DescribeClusters', outcome: 'hang' });
  });
});

describe('STS', () => {
  it('assumes a role with its external id, and the temporary key is what later calls are logged with', async () => {
    const credentials = fromTemporaryCredentials({
      params: { RoleArn: roleArn, ExternalId: 'example-external-id', RoleSessionName: 'gatehouse' },
      masterCredentials: gatehouse,
      clientConfig: { region: REGION, endpoint: aws.endpoint },
    });
    const client = new RedshiftClient({ region: REGION, endpoint: aws.endpoint, credentials, maxAttempts: 1 });
    const result = await client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: 'redshift-cluster-1', DbUser: 'awsuser', DbName: 'dev' }));
    expect(result.DbUser).toBe('IAM:awsuser');
    const assume = aws.callsOf('AssumeRole').at(-1)!;
    expect(assume).toMatchObject({ service: 'sts', accessKeyId: gatehouse.accessKeyId, outcome: 'ok', parameters: { RoleArn: roleArn, ExternalId: 'example-external-id' } });
    const mint = aws.callsOf('GetClusterCredentials').at(-1)!;
    expect(mint.accessKeyId).toMatch(/^ASIA/);
    expect(mint).toMatchObject({ roleArn, callerArn: `arn:aws:sts::123456789012:assumed-role/gatehouse-redshift/gatehouse`, outcome: 'ok' });
  });

  it('refuses AssumeRole with the wrong external id', async () => {
    const sts = new STSClient({ region: REGION, endpoint: aws.endpoint, credentials: gatehouse, maxAttempts: 1 });
    const error = await failure(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, ExternalId: 'wrong', RoleSessionName: 'gatehouse' })));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(`User: ${gatehouse.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  });

  it('refuses an expired session token with ExpiredToken', async () => {
    const sts = new STSClient({ region: REGION, endpoint: aws.endpoint, credentials: gatehouse, maxAttempts: 1 });
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, ExternalId: 'example-external-id', RoleSessionName: 'short', DurationSeconds: 900 }));
    const temporary = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! };
    await redshift(temporary).send(new DescribeClustersCommand({}));
    // Both clocks move on 16 minutes, so the signature date is fine and only the token is stale.
    clockOffsetMs = 16 * 60 * 1000;
    const error = await failure(redshift(temporary, { systemClockOffset: clockOffsetMs }).send(new DescribeClustersCommand({})));
    expect(error.name).toBe('ExpiredToken');
    clockOffsetMs = 0;
    const forged = await failure(redshift({ ...temporary, sessionToken: 'forged' }).send(new DescribeClustersCommand({})));
    expect(forged.name).toBe('InvalidClientTokenId');
  });

  it('assumes a role with a web identity token, unsigned, and refuses a token the role does not trust', async () => {
    const sts = new STSClient({ region: REGION, endpoint: aws.endpoint, maxAttempts: 1, credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
    const { Credentials, AssumedRoleUser } = await sts.send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: webRoleArn, RoleSessionName: 'gatehouse', WebIdentityToken: 'token-from-the-oidc-provider' }),
    );
    expect(AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/gatehouse-web/gatehouse');
    expect(aws.callsOf('AssumeRoleWithWebIdentity').at(-1)?.parameters.WebIdentityToken).toBe('<redacted>');
    const identity = await new STSClient({
      region: REGION,
      endpoint: aws.endpoint,
      credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! },
    }).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe(AssumedRoleUser?.Arn);
    const error = await failure(sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: webRoleArn, RoleSessionName: 'gatehouse', WebIdentityToken: 'forged' })));
    expect(error.name).toBe('AccessDenied');
  });
});

describe('Redshift Serverless', () => {
  it('answers GetWorkgroup with the endpoint and GetCredentials with the caller-derived IAM user', async () => {
    const client = serverless(gatehouse);
    const { workgroup } = await client.send(new GetWorkgroupCommand({ workgroupName: 'analytics' }));
    expect(workgroup).toMatchObject({ workgroupName: 'analytics', status: 'AVAILABLE', endpoint: { address: 'analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com', port: 5439 } });
    expect(workgroup?.creationDate).toBeInstanceOf(Date);
    const before = Date.now();
    const credentials = await client.send(new GetCredentialsCommand({ workgroupName: 'analytics', dbName: 'dev', durationSeconds: 900 }));
    expect(credentials.dbUser).toBe('IAM:gatehouse');
    expect(credentials.dbPassword).toBe(aws.minted.at(-1)?.password);
    expect(credentials.expiration!.getTime() - before).toBeGreaterThan(890_000);
    expect(aws.calls.at(-1)).toMatchObject({ service: 'redshift-serverless', action: 'GetCredentials', parameters: { workgroupName: 'analytics', dbName: 'dev' } });
  });

  it('names an assumed role IAMR:<role>', async () => {
    const sts = new STSClient({ region: REGION, endpoint: aws.endpoint, credentials: gatehouse, maxAttempts: 1 });
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, ExternalId: 'example-external-id', RoleSessionName: 'gatehouse' }));
    const client = serverless({ accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! });
    expect((await client.send(new GetCredentialsCommand({ workgroupName: 'analytics' }))).dbUser).toBe('IAMR:gatehouse-redshift');
  });

  it('answers with the JSON protocol errors as typed exceptions', async () => {
    const missing = await failure(serverless(gatehouse).send(new GetWorkgroupCommand({ workgroupName: 'nope' })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.message).toBe('Workgroup nope not found.');
    const denied = await failure(serverless(stranger).send(new GetCredentialsCommand({ workgroupName: 'analytics' })));
    expect(denied).toBeInstanceOf(AccessDeniedException);
    expect(denied.message).toMatch(/^User: arn:aws:iam::123456789012:user\/stranger is not authorized to perform: redshift-serverless:GetCredentials on resource: arn:aws:redshift-serverless:us-east-1:123456789012:workgroup\//);
    const badSecret = await failure(serverless({ accessKeyId: gatehouse.accessKeyId, secretAccessKey: 'nope' }).send(new GetWorkgroupCommand({ workgroupName: 'analytics' })));
    expect(badSecret.name).toBe('InvalidSignatureException');
    const unknownKey = await failure(serverless({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'nope' }).send(new GetWorkgroupCommand({ workgroupName: 'analytics' })));
    expect(unknownKey.name).toBe('UnrecognizedClientException');
    aws.failNext('GetCredentials', Faults.throttlingException());
    const throttled = await failure(serverless(gatehouse).send(new GetCredentialsCommand({ workgroupName: 'analytics' })));
    expect(throttled.name).toBe('ThrottlingException');
  });
});

describe('helpers', () => {
  it('stores MD5 passwords the way PostgreSQL does', () => {
    expect(passwordVerifier('md5', 'IAM:awsuser', 'secret')).toBe(`md5${createHash('md5').update('secretIAM:awsuser').digest('hex')}`);
    expect(passwordVerifier('scram-sha-256', 'IAM:awsuser', 'secret')).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  });

  it('escapes XML text', () => {
    expect(xmlElement('Message', `a<b>&"c'`)).toBe('<Message>a&#60;b&#62;&#38;&#34;c&#39;</Message>');
  });
});
