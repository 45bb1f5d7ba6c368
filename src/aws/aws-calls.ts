// Runs one AWS API call under a deadline, logs it (action, target, latency, outcome, attempts,
// request id; never its output, which holds the minted password), and turns a failure into a
// GatehouseError. The deadline aborts the SDK's request and its retries; the race makes sure the
// caller hears back even if something inside the SDK (a credential provider) ignores the abort.
import type { Logger } from 'pino';
import type { GatehouseError } from '../errors.js';
import type { AwsCallMetrics } from '../metrics/hooks.js';
import { AwsDeadlineError, toGatehouseError, type AwsCallContext } from './aws-errors.js';

export class AwsCalls {
  constructor(private readonly options: { readonly logger: Logger; readonly now: () => number; readonly metrics?: AwsCallMetrics }) {}

  async run<T>(context: AwsCallContext, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = this.options.now();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new AwsDeadlineError(context.deadlineMs);
        abort.abort(error);
        reject(error);
      }, context.deadlineMs);
    });
    try {
      const output = await Promise.race([send(abort.signal), deadline]);
      const latencyMs = this.options.now() - started;
      this.options.logger.info({ ...fields(context), latency_ms: latencyMs, outcome: 'ok', ...metadataOf(output) }, 'aws call');
      this.options.metrics?.awsCall(context.action, latencyMs / 1000);
      return output;
    } catch (error) {
      const refusal: GatehouseError = toGatehouseError(abort.signal.aborted ? new AwsDeadlineError(context.deadlineMs) : error, context);
      const latencyMs = this.options.now() - started;
      const awsError = error instanceof Error ? error.name : typeof error;
      this.options.metrics?.awsCall(context.action, latencyMs / 1000, awsError);
      this.options.logger.warn(
        {
          ...fields(context),
          latency_ms: latencyMs,
          outcome: 'error',
          ...metadataOf(error),
          aws_error: awsError,
          code: refusal.code,
        },
        `aws call failed: ${refusal.message}`,
      );
      throw refusal;
    } finally {
      clearTimeout(timer);
    }
  }
}

function fields(context: AwsCallContext): Record<string, unknown> {
  return {
    database: context.database,
    aws_action: context.action,
    aws_region: context.region,
    aws_target: context.clusterId ?? context.workgroup,
    db_user: context.dbUser,
    db_name: context.dbName,
  };
}

/** Only the SDK's $metadata: never spread the output, which holds passwords. */
function metadataOf(value: unknown): Record<string, unknown> {
  const metadata = (value as { $metadata?: { attempts?: number; requestId?: string; httpStatusCode?: number } } | undefined)?.$metadata;
  if (metadata === undefined) return {};
  return { attempts: metadata.attempts, request_id: metadata.requestId, http_status: metadata.httpStatusCode };
}
