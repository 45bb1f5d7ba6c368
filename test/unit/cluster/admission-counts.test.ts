// max_connections across workers: each worker's SessionAdmission counts the sessions the others
// hold (AdmittedInOtherWorkers), fed by the primary's AdmissionLedger; a dead worker's sessions
// are forgotten, and a replacement starts from the ledger's snapshot.
import { describe, expect, it } from 'vitest';
import { AdmissionLedger, AdmittedInOtherWorkers } from '../../../src/cluster/admission-counts.js';
import { parseConfig } from '../../../src/config/load.js';
import { SessionAdmission } from '../../../src/proxy/session-admission.js';

const config = parseConfig(
  ['version: v1', 'proxy: { max_connections: 4 }', 'roles:', '  - name: r', '    options: { max_connections: 2 }', 'users:', '  - { name: alice, roles: [r] }', '  - { name: bob, roles: [] }'].join('\n'),
  'gatehouse.yaml',
  { cwd: '/srv' },
);

/** Two workers and the primary's ledger between them, delivering every change at once. */
function twoWorkers() {
  const ledger = new AdmissionLedger();
  const views: AdmittedInOtherWorkers[] = [];
  const report = (worker: number) => (user: string, delta: 1 | -1) => {
    ledger.apply({ worker, user, delta });
    views[1 - worker]?.apply({ worker, user, delta });
  };
  views.push(new AdmittedInOtherWorkers([], report(0)), new AdmittedInOtherWorkers([], report(1)));
  const admissions = [new SessionAdmission(views[0]), new SessionAdmission(views[1])] as const;
  return { ledger, views, admissions };
}

function refusal(admit: () => unknown): string | undefined {
  try {
    admit();
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

describe('admission across workers', () => {
  it('refuses a user past the role limit when the sessions sit on different workers', () => {
    const { admissions } = twoWorkers();
    admissions[0].admit('alice', config);
    admissions[1].admit('alice', config);
    expect(refusal(() => admissions[0].admit('alice', config))).toBe('too many connections for user alice: 2 sessions open, the limit is 2 (max_connections of role "r")');
    expect(refusal(() => admissions[1].admit('alice', config))).toBeDefined();
  });

  it('refuses past proxy.max_connections counting every worker, and admits again after a release', () => {
    const { admissions } = twoWorkers();
    const releases = [admissions[0].admit('bob', config), admissions[0].admit('bob', config), admissions[1].admit('bob', config), admissions[1].admit('bob', config)];
    expect(refusal(() => admissions[0].admit('bob', config))).toBe('too many connections: Gatehouse already serves 4 sessions, its limit (proxy.max_connections) is 4');
    releases[3]?.();
    expect(refusal(() => admissions[0].admit('bob', config))).toBeUndefined();
    // Each worker's own count (what it drains) is its own sessions only.
    expect(admissions[0].admitted).toBe(3);
    expect(admissions[1].admitted).toBe(1);
  });

  it('forgets a dead worker’s sessions', () => {
    const { admissions, views, ledger } = twoWorkers();
    admissions[1].admit('alice', config);
    admissions[1].admit('alice', config);
    expect(refusal(() => admissions[0].admit('alice', config))).toBeDefined();
    ledger.forget(1);
    views[0]?.forget(1);
    expect(refusal(() => admissions[0].admit('alice', config))).toBeUndefined();
  });

  it('starts a replacement worker from the ledger’s snapshot of the others', () => {
    const { admissions, ledger } = twoWorkers();
    admissions[0].admit('alice', config);
    admissions[0].admit('bob', config);
    admissions[1].admit('alice', config);
    expect(ledger.snapshot(1)).toEqual([
      { worker: 0, user: 'alice', count: 1 },
      { worker: 0, user: 'bob', count: 1 },
    ]);
    const replacement = new SessionAdmission(new AdmittedInOtherWorkers(ledger.snapshot(1), () => undefined));
    replacement.admit('alice', config);
    expect(refusal(() => replacement.admit('alice', config))).toBe('too many connections for user alice: 2 sessions open, the limit is 2 (max_connections of role "r")');
  });
});
