// The soak's ledger of LISTEN/NOTIFY traffic: which payloads each listening session is owed.
// A sender registers the payload before its NOTIFY leaves, the listener crosses it off when the
// notification arrives; whatever is still owed after the final drain was lost, and anything that
// arrives without being owed (or twice) was corrupted. A listener about to disconnect is closed
// first, so no sender picks it, and leaves only once it has received what it was owed.

export function channelFor(slot: number): string {
  return `soak_${slot}`;
}

export class NotificationLedger {
  /** Listening slot → payload → how many times it is still owed. */
  private readonly owed = new Map<number, Map<string, number>>();
  private readonly open = new Set<number>();

  /** `slot` is LISTENing and may be picked as a target. */
  listening(slot: number): void {
    this.open.add(slot);
    if (!this.owed.has(slot)) this.owed.set(slot, new Map());
  }

  /** No new notifications for `slot`; those already owed still count. */
  close(slot: number): void {
    this.open.delete(slot);
  }

  /** A listening slot other than `sender`, or undefined when there is none. */
  pickTarget(sender: number, random: () => number): number | undefined {
    const candidates = [...this.open].filter((slot) => slot !== sender);
    return candidates[Math.floor(random() * candidates.length)];
  }

  /** Registers `payload` as owed to `slot`; false if the slot is not open (the caller sends nothing). */
  expect(slot: number, payload: string): boolean {
    const owed = this.owed.get(slot);
    if (owed === undefined || !this.open.has(slot)) return false;
    owed.set(payload, (owed.get(payload) ?? 0) + 1);
    return true;
  }

  /** The NOTIFY failed, so the payload may never have been sent: it is no longer owed. */
  withdraw(slot: number, payload: string): void {
    this.settle(slot, payload);
  }

  /** A notification arrived at `slot`; false when it was not owed (corrupted, foreign or a duplicate). */
  received(slot: number, payload: string): boolean {
    return this.settle(slot, payload);
  }

  outstanding(slot: number): number {
    let count = 0;
    for (const times of this.owed.get(slot)?.values() ?? []) count += times;
    return count;
  }

  /** The payloads `slot` is still owed (sender slot and number first), for the report. */
  owedTo(slot: number): string[] {
    return [...(this.owed.get(slot)?.keys() ?? [])];
  }

  /** Gives up on what `slot` is still owed (it disconnects); returns how many that was. */
  forget(slot: number): number {
    const count = this.outstanding(slot);
    this.owed.get(slot)?.clear();
    return count;
  }

  totalOutstanding(): number {
    let count = 0;
    for (const slot of this.owed.keys()) count += this.outstanding(slot);
    return count;
  }

  private settle(slot: number, payload: string): boolean {
    const owed = this.owed.get(slot);
    const times = owed?.get(payload);
    if (owed === undefined || times === undefined) return false;
    if (times === 1) owed.delete(payload);
    else owed.set(payload, times - 1);
    return true;
  }
}
