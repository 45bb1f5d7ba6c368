// proxy.max_connections and the roles' per-user max_connections are limits of the whole Gatehouse,
// also when it is several worker processes. Each worker reports every session it admits and
// releases to the primary, which keeps the table (AdmissionLedger) and passes each change to the
// other workers; each worker's SessionAdmission adds what the others hold (AdmittedInOtherWorkers)
// to its own count. The table is an IPC round trip behind, so two workers admitting at the same
// instant can pass a limit together by at most workers-1 sessions; the refusal itself is exact.
import type { AdmittedElsewhere } from '../proxy/session-admission.js';
import type { AdmissionChange, AdmittedSnapshot } from './protocol.js';

/** One worker's admitted sessions, per user. */
class Counts {
  total = 0;
  readonly users = new Map<string, number>();

  add(user: string, delta: number): void {
    this.total = Math.max(0, this.total + delta);
    const count = (this.users.get(user) ?? 0) + delta;
    if (count > 0) this.users.set(user, count);
    else this.users.delete(user);
  }
}

/** Sessions per user in each worker: what the primary's ledger and each worker's view both keep. */
class CountsByWorker {
  protected readonly workers = new Map<number, Counts>();

  /** A worker admitted or released a session. */
  apply(change: AdmissionChange): void {
    let counts = this.workers.get(change.worker);
    if (counts === undefined) this.workers.set(change.worker, (counts = new Counts()));
    counts.add(change.user, change.delta);
  }

  /** A worker died: its sessions went with it. */
  forget(worker: number): void {
    this.workers.delete(worker);
  }
}

/** The primary's table of every worker's admitted sessions. */
export class AdmissionLedger extends CountsByWorker {
  /** What a (replacement) worker starts from: every other worker's sessions. */
  snapshot(except: number): AdmittedSnapshot[] {
    const rows: AdmittedSnapshot[] = [];
    for (const [worker, counts] of this.workers) {
      if (worker === except) continue;
      for (const [user, count] of counts.users) rows.push({ worker, user, count });
    }
    return rows;
  }
}

/** A worker's view of the sessions the other workers hold. */
export class AdmittedInOtherWorkers extends CountsByWorker implements AdmittedElsewhere {
  constructor(
    snapshot: readonly AdmittedSnapshot[],
    private readonly report: (user: string, delta: 1 | -1) => void,
  ) {
    super();
    for (const row of snapshot) this.apply({ worker: row.worker, user: row.user, delta: row.count });
  }

  total(): number {
    let sum = 0;
    for (const counts of this.workers.values()) sum += counts.total;
    return sum;
  }

  ofUser(user: string): number {
    let sum = 0;
    for (const counts of this.workers.values()) sum += counts.users.get(user) ?? 0;
    return sum;
  }

  changed(user: string, delta: 1 | -1): void {
    this.report(user, delta);
  }
}
