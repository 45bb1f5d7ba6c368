// Builds the AWS side of the daemon from its parts: the credential providers, the API clients, the
// endpoint lookups and the credential caches, shared by the CredentialSource and the TargetResolver
// so DescribeClusters answers once for both. Production uses the SDK's defaults throughout; the
// options exist for tests (fixed base keys, a quick endpoint cache, short backoff, a clock).
import type { Logger } from 'pino';
import type { UpstreamCredentials } from '../auth/credentials.js';
import type { AwsCallMetrics } from '../metrics/hooks.js';
import { AwsCalls } from './aws-calls.js';
import { attemptTimeoutMs, AwsClients, clientSettings, type RequestHandlerInput } from './aws-clients.js';
import { AwsCredentialSource } from './aws-credential-source.js';
import { AwsCredentialProviders, type AwsKeys, type AwsKeysProvider, type ProviderFactories } from './aws-credentials.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './aws-retry.js';
import { AwsTargets } from './aws-targets.js';
import { credentialMargin, ExpiringCache } from './credential-cache.js';
import { DEFAULT_ENDPOINT_CACHE_MS, RedshiftClusters } from './redshift-clusters.js';
import { RedshiftCredentials } from './redshift-credentials.js';
import { ServerlessCredentials, ServerlessWorkgroups } from './serverless-credentials.js';

export interface AwsOptions {
  /** Gatehouse's base AWS identity instead of the default provider chain (fixed keys in tests and demos). */
  readonly baseCredentials?: AwsKeys | AwsKeysProvider;
  /** Replaces the SDK's HTTP handler (unit tests answer without sockets). */
  readonly requestHandler?: RequestHandlerInput;
  /** How long DescribeClusters / GetWorkgroup answers are reused; default 30 s. */
  readonly endpointCacheMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly providerFactories?: ProviderFactories;
  readonly now?: () => number;
}

export interface AwsDatabases {
  readonly credentials: AwsCredentialSource;
  readonly targets: AwsTargets;
  /** Closes the API clients' connections. */
  close(): void;
}

export function createAwsDatabases(options: { logger: Logger; connectTimeoutMs: () => number; aws?: AwsOptions; metrics?: AwsCallMetrics }): AwsDatabases {
  const aws = options.aws ?? {};
  const now = aws.now ?? Date.now;
  const logger = options.logger.child({ component: 'aws' });
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...aws.backoff };
  const base = aws.baseCredentials;
  const providers = new AwsCredentialProviders({
    logger,
    now,
    factories: aws.providerFactories,
    baseCredentials: base === undefined || typeof base === 'function' ? base : async () => base,
    metrics: options.metrics,
    clientSettings: clientSettings({ backoff, requestHandler: aws.requestHandler }, attemptTimeoutMs(options.connectTimeoutMs())),
  });
  const clients = new AwsClients({ credentials: providers, backoff, requestHandler: aws.requestHandler });
  const calls = new AwsCalls({ logger, now, metrics: options.metrics });
  const lookup = { clients, calls, now, deadlineMs: options.connectTimeoutMs, cacheMs: aws.endpointCacheMs ?? DEFAULT_ENDPOINT_CACHE_MS };
  const clusters = new RedshiftClusters(lookup);
  const workgroups = new ServerlessWorkgroups(lookup);
  const mint = { clients, calls, deadlineMs: options.connectTimeoutMs, cache: new ExpiringCache<UpstreamCredentials>({ now, marginMs: credentialMargin }) };
  return {
    credentials: new AwsCredentialSource(new RedshiftCredentials(clusters, mint), new ServerlessCredentials(workgroups, mint)),
    targets: new AwsTargets(clusters, workgroups),
    close: () => clients.destroy(),
  };
}
