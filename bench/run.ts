// `npm run bench`: Gatehouse against a direct TLS connection and against PgBouncer, on one
// machine, in one run. Every figure is measured on every target in the same round, the targets'
// order rotating from round to round, so a noisy neighbour hurts all of them alike; the report
// gives medians and per-round ratios to direct, and says whether Gatehouse meets issue 6's targets.
// It prints figures and never fails on speed: the exit code is non-zero only if the harness breaks.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIGURES, type FigureDefinition } from './figures.js';
import { measureIdleMemory } from './idle-memory.js';
import type { Target } from './load.js';
import { describeMachine, endLoadAverage } from './machine.js';
import { measureCopy, measureLatency, measureLoad, type MeasureContext, type Measured } from './measure.js';
import { GROUPS, PGBENCH_SCALE, parseOptions, selected, UsageError, type BenchOptions } from './options.js';
import { runProfile } from './profile.js';
import { writeReport } from './report.js';
import { Recorder, type MemorySummary } from './results.js';
import { startTargets, type Targets } from './targets.js';
import { allocatorName, benchAllocator } from './allocator.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
    checkOnly(options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  if (options.profile) return runProfile(options.quick ? ['--quick', ...options.rest] : options.rest);
  warnIfDistIsStale();
  const startedAt = performance.now();
  const date = new Date().toISOString();
  const machine = describeMachine();
  log(`Gatehouse benchmark${options.quick ? ' (quick)' : ''}: ${options.rounds} round(s), ${options.durationS} s per pgbench run, load average ${machine.loadAverageAtStart.join(' ')}`);
  const targets = await startTargets({ forcePgLoad: options.forcePgLoad, withPgBouncer: true, log });
  let interrupted = false;
  const stopOnSignal = () => {
    interrupted = true;
    log('interrupted: stopping Gatehouse, PgBouncer and PostgreSQL');
    void targets.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const recorder = new Recorder(options.rounds);
  const notes = [...targets.notes];
  let memory: MemorySummary | undefined;
  try {
    // Memory first: a fresh process gives a baseline without heap the load left committed.
    if (selected(options, 'memory', 'memory')) {
      const gatehouse = targets.list.find((target) => target.name === 'gatehouse') as Target;
      try {
        memory = await measureIdleMemory(gatehouse, targets.gatehouse, {
          steps: options.idleSteps,
          churnRounds: options.churnRounds,
          churnSessions: options.churnSessions,
          log,
        });
      } catch (error) {
        log(`memory FAILED: ${(error as Error).message}`);
        notes.push(`The memory measurement failed: ${(error as Error).message}`);
      }
    }
    await warmUp(targets, options);
    const context: MeasureContext = { options, generator: targets.generator, postgres: targets.postgres };
    let failures = 0;
    for (let round = 0; round < options.rounds; round++) {
      const order = rotate(targets.list, round);
      for (const step of plan(options)) {
        for (const target of order) {
          if (interrupted) return;
          const prefix = `[${round + 1}/${options.rounds}] ${step.name.padEnd(19)} ${target.name.padEnd(9)}`;
          try {
            const measured = await step.measure(context, target);
            for (const sample of measured) recorder.record(sample.figureId, target.name, round, { value: sample.value, cpu: sample.cpu });
            log(`${prefix} ${measured[0]?.detail ?? ''}`);
          } catch (error) {
            failures++;
            log(`${prefix} FAILED: ${(error as Error).message}`);
          }
        }
      }
    }
    if (failures > 0) notes.push(`${failures} measurement(s) failed and are left out (see the run's output).`);
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    endLoadAverage(machine);
    await targets.stop();
  }
  if (options.quick) notes.push('Quick run: one short round and small sizes; for development, not for comparison.');
  const { markdown, files } = writeReport({
    date,
    label: options.label,
    quick: options.quick,
    only: options.only,
    rounds: options.rounds,
    durationS: options.durationS,
    pgbenchScale: PGBENCH_SCALE,
    elapsedS: (performance.now() - startedAt) / 1000,
    machine,
    versions: { gatehouse: gatehouseVersion(), PostgreSQL: targets.versions.postgres, PgBouncer: targets.versions.pgbouncer?.replace(/^PgBouncer /, ''), load: targets.generator.name, 'Gatehouse allocator': allocatorName(benchAllocator()) },
    targets: Object.fromEntries(targets.list.map((target) => [target.name, target.label])),
    figures: recorder.summarise(targets.list.map((target) => target.name)),
    memory,
    notes,
  });
  console.log(`\n${markdown}`);
  log(`wrote ${files.join(', ')}`);
}

interface Step {
  readonly name: string;
  measure(context: MeasureContext, target: Target): Promise<Measured[]>;
}

/** The steps of one round, in order: pgbench figures, time to first query, COPY. */
function plan(options: BenchOptions): Step[] {
  const wanted = (figure: FigureDefinition) => selected(options, figure.id, figure.group);
  const steps: Step[] = FIGURES.filter((figure) => figure.load !== undefined && wanted(figure)).map((figure) => ({
    name: figure.id,
    measure: (context, target) => measureLoad(context, figure, target),
  }));
  if (FIGURES.some((figure) => figure.group === 'latency' && wanted(figure))) {
    steps.push({ name: 'first-query', measure: (context, target) => measureLatency(context, target) });
  }
  for (const figure of FIGURES.filter((candidate) => candidate.group === 'copy' && wanted(candidate))) {
    steps.push({ name: figure.id, measure: (context, target) => measureCopy(context, figure, target) });
  }
  return steps;
}

/** Unrecorded select-only load on each target: JIT-compiles Gatehouse and fills PostgreSQL's cache. */
async function warmUp(targets: Targets, options: BenchOptions): Promise<void> {
  for (const target of targets.list) {
    await targets.generator.run(target, { kind: 'select', clients: 8, protocol: 'simple', reconnect: false, durationS: options.warmupS });
  }
  log(`warmed up (${options.warmupS} s of select-only load per target)`);
}

function rotate<T>(list: readonly T[], by: number): T[] {
  const shift = by % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

function checkOnly(options: BenchOptions): void {
  const known = new Set<string>([...GROUPS, ...FIGURES.map((figure) => figure.id)]);
  const unknown = options.only.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new UsageError(`--only: unknown ${unknown.join(', ')}; use ${GROUPS.join(', ')} or a figure id (${FIGURES.map((figure) => figure.id).join(', ')})`);
}

/** package.json's version and the commit, marked when the working tree has changes. */
function gatehouseVersion(): string {
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return `${version} (${commit}${dirty ? ' with uncommitted changes' : ''})`;
  } catch {
    return version;
  }
}

/** The benchmark runs dist/ (what `gatehouse start` runs); say so when src/ has changed since the build. */
function warnIfDistIsStale(): void {
  const newest = (dir: string): number => {
    let latest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }
    return latest;
  };
  let built = 0;
  try {
    built = statSync(join(repoRoot, 'dist', 'daemon.js')).mtimeMs;
  } catch {
    throw new Error('dist/daemon.js is missing: run "npm run build" first (npm run bench does it through its prebench script)');
  }
  if (newest(join(repoRoot, 'src')) > built) log('warning: src/ has changed since the last build; these figures are for dist/ as it is. Run "npm run build".');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
