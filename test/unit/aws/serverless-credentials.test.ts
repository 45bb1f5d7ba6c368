// Redshift Serverless through the real SDK client, answered by canned JSON documents: GetWorkgroup for
// the endpoint and its status, GetCredentials for the password, and their refusals.
import { describe, expect, it } from 'vitest';
import { HANG, jsonError, serverlessCredentials, workgroup } from './canned-aws.js';
import { at, awsSetup, serverlessDatabase } from './fixtures.js';
import { refusal } from '../../support/refusal.js';

const HOST = 'analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com';
const WORKGROUP_ARN = 'arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0f1e2d3c-aaaa-bbbb-cccc-123456789abc';

describe('Redshift Serverless credentials', () => {
  it('mints with GetCredentials for the workgroup and database, as the user AWS names', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', host: HOST }));
    canned.on('GetCredentials', serverlessCredentials('IAMR:gatehouse-redshift', 'serverless-pw', at(clock, 900_000)));
    const credentials = await aws.credentials.credentialsFor({ database: serverlessDatabase(), dbUser: 'awsuser', dbName: 'dev' });
    expect(credentials).toEqual({ user: 'IAMR:gatehouse-redshift', password: 'serverless-pw' });
    expect(canned.requests.map((request) => [request.action, request.params])).toEqual([
      ['GetWorkgroup', { workgroupName: 'analytics' }],
      ['GetCredentials', { workgroupName: 'analytics', dbName: 'dev', durationSeconds: 900 }],
    ]);
    expect(canned.requests[1]?.headers['x-amz-target']).toBe('RedshiftServerless.GetCredentials');
  });

  it('caches per database name, one request in flight', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', host: HOST }));
    canned.on('GetCredentials', serverlessCredentials('IAMR:gatehouse-redshift', 'pw', at(clock, 900_000)));
    const database = serverlessDatabase();
    await Promise.all(['alice', 'bob', 'carol'].map((dbUser) => aws.credentials.credentialsFor({ database, dbUser, dbName: 'dev' })));
    expect(canned.count('GetCredentials')).toBe(1);
    await aws.credentials.credentialsFor({ database, dbUser: 'alice', dbName: 'sales' });
    expect(canned.count('GetCredentials')).toBe(2);
    aws.credentials.forget({ database, dbUser: 'anyone', dbName: 'dev' });
    await aws.credentials.credentialsFor({ database, dbUser: 'alice', dbName: 'dev' });
    expect(canned.count('GetCredentials')).toBe(3);
    expect(canned.count('GetWorkgroup')).toBe(1);
  });

  it('dials the workgroup endpoint and checks a configured uri against it', async () => {
    const { canned, aws } = awsSetup();
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', host: HOST, port: 5439 }));
    expect(await aws.targets.targetFor(serverlessDatabase())).toMatchObject({ host: HOST, port: 5439, tls: { mode: 'verify-full', serverName: HOST } });
    expect((await aws.targets.targetFor(serverlessDatabase([`uri: ${HOST}`]))).host).toBe(HOST);
    const error = await refusal(aws.credentials.credentialsFor({ database: serverlessDatabase(['uri: other.example.com:5439']), dbUser: 'u', dbName: 'dev' }));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_ENDPOINT_MISMATCH',
      message: `the uri of database "sl" (other.example.com:5439) is not the endpoint of Redshift Serverless workgroup "analytics" (${HOST}:5439); Gatehouse does not send credentials to it`,
    });
    expect(canned.count('GetCredentials')).toBe(0);
  });

  it('refuses a workgroup that is not AVAILABLE, naming its status', async () => {
    const { canned, aws } = awsSetup();
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', status: 'MODIFYING', host: HOST }));
    const error = await refusal(aws.credentials.credentialsFor({ database: serverlessDatabase(), dbUser: 'u', dbName: 'dev' }));
    expect(error).toMatchObject({ code: 'GH_ERR_AWS_NOT_AVAILABLE', sqlState: '08001', message: 'Redshift Serverless workgroup "analytics" of database "sl" is MODIFYING, not AVAILABLE' });
  });

  it('refuses a workgroup AWS does not know', async () => {
    const { canned, aws } = awsSetup();
    canned.on('GetWorkgroup', jsonError(400, 'ResourceNotFoundException', 'Workgroup analytics not found'));
    expect(await refusal(aws.targets.targetFor(serverlessDatabase()))).toMatchObject({
      code: 'GH_ERR_AWS_NOT_FOUND',
      message: 'Redshift Serverless workgroup "analytics" of database "sl" does not exist in region us-east-1',
      hint: 'Check aws.redshift_serverless.workgroup and aws.region of database "sl" in the Gatehouse config.',
    });
  });

  it('names the missing permission on the workgroup ARN GetWorkgroup reported', async () => {
    const { canned, aws } = awsSetup();
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', host: HOST, arn: WORKGROUP_ARN }));
    canned.on(
      'GetCredentials',
      jsonError(400, 'AccessDeniedException', `User: arn:aws:sts::123456789012:assumed-role/gatehouse/gatehouse is not authorized to perform: redshift-serverless:GetCredentials on resource: ${WORKGROUP_ARN}`),
    );
    const error = await refusal(aws.credentials.credentialsFor({ database: serverlessDatabase(), dbUser: 'u', dbName: 'dev' }));
    expect(error.message).toBe(`AWS denied Gatehouse GetCredentials for database "sl": its AWS identity needs redshift-serverless:GetCredentials on ${WORKGROUP_ARN}`);
    const { canned: canned2, aws: aws2 } = awsSetup();
    canned2.on('GetWorkgroup', jsonError(400, 'AccessDeniedException', 'User: arn:aws:iam::123456789012:user/gh is not authorized to perform: redshift-serverless:GetWorkgroup'));
    expect((await refusal(aws2.targets.targetFor(serverlessDatabase()))).message).toBe(
      'AWS denied Gatehouse GetWorkgroup for database "sl": its AWS identity needs redshift-serverless:GetWorkgroup on arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*',
    );
  });

  it('retries ThrottlingException and reports a validation error as the user\'s', async () => {
    const { canned, clock, aws } = awsSetup();
    canned.on('GetWorkgroup', workgroup({ name: 'analytics', host: HOST }));
    canned.on('GetCredentials', jsonError(400, 'ThrottlingException', 'Rate exceeded'), serverlessCredentials('IAMR:r', 'pw', at(clock, 900_000)));
    expect((await aws.credentials.credentialsFor({ database: serverlessDatabase(), dbUser: 'u', dbName: 'dev' })).password).toBe('pw');
    expect(canned.count('GetCredentials')).toBe(2);

    canned.on('GetCredentials', jsonError(400, 'ValidationException', 'Database sales does not exist'));
    const error = await refusal(aws.credentials.credentialsFor({ database: serverlessDatabase(), dbUser: 'u', dbName: 'sales' }));
    expect(error).toMatchObject({
      code: 'GH_ERR_AWS_REQUEST_FAILED',
      sqlState: '28000',
      message: 'AWS refused GetCredentials for database name "sales": Database sales does not exist',
    });
  });

  it('gives up on a hung endpoint within the deadline', async () => {
    const { canned, aws } = awsSetup({ connectTimeoutMs: 150 });
    canned.on('GetWorkgroup', HANG);
    expect((await refusal(aws.targets.targetFor(serverlessDatabase()))).message).toBe(
      'the AWS Redshift Serverless API at https://redshift-serverless.us-east-1.amazonaws.com did not answer GetWorkgroup for database "sl" within 150 ms',
    );
  });
});
