// Gatehouse's own AWS identity: the base identity, an assumed role (AssumeRole with the external id,
// through the real SDK providers and STS client, answered by canned documents), web identity, the
// memo that makes one STS call serve every client, and the errors of each step.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsCredentialProviders, identityKey, refreshTime, ROLE_SESSION_NAME, type AwsKeys, type ProviderFactories } from '../../../src/aws/aws-credentials.js';
import { createLogger } from '../../../src/logging.js';
import { CaptureStream } from '../../support/capture-stream.js';
import { assumedRole, clusterCredentials, describeClusters, stsError, workgroup, serverlessCredentials } from './canned-aws.js';
import { at, awsSetup, CLUSTER_HOST, databasesFrom, redshiftDatabase } from './fixtures.js';
import { refusal } from '../../support/refusal.js';

const ROLE = 'arn:aws:iam::123456789012:role/gatehouse-redshift';

function roleKeys(clock: { now: number }, suffix = '1') {
  return { accessKeyId: `ASIAROLEKEY000000${suffix}`, secretAccessKey: `role-secret-${suffix}`, sessionToken: `role-session-token-${suffix}`, expiration: at(clock, 3_600_000) };
}

describe('assumed role', () => {
  it('calls STS AssumeRole with the role, external id and session name, and signs Redshift calls with the role', async () => {
    const { canned, clock, aws, out } = awsSetup();
    canned.on('AssumeRole', assumedRole('AssumeRole', ROLE, roleKeys(clock)));
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:awsuser', 'pw', at(clock, 900_000)));
    const database = redshiftDatabase([], [`assume_role_arn: ${ROLE}`, 'external_id: example-external-id', 'sts_endpoint: http://127.0.0.1:9']);
    await aws.credentials.credentialsFor({ database, dbUser: 'awsuser', dbName: 'dev' });

    const assume = canned.requests.filter((request) => request.action === 'AssumeRole');
    expect(assume).toHaveLength(1);
    expect(assume[0]?.params).toMatchObject({ RoleArn: ROLE, ExternalId: 'example-external-id', RoleSessionName: ROLE_SESSION_NAME, Version: '2011-06-15' });
    // AssumeRole itself is signed by the base identity; Redshift calls by the role's temporary keys.
    expect(assume[0]?.headers.authorization).toContain('Credential=AKIDBASEKEY0000000/');
    for (const request of canned.requests.filter((recorded) => recorded.action !== 'AssumeRole')) {
      expect(request.headers.authorization).toContain('Credential=ASIAROLEKEY0000001/');
      expect(request.headers['x-amz-security-token']).toBe('role-session-token-1');
    }
    const resolved = out.lines().find((line) => line.msg === 'aws credentials resolved' && line.aws_action === 'AssumeRole');
    expect(resolved).toMatchObject({ role_arn: ROLE, outcome: 'ok', latency_ms: expect.any(Number) });
    expect(out.text).not.toContain('role-secret-1');
    expect(out.text).not.toContain('role-session-token-1');
  });

  // (Refreshing near expiry is the memo's job, tested below with a clock: the SDK clients keep their
  // own memo on the real clock on top of it.)
  it('assumes the role once for a cluster and a workgroup of the same identity', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('AssumeRole', assumedRole('AssumeRole', ROLE, roleKeys(clock, '1')));
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    canned.on('GetClusterCredentials', clusterCredentials('IAM:awsuser', 'pw', at(clock, 900_000)));
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', host: 'analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com' }));
    canned.on('GetCredentials', serverlessCredentials('IAMR:gatehouse-redshift', 'pw2', at(clock, 900_000)));
    const [cluster, serverless] = databasesFrom(
      ['name: rs', `aws: { region: us-east-1, assume_role_arn: "${ROLE}", redshift: { cluster_id: redshift-cluster-1 } }`],
      ['name: sl', `aws: { region: us-east-1, assume_role_arn: "${ROLE}", redshift_serverless: { workgroup: analytics } }`],
    );
    await aws.credentials.credentialsFor({ database: cluster!, dbUser: 'awsuser', dbName: 'dev' });
    await aws.credentials.credentialsFor({ database: serverless!, dbUser: 'awsuser', dbName: 'dev' });
    expect(canned.count('AssumeRole')).toBe(1);
    expect(canned.requests.find((request) => request.action === 'GetCredentials')?.headers.authorization).toContain('Credential=ASIAROLEKEY0000001/');
  });

  it('says which permission or trust is missing when AssumeRole is denied', async () => {
    const { canned, aws } = awsSetup();
    const awsMessage = `User: arn:aws:iam::123456789012:user/gatehouse is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`;
    canned.on('AssumeRole', stsError(403, 'AccessDenied', awsMessage));
    const database = redshiftDatabase([], [`assume_role_arn: ${ROLE}`, 'external_id: example-external-id']);
    const error = await refusal(aws.targets.targetFor(database));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_ACCESS_DENIED',
      sqlState: '08001',
      message: `AWS denied Gatehouse sts:AssumeRole on ${ROLE} for database "rs"`,
      detail: awsMessage,
      hint: `Allow sts:AssumeRole on ${ROLE} for Gatehouse's base identity, and let the role's trust policy trust that identity (with the sts:ExternalId condition when aws.external_id is set).`,
    });
    expect(canned.count('DescribeClusters')).toBe(0);
  });

  it('reports base credentials that STS rejects', async () => {
    const { canned, aws } = awsSetup();
    canned.on('AssumeRole', stsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'));
    const error = await refusal(aws.targets.targetFor(redshiftDatabase([], [`assume_role_arn: ${ROLE}`])));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_CREDENTIALS',
      message: `AWS rejected the credentials Gatehouse used for sts:AssumeRole on ${ROLE} for database "rs" (InvalidClientTokenId)`,
    });
  });
});

describe('web identity', () => {
  it('calls AssumeRoleWithWebIdentity with the token read from the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-webid-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'eyJ.web-identity-token.sig');
    const { canned, clock, aws, out } = awsSetup();
    canned.on('AssumeRoleWithWebIdentity', assumedRole('AssumeRoleWithWebIdentity', ROLE, roleKeys(clock, '7')));
    canned.on('DescribeClusters', describeClusters({ id: 'redshift-cluster-1', host: CLUSTER_HOST }));
    await aws.targets.targetFor(redshiftDatabase([], [`assume_role_arn: ${ROLE}`, `web_identity_token_file: ${tokenFile}`]));
    expect(canned.requests[0]?.params).toMatchObject({
      Action: 'AssumeRoleWithWebIdentity',
      RoleArn: ROLE,
      RoleSessionName: ROLE_SESSION_NAME,
      WebIdentityToken: 'eyJ.web-identity-token.sig',
    });
    expect(canned.requests[1]?.headers.authorization).toContain('Credential=ASIAROLEKEY0000007/');
    expect(out.text).not.toContain('web-identity-token');
  });

  it('says what the trust policy needs when AssumeRoleWithWebIdentity is denied', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-webid-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'token');
    const { canned, aws } = awsSetup();
    canned.on('AssumeRoleWithWebIdentity', stsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'));
    const error = await refusal(aws.targets.targetFor(redshiftDatabase([], [`assume_role_arn: ${ROLE}`, `web_identity_token_file: ${tokenFile}`])));
    expect(error.message).toBe(`AWS denied Gatehouse sts:AssumeRoleWithWebIdentity on ${ROLE} for database "rs"`);
    expect(error.hint).toBe(`The trust policy of ${ROLE} must allow sts:AssumeRoleWithWebIdentity for the token's OIDC provider, audience and subject.`);
  });
});

describe('the base identity', () => {
  it('says how to give Gatehouse AWS credentials when there are none', async () => {
    const { aws } = awsSetup({
      baseCredentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
    });
    const error = await refusal(aws.targets.targetFor(redshiftDatabase()));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_CREDENTIALS',
      sqlState: '08001',
      message: 'Gatehouse has no AWS credentials to call DescribeClusters for database "rs"',
      detail: 'Could not load credentials from any providers',
      hint: 'Give the Gatehouse process an AWS identity: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), or an instance or task role.',
    });
  });

  it('reports keys that AWS does not know', async () => {
    const { canned, aws } = awsSetup();
    canned.on('DescribeClusters', {
      status: 403,
      contentType: 'text/xml',
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>x</RequestId></ErrorResponse>',
    });
    expect(await refusal(aws.targets.targetFor(redshiftDatabase()))).toMatchObject({
      code: 'GH_ERR_AWS_CREDENTIALS',
      message: `AWS rejected Gatehouse's AWS credentials when it called DescribeClusters for database "rs" (InvalidClientTokenId)`,
      detail: 'The security token included in the request is invalid.',
    });
  });
});

describe('AwsCredentialProviders', () => {
  function recording() {
    const made: { kind: string; request: unknown }[] = [];
    let resolutions = 0;
    const keys = (name: string): AwsKeys => ({ accessKeyId: name, secretAccessKey: 's', expiration: new Date(10 * 3_600_000) });
    const factories: ProviderFactories = {
      defaultChain: () => (made.push({ kind: 'chain', request: undefined }), async () => (resolutions++, keys('base'))),
      assumeRole: (request) => (made.push({ kind: 'assumeRole', request }), async () => (resolutions++, keys('role'))),
      webIdentity: (request) => (made.push({ kind: 'webIdentity', request }), async () => (resolutions++, keys('web'))),
    };
    const clock = { now: 0 };
    const providers = new AwsCredentialProviders({ logger: createLogger('silent', new CaptureStream()), now: () => clock.now, clientSettings: { maxAttempts: 4 }, factories });
    return { made, providers, clock, resolutions: () => resolutions };
  }

  it('makes one provider per identity, with the STS endpoint, region and client settings', async () => {
    const { made, providers } = recording();
    const [a, b, c] = databasesFrom(
      ['name: a', `aws: { region: eu-west-1, sts_endpoint: "https://sts.example:443", assume_role_arn: "${ROLE}", external_id: x-1, redshift: { cluster_id: c } }`],
      ['name: b', `aws: { region: eu-west-1, sts_endpoint: "https://sts.example:443", assume_role_arn: "${ROLE}", external_id: x-1, redshift_serverless: { workgroup: wg1 } }`],
      ['name: c', 'aws: { region: eu-west-1, redshift: { cluster_id: c } }'],
    );
    const first = providers.providerFor(a!.aws!);
    expect(providers.providerFor(b!.aws!).provider).toBe(first.provider);
    expect(providers.providerFor(b!.aws!).key).toBe(first.key);
    expect(providers.providerFor(c!.aws!).key).toBe('default');
    expect(made.map((entry) => entry.kind)).toEqual(['chain', 'assumeRole']);
    expect(made[1]?.request).toMatchObject({ roleArn: ROLE, externalId: 'x-1', region: 'eu-west-1', stsEndpoint: 'https://sts.example:443', clientSettings: { maxAttempts: 4 } });
  });

  it('resolves once for concurrent callers and keeps the keys until shortly before they expire', async () => {
    const { providers, clock, resolutions } = recording();
    const [database] = databasesFrom(['name: a', `aws: { region: us-east-1, assume_role_arn: "${ROLE}", redshift: { cluster_id: c } }`]);
    const { provider } = providers.providerFor(database!.aws!);
    await Promise.all([provider(), provider(), provider()]);
    expect(resolutions()).toBe(1);
    clock.now = 10 * 3_600_000 - 5 * 60_000 - 1;
    await provider();
    expect(resolutions()).toBe(1);
    clock.now += 1;
    await provider();
    expect(resolutions()).toBe(2);
  });

  it('tells identities apart by role, external id, token file, region and STS endpoint', () => {
    const base = { region: 'us-east-1', assume_role_arn: ROLE };
    const keys = new Set([
      identityKey(base),
      identityKey({ ...base, external_id: 'a' }),
      identityKey({ ...base, web_identity_token_file: '/t' }),
      identityKey({ ...base, region: 'us-west-2' }),
      identityKey({ ...base, sts_endpoint: 'http://127.0.0.1:1' }),
      identityKey({ region: 'us-east-1' }),
    ]);
    expect(keys.size).toBe(6);
    expect(identityKey({ region: 'eu-west-1' })).toBe(identityKey({ region: 'us-east-1', endpoint: 'http://x' }));
  });

  it('refreshes 5 minutes before expiry, or at 80 % of a short life; static keys never', () => {
    expect(refreshTime({ accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(3_600_000) }, 0)).toBe(3_300_000);
    expect(refreshTime({ accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(100_000) }, 0)).toBe(80_000);
    expect(refreshTime({ accessKeyId: 'a', secretAccessKey: 's' }, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});
