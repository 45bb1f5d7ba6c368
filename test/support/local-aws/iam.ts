// The identities the local endpoint knows: IAM users with long-term access keys, roles that can be
// assumed (with an external id, or with a web identity token), the temporary keys STS hands out
// for them, and a small identity-based policy model (actions and resource ARNs with `*` wildcards)
// so that AccessDenied comes from the same decision AWS makes: is this action allowed on this ARN
// for this principal? An assumed-role session is granted what its role is granted.
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsApiError } from './errors.js';
import { registerSecret } from '../secret-ledger.js';
import type { SigningSecret } from './sigv4.js';

export interface Caller {
  readonly accessKeyId: string;
  /** arn:aws:iam::ACCOUNT:user/NAME, or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION. */
  readonly arn: string;
  /** What policies attach to: the user's ARN, or the role's ARN for an assumed-role session. */
  readonly principalArn: string;
  /** The user name, or the role name for an assumed-role session. */
  readonly name: string;
  /** Set for temporary credentials from AssumeRole / AssumeRoleWithWebIdentity. */
  readonly roleArn?: string;
}

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly arn: string;
}

export interface UserSpec {
  readonly name: string;
  /** Defaults: a fresh AKIA… id and a random secret. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
}

export interface RoleSpec {
  readonly name: string;
  /** AssumeRole must present this ExternalId (the confused-deputy guard). */
  readonly externalId?: string;
  /** Principal ARNs the trust policy names; default: every user of this account. */
  readonly trustedPrincipals?: readonly string[];
  /** Tokens AssumeRoleWithWebIdentity accepts for this role (stand-ins for OIDC tokens). */
  readonly webIdentityTokens?: readonly string[];
}

export interface Grant {
  /** e.g. `redshift:GetClusterCredentials`, `redshift:*`, `*`. */
  readonly actions: readonly string[];
  /** ARNs, with `*` wildcards. */
  readonly resources: readonly string[];
}

export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly assumedRoleArn: string;
  readonly assumedRoleId: string;
}

interface KeyRecord {
  readonly secret: SigningSecret;
  readonly caller: Caller;
}

interface RoleRecord extends RoleSpec {
  readonly arn: string;
  readonly roleId: string;
}

export class Iam {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly roles = new Map<string, RoleRecord>();
  private readonly grants = new Map<string, Grant[]>();

  constructor(
    readonly accountId: string,
    private readonly now: () => number,
  ) {}

  addUser(spec: UserSpec): AccessKey {
    const arn = `arn:aws:iam::${this.accountId}:user/${spec.name}`;
    const accessKeyId = spec.accessKeyId ?? `AKIA${randomKeySuffix()}`;
    const secretAccessKey = spec.secretAccessKey ?? randomBytes(30).toString('base64');
    this.keys.set(accessKeyId, { secret: { secretAccessKey }, caller: { accessKeyId, arn, principalArn: arn, name: spec.name } });
    return { accessKeyId, secretAccessKey, arn };
  }

  addRole(spec: RoleSpec): string {
    const arn = `arn:aws:iam::${this.accountId}:role/${spec.name}`;
    this.roles.set(arn, { ...spec, arn, roleId: `AROA${randomKeySuffix()}` });
    return arn;
  }

  /** Attaches an identity-based policy statement (Allow) to a user or role ARN. */
  allow(principalArn: string, grant: Grant): void {
    this.grants.set(principalArn, [...(this.grants.get(principalArn) ?? []), grant]);
  }

  /** Removes every statement attached to the principal. */
  revokeAll(principalArn: string): void {
    this.grants.delete(principalArn);
  }

  secretFor(accessKeyId: string): SigningSecret | undefined {
    return this.keys.get(accessKeyId)?.secret;
  }

  callerFor(accessKeyId: string): Caller {
    const record = this.keys.get(accessKeyId);
    if (record === undefined) throw new AwsApiError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    return record.caller;
  }

  isAllowed(caller: Caller, action: string, resource: string): boolean {
    return (this.grants.get(caller.principalArn) ?? []).some(
      (grant) => grant.actions.some((pattern) => wildcardMatch(pattern, action)) && grant.resources.some((pattern) => wildcardMatch(pattern, resource)),
    );
  }

  assumeRole(caller: Caller, request: { roleArn: string; sessionName: string; externalId?: string; durationSeconds: number }): TemporaryCredentials {
    const role = this.roles.get(request.roleArn);
    const trusted = role !== undefined && (role.trustedPrincipals ?? this.accountUsers()).includes(caller.principalArn);
    const externalIdMatches = role?.externalId === undefined || role.externalId === request.externalId;
    if (!trusted || !externalIdMatches || !this.isAllowed(caller, 'sts:AssumeRole', request.roleArn)) {
      // AWS does not say which condition failed: the trust policy is the role owner's business.
      throw new AwsApiError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${request.roleArn}`, 403);
    }
    return this.issue(role, request.sessionName, request.durationSeconds);
  }

  assumeRoleWithWebIdentity(request: { roleArn: string; sessionName: string; token: string; durationSeconds: number }): TemporaryCredentials {
    const role = this.roles.get(request.roleArn);
    if (role === undefined || !(role.webIdentityTokens ?? []).includes(request.token)) {
      throw new AwsApiError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
    }
    return this.issue(role, request.sessionName, request.durationSeconds);
  }

  private issue(role: RoleRecord, sessionName: string, durationSeconds: number): TemporaryCredentials {
    const accessKeyId = `ASIA${randomKeySuffix()}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = randomBytes(96).toString('base64');
    registerSecret('aws-secret-key', `temporary secret access key of ${role.arn}`, secretAccessKey);
    registerSecret('token', `session token of ${role.arn}`, sessionToken);
    const expiration = new Date(Math.floor(this.now() / 1000) * 1000 + durationSeconds * 1000);
    const roleName = role.arn.slice(role.arn.indexOf(':role/') + ':role/'.length);
    const assumedRoleArn = `arn:aws:sts::${this.accountId}:assumed-role/${roleName}/${sessionName}`;
    this.keys.set(accessKeyId, {
      secret: { secretAccessKey, sessionToken, expiresAt: expiration.getTime() },
      caller: { accessKeyId, arn: assumedRoleArn, principalArn: role.arn, name: roleName, roleArn: role.arn },
    });
    return { accessKeyId, secretAccessKey, sessionToken, expiration, assumedRoleArn, assumedRoleId: `${role.roleId}:${sessionName}` };
  }

  private accountUsers(): string[] {
    return [...this.keys.values()].filter((key) => key.caller.roleArn === undefined).map((key) => key.caller.principalArn);
  }
}

export function newRequestId(): string {
  return randomUUID();
}

function randomKeySuffix(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function wildcardMatch(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}
