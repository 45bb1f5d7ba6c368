import { describe, expect, it } from 'vitest';
import { BoundedRetryStrategy, DEFAULT_BACKOFF, type RetryErrorInfo } from '../../../src/aws/aws-retry.js';

const strategy = (random = 0.5, now = 0) => new BoundedRetryStrategy({ ...DEFAULT_BACKOFF, random: () => random, now: () => now });

async function retries(subject: BoundedRetryStrategy, info: RetryErrorInfo): Promise<number[]> {
  const delays: number[] = [];
  let token = await subject.acquireInitialRetryToken('us-east-1');
  for (;;) {
    try {
      token = await subject.refreshRetryTokenForRetry(token, info);
    } catch {
      return delays;
    }
    delays.push(token.getRetryDelay());
  }
}

describe('BoundedRetryStrategy', () => {
  it('retries server errors 3 times (4 attempts) with exponential backoff and full jitter', async () => {
    expect(await retries(strategy(0.5), { errorType: 'SERVER_ERROR' })).toEqual([50, 100, 200]);
    expect(await retries(strategy(0.999), { errorType: 'TRANSIENT' })).toEqual([99, 199, 399]);
    expect(await retries(strategy(0), { errorType: 'TRANSIENT' })).toEqual([0, 0, 0]);
  });

  it('waits longer for throttling, never more than the cap', async () => {
    expect(await retries(strategy(0.5), { errorType: 'THROTTLING' })).toEqual([250, 500, 1000]);
    const capped = new BoundedRetryStrategy({ ...DEFAULT_BACKOFF, maxAttempts: 10, random: () => 0.999 });
    expect(await retries(capped, { errorType: 'THROTTLING' })).toEqual([499, 999, 1998, 3996, 4995, 4995, 4995, 4995, 4995]);
  });

  it('does not retry client errors, and rethrows the error itself', async () => {
    const error = new Error('AccessDenied');
    const subject = strategy();
    await expect(subject.refreshRetryTokenForRetry(await subject.acquireInitialRetryToken(''), { errorType: 'CLIENT_ERROR', error })).rejects.toBe(error);
  });

  it('honours a Retry-After hint up to the cap', async () => {
    const subject = strategy(0, 1_000);
    const token = await subject.acquireInitialRetryToken('');
    expect((await subject.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', retryAfterHint: new Date(3_000) })).getRetryDelay()).toBe(2_000);
    expect((await subject.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', retryAfterHint: new Date(60_000) })).getRetryDelay()).toBe(5_000);
  });
});
