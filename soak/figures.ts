// The soak's figures as one plain object (printed, and written as JSON), and the verdict: the
// list of must-be-zero figures that were not zero, and whether Gatehouse's memory came back.
import os from 'node:os';
import type { AuditFigures } from './audit-check.js';
import type { GatehouseSample } from './gatehouse-metrics.js';
import type { HeapCensus } from './heap-census.js';
import type { IdleMemory } from './memory-check.js';
import { thinkMsFor, type SoakOptions } from './options.js';
import { MISMATCHES, OPERATIONS, type Tally } from './tally.js';

/** After the sessions close, RSS (and the V8 heap, where known) must come back to at most this × the start. */
export const MEMORY_RETURN_RATIO = 1.1;

export interface MemoryFigure {
  /** From /metrics (the serving processes), or the process tree's without /metrics. */
  readonly rssBytes: number | undefined;
  /** Primary and workers, from /proc. */
  readonly treeRssBytes: number | undefined;
  /** The C allocator's main arena, resident ([heap] in /proc/PID/smaps). */
  readonly mallocArenaBytes: number | undefined;
  /** nodejs_heap_size_used_bytes: whatever V8 holds at the moment, garbage included. */
  readonly heapUsedBytes: number | undefined;
  /** Before and after: RSS and heap used summed over every process right after a full collection (gc-probe.mjs). */
  readonly collected?: { readonly processes: number; readonly rssBytes: number; readonly heapUsedBytes: number };
  /** After only: per-session objects still in the heap (heap-census.ts). */
  readonly perSessionObjects?: Record<string, number>;
}

export interface TimelinePoint {
  readonly atS: number;
  readonly rssBytes: number | undefined;
  readonly heapUsedBytes: number | undefined;
  readonly eventLoopP99Ms: number | undefined;
}

export interface SoakFigures {
  readonly date: string;
  readonly seed: number;
  readonly options: { sessions: number; durationS: number; rate: number; thinkMs: number; settleS: number; checkMemory: boolean };
  readonly machine: { cpus: number; cpuModel: string; node: string; loadAverageAtEnd: number[] };
  readonly phases: { warmupS: number; rampS: number; loadS: number; closeS: number };
  readonly sessions: { concurrent: number; warmup: number; opened: number };
  readonly operations: Record<string, number>;
  readonly queries: number;
  readonly errors: number;
  readonly errorsByOperation: Record<string, number>;
  readonly errorSamples: readonly string[];
  readonly checksumMismatches: number;
  readonly mismatchesByKind: Record<string, number>;
  readonly mismatchSamples: readonly string[];
  readonly transactions: { committed: number; rolledBack: number; slotsChecked: number };
  readonly copy: { inBytes: number; outBytes: number };
  readonly notifications: { sent: number; received: number; lost: number; lostSamples: readonly string[] };
  readonly cancels: { sent: number; confirmed: number; echoed: number };
  readonly audit: AuditFigures & { queryMessagesSent: number; bindMessagesSent: number };
  readonly gatehouse: {
    readonly metricsSource: 'metrics' | 'proc';
    readonly memory: { cold: MemoryFigure; before: MemoryFigure; peak: MemoryFigure; after: MemoryFigure };
    /** Every 30 s of the load. */
    readonly timeline: readonly TimelinePoint[];
    readonly processes: number | undefined;
    /** Which C allocator the processes run with (process-tree.ts describeAllocators). */
    readonly allocator: string;
    /** How long after the last session closed memory was back within the ratio; undefined: not within settleS. */
    readonly memoryReturnedAfterS: number | undefined;
    readonly eventLoopP99Ms: { worst: number | undefined; median: number | undefined; windowS: number };
    readonly eventLoopMaxMs: number | undefined;
    readonly sessionsActiveAfter: number | undefined;
    readonly cpuSecondsDuringLoad: number | undefined;
    readonly exitCode: number | null;
  };
  readonly client: { eventLoopP99Ms: number; cpuSecondsDuringLoad: number };
  readonly verdict: { passed: boolean; failures: readonly string[] };
}

export interface FigureInputs {
  readonly options: SoakOptions;
  readonly date: string;
  readonly phases: SoakFigures['phases'];
  readonly warmupSessions: number;
  readonly tally: Tally;
  readonly slotsChecked: number;
  readonly audit: AuditFigures;
  readonly cold: GatehouseSample;
  readonly before: IdleMemory;
  readonly peak: MemoryFigure;
  readonly timeline: readonly TimelinePoint[];
  readonly after: IdleMemory;
  readonly census: HeapCensus | undefined;
  readonly memoryReturnedAfterS: number | undefined;
  readonly eventLoop: { worst: number | undefined; median: number | undefined; max: number | undefined; windowS: number };
  readonly gatehouseCpuS: number | undefined;
  readonly exitCode: number | null;
  readonly allocator: string;
  readonly client: SoakFigures['client'];
}

export function buildFigures(inputs: FigureInputs): SoakFigures {
  const { tally, audit, options } = inputs;
  const memory = (sample: GatehouseSample, collected?: IdleMemory['collected'], census?: HeapCensus): MemoryFigure => ({
    rssBytes: sample.rssBytes,
    treeRssBytes: sample.treeRssBytes,
    mallocArenaBytes: sample.mallocArenaBytes,
    heapUsedBytes: sample.heapUsedBytes,
    collected,
    perSessionObjects: census?.perSessionObjects,
  });
  const figures: Omit<SoakFigures, 'verdict'> = {
    date: inputs.date,
    seed: options.seed,
    options: {
      sessions: options.sessions,
      durationS: options.durationMs / 1000,
      rate: options.rate,
      thinkMs: thinkMsFor(options),
      settleS: options.settleMs / 1000,
      checkMemory: options.checkMemory !== false,
    },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageAtEnd: os.loadavg().map((load) => Math.round(load * 100) / 100) },
    phases: inputs.phases,
    sessions: { concurrent: options.sessions, warmup: inputs.warmupSessions, opened: tally.sessionsOpened },
    operations: Object.fromEntries(OPERATIONS.map((operation) => [operation, tally.operations.get(operation) ?? 0])),
    queries: tally.queries,
    errors: tally.errors,
    errorsByOperation: Object.fromEntries(tally.errorsByOperation),
    errorSamples: tally.errorSamples,
    checksumMismatches: tally.totalMismatches,
    mismatchesByKind: Object.fromEntries(MISMATCHES.map((kind) => [kind, tally.mismatches.get(kind) ?? 0])),
    mismatchSamples: tally.mismatchSamples,
    transactions: { committed: tally.transactionsCommitted, rolledBack: tally.transactionsRolledBack, slotsChecked: inputs.slotsChecked },
    copy: { inBytes: tally.copyInBytes, outBytes: tally.copyOutBytes },
    notifications: { sent: tally.notificationsSent, received: tally.notificationsReceived, lost: tally.notificationsLost, lostSamples: tally.lostNotificationSamples },
    cancels: { sent: tally.cancelsSent, confirmed: tally.cancelsConfirmed, echoed: tally.cancelsEchoed },
    audit: { ...audit, queryMessagesSent: tally.queryMessages, bindMessagesSent: tally.bindMessages },
    gatehouse: {
      metricsSource: inputs.before.sample.source,
      memory: {
        cold: memory(inputs.cold),
        before: memory(inputs.before.sample, inputs.before.collected),
        peak: inputs.peak,
        after: memory(inputs.after.sample, inputs.after.collected, inputs.census),
      },
      timeline: inputs.timeline,
      processes: inputs.before.sample.processes,
      allocator: inputs.allocator,
      memoryReturnedAfterS: inputs.memoryReturnedAfterS,
      eventLoopP99Ms: { worst: inputs.eventLoop.worst, median: inputs.eventLoop.median, windowS: inputs.eventLoop.windowS },
      eventLoopMaxMs: inputs.eventLoop.max,
      sessionsActiveAfter: inputs.after.sample.sessionsActive,
      cpuSecondsDuringLoad: inputs.gatehouseCpuS,
      exitCode: inputs.exitCode,
    },
    client: inputs.client,
  };
  const failures = verdictFailures(figures);
  return { ...figures, verdict: { passed: failures.length === 0, failures } };
}

function verdictFailures(figures: Omit<SoakFigures, 'verdict'>): string[] {
  const failures: string[] = [];
  const mustBeZero = (value: number | undefined, what: string) => {
    if (value !== undefined && value !== 0) failures.push(`${what}: ${value} (must be 0)`);
  };
  mustBeZero(figures.errors, 'errors');
  mustBeZero(figures.checksumMismatches, 'checksum mismatches');
  mustBeZero(figures.notifications.lost, 'notifications lost');
  const { audit, gatehouse } = figures;
  mustBeZero(audit.unmatchedStarts, 'session.start without session.end');
  mustBeZero(audit.unmatchedEnds, 'session.end without session.start');
  mustBeZero(audit.refused, 'sessions refused');
  mustBeZero(audit.malformedLines, 'audit lines that are not JSON');
  mustBeZero(gatehouse.sessionsActiveAfter, 'sessions Gatehouse still holds after all closed');
  for (const [name, count] of Object.entries(gatehouse.memory.after.perSessionObjects ?? {})) mustBeZero(count, `${name} objects left in Gatehouse's heap after every session closed`);
  if (audit.queryRecords !== audit.queryMessagesSent) failures.push(`audited Query records: ${audit.queryRecords}, Query messages sent: ${audit.queryMessagesSent}`);
  if (audit.bindRecords !== audit.bindMessagesSent) failures.push(`audited Bind records: ${audit.bindRecords}, Bind messages sent: ${audit.bindMessagesSent}`);
  if (audit.sessionsStarted !== figures.sessions.opened) failures.push(`audited sessions: ${audit.sessionsStarted}, sessions opened: ${figures.sessions.opened}`);
  if (figures.options.checkMemory && gatehouse.memoryReturnedAfterS === undefined) {
    const { before, after } = gatehouse.memory;
    failures.push(
      `Gatehouse's memory did not come back within ${figures.options.settleS} s (allowed: ${MEMORY_RETURN_RATIO} × before): ` +
        `after a full GC, RSS ${mib(before.collected?.rssBytes)} before, ${mib(after.collected?.rssBytes)} after, live heap ${mib(before.collected?.heapUsedBytes)} before, ${mib(after.collected?.heapUsedBytes)} after; ` +
        `the C allocator's arena ${mib(before.mallocArenaBytes)} before, ${mib(after.mallocArenaBytes)} after`,
    );
  }
  if (gatehouse.exitCode !== 0) failures.push(`Gatehouse exited with code ${gatehouse.exitCode} on SIGTERM (0: it held no sessions)`);
  return failures;
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'unavailable' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
