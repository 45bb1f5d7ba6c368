// A short soak in CI: 50 concurrent sessions for 15 s through a Gatehouse built from dist/ (a
// process of its own), running the same mix as `npm run soak` (simple and prepared queries,
// transactions, COPY both ways with checksums, LISTEN/NOTIFY, cancels, reconnects), and the
// figures that must be zero held to zero. Memory (RSS and heap back after the load, session objects
// left in the heap) is left to `npm run soak` at full scale: 15 s on a shared CI machine says little
// about it, and measuring it (a settle time, heap snapshots of every process) would double this
// test's time.
// Needs the build in dist/ (`npm run build`; in CI `npm ci` runs it as `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../soak/soak.js';

const GATEHOUSE_CLI = fileURLToPath(new URL('../../dist/cli/gatehouse.js', import.meta.url));

describe('soak: 50 sessions for 15 s', () => {
  it.skipIf(!existsSync(GATEHOUSE_CLI))('loses nothing: no errors, no checksum mismatch, every notification, every session.start ended, every query audited', async () => {
    const { figures } = await runSoak({ sessions: 50, durationMs: 15_000, seed: 7, rate: 100, settleMs: 0, checkMemory: false }, () => undefined);
    const context = JSON.stringify({ errors: figures.errorSamples, mismatches: figures.mismatchSamples, lost: figures.notifications.lostSamples, unmatched: figures.audit.unmatchedSample });

    // The mix really ran: every kind of operation, with data both ways.
    for (const [operation, count] of Object.entries(figures.operations)) expect(count, `${operation} operations`).toBeGreaterThan(0);
    expect(figures.copy.inBytes).toBeGreaterThan(0);
    expect(figures.copy.outBytes).toBeGreaterThan(0);
    expect(figures.notifications.received).toBeGreaterThan(0);
    expect(figures.cancels.confirmed).toBeGreaterThan(0);

    // Nothing lost.
    expect(figures.errors, context).toBe(0);
    expect(figures.checksumMismatches, context).toBe(0);
    expect(figures.notifications.lost, context).toBe(0);
    expect(figures.notifications.received).toBe(figures.notifications.sent);
    expect(figures.transactions.slotsChecked).toBeGreaterThanOrEqual(50);
    expect(figures.audit.unmatchedStarts, context).toBe(0);
    expect(figures.audit.unmatchedEnds).toBe(0);
    expect(figures.audit.refused).toBe(0);
    expect(figures.audit.sessionsStarted).toBe(figures.sessions.opened);
    expect(figures.audit.queryRecords).toBe(figures.audit.queryMessagesSent);
    expect(figures.audit.bindRecords).toBe(figures.audit.bindMessagesSent);
    expect(figures.gatehouse.exitCode).toBe(0);
  }, 180_000);
});
