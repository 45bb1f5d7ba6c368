// The soak's side of gc-probe.mjs: the NODE_OPTIONS and environment that load it into Gatehouse,
// and a probe of a set of Gatehouse processes, one after another (a snapshot pauses the process
// writing it, and makes it allocate a lot), each answered with its memory after a full collection.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROBE_SIGNAL = 'SIGUSR2';
const PROBE_MODULE = fileURLToPath(new URL('gc-probe.mjs', import.meta.url));
const PROBE_TIMEOUT_MS = 120_000;

export interface ProcessMemory {
  readonly pid: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Present in snapshot mode; the caller reads and removes it. */
  readonly snapshotFile?: string;
}

/** Environment for the Gatehouse process: the probe loaded into it and every worker it forks. */
export function probeEnvironment(dir: string, nodeOptions = ''): Record<string, string> {
  return { GATEHOUSE_SOAK_PROBE_DIR: dir, NODE_OPTIONS: `--expose-gc --import ${PROBE_MODULE} ${nodeOptions}`.trim() };
}

export async function probeProcesses(pids: readonly number[], dir: string, mode: 'gc' | 'snapshot'): Promise<ProcessMemory[]> {
  writeFileSync(join(dir, 'mode'), mode);
  const answers: ProcessMemory[] = [];
  for (const pid of pids) {
    const answer = join(dir, `${pid}.json`);
    rmSync(answer, { force: true });
    process.kill(pid, PROBE_SIGNAL);
    const deadline = Date.now() + PROBE_TIMEOUT_MS;
    while (!existsSync(answer)) {
      if (Date.now() > deadline) throw new Error(`Gatehouse process ${pid} did not answer the memory probe within ${PROBE_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const memory = JSON.parse(readFileSync(answer, 'utf8')) as ProcessMemory;
    answers.push(mode === 'snapshot' ? { ...memory, snapshotFile: join(dir, `${pid}.heapsnapshot`) } : memory);
  }
  return answers;
}
