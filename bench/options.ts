// Command-line options of `npm run bench` and the sizes they imply. `--quick` shrinks every
// figure so a development run ends in under two minutes; the full run keeps to 10-15 minutes
// on a 2-core machine. Every size lives here, so run.ts and the README read the same numbers.

export interface BenchOptions {
  readonly quick: boolean;
  readonly rounds: number;
  /** Seconds per pgbench run. */
  readonly durationS: number;
  /** Seconds of unrecorded select-only load per target before the first round. */
  readonly warmupS: number;
  /** Figure ids or groups to run (select, tpcb, connect, latency, copy, memory); empty = all. */
  readonly only: readonly string[];
  readonly profile: boolean;
  /** New connections per target and round for the time-to-first-query percentiles. */
  readonly latencyConnections: number;
  /** How many times COPY OUT reads pgbench_accounts (about 97 MB each at scale 10). */
  readonly copyOutPasses: number;
  /** Bytes written by COPY IN. */
  readonly copyInBytes: number;
  /** Idle session counts at which Gatehouse's memory is measured (ascending, first is the baseline). */
  readonly idleSteps: readonly number[];
  readonly churnRounds: number;
  readonly churnSessions: number;
  /** Leave pgbench aside and use the built-in pg load generator. */
  readonly forcePgLoad: boolean;
  /** A note for the results, e.g. which change this run measures. */
  readonly label?: string;
  /** Remaining arguments, for profile.ts. */
  readonly rest: readonly string[];
}

export const PGBENCH_SCALE = 10;
export const GROUPS = ['select', 'tpcb', 'connect', 'latency', 'copy', 'memory'] as const;

export const USAGE = `usage: npm run bench -- [options]
  --quick            small sizes, one round: under two minutes, for development
  --rounds N         interleaved rounds (default 3; quick 1)
  --duration S       seconds per pgbench run (default 5; quick 2)
  --only A,B         run only these figures or groups: ${GROUPS.join(', ')}
                     (or a figure id such as select-c8-prepared)
  --pg-load          use the built-in pg load generator even when pgbench is installed
  --label TEXT       a note saved with the results, e.g. "relay: one write per chunk"
  --profile [...]    profile Gatehouse under load instead (see bench/README.md; --help there)
  --help             this text`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const args = [...argv];
  let quick = false;
  let profile = false;
  let forcePgLoad = false;
  let rounds: number | undefined;
  let durationS: number | undefined;
  let only: string[] = [];
  let label: string | undefined;
  const rest: string[] = [];
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (profile) {
      rest.push(arg);
      continue;
    }
    switch (arg) {
      case '--quick':
        quick = true;
        break;
      case '--profile':
        profile = true;
        break;
      case '--pg-load':
        forcePgLoad = true;
        break;
      case '--rounds':
        rounds = positiveInteger(arg, args.shift());
        break;
      case '--duration':
        durationS = positiveInteger(arg, args.shift());
        break;
      case '--only':
        only = (args.shift() ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
        if (only.length === 0) throw new UsageError('--only needs a list such as select,copy');
        break;
      case '--label':
        label = args.shift();
        if (label === undefined || label.trim() === '') throw new UsageError('--label needs a text');
        break;
      case '--help':
      case '-h':
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  if (quick) {
    return {
      quick, profile, forcePgLoad, only, rest, label,
      rounds: rounds ?? 1,
      durationS: durationS ?? 2,
      warmupS: 1,
      latencyConnections: 20,
      copyOutPasses: 1,
      copyInBytes: 100_000_000,
      idleSteps: [1, 50, 200],
      churnRounds: 3,
      churnSessions: 100,
    };
  }
  return {
    quick, profile, forcePgLoad, only, rest, label,
    rounds: rounds ?? 3,
    durationS: durationS ?? 5,
    warmupS: 3,
    latencyConnections: 200,
    copyOutPasses: 10,
    copyInBytes: 1_000_000_000,
    idleSteps: [1, 100, 1000],
    churnRounds: 10,
    churnSessions: 1000,
  };
}

/** Whether a figure (by id and group) is part of this run. */
export function selected(options: BenchOptions, id: string, group: string): boolean {
  return options.only.length === 0 || options.only.includes(id) || options.only.includes(group);
}

function positiveInteger(option: string, value: string | undefined): number {
  const parsed = Number(value);
  if (value === undefined || !Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${option} needs a whole number of at least 1, not ${JSON.stringify(value ?? '')}`);
  return parsed;
}
