// Mapping SDK errors, built as the SDK builds them (ServiceException subclasses with name, Code,
// $fault and $metadata; Node network errors; the SDK's TimeoutError and AbortError), to the refusal
// the person at psql sees.
import { ClusterNotFoundFault, InvalidClusterStateFault, RedshiftServiceException, UnauthorizedOperation } from '@aws-sdk/client-redshift';
import { AccessDeniedException, ResourceNotFoundException } from '@aws-sdk/client-redshift-serverless';
import { describe, expect, it } from 'vitest';
import { AwsCredentialsError } from '../../../src/aws/aws-credentials.js';
import { apiEndpoint, AwsDeadlineError, toGatehouseError, type AwsCallContext } from '../../../src/aws/aws-errors.js';
import { scopeFromMessage } from '../../../src/aws/arns.js';
import { ErrorCodes, GatehouseError } from '../../../src/errors.js';

const MINT: AwsCallContext = {
  database: 'redshift',
  action: 'GetClusterCredentials',
  region: 'us-east-1',
  clusterId: 'redshift-cluster-1',
  dbUser: 'awsuser',
  dbName: 'dev',
  deadlineMs: 10_000,
};

function metadata(httpStatusCode: number, attempts = 1) {
  return { httpStatusCode, attempts, totalRetryDelay: 0, requestId: 'r-1' };
}

/** An unmodeled Query-protocol error, as the SDK builds it: the service's base exception named after the code. */
function queryError(code: string, message: string, status: number): RedshiftServiceException {
  return Object.assign(new RedshiftServiceException({ name: code, $fault: status >= 500 ? 'server' : 'client', $metadata: metadata(status, 4), message }), {
    Code: code,
    Type: 'Sender',
  });
}

describe('toGatehouseError', () => {
  it('names the GetClusterCredentials permission on dbuser and dbname for AccessDenied and UnauthorizedOperation', () => {
    const message = 'User: arn:aws:sts::210987654321:assumed-role/gh/gatehouse is not authorized to perform: redshift:GetClusterCredentials';
    for (const error of [
      queryError('AccessDenied', message, 403),
      new UnauthorizedOperation({ message, $metadata: metadata(400) }),
    ]) {
      const mapped = toGatehouseError(error, MINT);
      expect(mapped).toMatchObject({ code: ErrorCodes.AWS_ACCESS_DENIED, sqlState: '08001', detail: message });
      expect(mapped.message).toBe(
        'AWS denied Gatehouse GetClusterCredentials for database "redshift": its AWS identity needs redshift:GetClusterCredentials on arn:aws:redshift:us-east-1:210987654321:dbuser:redshift-cluster-1/awsuser and arn:aws:redshift:us-east-1:210987654321:dbname:redshift-cluster-1/dev',
      );
    }
  });

  it('uses the partition of the region for ARNs when the message has none', () => {
    const mapped = toGatehouseError(queryError('AccessDenied', 'denied', 403), { ...MINT, region: 'cn-north-1' });
    expect(mapped.message).toContain('arn:aws-cn:redshift:cn-north-1:*:dbuser:redshift-cluster-1/awsuser');
  });

  it('names the cluster and the region for ClusterNotFound', () => {
    const error = new ClusterNotFoundFault({ message: 'Cluster redshift-cluster-1 not found.', $metadata: metadata(404) });
    expect(toGatehouseError(error, MINT)).toMatchObject({
      code: ErrorCodes.AWS_NOT_FOUND,
      message: 'Redshift cluster "redshift-cluster-1" of database "redshift" does not exist in region us-east-1',
    });
  });

  it('names the workgroup for Serverless ResourceNotFound, and the workgroup ARN for AccessDenied', () => {
    const context: AwsCallContext = { database: 'analytics', action: 'GetCredentials', region: 'us-east-1', workgroup: 'analytics', dbName: 'dev', deadlineMs: 10_000 };
    expect(toGatehouseError(new ResourceNotFoundException({ message: 'not found', resourceName: 'analytics', $metadata: metadata(400) }), context).message).toBe(
      'Redshift Serverless workgroup "analytics" of database "analytics" does not exist in region us-east-1',
    );
    expect(toGatehouseError(new AccessDeniedException({ message: 'denied', $metadata: metadata(400) }), { ...context, workgroupArn: 'arn:aws:redshift-serverless:us-east-1:1:workgroup/id' }).message).toBe(
      'AWS denied Gatehouse GetCredentials for database "analytics": its AWS identity needs redshift-serverless:GetCredentials on arn:aws:redshift-serverless:us-east-1:1:workgroup/id',
    );
  });

  it('reports a cluster in the wrong state', () => {
    const error = new InvalidClusterStateFault({ message: 'The cluster is paused.', $metadata: metadata(400) });
    expect(toGatehouseError(error, MINT)).toMatchObject({ code: ErrorCodes.AWS_NOT_AVAILABLE, message: 'Redshift cluster "redshift-cluster-1" is not available: The cluster is paused.' });
  });

  it('reports throttling and server errors after the retries, with the attempts made', () => {
    expect(toGatehouseError(queryError('Throttling', 'Rate exceeded', 400), MINT)).toMatchObject({
      code: ErrorCodes.AWS_THROTTLED,
      message: 'AWS throttled GetClusterCredentials for database "redshift" through 4 attempts (Throttling)',
    });
    expect(toGatehouseError(queryError('SomethingNew', 'slow down', 429), MINT).code).toBe(ErrorCodes.AWS_THROTTLED);
    expect(toGatehouseError(queryError('InternalFailure', 'oops', 500), MINT)).toMatchObject({
      code: ErrorCodes.AWS_UNREACHABLE,
      message: 'the AWS Redshift API failed GetClusterCredentials for database "redshift" with a server error (InternalFailure, HTTP 500) through 4 attempts',
    });
  });

  it('reports network failures with the endpoint the SDK called', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(toGatehouseError(refused, { ...MINT, endpoint: 'http://127.0.0.1:9' })).toMatchObject({
      code: ErrorCodes.AWS_UNREACHABLE,
      message: 'cannot reach the AWS Redshift API at http://127.0.0.1:9 for database "redshift": ECONNREFUSED',
    });
    const timeout = Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' });
    expect(toGatehouseError(timeout, MINT).message).toBe('cannot reach the AWS Redshift API at https://redshift.us-east-1.amazonaws.com for database "redshift": timed out');
  });

  it('reports a deadline or an abort as no answer within the deadline', () => {
    const expected = 'the AWS Redshift API at https://redshift.us-east-1.amazonaws.com did not answer GetClusterCredentials for database "redshift" within 10000 ms';
    expect(toGatehouseError(new AwsDeadlineError(10_000), MINT).message).toBe(expected);
    expect(toGatehouseError(Object.assign(new Error('aborted'), { name: 'AbortError' }), MINT).message).toBe(expected);
  });

  it('reports invalid parameters as the user\'s to fix (28000)', () => {
    const error = queryError('InvalidParameterValue', 'DbUser contains invalid characters', 400);
    expect(toGatehouseError(error, MINT)).toMatchObject({
      code: ErrorCodes.AWS_REQUEST_FAILED,
      sqlState: '28000',
      message: 'AWS refused GetClusterCredentials for database user "awsuser" and database name "dev": DbUser contains invalid characters',
    });
  });

  it('passes anything else on with AWS\'s own code and message', () => {
    expect(toGatehouseError(queryError('UnsupportedOperation', 'not for this cluster', 400), MINT)).toMatchObject({
      code: ErrorCodes.AWS_REQUEST_FAILED,
      sqlState: '08001',
      message: 'AWS GetClusterCredentials failed for database "redshift": UnsupportedOperation: not for this cluster',
    });
    expect(toGatehouseError('a string', MINT).message).toBe('AWS GetClusterCredentials failed for database "redshift": Error: a string');
  });

  it('keeps a GatehouseError as it is', () => {
    const original = new GatehouseError(ErrorCodes.AWS_NOT_AVAILABLE, 'paused', { sqlState: '08001' });
    expect(toGatehouseError(original, MINT)).toBe(original);
  });

  it('maps failures of the credential step by what went wrong there', () => {
    const role = 'arn:aws:iam::123456789012:role/r';
    const timeout = new AwsCredentialsError('AssumeRole', role, Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    expect(toGatehouseError(timeout, MINT).code).toBe(ErrorCodes.AWS_UNREACHABLE);
    const odd = new AwsCredentialsError('AssumeRole', role, Object.assign(new Error('Role session name is too long'), { name: 'ValidationError' }));
    expect(toGatehouseError(odd, MINT)).toMatchObject({
      code: ErrorCodes.AWS_CREDENTIALS,
      message: `Gatehouse could not get AWS credentials for database "redshift" (sts:AssumeRole on ${role}): ValidationError: Role session name is too long`,
    });
    const expiredBase = new AwsCredentialsError('DefaultCredentials', undefined, Object.assign(new Error('token expired'), { name: 'ExpiredToken' }));
    expect(toGatehouseError(expiredBase, MINT).code).toBe(ErrorCodes.AWS_CREDENTIALS);
  });
});

describe('apiEndpoint and scopeFromMessage', () => {
  it('names the regional endpoint of each service, or the configured one', () => {
    expect(apiEndpoint({ region: 'eu-west-1', action: 'DescribeClusters' })).toBe('https://redshift.eu-west-1.amazonaws.com');
    expect(apiEndpoint({ region: 'cn-north-1', action: 'GetCredentials' })).toBe('https://redshift-serverless.cn-north-1.amazonaws.com.cn');
    expect(apiEndpoint({ region: 'us-east-1', action: 'GetWorkgroup', endpoint: 'https://vpce.example' })).toBe('https://vpce.example');
  });

  it('prefers the resource account over the caller account', () => {
    const message = 'User: arn:aws:sts::111111111111:assumed-role/r/s is not authorized to perform: redshift:GetClusterCredentials on resource: arn:aws:redshift:us-east-1:222222222222:dbuser:c/u';
    expect(scopeFromMessage(message, 'us-east-1')).toEqual({ partition: 'aws', region: 'us-east-1', account: '222222222222' });
    expect(scopeFromMessage('User: arn:aws-us-gov:iam::333333333333:user/u is not authorized', 'us-gov-west-1')).toEqual({
      partition: 'aws-us-gov',
      region: 'us-gov-west-1',
      account: '333333333333',
    });
  });
});
