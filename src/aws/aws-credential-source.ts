// The CredentialSource for databases with an aws block: a password minted through AWS for each
// session (GetClusterCredentials for a provisioned cluster, GetCredentials for Serverless), and the
// router the daemon uses so every other database keeps its static credentials.
import type { CredentialRequest, CredentialSource, UpstreamCredentials } from '../auth/credentials.js';
import type { RedshiftCredentials } from './redshift-credentials.js';
import type { ServerlessCredentials } from './serverless-credentials.js';

export class AwsCredentialSource implements CredentialSource {
  constructor(
    private readonly redshift: RedshiftCredentials,
    private readonly serverless: ServerlessCredentials,
  ) {}

  /** { user: the DbUser AWS returned (with its IAM: prefix), password: the minted DbPassword }. */
  credentialsFor(request: CredentialRequest): Promise<UpstreamCredentials> {
    return request.database.aws?.redshift !== undefined ? this.redshift.credentialsFor(request) : this.serverless.credentialsFor(request);
  }

  /**
   * Forgets the cached password of this request, so the next session mints a new one: for the session
   * to call when the database refuses a login with it (a revoked or otherwise rejected token).
   */
  forget(request: CredentialRequest): void {
    if (request.database.aws?.redshift !== undefined) this.redshift.forget(request);
    else if (request.database.aws?.redshift_serverless !== undefined) this.serverless.forget(request);
  }
}

/** AWS-minted credentials for databases with an aws block, `otherwise` for the rest. */
export class RoutingCredentialSource implements CredentialSource {
  constructor(
    private readonly aws: CredentialSource,
    private readonly otherwise: CredentialSource,
  ) {}

  credentialsFor(request: CredentialRequest): Promise<UpstreamCredentials> {
    return (request.database.aws === undefined ? this.otherwise : this.aws).credentialsFor(request);
  }

  forget(request: CredentialRequest): void {
    (request.database.aws === undefined ? this.otherwise : this.aws).forget?.(request);
  }
}
