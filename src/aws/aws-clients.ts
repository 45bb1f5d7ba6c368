// The Redshift and Redshift Serverless API clients, one per (region, endpoint, AWS identity, attempt
// timeout) and reused, so connections to the API stay open and credentials are resolved once.
// Each attempt has a connection and response timeout below the session's connect timeout, so a hung
// endpoint fails an attempt rather than the whole call; retries are bounded (aws-retry.ts).
import { RedshiftClient } from '@aws-sdk/client-redshift';
import { RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import type { AwsConfig } from '../config/types.js';
import { AwsCredentialProviders, type AwsKeysProvider } from './aws-credentials.js';
import type { BackoffOptions } from './aws-retry.js';
import { BoundedRetryStrategy } from './aws-retry.js';

/** The SDK's `requestHandler` option: handler options, or a handler (tests answer without sockets). */
export type RequestHandlerInput = NonNullable<ConstructorParameters<typeof RedshiftClient>[0]>['requestHandler'];

export interface AwsClientsOptions {
  readonly credentials: AwsCredentialProviders;
  readonly backoff: BackoffOptions;
  /** Replaces the SDK's HTTP handler; absent in production. */
  readonly requestHandler?: RequestHandlerInput;
}

/** One attempt gets half the call's deadline (at least a second), leaving room for one retry. */
export function attemptTimeoutMs(deadlineMs: number): number {
  return Math.max(1_000, Math.floor(deadlineMs / 2));
}

/** Client settings shared by Redshift, Redshift Serverless and STS clients. */
export function clientSettings(options: Pick<AwsClientsOptions, 'backoff' | 'requestHandler'>, attemptMs: number): Record<string, unknown> {
  return {
    maxAttempts: options.backoff.maxAttempts,
    retryStrategy: new BoundedRetryStrategy(options.backoff),
    // throwOnRequestTimeout: without it the SDK only warns when requestTimeout passes and keeps waiting.
    requestHandler: options.requestHandler ?? { connectionTimeout: attemptMs, requestTimeout: attemptMs, throwOnRequestTimeout: true },
  };
}

export class AwsClients {
  private readonly redshiftClients = new Map<string, RedshiftClient>();
  private readonly serverlessClients = new Map<string, RedshiftServerlessClient>();

  constructor(private readonly options: AwsClientsOptions) {}

  redshift(aws: AwsConfig, deadlineMs: number): RedshiftClient {
    return this.client(this.redshiftClients, aws, deadlineMs, (config) => new RedshiftClient(config));
  }

  serverless(aws: AwsConfig, deadlineMs: number): RedshiftServerlessClient {
    return this.client(this.serverlessClients, aws, deadlineMs, (config) => new RedshiftServerlessClient(config));
  }

  /** Closes the clients' keep-alive connections. */
  destroy(): void {
    for (const client of [...this.redshiftClients.values(), ...this.serverlessClients.values()]) client.destroy();
    this.redshiftClients.clear();
    this.serverlessClients.clear();
  }

  private client<C>(
    cache: Map<string, C>,
    aws: AwsConfig,
    deadlineMs: number,
    make: (config: { region: string; endpoint?: string; credentials: AwsKeysProvider } & Record<string, unknown>) => C,
  ): C {
    const attemptMs = attemptTimeoutMs(deadlineMs);
    const identity = this.options.credentials.providerFor(aws);
    const key = JSON.stringify([aws.region, aws.endpoint ?? null, identity.key, attemptMs]);
    let client = cache.get(key);
    if (client === undefined) {
      const settings = clientSettings(this.options, attemptMs);
      client = make({ ...settings, region: aws.region, ...(aws.endpoint === undefined ? {} : { endpoint: aws.endpoint }), credentials: identity.provider });
      cache.set(key, client);
    }
    return client;
  }
}
