// The network fuzzer (fuzz/) in CI: a few thousand seeded cases against Gatehouse built in dist/,
// run as its own process in front of a real PostgreSQL. The full run is `npm run fuzz`
// (100,000 cases); this one keeps the suite's time in bounds and still covers every kind of case.
// Needs the build in dist/ (`npm run build`; CI builds before testing).
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../fuzz/fuzzer.js';

/** A fixed seed: a failure here is reproducible with `npm run fuzz -- --seed 20261 --cases 2000 --concurrency 16`. */
const SEED = 20261;
const CASES = 2_000;

describe('network fuzzer', () => {
  it(`survives ${CASES} mutated startup sequences, TLS records and post-login frames: no crash, no connection left open, a truthful audit trail`, async () => {
    const report = await runFuzz({ seed: SEED, cases: CASES, concurrency: 16 });
    const summary = JSON.stringify({ ...report, unexpectedLogLines: report.unexpectedLogLines.slice(0, 5), harnessErrors: report.harnessErrors.slice(0, 5) }, null, 2);
    expect(report.crashes, summary).toEqual([]);
    expect(report.connectionsAfter, summary).toEqual({ clients: 0, upstream: 0, other: 0 });
    expect(report.unexpectedLogLines, summary).toEqual([]);
    expect(report.harnessErrors, summary).toEqual([]);
    // The audit trail: every session that started ended, and nothing was audited after an end.
    expect(report.audit.sessionsNotEnded, summary).toBe(0);
    expect(report.audit.queriesAfterEnd, summary).toBe(0);
    // Post-login cases, the two checks' own sessions, and TLS cases whose StartupMessage happened to be valid.
    expect(report.audit.sessionsStarted).toBeGreaterThanOrEqual(report.logins.succeeded + 2);
    expect(report.sessionAfterRun).toBe('ok');
    // Every kind of case ran, and most post-login cases really got past the login (15% pipeline
    // their messages behind the StartupMessage and are not counted).
    for (const figures of Object.values(report.byKind)) expect(figures.cases).toBeGreaterThan(CASES / 8);
    expect(report.logins.succeeded).toBeGreaterThan(report.byKind['post-login'].cases * 0.7);
    expect(report.passed).toBe(true);
  }, 240_000);
});
