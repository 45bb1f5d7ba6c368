// Gatehouse's own AWS identity, per database's aws block: the default provider chain (environment,
// shared config and profiles, web identity token file, container and instance metadata); with
// assume_role_arn, temporary credentials from STS AssumeRole (with the external id) on top of it;
// with web_identity_token_file too, AssumeRoleWithWebIdentity using that token instead.
//
// Each distinct identity gets one provider, shared by every client that uses it and memoized here
// until shortly before its credentials expire, so a Redshift and a Serverless client of the same role
// cause one AssumeRole, not two. Every resolution is logged with its latency and outcome, never with
// a key or token.
import { fromNodeProviderChain, fromTemporaryCredentials, fromTokenFile } from '@aws-sdk/credential-providers';
import type { Logger } from 'pino';
import type { AwsConfig } from '../config/types.js';
import type { AwsCallMetrics } from '../metrics/hooks.js';

/** AWS credentials as the SDK's providers return them (AwsCredentialIdentity). */
export interface AwsKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsKeysProvider = () => Promise<AwsKeys>;

/** Settings every STS client a provider makes must share with the Redshift clients: timeouts, retries. */
export type StsClientSettings = Readonly<Record<string, unknown>>;

export interface AssumeRoleRequest {
  readonly roleArn: string;
  readonly externalId?: string;
  readonly region: string;
  readonly stsEndpoint?: string;
  readonly masterCredentials: AwsKeysProvider;
  readonly clientSettings: StsClientSettings;
}

export interface WebIdentityRequest {
  readonly roleArn: string;
  readonly tokenFile: string;
  readonly region: string;
  readonly stsEndpoint?: string;
  readonly clientSettings: StsClientSettings;
}

/** How providers are made; the SDK's in production, recorders in unit tests. */
export interface ProviderFactories {
  defaultChain(): AwsKeysProvider;
  assumeRole(request: AssumeRoleRequest): AwsKeysProvider;
  webIdentity(request: WebIdentityRequest): AwsKeysProvider;
}

/** The role session name AWS CloudTrail shows for Gatehouse's calls. */
export const ROLE_SESSION_NAME = 'gatehouse';

export const SDK_PROVIDER_FACTORIES: ProviderFactories = {
  defaultChain: () => fromNodeProviderChain(),
  assumeRole: (request) =>
    fromTemporaryCredentials({
      params: { RoleArn: request.roleArn, ExternalId: request.externalId, RoleSessionName: ROLE_SESSION_NAME },
      masterCredentials: request.masterCredentials,
      clientConfig: stsClientConfig(request),
    }),
  webIdentity: (request) =>
    fromTokenFile({
      roleArn: request.roleArn,
      webIdentityTokenFile: request.tokenFile,
      roleSessionName: ROLE_SESSION_NAME,
      clientConfig: stsClientConfig(request),
    }),
};

function stsClientConfig(request: { region: string; stsEndpoint?: string; clientSettings: StsClientSettings }): Record<string, unknown> {
  return { ...request.clientSettings, region: request.region, ...(request.stsEndpoint === undefined ? {} : { endpoint: request.stsEndpoint }) };
}

/** An error from resolving Gatehouse's AWS credentials (not from the Redshift call they were for). */
export class AwsCredentialsError extends Error {
  constructor(
    /** What was being resolved: 'AssumeRole', 'AssumeRoleWithWebIdentity' or 'DefaultCredentials'. */
    readonly step: string,
    readonly roleArn: string | undefined,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'AwsCredentialsError';
  }
}

export interface AwsCredentialProvidersOptions {
  readonly logger: Logger;
  readonly now: () => number;
  readonly clientSettings: StsClientSettings;
  readonly factories?: ProviderFactories;
  /** Replaces the default provider chain as the base identity (tests, demos with fixed keys). */
  readonly baseCredentials?: AwsKeysProvider;
  /** Each resolution's latency and outcome, as operation AssumeRole, AssumeRoleWithWebIdentity or DefaultCredentials. */
  readonly metrics?: AwsCallMetrics;
}

export class AwsCredentialProviders {
  private readonly providers = new Map<string, AwsKeysProvider>();
  private readonly factories: ProviderFactories;
  private base: AwsKeysProvider | undefined;

  constructor(private readonly options: AwsCredentialProvidersOptions) {
    this.factories = options.factories ?? SDK_PROVIDER_FACTORIES;
  }

  /** The provider for this aws block, and a key naming the identity (for client caches). */
  providerFor(aws: AwsConfig): { key: string; provider: AwsKeysProvider } {
    const key = identityKey(aws);
    let provider = this.providers.get(key);
    if (provider === undefined) {
      provider = this.create(aws);
      this.providers.set(key, provider);
    }
    return { key, provider };
  }

  private create(aws: AwsConfig): AwsKeysProvider {
    const roleArn = aws.assume_role_arn;
    if (roleArn === undefined) return this.baseProvider();
    const common = { roleArn, region: aws.region, stsEndpoint: aws.sts_endpoint, clientSettings: this.options.clientSettings };
    if (aws.web_identity_token_file !== undefined) {
      return this.memoized('AssumeRoleWithWebIdentity', roleArn, this.factories.webIdentity({ ...common, tokenFile: aws.web_identity_token_file }));
    }
    return this.memoized('AssumeRole', roleArn, this.factories.assumeRole({ ...common, externalId: aws.external_id, masterCredentials: this.baseProvider() }));
  }

  private baseProvider(): AwsKeysProvider {
    this.base ??= this.memoized('DefaultCredentials', undefined, this.options.baseCredentials ?? this.factories.defaultChain());
    return this.base;
  }

  private memoized(step: string, roleArn: string | undefined, resolve: AwsKeysProvider): AwsKeysProvider {
    const { logger, now, metrics } = this.options;
    let current: { keys: AwsKeys; refreshAt: number } | undefined;
    let inFlight: Promise<AwsKeys> | undefined;
    return async () => {
      if (current !== undefined && now() < current.refreshAt) return current.keys;
      inFlight ??= (async () => {
        const started = now();
        try {
          const keys = await resolve();
          current = { keys, refreshAt: refreshTime(keys, started) };
          const latencyMs = now() - started;
          metrics?.awsCall(step, latencyMs / 1000);
          logger.info({ aws_action: step, role_arn: roleArn, latency_ms: latencyMs, outcome: 'ok', expires_at: keys.expiration?.toISOString() }, 'aws credentials resolved');
          return keys;
        } catch (error) {
          current = undefined;
          const latencyMs = now() - started;
          metrics?.awsCall(step, latencyMs / 1000, errorName(error));
          logger.warn({ aws_action: step, role_arn: roleArn, latency_ms: latencyMs, outcome: 'error', aws_error: errorName(error), aws_message: errorMessage(error) }, 'aws credentials failed');
          throw new AwsCredentialsError(step, roleArn, error);
        } finally {
          inFlight = undefined;
        }
      })();
      return inFlight;
    };
  }
}

/** Refresh 5 minutes before expiry, as the SDK does, or at 80 % of a shorter life. Keys without an expiry are static. */
export function refreshTime(keys: AwsKeys, fetchedAt: number): number {
  if (keys.expiration === undefined) return Number.POSITIVE_INFINITY;
  const expiresAt = keys.expiration.getTime();
  const margin = Math.min(5 * 60_000, Math.max(0, expiresAt - fetchedAt) / 5);
  return expiresAt - margin;
}

/** Everything that makes two aws blocks the same AWS identity. */
export function identityKey(aws: AwsConfig): string {
  if (aws.assume_role_arn === undefined) return 'default';
  return JSON.stringify([aws.assume_role_arn, aws.external_id ?? null, aws.web_identity_token_file ?? null, aws.region, aws.sts_endpoint ?? null]);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
