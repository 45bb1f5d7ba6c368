// Gatehouse's footprint as Linux sees it, read from /proc: with proxy.workers > 1 `gatehouse start`
// is a primary and its forked workers, so memory and CPU are summed over the whole process tree.
// Also the resident part of each process's [heap] mapping: the C allocator's main arena, where
// OpenSSL and Node's buffers live; memory freed there stays resident until reused, which is what
// tells allocator slack from a leak when the V8 heap has come back and RSS has not.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessTreeUsage {
  readonly processes: number;
  readonly rssBytes: number;
  readonly mallocArenaBytes: number;
  /** User plus system CPU seconds of the processes alive now (USER_HZ is 100 on Linux). */
  readonly cpuSeconds: number;
}

/** Undefined when /proc cannot be read (not Linux, or the process is gone). */
export function processTreeUsage(rootPid: number): ProcessTreeUsage | undefined {
  const pids = processTree(rootPid);
  if (pids.length === 0) return undefined;
  let rssBytes = 0;
  let mallocArenaBytes = 0;
  let cpuSeconds = 0;
  for (const pid of pids) {
    rssBytes += kilobytes(read(`/proc/${pid}/status`), /^VmRSS:\s+(\d+) kB$/m);
    mallocArenaBytes += kilobytes(read(`/proc/${pid}/smaps`), /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/);
    const fields = statFields(pid);
    if (fields !== undefined) cpuSeconds += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return { processes: pids.length, rssBytes, mallocArenaBytes, cpuSeconds };
}

/**
 * The C allocator of each process in the tree, read off its memory map: "jemalloc in 2 of 3
 * processes" with proxy.workers 2 and libjemalloc2 installed (the workers preload it, the primary
 * does not). glibc's malloc keeps what a load peak freed; jemalloc returns it.
 */
export function describeAllocators(rootPid: number): string {
  const pids = processTree(rootPid);
  const jemalloc = pids.filter((pid) => read(`/proc/${pid}/maps`).includes('libjemalloc')).length;
  if (jemalloc === 0) return `glibc malloc in all ${pids.length} processes`;
  if (jemalloc === pids.length) return `jemalloc in all ${pids.length} processes`;
  return `jemalloc in ${jemalloc} of ${pids.length} processes, glibc malloc in the rest`;
}

/** `rootPid` and all its descendants that are alive. */
export function processTree(rootPid: number): number[] {
  if (statFields(rootPid) === undefined) return [];
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [rootPid];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = Number(statFields(Number(entry))?.[1]);
    if (!Number.isInteger(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** The fields of /proc/PID/stat after the command name (state is [0], ppid [1], utime [11], stime [12]). */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  // The command name is in parentheses and may itself contain spaces.
  return stat === '' ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function kilobytes(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match === null ? 0 : Number(match[1]) * 1024;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
