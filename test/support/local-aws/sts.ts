// STS on the local endpoint: AssumeRole (signed, with ExternalId) and AssumeRoleWithWebIdentity
// (unsigned, with a token), which give out temporary keys the endpoint then accepts with their
// session token; GetCallerIdentity for checking who a key is.
import { AwsApiError } from './errors.js';
import type { Caller, Iam, TemporaryCredentials } from './iam.js';
import type { QueryParameters, XmlObject } from './query-protocol.js';
import type { QueryService } from './services.js';

export function stsService(iam: Iam): QueryService {
  return {
    protocol: 'query',
    signingName: 'sts',
    version: '2011-06-15',
    namespace: 'https://sts.amazonaws.com/doc/2011-06-15/',
    unauthenticated: new Set(['AssumeRoleWithWebIdentity']),
    secretParameters: new Set(['WebIdentityToken']),
    actions: {
      async AssumeRole(params, caller) {
        const credentials = iam.assumeRole(signedCaller(caller), {
          roleArn: params.required('RoleArn'),
          sessionName: sessionName(params),
          externalId: params.optional('ExternalId'),
          durationSeconds: durationSeconds(params),
        });
        return credentialsXml(credentials);
      },
      async AssumeRoleWithWebIdentity(params) {
        const roleArn = params.required('RoleArn');
        const credentials = iam.assumeRoleWithWebIdentity({
          roleArn,
          sessionName: sessionName(params),
          token: params.required('WebIdentityToken'),
          durationSeconds: durationSeconds(params),
        });
        return {
          ...credentialsXml(credentials),
          SubjectFromWebIdentityToken: `system:serviceaccount:gatehouse:${params.required('RoleSessionName')}`,
          Provider: 'local-aws.oidc.example',
          Audience: 'sts.amazonaws.com',
        };
      },
      async GetCallerIdentity(_params, caller) {
        const who = signedCaller(caller);
        return { Arn: who.arn, UserId: who.accessKeyId, Account: who.arn.split(':')[4] };
      },
    },
  };
}

function signedCaller(caller: Caller | undefined): Caller {
  if (caller === undefined) throw new AwsApiError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
  return caller;
}

function sessionName(params: QueryParameters): string {
  const name = params.required('RoleSessionName');
  if (!/^[\w+=,.@-]{2,64}$/.test(name)) {
    throw new AwsApiError('ValidationError', `1 validation error detected: Value '${name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64`);
  }
  return name;
}

function durationSeconds(params: QueryParameters): number {
  const seconds = params.integer('DurationSeconds') ?? 3600;
  if (seconds < 900 || seconds > 43200) {
    throw new AwsApiError('ValidationError', `1 validation error detected: Value '${seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
  }
  return seconds;
}

function credentialsXml(credentials: TemporaryCredentials): XmlObject {
  return {
    Credentials: {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: credentials.expiration,
    },
    AssumedRoleUser: { AssumedRoleId: credentials.assumedRoleId, Arn: credentials.assumedRoleArn },
  };
}
