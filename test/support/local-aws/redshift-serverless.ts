// Redshift Serverless on the local endpoint: workgroups (name, status, endpoint, stand-in
// PostgreSQL) and the two JSON-protocol actions Gatehouse calls, GetWorkgroup and GetCredentials.
// As in AWS, GetCredentials takes no user name: the database user comes from the caller's IAM
// identity, `IAM:<user name>` for a user and `IAMR:<role name>` for an assumed role.
import { randomUUID } from 'node:crypto';
import { accessDenied, AwsApiError } from './errors.js';
import type { Caller, Iam } from './iam.js';
import { validationError } from './json-protocol.js';
import type { LoginMinter } from './login-minter.js';
import { mintLogin, redshiftStylePassword, type MintSettings } from './redshift.js';
import type { JsonService } from './services.js';

export interface WorkgroupSpec {
  readonly name: string;
  /** AVAILABLE (default), CREATING, MODIFYING, DELETING. */
  readonly status?: string;
  readonly host: string;
  readonly port: number;
  readonly namespaceName?: string;
  readonly minter?: LoginMinter;
}

interface WorkgroupRecord extends WorkgroupSpec {
  status: string;
  readonly id: string;
  readonly createdAt: Date;
}

export class ServerlessWorkgroups {
  private readonly workgroups = new Map<string, WorkgroupRecord>();

  add(spec: WorkgroupSpec, now: number): void {
    this.workgroups.set(spec.name, { ...spec, status: spec.status ?? 'AVAILABLE', id: randomUUID(), createdAt: new Date(now) });
  }

  setStatus(name: string, status: string): void {
    const workgroup = this.workgroups.get(name);
    if (workgroup === undefined) throw new Error(`no workgroup ${name} on the local endpoint`);
    workgroup.status = status;
  }

  get(name: string): WorkgroupRecord | undefined {
    return this.workgroups.get(name);
  }
}

export function redshiftServerlessService(workgroups: ServerlessWorkgroups, iam: Iam, settings: MintSettings): JsonService {
  const arn = (resource: string) => `arn:aws:redshift-serverless:${settings.region}:${iam.accountId}:${resource}`;
  /** Permission first (on the workgroup's ARN, or on `workgroup/*` for a name that does not exist), then existence. */
  const findWorkgroup = (caller: Caller, action: string, name: string): WorkgroupRecord => {
    const workgroup = workgroups.get(name);
    const resource = arn(`workgroup/${workgroup?.id ?? '*'}`);
    if (!iam.isAllowed(caller, action, resource)) throw accessDenied(caller.arn, action, resource, 'AccessDeniedException');
    if (workgroup === undefined) throw new AwsApiError('ResourceNotFoundException', `Workgroup ${name} not found.`, 404);
    return workgroup;
  };

  return {
    protocol: 'json',
    signingName: 'redshift-serverless',
    targetPrefix: 'RedshiftServerless',
    actions: {
      async GetWorkgroup(params, caller) {
        const workgroup = findWorkgroup(caller, 'redshift-serverless:GetWorkgroup', params.requiredString('workgroupName'));
        return {
          workgroup: {
            workgroupId: workgroup.id,
            workgroupArn: arn(`workgroup/${workgroup.id}`),
            workgroupName: workgroup.name,
            namespaceName: workgroup.namespaceName ?? 'default-namespace',
            baseCapacity: 128,
            enhancedVpcRouting: false,
            status: workgroup.status,
            endpoint: { address: workgroup.host, port: workgroup.port, vpcEndpoints: [] },
            publiclyAccessible: false,
            // A date-time string in this model, unlike the epoch-seconds timestamps elsewhere.
            creationDate: workgroup.createdAt.toISOString(),
            port: workgroup.port,
          },
        };
      },

      async GetCredentials(params, caller) {
        const name = params.optionalString('workgroupName');
        if (name === undefined) throw new AwsApiError('ValidationException', 'Either workgroupName or customDomainName must be given.');
        const durationSeconds = params.optionalInteger('durationSeconds') ?? 900;
        if (durationSeconds < 900 || durationSeconds > 3600) {
          throw validationError('durationSeconds', String(durationSeconds), 'Member must have value between 900 and 3600');
        }
        const dbName = params.optionalString('dbName');
        const workgroup = findWorkgroup(caller, 'redshift-serverless:GetCredentials', name);
        if (workgroup.status !== 'AVAILABLE') {
          throw new AwsApiError('ValidationException', `Workgroup ${name} is ${workgroup.status}; credentials can only be issued for an AVAILABLE workgroup.`);
        }
        const loginRole = caller.roleArn === undefined ? `IAM:${caller.name}` : `IAMR:${caller.name}`;
        const lifetime = settings.tokenLifetimeSeconds() ?? durationSeconds;
        const expiration = new Date(Math.floor(settings.now() / 1000) * 1000 + lifetime * 1000);
        const password = redshiftStylePassword();
        await mintLogin(workgroup.minter, { role: loginRole, password, validUntil: expiration, database: dbName });
        settings.onMint({ service: 'redshift-serverless', target: name, dbUser: loginRole, password, expiration });
        return { dbUser: loginRole, dbPassword: password, expiration, nextRefreshTime: expiration };
      },
    },
  };
}
