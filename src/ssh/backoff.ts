// How long Gatehouse waits before trying a bastion again after failures: exponential from
// `baseMs`, capped at `capMs`, and jittered ("equal jitter": between half and all of the step) so
// that several Gatehouse instances that lost the same bastion at once do not return in lockstep.
// Reconnecting is driven by dials, one attempt at a time per bastion, so together with this delay
// a bastion that is down is never hammered in a tight loop.

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_BASTION_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

/** The wait after `failures` failures in a row (0 for none); `random` returns [0, 1). */
export function backoffDelayMs(failures: number, random: () => number, policy: BackoffPolicy = DEFAULT_BASTION_BACKOFF): number {
  if (failures <= 0) return 0;
  // 2 ** 30 already exceeds any sensible cap; the bound keeps the power finite.
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
