// Command-line options of `npm run soak`, with the defaults of a full run. Durations are written
// as in gatehouse.yaml (30s, 5m, 1h30m) and parsed by the project's own parser.
import { parseDuration } from '../src/config/duration.js';

export interface SoakOptions {
  /** Concurrent sessions held open for the whole run. */
  readonly sessions: number;
  /** How long the sessions run their mix once all are open. */
  readonly durationMs: number;
  /** Seeds every session's random sequence of operations and data. */
  readonly seed: number;
  /** Operations per second the sessions aim at together: each pauses sessions ÷ rate seconds on average. */
  readonly rate: number;
  /** After the sessions close: how long memory may take to come back to its start figure. */
  readonly settleMs: number;
  /** Extra environment for the Gatehouse process, e.g. MALLOC_ARENA_MAX=2 (--gatehouse-env). */
  readonly gatehouseEnv?: Readonly<Record<string, string>>;
  /** False: no memory measurement, verdict or heap census, and no pauses for them (the short CI variant). */
  readonly checkMemory?: boolean;
  /** Where DATE.json is written; undefined: nowhere. */
  readonly resultsDir?: string;
}

export const DEFAULTS = {
  sessions: 1000,
  durationMs: 5 * 60_000,
  rate: 300,
  settleMs: 60_000,
} as const;

export const USAGE = `usage: npm run soak -- [options]
  --sessions N     concurrent sessions (default ${DEFAULTS.sessions})
  --duration D     how long they run once all are open (default 5m; e.g. 30s, 3m, 1h)
  --seed N         seed for the operations and data (default: random, printed)
  --rate N         operations per second of all sessions together (default ${DEFAULTS.rate}); each session
                   pauses sessions/rate seconds on average between its operations
  --settle D       how long memory may take to return after the sessions close (default 60s)
  --gatehouse-env NAME=VALUE
                   an environment variable for the Gatehouse process (repeatable), e.g.
                   MALLOC_ARENA_MAX=2 to see how the allocator's settings change its RSS
  --no-results     do not write soak/results/DATE.json
  --help           this text`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[], resultsDir: string): SoakOptions {
  const args = [...argv];
  let sessions: number = DEFAULTS.sessions;
  let durationMs: number = DEFAULTS.durationMs;
  let rate: number = DEFAULTS.rate;
  let settleMs: number = DEFAULTS.settleMs;
  let seed = Math.floor(Math.random() * 2 ** 31);
  let writeResults = true;
  const gatehouseEnv: Record<string, string> = {};
  while (args.length > 0) {
    const arg = args.shift() as string;
    switch (arg) {
      case '--sessions':
        sessions = wholeNumber(arg, args.shift(), 1);
        break;
      case '--duration':
        durationMs = duration(arg, args.shift());
        break;
      case '--seed':
        seed = wholeNumber(arg, args.shift(), 0);
        break;
      case '--rate':
        rate = wholeNumber(arg, args.shift(), 1);
        break;
      case '--settle':
        settleMs = duration(arg, args.shift());
        break;
      case '--gatehouse-env': {
        const setting = args.shift() ?? '';
        const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(setting);
        if (match === null) throw new UsageError(`--gatehouse-env needs NAME=VALUE, not ${JSON.stringify(setting)}`);
        gatehouseEnv[match[1] as string] = match[2] as string;
        break;
      }
      case '--no-results':
        writeResults = false;
        break;
      case '--help':
      case '-h':
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return { sessions, durationMs, seed, rate, settleMs, gatehouseEnv, resultsDir: writeResults ? resultsDir : undefined };
}

function wholeNumber(option: string, value: string | undefined, min: number): number {
  const parsed = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isSafeInteger(parsed) || parsed < min) {
    throw new UsageError(`${option} needs a whole number of at least ${min}, not ${JSON.stringify(value ?? '')}`);
  }
  return parsed;
}

function duration(option: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`${option} needs a duration such as 30s or 5m`);
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error(`${JSON.stringify(value)} is zero`);
    return ms;
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
}

/** The mean pause between two operations of one session that gives the aimed-at rate (operations themselves take a little time too). */
export function thinkMsFor(options: Pick<SoakOptions, 'sessions' | 'rate'>): number {
  return (options.sessions * 1000) / options.rate;
}
