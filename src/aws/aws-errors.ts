// Turns what the AWS SDK throws into a GatehouseError whose message tells the operator what to fix:
// the missing IAM permission with its ARNs, the cluster or workgroup that does not exist in the
// region, credentials that are missing or rejected, an API that is throttling, failing or out of
// reach. Classification goes by the error's name (the SDK sets it to the AWS error code) and its
// $metadata, the way the SDK's own retry logic does, so it works for modeled and unmodeled errors.
import { ErrorCodes, GatehouseError, SqlState, type ErrorCode } from '../errors.js';
import { clusterArn, dbNameArn, dbUserArn, scopeFromMessage, workgroupArn } from './arns.js';
import { AwsCredentialsError } from './aws-credentials.js';

export interface AwsCallContext {
  /** The Gatehouse database (its name in gatehouse.yaml). */
  readonly database: string;
  readonly action: 'DescribeClusters' | 'GetClusterCredentials' | 'GetWorkgroup' | 'GetCredentials';
  readonly region: string;
  /** aws.endpoint, when the config overrides the API endpoint. */
  readonly endpoint?: string;
  readonly clusterId?: string;
  readonly workgroup?: string;
  /** Known once GetWorkgroup has answered. */
  readonly workgroupArn?: string;
  readonly dbUser?: string;
  readonly dbName?: string;
  /** The deadline the call had, in ms. */
  readonly deadlineMs: number;
}

/** The call's deadline passed before AWS answered (aws-calls.ts throws it). */
export class AwsDeadlineError extends Error {
  constructor(readonly deadlineMs: number) {
    super(`no answer within ${deadlineMs} ms`);
    this.name = 'AwsDeadlineError';
  }
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AccessDeniedFault']);
const NOT_FOUND = new Set(['ClusterNotFoundFault', 'ClusterNotFound', 'ResourceNotFoundException']);
const NOT_AVAILABLE = new Set(['InvalidClusterStateFault', 'InvalidClusterState']);
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException', 'IncompleteSignature',
  'InvalidAccessKeyId', 'ExpiredToken', 'ExpiredTokenException', 'MissingAuthenticationToken', 'AuthFailure',
  'InvalidIdentityToken', 'IDPRejectedClaim', 'IDPCommunicationError',
]);
const BAD_PARAMETERS = new Set(['ValidationException', 'InvalidParameterValue', 'InvalidParameterValueException', 'InvalidParameterCombination']);
// The SDK's THROTTLING_ERROR_CODES (@smithy/core retry), so what it retried as throttling is reported as such.
const THROTTLING = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottledException', 'TooManyRequestsException',
  'ProvisionedThroughputExceededException', 'TransactionInProgressException', 'RequestLimitExceeded', 'BandwidthLimitExceeded',
  'LimitExceededException', 'RequestThrottled', 'SlowDown', 'PriorRequestNotComplete', 'EC2ThrottledException',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

const POLICY_HINT = 'Run "gatehouse aws policy --config FILE" for the IAM policy Gatehouse needs and attach it to the identity named in the detail.';

interface SdkErrorShape {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number; readonly requestId?: string };
}

export function toGatehouseError(error: unknown, context: AwsCallContext): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (error instanceof AwsDeadlineError) return timedOut(context, error.deadlineMs);
  if (error instanceof AwsCredentialsError) return credentialsFailure(error, context);
  const sdk = asSdkError(error);
  const { name } = sdk;
  const status = sdk.$metadata?.httpStatusCode;
  if (ACCESS_DENIED.has(name)) return accessDenied(sdk, context);
  if (NOT_FOUND.has(name)) return notFound(context, sdk);
  if (NOT_AVAILABLE.has(name)) {
    return fail(ErrorCodes.AWS_NOT_AVAILABLE, `${target(context)} is not available: ${sdk.message}`, {
      hint: 'Wait for the cluster to become available (or resume it), then connect again.',
    });
  }
  if (BAD_CREDENTIALS.has(name)) {
    return fail(ErrorCodes.AWS_CREDENTIALS, `AWS rejected Gatehouse's AWS credentials when it called ${context.action} for database "${context.database}" (${name})`, {
      detail: sdk.message,
      hint: "Check Gatehouse's AWS credentials (access key, profile or role) and that the clock of its host is right.",
    });
  }
  if (BAD_PARAMETERS.has(name)) {
    // The database user and name come from the client's StartupMessage: this one is the user's to fix.
    return new GatehouseError(ErrorCodes.AWS_REQUEST_FAILED, `AWS refused ${context.action} for ${userAndName(context)}: ${sdk.message}`, {
      sqlState: SqlState.INVALID_AUTHORIZATION,
      hint: 'Check the database user (psql -U) and database name (psql -d) you connect with.',
      cause: error,
    });
  }
  const attempts = sdk.$metadata?.attempts ?? 1;
  if (THROTTLING.has(name) || status === 429) {
    return fail(ErrorCodes.AWS_THROTTLED, `AWS throttled ${context.action} for database "${context.database}" through ${attempts} attempts (${name})`, {
      hint: 'Too many requests reach the AWS API at once; try again in a moment.',
    });
  }
  if (status !== undefined && status >= 500) {
    return fail(ErrorCodes.AWS_UNREACHABLE, `the AWS ${service(context)} API failed ${context.action} for database "${context.database}" with a server error (${name}, HTTP ${status}) through ${attempts} attempts`, {
      detail: sdk.message,
      hint: 'AWS may be having trouble; try again in a moment.',
    });
  }
  const networkCode = sdk.code !== undefined && NETWORK_CODES.has(sdk.code) ? sdk.code : name === 'TimeoutError' ? 'timed out' : undefined;
  if (networkCode !== undefined) {
    return fail(ErrorCodes.AWS_UNREACHABLE, `cannot reach the AWS ${service(context)} API at ${apiEndpoint(context)} for database "${context.database}": ${networkCode}`, {
      detail: sdk.message,
      hint: "Check Gatehouse's network path to the AWS API (DNS, proxy, VPC endpoint, security groups) and aws.endpoint.",
    });
  }
  if (name === 'AbortError') return timedOut(context, context.deadlineMs);
  return fail(ErrorCodes.AWS_REQUEST_FAILED, `AWS ${context.action} failed for database "${context.database}": ${name}: ${sdk.message}`);
}

function accessDenied(sdk: SdkErrorShape, context: AwsCallContext): GatehouseError {
  const scope = scopeFromMessage(sdk.message, context.region);
  const cluster = context.clusterId ?? '*';
  let needed: string;
  switch (context.action) {
    case 'GetClusterCredentials':
      needed = `redshift:GetClusterCredentials on ${dbUserArn(scope, cluster, context.dbUser ?? '*')} and ${dbNameArn(scope, cluster, context.dbName ?? '*')}`;
      break;
    case 'DescribeClusters':
      needed = `redshift:DescribeClusters on ${clusterArn(scope, cluster)}`;
      break;
    default:
      needed = `redshift-serverless:${context.action} on ${context.workgroupArn ?? workgroupArn(scope, '*')}`;
  }
  return fail(ErrorCodes.AWS_ACCESS_DENIED, `AWS denied Gatehouse ${context.action} for database "${context.database}": its AWS identity needs ${needed}`, {
    detail: sdk.message,
    hint: POLICY_HINT,
  });
}

function notFound(context: AwsCallContext, sdk: SdkErrorShape): GatehouseError {
  const what = context.clusterId !== undefined ? `Redshift cluster "${context.clusterId}"` : `Redshift Serverless workgroup "${context.workgroup ?? '?'}"`;
  const key = context.clusterId !== undefined ? 'aws.redshift.cluster_id' : 'aws.redshift_serverless.workgroup';
  return fail(ErrorCodes.AWS_NOT_FOUND, `${what} of database "${context.database}" does not exist in region ${context.region}`, {
    detail: sdk.message,
    hint: `Check ${key} and aws.region of database "${context.database}" in the Gatehouse config.`,
  });
}

function credentialsFailure(error: AwsCredentialsError, context: AwsCallContext): GatehouseError {
  const cause = asSdkError(error.cause);
  const role = error.roleArn ?? '';
  if (error.step === 'DefaultCredentials') {
    if (BAD_CREDENTIALS.has(cause.name)) return toGatehouseError(error.cause, context);
    return fail(ErrorCodes.AWS_CREDENTIALS, `Gatehouse has no AWS credentials to call ${context.action} for database "${context.database}"`, {
      detail: cause.message,
      hint: 'Give the Gatehouse process an AWS identity: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), or an instance or task role.',
    });
  }
  const webIdentity = error.step === 'AssumeRoleWithWebIdentity';
  if (ACCESS_DENIED.has(cause.name)) {
    return fail(ErrorCodes.AWS_ACCESS_DENIED, `AWS denied Gatehouse sts:${error.step} on ${role} for database "${context.database}"`, {
      detail: cause.message,
      hint: webIdentity
        ? `The trust policy of ${role} must allow sts:AssumeRoleWithWebIdentity for the token's OIDC provider, audience and subject.`
        : `Allow sts:AssumeRole on ${role} for Gatehouse's base identity, and let the role's trust policy trust that identity (with the sts:ExternalId condition when aws.external_id is set).`,
    });
  }
  if (BAD_CREDENTIALS.has(cause.name)) {
    return fail(ErrorCodes.AWS_CREDENTIALS, `AWS rejected the credentials Gatehouse used for sts:${error.step} on ${role} for database "${context.database}" (${cause.name})`, {
      detail: cause.message,
      hint: webIdentity ? 'Check the web identity token file and that the token has not expired.' : "Check Gatehouse's base AWS credentials and the clock of its host.",
    });
  }
  if (error.cause instanceof AwsDeadlineError) return timedOut(context, context.deadlineMs);
  const mapped = toGatehouseError(error.cause, context);
  if (mapped.code !== ErrorCodes.AWS_REQUEST_FAILED) return mapped;
  return fail(ErrorCodes.AWS_CREDENTIALS, `Gatehouse could not get AWS credentials for database "${context.database}" (sts:${error.step} on ${role}): ${cause.name}: ${cause.message}`);
}

function timedOut(context: AwsCallContext, deadlineMs: number): GatehouseError {
  return fail(ErrorCodes.AWS_UNREACHABLE, `the AWS ${service(context)} API at ${apiEndpoint(context)} did not answer ${context.action} for database "${context.database}" within ${deadlineMs} ms`, {
    hint: "Check Gatehouse's network path to the AWS API (DNS, proxy, VPC endpoint, security groups) and aws.endpoint; or try again later.",
  });
}

function fail(code: ErrorCode, message: string, extra: { detail?: string; hint?: string } = {}): GatehouseError {
  return new GatehouseError(code, message, {
    sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
    detail: extra.detail,
    hint: extra.hint ?? 'Tell the Gatehouse administrator.',
  });
}

function asSdkError(error: unknown): SdkErrorShape {
  if (error instanceof Error) return error as unknown as SdkErrorShape;
  return { name: 'Error', message: String(error) };
}

function target(context: AwsCallContext): string {
  return context.clusterId !== undefined ? `Redshift cluster "${context.clusterId}"` : `Redshift Serverless workgroup "${context.workgroup ?? '?'}"`;
}

function service(context: AwsCallContext): string {
  return context.action === 'GetWorkgroup' || context.action === 'GetCredentials' ? 'Redshift Serverless' : 'Redshift';
}

function userAndName(context: AwsCallContext): string {
  const name = `database name "${context.dbName ?? '?'}"`;
  return context.dbUser === undefined ? name : `database user "${context.dbUser}" and ${name}`;
}

/** The API endpoint the SDK calls: aws.endpoint, or the service's regional endpoint. */
export function apiEndpoint(context: Pick<AwsCallContext, 'endpoint' | 'region' | 'action'>): string {
  if (context.endpoint !== undefined) return context.endpoint;
  const host = context.action === 'GetWorkgroup' || context.action === 'GetCredentials' ? 'redshift-serverless' : 'redshift';
  const suffix = context.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${host}.${context.region}.${suffix}`;
}
