// Shared setup for the AWS unit tests: databases parsed from YAML as an operator writes them, and the
// daemon's AWS side built with a canned request handler, fixed base keys, a test clock and a log capture.
import { createAwsDatabases, type AwsOptions } from '../../../src/aws/aws-databases.js';
import { parseConfig } from '../../../src/config/load.js';
import type { DatabaseConfig } from '../../../src/config/types.js';
import { createLogger } from '../../../src/logging.js';
import { CaptureStream } from '../../support/capture-stream.js';
import { CannedAws } from './canned-aws.js';

export const BASE_KEYS = { accessKeyId: 'AKIDBASEKEY0000000', secretAccessKey: 'base-secret-access-key-0000' };

/** Each argument is one database entry's YAML lines (indented under `  - `). */
export function databasesFrom(...entries: string[][]): DatabaseConfig[] {
  const yaml = ['version: v1', 'databases:', ...entries.flatMap((lines) => lines.map((line, index) => (index === 0 ? `  - ${line}` : `    ${line}`)))];
  return [...parseConfig(yaml.join('\n'), 'test.yaml', { cwd: '/srv' }).databases];
}

export function redshiftDatabase(extra: string[] = [], aws: string[] = []): DatabaseConfig {
  return databasesFrom([
    'name: rs',
    ...extra,
    'aws:',
    '  region: us-east-1',
    ...aws.map((line) => `  ${line}`),
    '  redshift: { cluster_id: redshift-cluster-1, duration: 15m }',
  ])[0]!;
}

export function serverlessDatabase(extra: string[] = []): DatabaseConfig {
  return databasesFrom(['name: sl', ...extra, 'aws: { region: us-east-1, redshift_serverless: { workgroup: analytics } }'])[0]!;
}

export const CLUSTER_HOST = 'redshift-cluster-1.abcdefghijkl.us-east-1.redshift.amazonaws.com';

export function awsSetup(options: Partial<AwsOptions> & { connectTimeoutMs?: number } = {}) {
  const canned = new CannedAws();
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const out = new CaptureStream();
  const logger = createLogger('info', out);
  const aws = createAwsDatabases({
    logger,
    connectTimeoutMs: () => options.connectTimeoutMs ?? 10_000,
    aws: {
      requestHandler: canned.handler,
      baseCredentials: BASE_KEYS,
      backoff: { baseDelayMs: 1, throttlingBaseDelayMs: 1, maxDelayMs: 2 },
      now: () => clock.now,
      ...options,
    },
  });
  return { canned, clock, out, aws, logger };
}

export function at(clock: { now: number }, offsetMs: number): Date {
  return new Date(clock.now + offsetMs);
}
