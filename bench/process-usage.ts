// CPU time and resident memory of another process, read from /proc, so a proxy's cost can be
// measured apart from the load generator and the database sharing the same cores.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const ticksPerSecond = clockTicks();

/** User plus system CPU seconds the process has used so far; undefined when it cannot be read. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** Measures what a function costs a process in CPU seconds (undefined without a pid or /proc). */
export async function withCpu<T>(pid: number | undefined, run: () => Promise<T>): Promise<{ result: T; cpuS: number | undefined }> {
  const before = pid === undefined ? undefined : cpuSeconds(pid);
  const result = await run();
  const after = pid === undefined ? undefined : cpuSeconds(pid);
  return { result, cpuS: before === undefined || after === undefined ? undefined : after - before };
}
