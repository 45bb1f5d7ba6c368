// A/B runs for performance work: two or more builds of Gatehouse (and, for reference, a bare TLS
// relay and the direct connection) against one PostgreSQL, interleaved round by round, reporting
// each one's throughput and CPU time per query, per new connection or per GB. On a shared machine
// CPU time swings from minute to minute; interleaving short runs and taking medians is what makes
// "before" and "after" comparable. It is not the benchmark of record (npm run bench is).
//
//   npm run build && npx tsx bench/ab.ts --save before     # keep this build as "before"
//   (change something) && npm run build
//   npx tsx bench/ab.ts --builds before,current --bare --workloads select,prepared,connect --rounds 5
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyIn, copyOut } from './copy.js';
import { GatehouseProcess } from './gatehouse-process.js';
import type { LoadSpec, Target } from './load.js';
import { PGBENCH_SCALE } from './options.js';
import { findPgbench, pgbenchGenerator } from './pgbench.js';
import { startBenchPostgres } from './postgres.js';
import { cpuSeconds } from './process-usage.js';
import { COPY_IN_TABLE } from './targets.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** Saved builds live under node_modules, where their imports of packages still resolve. */
const savedBuilds = join(repoRoot, 'node_modules', '.cache', 'gatehouse-ab');
const WORKLOADS = ['select', 'prepared', 'tpcb', 'connect', 'copy-out', 'copy-in'] as const;
type Workload = (typeof WORKLOADS)[number];

const USAGE = `usage: npx tsx bench/ab.ts --save NAME                 keep the current dist/ as build NAME
       npx tsx bench/ab.ts [--builds A,B] [options]   compare builds (default: current)
  --builds A,B     saved build names, "current" (dist/), or NAME=DIRECTORY
  --bare           add the bare TLS relay (bench/bare-relay.ts), the floor for a Node.js proxy
  --direct         add the direct connection (throughput only)
  --workloads W,…  ${WORKLOADS.join(', ')} (default select,connect)
  --rounds N       interleaved rounds (default 5)    --seconds S  per pgbench run (default 4)
  --clients N      pgbench clients (default 8)
  --rate N         pgbench -R: a fixed load of N transactions (connections for connect) per second, the
                   same for every contender, so CPU per query is compared at equal throughput (at full
                   load a faster proxy handles more events per wake-up, which also lowers its CPU per query)`;

interface Contender {
  readonly name: string;
  readonly target: Target;
  readonly pid?: number;
}

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const index = args.indexOf(`--${name}`);
    return index === -1 ? fallback : (args[index + 1] ?? fallback);
  };
  if (args.includes('--help')) return console.log(USAGE);
  if (args.includes('--save')) return saveBuild(option('save', ''));
  const builds = option('builds', 'current').split(',').map(resolveBuild);
  const workloads = option('workloads', 'select,connect').split(',') as Workload[];
  const unknown = workloads.filter((workload) => !WORKLOADS.includes(workload));
  if (unknown.length > 0) throw new Error(`unknown workload ${unknown.join(', ')}\n${USAGE}`);
  const rounds = Number(option('rounds', '5'));
  const seconds = Number(option('seconds', '4'));
  const clients = Number(option('clients', '8'));
  const rate = args.includes('--rate') ? Number(option('rate', '')) : undefined;
  if (rate !== undefined && !(rate > 0)) throw new Error(`--rate needs a positive number\n${USAGE}`);

  const postgres = await startBenchPostgres();
  const children: ChildProcess[] = [];
  const gatehouses: GatehouseProcess[] = [];
  try {
    const pgbench = findPgbench();
    if (pgbench === undefined) throw new Error('bench/ab.ts needs pgbench on the PATH');
    const generator = await pgbenchGenerator(pgbench);
    const direct: Target = {
      name: 'direct',
      label: 'direct',
      libpqEnv: { ...libpq(postgres.port), PGPASSWORD: postgres.password, PGSSLMODE: 'verify-full', PGSSLROOTCERT: postgres.caFile },
      pgConfig: { host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'postgres', password: postgres.password, ssl: { ca: postgres.ca.certPem } },
    };
    await generator.initialise(direct, PGBENCH_SCALE);
    await postgres.sql(`CREATE UNLOGGED TABLE ${COPY_IN_TABLE} (aid int, bid int, abalance int, filler char(84))`);
    const contenders: Contender[] = [];
    for (const build of builds) {
      const gatehouse = await GatehouseProcess.start({ dir: postgres.dir, postgresPort: postgres.port, dbCaFile: postgres.caFile, password: postgres.password, build });
      gatehouses.push(gatehouse);
      log(`build ${build.name} (${build.distDir}): pid ${gatehouse.pid}, port ${gatehouse.port}`);
      const { client } = gatehouse;
      contenders.push({
        name: build.name,
        pid: gatehouse.pid,
        target: {
          name: 'gatehouse',
          label: build.name,
          libpqEnv: { ...libpq(gatehouse.port), PGSSLMODE: 'verify-full', PGSSLROOTCERT: client.caFile, PGSSLCERT: client.certFile, PGSSLKEY: client.keyFile },
          pgConfig: { host: '127.0.0.1', port: gatehouse.port, user: 'postgres', database: 'postgres', ssl: { ca: client.caPem, cert: client.certPem, key: client.keyPem, servername: 'localhost' } },
        },
      });
    }
    if (args.includes('--bare')) {
      const certs = join(postgres.dir, 'gatehouse', 'certs');
      const { child, port } = await startBareRelay([join(certs, 'proxy.crt'), join(certs, 'proxy.key'), postgres.caFile, String(postgres.port)]);
      children.push(child);
      contenders.push({
        name: 'bare relay',
        pid: child.pid,
        target: {
          name: 'gatehouse',
          label: 'bare relay',
          // The client logs in to PostgreSQL itself through the relay, without channel binding (the relay's certificate is not the database's).
          libpqEnv: { ...libpq(port), PGPASSWORD: postgres.password, PGCHANNELBINDING: 'disable', PGSSLMODE: 'verify-full', PGSSLROOTCERT: gatehouses[0]?.client.caFile ?? '' },
          pgConfig: { host: '127.0.0.1', port, user: 'postgres', database: 'postgres', password: postgres.password, ssl: { ca: gatehouses[0]?.client.caPem, servername: 'localhost' } },
        },
      });
    }
    if (args.includes('--direct')) contenders.push({ name: 'direct', target: direct });

    // Warm-up, not recorded: JIT compilation and the database's cache.
    for (const { target } of contenders) await generator.run(target, { kind: 'select', clients, protocol: 'simple', reconnect: false, durationS: 2 });
    const results = new Map<string, { value: number[]; cpu: number[] }>();
    for (let round = 0; round < rounds; round++) {
      for (const workload of workloads) {
        // Alternate the order, so no contender always runs right after the same neighbour.
        const order = round % 2 === 0 ? contenders : [...contenders].reverse();
        for (const contender of order) {
          const { value, cpu } = await measure(contender, workload, { seconds, clients, rate, generator, postgres });
          const key = `${workload}\0${contender.name}`;
          const entry = results.get(key) ?? { value: [], cpu: [] };
          entry.value.push(value);
          if (cpu !== undefined) entry.cpu.push(cpu);
          results.set(key, entry);
          log(`${workload.padEnd(9)} ${contender.name.padEnd(12)} ${format(value).padStart(8)} ${unitOf(workload).padEnd(6)} ${cpu === undefined ? '' : `CPU ${format(cpu)} ${cpuUnitOf(workload)}`}`);
        }
      }
    }
    console.log(`\nMedians over ${rounds} rounds (all values: in run order):`);
    for (const workload of workloads) {
      for (const contender of contenders) {
        const entry = results.get(`${workload}\0${contender.name}`);
        if (entry === undefined) continue;
        const cpu = entry.cpu.length === 0 ? '' : `  CPU ${format(median(entry.cpu))} ${cpuUnitOf(workload)}  [${entry.cpu.map(format).join(' ')}]`;
        console.log(`  ${workload.padEnd(9)} ${contender.name.padEnd(12)} ${format(median(entry.value)).padStart(8)} ${unitOf(workload).padEnd(6)}${cpu}`);
      }
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    for (const gatehouse of gatehouses) await gatehouse.stop();
    await postgres.stop();
  }
}

async function measure(
  contender: Contender,
  workload: Workload,
  context: { seconds: number; clients: number; rate?: number; generator: Awaited<ReturnType<typeof pgbenchGenerator>>; postgres: Awaited<ReturnType<typeof startBenchPostgres>> },
): Promise<{ value: number; cpu?: number }> {
  const before = contender.pid === undefined ? undefined : cpuSeconds(contender.pid);
  const cpuSince = () => (before === undefined || contender.pid === undefined ? undefined : (cpuSeconds(contender.pid) ?? before) - before);
  if (workload === 'copy-out' || workload === 'copy-in') {
    if (workload === 'copy-in') await context.postgres.sql(`TRUNCATE ${COPY_IN_TABLE}`);
    const result = workload === 'copy-out' ? await copyOut(contender.target, 1) : await copyIn(contender.target, 200_000_000);
    const cpu = cpuSince();
    return { value: result.mbPerSecond, cpu: cpu === undefined ? undefined : cpu / (result.bytes / 1e9) };
  }
  const spec: LoadSpec = {
    kind: workload === 'tpcb' ? 'tpcb' : 'select',
    clients: context.clients,
    protocol: workload === 'prepared' ? 'prepared' : 'simple',
    reconnect: workload === 'connect',
    durationS: context.seconds,
    rate: context.rate,
  };
  if (spec.kind === 'tpcb') await context.postgres.sql('TRUNCATE pgbench_history');
  const result = await context.generator.run(contender.target, spec);
  const cpu = cpuSince();
  const units = result.transactions * (spec.kind === 'tpcb' ? 7 : 1);
  return { value: result.tps, cpu: cpu === undefined || units === 0 ? undefined : (cpu * 1e6) / units };
}

function unitOf(workload: Workload): string {
  if (workload === 'connect') return 'conn/s';
  return workload.startsWith('copy') ? 'MB/s' : 'TPS';
}

function cpuUnitOf(workload: Workload): string {
  if (workload === 'connect') return 'µs per connection';
  return workload.startsWith('copy') ? 's per GB' : 'µs per query';
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function libpq(port: number): Record<string, string> {
  return { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGGSSENCMODE: 'disable', PGAPPNAME: 'gatehouse-ab' };
}

/** "current" is dist/; NAME=DIR is a build directory (with package.json next to it); any other NAME is a build saved with --save. */
function resolveBuild(spec: string): { name: string; distDir: string } {
  const [name, directory] = spec.includes('=') ? (spec.split('=', 2) as [string, string]) : [spec, spec === 'current' ? join(repoRoot, 'dist') : join(savedBuilds, spec, 'dist')];
  if (!existsSync(join(directory, 'daemon.js'))) throw new Error(`build ${name}: no daemon.js in ${directory} (npm run build; npx tsx bench/ab.ts --save ${name})`);
  return { name, distDir: directory };
}

function saveBuild(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === 'current') throw new Error(`--save needs a name of letters, digits, . _ - (not "current")\n${USAGE}`);
  const target = join(savedBuilds, name);
  rmSync(target, { recursive: true, force: true });
  cpSync(join(repoRoot, 'dist'), join(target, 'dist'), { recursive: true });
  // The build reads ../package.json (its version), as dist/ does.
  cpSync(join(repoRoot, 'package.json'), join(target, 'package.json'));
  console.log(`saved dist/ as build "${name}" (${target})`);
}

function startBareRelay(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('bare-relay.ts', import.meta.url)), ...args], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bare relay exited with code ${code}`)));
    child.once('message', (message: { port: number }) => resolve({ child, port: message.port }));
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
