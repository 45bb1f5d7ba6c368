// Collects every measurement of a run (figure × target × round) and turns it into the summary
// the report prints: medians over rounds, paired ratios to direct, the proxies' CPU per unit of
// work, and a verdict on each of the targets.
import { CHURN_RSS_GROWTH_LIMIT, FIGURES, HEAP_PER_SESSION_LIMIT, type FigureDefinition, type TargetRule } from './figures.js';
import type { TargetName } from './load.js';
import { median, pairedRatio } from './stats.js';

export interface Verdict {
  readonly text: string;
  /** Gatehouse's ratio (or value) the rule is checked against; undefined when not measured. */
  readonly value?: number;
  /** undefined: could not be decided (e.g. no PgBouncer in this run). */
  readonly met?: boolean;
}

export interface FigureSummary {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly cpuUnit?: string;
  /** One entry per round; null when that round's measurement failed. */
  readonly values: Partial<Record<TargetName, (number | null)[]>>;
  readonly cpu: Partial<Record<TargetName, (number | null)[]>>;
  readonly median: Partial<Record<TargetName, number>>;
  readonly ratioToDirect: Partial<Record<TargetName, number>>;
  readonly cpuMedian: Partial<Record<TargetName, number>>;
  readonly verdict?: Verdict;
}

export interface MemoryStep {
  readonly sessions: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** V8 heap committed: what the heap holds of RSS, used or not. */
  readonly heapTotal: number;
  readonly external: number;
}

export interface MemorySummary {
  readonly steps: readonly MemoryStep[];
  /** Growth per added session between the first and the last step. */
  readonly perSession: { readonly rss: number; readonly heapUsed: number; readonly external: number };
  readonly churn: readonly (MemoryStep & { readonly round: number })[];
  readonly churnSessions: number;
  /** RSS after the last round divided by RSS after the first. */
  readonly churnRssGrowth?: number;
  /** RSS after the last round divided by RSS after the middle one: a leak keeps growing, allocator slack levels off. */
  readonly churnRssLateGrowth?: number;
  readonly verdicts: readonly Verdict[];
}

interface Sample {
  readonly value: number;
  /** The proxy's CPU per the figure's cpuUnit. */
  readonly cpu?: number;
}

export class Recorder {
  private readonly samples = new Map<string, (Sample | undefined)[]>();

  constructor(readonly rounds: number) {}

  record(figureId: string, target: TargetName, round: number, sample: Sample | undefined): void {
    const key = `${figureId}/${target}`;
    const list = this.samples.get(key) ?? Array.from({ length: this.rounds }, () => undefined);
    list[round] = sample;
    this.samples.set(key, list);
  }

  has(figureId: string): boolean {
    return [...this.samples.keys()].some((key) => key.startsWith(`${figureId}/`));
  }

  summarise(targets: readonly TargetName[]): FigureSummary[] {
    return FIGURES.filter((figure) => this.has(figure.id)).map((figure) => this.summariseFigure(figure, targets));
  }

  private summariseFigure(figure: FigureDefinition, targets: readonly TargetName[]): FigureSummary {
    const values: Partial<Record<TargetName, (number | null)[]>> = {};
    const cpu: Partial<Record<TargetName, (number | null)[]>> = {};
    const medians: Partial<Record<TargetName, number>> = {};
    const ratios: Partial<Record<TargetName, number>> = {};
    const cpuMedians: Partial<Record<TargetName, number>> = {};
    const perRound = (target: TargetName) => (this.samples.get(`${figure.id}/${target}`) ?? []).map((sample) => sample?.value);
    const direct = perRound('direct');
    for (const target of targets) {
      const list = this.samples.get(`${figure.id}/${target}`);
      if (list === undefined) continue;
      values[target] = list.map((sample) => sample?.value ?? null);
      const measured = list.flatMap((sample) => (sample === undefined ? [] : [sample.value]));
      const middle = median(measured);
      if (middle !== undefined) medians[target] = middle;
      const ratio = pairedRatio(perRound(target), direct);
      if (ratio !== undefined) ratios[target] = ratio;
      if (target !== 'direct') {
        cpu[target] = list.map((sample) => sample?.cpu ?? null);
        const cpuMiddle = median(list.flatMap((sample) => (sample?.cpu === undefined ? [] : [sample.cpu])));
        if (cpuMiddle !== undefined) cpuMedians[target] = cpuMiddle;
      }
    }
    const verdict = figure.target === undefined ? undefined : this.verdictFor(figure, figure.target, perRound);
    return {
      id: figure.id,
      group: figure.group,
      title: figure.title,
      unit: figure.unit,
      better: figure.better,
      cpuUnit: figure.cpuUnit,
      values,
      cpu,
      median: medians,
      ratioToDirect: ratios,
      cpuMedian: cpuMedians,
      verdict,
    };
  }

  private verdictFor(figure: FigureDefinition, rule: TargetRule, perRound: (target: TargetName) => (number | undefined)[]): Verdict {
    const gatehouse = perRound('gatehouse');
    const other = perRound(rule.against);
    const ratio = pairedRatio(gatehouse, other);
    const oriented = ratio === undefined ? undefined : figure.better === 'higher' ? ratio : 1 / ratio;
    return { text: rule.text, value: ratio, met: oriented === undefined ? undefined : oriented >= rule.atLeast };
  }
}

/** Bytes per session from the memory steps, and the verdicts on heap per session and flat RSS. */
export function summariseMemory(steps: readonly MemoryStep[], churn: readonly (MemoryStep & { round: number })[], churnSessions: number): MemorySummary {
  const first = steps[0];
  const last = steps[steps.length - 1];
  const added = first !== undefined && last !== undefined ? last.sessions - first.sessions : 0;
  const per = (field: 'rss' | 'heapUsed' | 'external') => (added > 0 && first !== undefined && last !== undefined ? (last[field] - first[field]) / added : Number.NaN);
  const perSession = { rss: per('rss'), heapUsed: per('heapUsed'), external: per('external') };
  const firstRound = churn[0];
  const lastRound = churn[churn.length - 1];
  const churnRssGrowth = firstRound !== undefined && lastRound !== undefined && churn.length > 1 ? lastRound.rss / firstRound.rss : undefined;
  const middleRound = churn[Math.floor((churn.length - 1) / 2)];
  const churnRssLateGrowth = middleRound !== undefined && lastRound !== undefined && churn.length > 2 ? lastRound.rss / middleRound.rss : undefined;
  const verdicts: Verdict[] = [];
  if (added > 0) {
    verdicts.push({ text: `heap per idle session ≤ ${HEAP_PER_SESSION_LIMIT / 1024} KiB`, value: perSession.heapUsed, met: perSession.heapUsed <= HEAP_PER_SESSION_LIMIT });
  }
  if (churnRssGrowth !== undefined) {
    verdicts.push({
      text: `RSS flat over ${churn.length} rounds of ${churnSessions.toLocaleString('en-US')} sessions (last ÷ first ≤ ${CHURN_RSS_GROWTH_LIMIT})`,
      value: churnRssGrowth,
      met: churnRssGrowth <= CHURN_RSS_GROWTH_LIMIT,
    });
  }
  return { steps, perSession, churn, churnSessions, churnRssGrowth, churnRssLateGrowth, verdicts };
}
