// One measurement of one figure on one target, with the proxy's CPU time around it: the load
// figures (pgbench), time to first query and COPY. Each returns what the Recorder stores, so the
// runner only decides the order (interleaved, rotated per round).
import { copyIn, copyOut } from './copy.js';
import { timeToFirstQuery } from './connect-latency.js';
import type { FigureDefinition } from './figures.js';
import { queriesPerTransaction, type LoadGenerator, type Target } from './load.js';
import type { BenchOptions } from './options.js';
import { withCpu } from './process-usage.js';
import type { BenchPostgres } from './postgres.js';
import { formatSignificant } from './stats.js';
import { COPY_IN_TABLE } from './targets.js';

export interface Measured {
  readonly figureId: string;
  readonly value: number;
  readonly cpu?: number;
  /** For the progress line. */
  readonly detail: string;
}

export interface MeasureContext {
  readonly options: BenchOptions;
  readonly generator: LoadGenerator;
  readonly postgres: BenchPostgres;
}

export async function measureLoad(context: MeasureContext, figure: FigureDefinition, target: Target): Promise<Measured[]> {
  if (figure.load === undefined) throw new Error(`${figure.id} has no load`);
  const spec = { ...figure.load, durationS: context.options.durationS };
  // pgbench's own default before a TPC-B run, done directly so it is nobody's figure.
  if (spec.kind === 'tpcb') {
    // Separate statements: VACUUM cannot run inside the implicit transaction of a multi-statement query.
    await context.postgres.sql('VACUUM pgbench_branches, pgbench_tellers');
    await context.postgres.sql('TRUNCATE pgbench_history');
  }
  const { result, cpuS } = await withCpu(target.proxyPid, () => context.generator.run(target, spec));
  const work = (result.transactions * queriesPerTransaction(spec)) / 1000;
  const cpu = cpuS === undefined || work === 0 ? undefined : (cpuS * 1000) / work;
  const failed = result.failed > 0 ? `, ${result.failed} failed` : '';
  return [{ figureId: figure.id, value: result.tps, cpu, detail: `${formatSignificant(result.tps)} ${figure.unit}${cpuText(cpu, figure)}${failed}` }];
}

export async function measureLatency(context: MeasureContext, target: Target): Promise<Measured[]> {
  const result = await timeToFirstQuery(target, context.options.latencyConnections);
  const detail = `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms over ${result.samplesMs.length} connections`;
  return [
    { figureId: 'first-query-p50', value: result.p50, detail },
    { figureId: 'first-query-p99', value: result.p99, detail: '' },
  ];
}

export async function measureCopy(context: MeasureContext, figure: FigureDefinition, target: Target): Promise<Measured[]> {
  if (figure.id === 'copy-in') await context.postgres.sql(`TRUNCATE ${COPY_IN_TABLE}`);
  const { result, cpuS } = await withCpu(target.proxyPid, () =>
    figure.id === 'copy-in' ? copyIn(target, context.options.copyInBytes) : copyOut(target, context.options.copyOutPasses),
  );
  const cpu = cpuS === undefined ? undefined : cpuS / (result.bytes / 1e9);
  const detail = `${formatSignificant(result.mbPerSecond)} MB/s (${(result.bytes / 1e6).toFixed(0)} MB in ${result.seconds.toFixed(1)} s)${cpuText(cpu, figure)}`;
  return [{ figureId: figure.id, value: result.mbPerSecond, cpu, detail }];
}

function cpuText(cpu: number | undefined, figure: FigureDefinition): string {
  return cpu === undefined ? '' : `; proxy CPU ${formatSignificant(cpu)} ${figure.cpuUnit ?? ''}`;
}
