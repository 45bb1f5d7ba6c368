// The figures issue 6 asks for, and the targets Gatehouse must reach on them. One list, read by
// the runner (what to measure), the report (titles, units, which way is better) and the verdicts.
import type { LoadSpec } from './load.js';

export type FigureGroup = 'select' | 'tpcb' | 'connect' | 'latency' | 'copy';

export interface TargetRule {
  /** What Gatehouse is compared with: the direct connection or PgBouncer in the same run. */
  readonly against: 'direct' | 'pgbouncer';
  /** Gatehouse's figure divided by the other's must be at least this. */
  readonly atLeast: number;
  readonly text: string;
}

export interface FigureDefinition {
  readonly id: string;
  readonly group: FigureGroup;
  readonly title: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** The pgbench load, for the figures pgbench measures (duration comes from the options). */
  readonly load?: Omit<LoadSpec, 'durationS'>;
  /** The proxy's CPU is reported per this much work. */
  readonly cpuUnit?: string;
  readonly target?: TargetRule;
}

const atLeastPgBouncer: TargetRule = { against: 'pgbouncer', atLeast: 1.1, text: '≥ 1.1 × PgBouncer' };

function selectFigure(clients: number, protocol: 'simple' | 'prepared'): FigureDefinition {
  return {
    id: `select-c${clients}-${protocol}`,
    group: 'select',
    title: `select-only TPS, ${clients} client${clients === 1 ? '' : 's'}, ${protocol}`,
    unit: 'TPS',
    better: 'higher',
    load: { kind: 'select', clients, protocol, reconnect: false },
    cpuUnit: 'ms per 1,000 queries',
    target: clients >= 8 ? atLeastPgBouncer : undefined,
  };
}

export const FIGURES: readonly FigureDefinition[] = [
  selectFigure(1, 'simple'),
  selectFigure(1, 'prepared'),
  selectFigure(8, 'simple'),
  selectFigure(8, 'prepared'),
  selectFigure(32, 'simple'),
  selectFigure(32, 'prepared'),
  {
    id: 'tpcb-c8',
    group: 'tpcb',
    title: 'TPC-B-like TPS, 8 clients',
    unit: 'TPS',
    better: 'higher',
    load: { kind: 'tpcb', clients: 8, protocol: 'simple', reconnect: false },
    cpuUnit: 'ms per 1,000 queries',
  },
  {
    id: 'connect-c8',
    group: 'connect',
    title: 'new connections/s (-C), 8 clients',
    unit: 'conn/s',
    better: 'higher',
    load: { kind: 'select', clients: 8, protocol: 'simple', reconnect: true },
    cpuUnit: 'ms per 1,000 connections',
    target: { against: 'direct', atLeast: 1.0, text: '≥ 1.0 × direct' },
  },
  { id: 'first-query-p50', group: 'latency', title: 'time to first query, p50', unit: 'ms', better: 'lower' },
  { id: 'first-query-p99', group: 'latency', title: 'time to first query, p99', unit: 'ms', better: 'lower' },
  {
    id: 'copy-out',
    group: 'copy',
    title: 'COPY out',
    unit: 'MB/s',
    better: 'higher',
    cpuUnit: 's per GB',
    target: { against: 'direct', atLeast: 0.9, text: '≥ 0.9 × direct' },
  },
  {
    id: 'copy-in',
    group: 'copy',
    title: 'COPY in',
    unit: 'MB/s',
    better: 'higher',
    cpuUnit: 's per GB',
    target: { against: 'direct', atLeast: 0.9, text: '≥ 0.9 × direct' },
  },
];

/** Memory targets: heap per idle session, and RSS flat over the open/close rounds. */
export const HEAP_PER_SESSION_LIMIT = 64 * 1024;
/** "Flat": RSS after the last open/close round at most this much above the first round's. */
export const CHURN_RSS_GROWTH_LIMIT = 1.1;
