// A socket error as a person reads it, for refusals and logs: "connection refused" rather than
// "connect ECONNREFUSED 10.0.0.5:5432". Used for the database's own socket and for an SSH bastion's.
export function describeSocketError(error: Error & { code?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return error.message;
  }
}
