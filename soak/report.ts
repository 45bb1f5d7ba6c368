// The soak's figures for a person (a table on standard output) and for the record
// (soak/results/DATE.json). The verdict comes last, with every failed must-be-zero figure named.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mib, MEMORY_RETURN_RATIO, type SoakFigures } from './figures.js';

function perSession(objects: Record<string, number> | undefined): string {
  if (objects === undefined) return 'unavailable';
  return Object.entries(objects)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}

export function formatFigures(figures: SoakFigures): string {
  const { gatehouse, audit } = figures;
  const memory = gatehouse.memory;
  const ms = (value: number | undefined) => (value === undefined ? 'unavailable' : `${value.toFixed(1)} ms`);
  const number = (value: number) => value.toLocaleString('en-US');
  const totalOperations = Object.values(figures.operations).reduce((sum, count) => sum + count, 0);
  const rows: [string, string][] = [
    ['sessions', `${number(figures.sessions.concurrent)} concurrent for ${figures.phases.loadS.toFixed(0)} s (${number(figures.sessions.opened)} opened in all, with ${figures.sessions.warmup} for the warm-up and the reconnects)`],
    ['operations', `${number(totalOperations)} (${(totalOperations / figures.phases.loadS).toFixed(0)}/s; aimed at ${figures.options.rate}/s, a pause of ${(figures.options.thinkMs / 1000).toFixed(1)} s per session on average): ${Object.entries(figures.operations).map(([name, count]) => `${name} ${number(count)}`).join(', ')}`],
    ['queries', number(figures.queries)],
    ['errors (must be 0)', number(figures.errors)],
    ['checksum mismatches (must be 0)', `${number(figures.checksumMismatches)} (${Object.entries(figures.mismatchesByKind).map(([kind, count]) => `${kind} ${count}`).join(', ')})`],
    ['transactions', `${number(figures.transactions.committed)} committed, ${number(figures.transactions.rolledBack)} rolled back; rows of ${figures.transactions.slotsChecked} sessions checked in PostgreSQL at the end`],
    ['COPY', `in ${mib(figures.copy.inBytes)}, out ${mib(figures.copy.outBytes)}`],
    ['notifications', `${number(figures.notifications.sent)} sent, ${number(figures.notifications.received)} received, ${number(figures.notifications.lost)} lost (must be 0)`],
    ['cancels', `${number(figures.cancels.confirmed)} statements cancelled with 57014 and the session usable after, ${number(figures.cancels.sent)} CancelRequests sent; ${number(figures.cancels.echoed ?? 0)} times the next query was cancelled too (PostgreSQL's second SIGINT, see soak/README.md)`],
    ['audit: session.start / session.end', `${number(audit.sessionsStarted)} / ${number(audit.sessionsEnded)}; unmatched starts ${audit.unmatchedStarts} (must be 0), unmatched ends ${audit.unmatchedEnds}, refused ${audit.refused}`],
    ['audit: Query / Bind records', `${number(audit.queryRecords)} of ${number(audit.queryMessagesSent)} sent / ${number(audit.bindRecords)} of ${number(audit.bindMessagesSent)} sent (${number(audit.lines)} lines)`],
    ['Gatehouse event-loop delay p99', `worst ${ms(gatehouse.eventLoopP99Ms.worst)}, median ${ms(gatehouse.eventLoopP99Ms.median)} over ${gatehouse.eventLoopP99Ms.windowS} s windows; max ${ms(gatehouse.eventLoopMaxMs)}`],
    ['Gatehouse allocator', gatehouse.allocator],
    ['Gatehouse RSS (/metrics)', `cold ${mib(memory.cold.rssBytes)}, before ${mib(memory.before.rssBytes)}, peak ${mib(memory.peak.rssBytes)}, after ${mib(memory.after.rssBytes)}`],
    [`  all ${gatehouse.processes ?? '?'} processes (/proc)`, `cold ${mib(memory.cold.treeRssBytes)}, before ${mib(memory.before.treeRssBytes)}, peak ${mib(memory.peak.treeRssBytes)}, after ${mib(memory.after.treeRssBytes)}`],
    ['  of it glibc\'s main arena', `cold ${mib(memory.cold.mallocArenaBytes)}, before ${mib(memory.before.mallocArenaBytes)}, peak ${mib(memory.peak.mallocArenaBytes)}, after ${mib(memory.after.mallocArenaBytes)} ([heap] in /proc/PID/smaps)`],
    ['Gatehouse V8 heap used (/metrics)', `cold ${mib(memory.cold.heapUsedBytes)}, before ${mib(memory.before.heapUsedBytes)}, peak ${mib(memory.peak.heapUsedBytes)}, after ${mib(memory.after.heapUsedBytes)}`],
    [
      'idle, after a full GC',
      `RSS ${mib(memory.before.collected?.rssBytes)} before, ${mib(memory.after.collected?.rssBytes)} after; V8 heap used ${mib(memory.before.collected?.heapUsedBytes)} before, ${mib(memory.after.collected?.heapUsedBytes)} after (all processes)`,
    ],
    [
      'memory back within 10%',
      !figures.options.checkMemory
        ? 'not checked in this run'
        : gatehouse.memoryReturnedAfterS === undefined
        ? `NO, not within the ${figures.options.settleS} s allowed`
        : `yes, ${gatehouse.memoryReturnedAfterS.toFixed(0)} s after the last session closed (${figures.options.settleS} s allowed; limit ${MEMORY_RETURN_RATIO} × before)`,
    ],
    ['per-session objects left (must be 0)', `${perSession(memory.after.perSessionObjects)} (heap snapshots at the end)`],
    ['Gatehouse CPU during the load', gatehouse.cpuSecondsDuringLoad === undefined ? 'unavailable' : `${gatehouse.cpuSecondsDuringLoad.toFixed(1)} s`],
    ['soak client', `event-loop p99 ${ms(figures.client.eventLoopP99Ms)}, CPU ${figures.client.cpuSecondsDuringLoad.toFixed(1)} s during the load`],
    ['phases', `warm-up ${figures.phases.warmupS.toFixed(1)} s, ramp ${figures.phases.rampS.toFixed(1)} s, load ${figures.phases.loadS.toFixed(1)} s, close ${figures.phases.closeS.toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = [`Gatehouse soak ${figures.date}, seed ${figures.seed}, ${figures.machine.cpus} × ${figures.machine.cpuModel}, Node ${figures.machine.node}`, ''];
  for (const [name, value] of rows) lines.push(`  ${name.padEnd(width)}  ${value}`);
  if (figures.errorSamples.length > 0) lines.push('', 'first errors:', ...figures.errorSamples.map((sample) => `  ${sample}`));
  if (figures.mismatchSamples.length > 0) lines.push('', 'first mismatches:', ...figures.mismatchSamples.map((sample) => `  ${sample}`));
  if (figures.notifications.lostSamples.length > 0) lines.push('', 'notifications never received:', ...figures.notifications.lostSamples.map((sample) => `  ${sample}`));
  if (audit.unmatchedSample.length > 0) lines.push('', `sessions without session.end: ${audit.unmatchedSample.join(', ')}`);
  if (audit.refusalSample.length > 0) lines.push('', 'refusals:', ...audit.refusalSample.map((reason) => `  ${reason}`));
  lines.push('', figures.verdict.passed ? 'PASSED: nothing lost.' : `FAILED:\n${figures.verdict.failures.map((failure) => `  ${failure}`).join('\n')}`);
  if (allocatorHeldMemory(figures)) {
    lines.push(
      '',
      "Note: the V8 heap came back and no session object is left; what stayed is native memory in the C allocator's arena,",
      'which glibc keeps for reuse rather than returning to the system. Install jemalloc (Debian/Ubuntu: apt-get install',
      'libjemalloc2): with proxy.allocator: auto, the default, the workers then run with it (see soak/README.md, "Results").',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** RSS did not come back, but the heap did, nothing per-session is left, and the arena grew by most of the difference. */
function allocatorHeldMemory(figures: SoakFigures): boolean {
  const { before, after } = figures.gatehouse.memory;
  if (!figures.options.checkMemory || figures.gatehouse.memoryReturnedAfterS !== undefined) return false;
  if (before.collected === undefined || after.collected === undefined || before.mallocArenaBytes === undefined || after.mallocArenaBytes === undefined) return false;
  const leftovers = Object.values(after.perSessionObjects ?? {}).reduce((sum, count) => sum + count, 0);
  const heapBack = after.collected.heapUsedBytes <= before.collected.heapUsedBytes * MEMORY_RETURN_RATIO;
  const rssGrowth = after.collected.rssBytes - before.collected.rssBytes;
  return leftovers === 0 && heapBack && after.mallocArenaBytes - before.mallocArenaBytes >= 0.8 * rssGrowth;
}

/** Writes DATE.json into `dir`; returns its path. */
export function writeFiguresJson(dir: string, figures: SoakFigures): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${figures.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  return file;
}
