import { describe, expect, it } from 'vitest';
import { attemptTimeoutMs, AwsClients, clientSettings } from '../../../src/aws/aws-clients.js';
import { AwsCredentialProviders } from '../../../src/aws/aws-credentials.js';
import { BoundedRetryStrategy, DEFAULT_BACKOFF } from '../../../src/aws/aws-retry.js';
import { createLogger } from '../../../src/logging.js';
import { CaptureStream } from '../../support/capture-stream.js';
import { BASE_KEYS, databasesFrom } from './fixtures.js';

describe('client settings', () => {
  it('give each attempt half the deadline (at least a second), and make the SDK throw when it passes', () => {
    expect(attemptTimeoutMs(10_000)).toBe(5_000);
    expect(attemptTimeoutMs(1_500)).toBe(1_000);
    const settings = clientSettings({ backoff: DEFAULT_BACKOFF }, 5_000);
    // Without throwOnRequestTimeout the SDK only logs a warning and keeps waiting on a hung endpoint.
    expect(settings.requestHandler).toEqual({ connectionTimeout: 5_000, requestTimeout: 5_000, throwOnRequestTimeout: true });
    expect(settings.maxAttempts).toBe(4);
    expect(settings.retryStrategy).toBeInstanceOf(BoundedRetryStrategy);
  });
});

describe('AwsClients', () => {
  it('reuses a client per region, endpoint, identity and attempt timeout', () => {
    const credentials = new AwsCredentialProviders({
      logger: createLogger('silent', new CaptureStream()),
      now: Date.now,
      clientSettings: {},
      baseCredentials: async () => BASE_KEYS,
    });
    const clients = new AwsClients({ credentials, backoff: DEFAULT_BACKOFF });
    const [a, sameAsA, otherEndpoint, otherRole] = databasesFrom(
      ['name: a', 'aws: { region: us-east-1, redshift: { cluster_id: c1 } }'],
      ['name: b', 'aws: { region: us-east-1, redshift: { cluster_id: c2 } }'],
      ['name: c', 'aws: { region: us-east-1, endpoint: "https://vpce.example", redshift: { cluster_id: c1 } }'],
      ['name: d', 'aws: { region: us-east-1, assume_role_arn: "arn:aws:iam::123456789012:role/r", redshift: { cluster_id: c1 } }'],
    );
    const first = clients.redshift(a!.aws!, 10_000);
    expect(clients.redshift(sameAsA!.aws!, 10_000)).toBe(first);
    expect(clients.redshift(otherEndpoint!.aws!, 10_000)).not.toBe(first);
    expect(clients.redshift(otherRole!.aws!, 10_000)).not.toBe(first);
    expect(clients.redshift(a!.aws!, 4_000)).not.toBe(first);
    expect(clients.serverless(a!.aws!, 10_000)).not.toBe(first);
    clients.destroy();
    expect(clients.redshift(a!.aws!, 10_000)).not.toBe(first);
  });
});
