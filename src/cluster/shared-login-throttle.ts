// Login throttling across the workers of one Gatehouse (proxy.workers > 1). Each worker keeps its
// own LoginThrottle, and every failure or success it records is told to the others (through the
// primary), which record it too. So a guesser whose attempts the listener spreads over N workers
// still gets login_max_failures attempts per user and address, not N times as many. Checks stay
// local and synchronous; another worker's outcome arrives within an IPC round trip.
import { LoginThrottle, type LoginThrottleOptions } from '../users/login-throttle.js';
import type { ThrottlePayload } from './protocol.js';

export class SharedLoginThrottle extends LoginThrottle {
  constructor(
    options: LoginThrottleOptions,
    private readonly tellOthers: (outcome: ThrottlePayload) => void,
  ) {
    super(options);
  }

  override recordFailure(user: string, address: string): void {
    super.recordFailure(user, address);
    this.tellOthers({ outcome: 'failure', user, address });
  }

  override recordSuccess(user: string, address: string): void {
    super.recordSuccess(user, address);
    this.tellOthers({ outcome: 'success', user, address });
  }

  /** A login outcome another worker saw: counted here as if it had happened here. */
  recordElsewhere(outcome: ThrottlePayload): void {
    if (outcome.outcome === 'failure') super.recordFailure(outcome.user, outcome.address);
    else super.recordSuccess(outcome.user, outcome.address);
  }
}
