// The errors the local AWS endpoint answers with. Each carries the real AWS error code and HTTP
// status, so the real SDK clients turn them into the same typed exceptions (ClusterNotFoundFault,
// AccessDeniedException, ...) they raise against AWS; the protocol writers put them on the wire.

export class AwsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query protocol <Type>: Sender for the caller's mistakes, Receiver for the service's. */
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = 'AwsApiError';
  }
}

/** IAM's wording, which the daemon parses for the account id and the missing permission. */
export function accessDenied(callerArn: string, action: string, resource: string, code = 'AccessDenied'): AwsApiError {
  return new AwsApiError(
    code,
    `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    403,
  );
}

export function missingParameter(name: string): AwsApiError {
  return new AwsApiError('MissingParameter', `The request must contain the parameter ${name}`);
}

export function invalidParameter(message: string): AwsApiError {
  return new AwsApiError('InvalidParameterValue', message);
}
