// Planned failures, so tests can see how the daemon copes with AWS having a bad day: the next N
// calls of an action answer with a given error (Throttling, InternalFailure, ...) or never answer
// at all (a hung request, for timeouts).
import { AwsApiError } from './errors.js';

export type Fault = { readonly error: AwsApiError } | { readonly hang: true };

/** The usual throttling answers of each protocol. */
export const Faults = {
  throttling: (): Fault => ({ error: new AwsApiError('Throttling', 'Rate exceeded', 400) }),
  throttlingException: (): Fault => ({ error: new AwsApiError('ThrottlingException', 'Rate exceeded', 400) }),
  internalFailure: (): Fault => ({ error: new AwsApiError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500) }),
  serviceUnavailable: (): Fault => ({ error: new AwsApiError('ServiceUnavailable', 'Service is unavailable', 503) }),
  hang: (): Fault => ({ hang: true }),
} as const;

interface PlannedFault {
  remaining: number;
  readonly fault: Fault;
}

export class FaultPlan {
  private readonly planned = new Map<string, PlannedFault[]>();

  /** The next `times` calls of `action` (Infinity: every call until clear()) meet `fault`. */
  failNext(action: string, times: number, fault: Fault): void {
    this.planned.set(action, [...(this.planned.get(action) ?? []), { remaining: times, fault }]);
  }

  /** The fault the next call of `action` meets, if any; counts it off. */
  take(action: string): Fault | undefined {
    const queue = this.planned.get(action);
    const next = queue?.[0];
    if (queue === undefined || next === undefined) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) queue.shift();
    return next.fault;
  }

  clear(action?: string): void {
    if (action === undefined) this.planned.clear();
    else this.planned.delete(action);
  }
}
