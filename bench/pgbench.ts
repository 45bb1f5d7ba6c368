// Drives pgbench, the load generator PostgreSQL ships: builds its arguments from a LoadSpec, runs
// it against a target through libpq's environment variables, and parses the summary it prints.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { LoadGenerator, LoadResult, LoadSpec } from './load.js';

export function findPgbench(): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, 'pgbench');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function pgbenchGenerator(binary: string): Promise<LoadGenerator> {
  const version = (await run(binary, ['--version'], {})).stdout.trim();
  return {
    name: version.replace(/^pgbench \(PostgreSQL\) /, 'pgbench '),
    async initialise(direct, scale) {
      // Server-side data generation (G): nothing but the statements crosses the connection.
      await run(binary, ['-i', '-s', String(scale), '-I', 'dtGvp'], direct.libpqEnv);
    },
    async run(target, spec) {
      const { stdout } = await run(binary, pgbenchArguments(spec), target.libpqEnv);
      return parsePgbenchOutput(stdout);
    },
  };
}

export function pgbenchArguments(spec: LoadSpec): string[] {
  return [
    // No VACUUM before the run: the harness vacuums through the direct connection itself, so
    // every target starts from the same state and the vacuum is not part of anyone's figure.
    '-n',
    ...(spec.kind === 'select' ? ['-S'] : []),
    '-M', spec.protocol,
    ...(spec.reconnect ? ['-C'] : []),
    '-c', String(spec.clients),
    '-j', String(Math.min(spec.clients, 2)),
    '-T', String(spec.durationS),
    ...(spec.rate === undefined ? [] : ['-R', String(spec.rate)]),
  ];
}

/** Reads pgbench's summary (PostgreSQL 13 to 17 print the same lines). */
export function parsePgbenchOutput(output: string): LoadResult {
  const number = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(output);
    return match === null ? undefined : Number(match[1]);
  };
  const tps = number(/^tps = ([\d.]+)/m);
  const transactions = number(/^number of transactions actually processed: (\d+)/m);
  if (tps === undefined || transactions === undefined) throw new Error(`cannot read pgbench's output:\n${output}`);
  return {
    tps,
    transactions,
    failed: number(/^number of failed transactions: (\d+)/m) ?? 0,
    latencyMs: number(/^latency average = ([\d.]+) ms/m),
  };
}

async function run(binary: string, args: string[], env: Readonly<Record<string, string>>): Promise<{ stdout: string; stderr: string }> {
  // Only the target's libpq settings: a PGHOST or PGPASSWORD in the caller's shell must not leak in.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`pgbench ${args.join(' ')} exited with code ${code}:\n${(stderr || stdout).trim().split('\n').slice(-10).join('\n')}`));
    });
  });
}
