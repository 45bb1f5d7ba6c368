// The retry strategy of every AWS client Gatehouse makes: throttling, server errors and transient
// network failures are retried a bounded number of times with exponential backoff and full jitter;
// anything else (access denied, unknown cluster) fails at once, because asking again cannot help.
// The SDK's retry middleware classifies each error and sleeps for the delay a token carries; this
// strategy only decides whether and how long. The overall deadline of a call (aws-calls.ts) still
// bounds the total, so a long backoff cannot outlast a session's connect timeout.

export interface BackoffOptions {
  /** Tries per call, the first one included. */
  readonly maxAttempts: number;
  /** The backoff before the first retry of a server or network error; doubles with each retry. */
  readonly baseDelayMs: number;
  /** The same for throttling, which deserves a longer pause. */
  readonly throttlingBaseDelayMs: number;
  /** No single pause is longer than this. */
  readonly maxDelayMs: number;
  /** [0, 1); Math.random in production, fixed in tests. */
  readonly random: () => number;
  /** The clock a Retry-After hint is measured against. */
  readonly now: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  maxAttempts: 4,
  baseDelayMs: 100,
  throttlingBaseDelayMs: 500,
  maxDelayMs: 5_000,
  random: Math.random,
  now: Date.now,
};

/** The SDK's classification of a failed attempt (RetryErrorInfo in @smithy/types). */
export interface RetryErrorInfo {
  readonly error?: unknown;
  readonly errorType: 'TRANSIENT' | 'SERVER_ERROR' | 'THROTTLING' | 'CLIENT_ERROR';
  /** From a Retry-After header, when the service sent one. */
  readonly retryAfterHint?: Date;
}

export interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/** Implements the SDK's RetryStrategyV2 interface, structurally. */
export class BoundedRetryStrategy {
  readonly mode = 'standard';

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retries = previous.getRetryCount();
    // Throwing ends the retries; the SDK then throws the last error of the call itself.
    if (info.errorType === 'CLIENT_ERROR' || retries + 1 >= this.options.maxAttempts) throw info.error ?? new Error('no retry');
    return token(retries + 1, this.delayFor(retries, info));
  }

  recordSuccess(_token: RetryToken): void {}

  /** Full jitter (a random pause up to the exponential bound), as AWS's architecture blog recommends. */
  delayFor(retries: number, info: RetryErrorInfo): number {
    const base = info.errorType === 'THROTTLING' ? this.options.throttlingBaseDelayMs : this.options.baseDelayMs;
    const bound = Math.min(this.options.maxDelayMs, base * 2 ** retries);
    const jittered = Math.floor(this.options.random() * bound);
    const hinted = info.retryAfterHint === undefined ? 0 : info.retryAfterHint.getTime() - this.options.now();
    return Math.min(this.options.maxDelayMs, Math.max(jittered, hinted));
  }
}

function token(retries: number, delayMs: number): RetryToken {
  return { getRetryCount: () => retries, getRetryDelay: () => delayMs };
}
