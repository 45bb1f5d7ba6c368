// `npm run bench -- --profile`: where does Gatehouse's time go? Runs Gatehouse under
// `node --cpu-prof` with one workload (select-only pgbench by default), then reads the
// .cpuprofile itself and prints the functions and modules with the most self time, and Gatehouse's
// own functions by total time. The profile is kept in bench/results/ for a flame graph
// (Chrome DevTools › Performance › Load profile, or speedscope.app).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { copyIn, copyOut } from './copy.js';
import { analyseProfile, type CpuProfile, type ProfileEntry } from './cpuprofile.js';
import { findPerf, perfBreakdown, recordPerf } from './perf-profile.js';
import type { LoadSpec } from './load.js';
import { cpuSeconds } from './process-usage.js';
import { RESULTS_DIR } from './report.js';
import { startTargets } from './targets.js';
import { UsageError } from './options.js';

const WORKLOADS = ['select', 'prepared', 'tpcb', 'connect', 'copy-out', 'copy-in'] as const;
type Workload = (typeof WORKLOADS)[number];

const USAGE = `usage: npm run bench -- --profile [--workload W] [--seconds S] [--clients N] [--top N] [--perf]
  --workload   ${WORKLOADS.join(' | ')} (default select: pgbench -S, simple protocol)
  --seconds    how long the load runs (default 15; COPY workloads run to their size)
  --clients    pgbench clients (default 8)
  --top        how many functions to list (default 25)
  --perf       profile with Linux perf instead of node --cpu-prof: CPU by layer (kernel, OpenSSL,
               V8 runtime and GC, node C++, malloc, JavaScript) and the top native symbols
  --analyse F  only print the analysis of an existing .cpuprofile F (the whole profile)`;

interface ProfileOptions {
  readonly workload: Workload;
  readonly seconds: number;
  readonly clients: number;
  readonly top: number;
  /** Only analyse this existing .cpuprofile (whole profile, no load window). */
  readonly analyse?: string;
  /** Linux perf instead of V8's profiler: CPU by layer (kernel, OpenSSL, V8, malloc, JavaScript). */
  readonly perf: boolean;
}

export async function runProfile(argv: readonly string[]): Promise<void> {
  let options: ProfileOptions;
  try {
    options = parseProfileOptions(argv);
    if (options.analyse !== undefined) {
      const profile = JSON.parse(readFileSync(options.analyse, 'utf8')) as CpuProfile;
      console.log(describe(profile, undefined, `CPU profile ${options.analyse}`, options.top));
      return;
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const perf = options.perf ? findPerf() : undefined;
  if (options.perf && perf === undefined) {
    console.error('--perf needs Linux perf on the PATH (Debian: linux-perf)');
    process.exitCode = 2;
    return;
  }
  const profileDir = mkdtempSync(join(tmpdir(), 'gatehouse-cpuprofile-'));
  const targets = await startTargets({
    forcePgLoad: false,
    withPgBouncer: false,
    // Under perf, no V8 profiler: its sampling thread would be part of what perf sees.
    gatehouseNodeFlags: perf === undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=250'] : [],
    log,
  });
  let recording: Promise<void> | undefined;
  let summary: string;
  let window: { startUs: number; endUs: number };
  try {
    const gatehouse = targets.list.find((target) => target.name === 'gatehouse');
    if (gatehouse === undefined) throw new Error('Gatehouse did not start');
    // Warm-up outside the window: JIT compilation and the database's cache.
    await targets.generator.run(gatehouse, { kind: 'select', clients: options.clients, protocol: 'simple', reconnect: false, durationS: 2 });
    const cpuBefore = cpuSeconds(targets.gatehouse.pid) ?? 0;
    const startUs = Number(process.hrtime.bigint() / 1000n);
    // perf samples for a second less than the load runs, so it never sees the load wind down.
    if (perf !== undefined) recording = recordPerf(perf, targets.gatehouse.pid, Math.max(1, options.seconds - 1), join(profileDir, 'perf.data'));
    let work: string;
    if (options.workload === 'copy-out' || options.workload === 'copy-in') {
      const result = options.workload === 'copy-out' ? await copyOut(gatehouse, 3) : await copyIn(gatehouse, 300_000_000);
      work = `${(result.bytes / 1e6).toFixed(0)} MB at ${result.mbPerSecond.toFixed(0)} MB/s`;
    } else {
      const spec = loadFor(options);
      const result = await targets.generator.run(gatehouse, spec);
      const queries = result.transactions * (spec.kind === 'select' ? 1 : 7);
      const cpuS = (cpuSeconds(targets.gatehouse.pid) ?? 0) - cpuBefore;
      work = `${result.tps.toFixed(0)} ${spec.reconnect ? 'connections' : 'transactions'}/s; Gatehouse CPU ${((cpuS * 1e6) / queries).toFixed(1)} µs per ${spec.reconnect ? 'connection' : 'query'}`;
    }
    const endUs = Number(process.hrtime.bigint() / 1000n);
    await recording;
    window = { startUs, endUs };
    const cpuS = (cpuSeconds(targets.gatehouse.pid) ?? 0) - cpuBefore;
    const wallS = (endUs - startUs) / 1e6;
    summary = `${options.workload}: ${work}; Gatehouse used ${cpuS.toFixed(1)} CPU s in ${wallS.toFixed(1)} s (${((cpuS / wallS) * 100).toFixed(0)}% of one core)`;
    // Stopping the daemon ends the process normally, which is when --cpu-prof writes the profile.
    await targets.gatehouse.stop();
  } finally {
    await recording?.catch(() => undefined);
    await targets.stop();
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/:/g, '').replace(/\..*$/, '').replace('T', '-');
  if (perf !== undefined) {
    const text = `Gatehouse under perf, ${summary}\n\n${await perfBreakdown(perf, join(profileDir, 'perf.data'), options.top)}`;
    rmSync(profileDir, { recursive: true, force: true });
    const saved = join(RESULTS_DIR, `profile-${stamp}-${options.workload}-perf.txt`);
    writeFileSync(saved, `${text}\n`);
    console.log(`\n${text}\n\nSaved as ${relative(process.cwd(), saved)}.`);
    return;
  }
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`Gatehouse wrote no .cpuprofile into ${profileDir}`);
  const saved = join(RESULTS_DIR, `profile-${stamp}-${options.workload}.cpuprofile`);
  copyFileSync(join(profileDir, file), saved);
  rmSync(profileDir, { recursive: true, force: true });
  const text = describe(JSON.parse(readFileSync(saved, 'utf8')) as CpuProfile, window, `Gatehouse CPU profile, ${summary}`, options.top);
  writeFileSync(saved.replace(/\.cpuprofile$/, '.txt'), `${text}\n`);
  console.log(`\n${text}\n\nProfile saved as ${relative(process.cwd(), saved)} (and the text above as .txt next to it): open it in Chrome DevTools (Performance › Load profile) or https://www.speedscope.app for a flame graph.`);
}

function describe(profile: CpuProfile, window: { startUs: number; endUs: number } | undefined, heading: string, top: number): string {
  const analysis = analyseProfile(profile, window, top);
  const scope = analysis.windowed ? 'Samples inside the load window' : 'The whole profile (start-up and shutdown included)';
  return [
    heading,
    `${scope}: ${(analysis.wallMs / 1000).toFixed(1)} s, of which busy ${(analysis.busyMs / 1000).toFixed(1)} s. Shares below are of busy time.`,
    "V8 samples the main thread's stack on a timer, so time the thread spends inside a system call, or descheduled in one (a loopback write wakes the",
    'database or the client, which may take the core), counts towards the native function that made the call.',
    '',
    `Top ${top} functions by self time, with the Gatehouse function each was spent under:`,
    ...entries(analysis.topSelf),
    '',
    'Self time by module:',
    ...entries(analysis.byModule),
    '',
    "Gatehouse's own functions by total time (self + everything they call):",
    ...entries(analysis.gatehouseTotal),
  ].join('\n');
}

function entries(list: readonly ProfileEntry[]): string[] {
  return list.map((entry) => {
    const via = entry.via === undefined || entry.via.length === 0 ? '' : `\n${' '.repeat(21)}under ${entry.via.map((caller) => `${caller.name} ${(caller.share * 100).toFixed(0)}%`).join(', ')}`;
    return `  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(7)} ms  ${entry.name}${via}`;
  });
}

function loadFor(options: ProfileOptions): LoadSpec {
  const base = { clients: options.clients, durationS: options.seconds, reconnect: false, protocol: 'simple' as const };
  switch (options.workload) {
    case 'prepared':
      return { ...base, kind: 'select', protocol: 'prepared' };
    case 'tpcb':
      return { ...base, kind: 'tpcb' };
    case 'connect':
      return { ...base, kind: 'select', reconnect: true };
    default:
      return { ...base, kind: 'select' };
  }
}

function parseProfileOptions(argv: readonly string[]): ProfileOptions {
  const args = [...argv];
  let workload: Workload = 'select';
  let seconds = 15;
  let clients = 8;
  let top = 25;
  let analyse: string | undefined;
  let perf = false;
  const count = (option: string, value: string | undefined) => {
    const parsed = Number(value);
    if (value === undefined || !Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${option} needs a whole number of at least 1\n${USAGE}`);
    return parsed;
  };
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--workload') {
      const value = args.shift();
      if (!WORKLOADS.includes(value as Workload)) throw new UsageError(`--workload must be one of ${WORKLOADS.join(', ')}\n${USAGE}`);
      workload = value as Workload;
    } else if (arg === '--seconds') seconds = count(arg, args.shift());
    else if (arg === '--clients') clients = count(arg, args.shift());
    else if (arg === '--top') top = count(arg, args.shift());
    else if (arg === '--quick') seconds = 5;
    else if (arg === '--perf') perf = true;
    else if (arg === '--analyse' || arg === '--analyze') {
      analyse = args.shift();
      if (analyse === undefined) throw new UsageError(`${arg} needs a .cpuprofile file\n${USAGE}`);
    }
    else throw new UsageError(arg === '--help' || arg === '-h' ? USAGE : `unknown profile option ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return { workload, seconds, clients, top, analyse, perf };
}
