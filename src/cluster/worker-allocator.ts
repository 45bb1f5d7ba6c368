// Which C allocator the processes that hold the sessions run with (proxy.allocator). Under glibc's
// malloc, memory that a load peak used stays resident after the sessions end: OpenSSL's and Node's
// per-connection buffers are freed into the main arena, which gives memory back to the system only
// from its top, and one long-lived allocation above the freed ones pins them all. The 1,000-session
// soak measured RSS 269 → 452 MiB after the load with glibc, and 270 → 262 MiB, back 13 s after the
// last session closed, with jemalloc, which returns freed pages on its own. So the workers are
// forked with jemalloc preloaded whenever the system has it (Debian and Ubuntu: libjemalloc2).
// LD_PRELOAD acts when a process starts: a single-process Gatehouse (proxy.workers: 1) can only be
// started with it (the container image does that), and this module then only reports what it found.
import { existsSync, readFileSync } from 'node:fs';

export type AllocatorSetting = 'auto' | 'jemalloc' | 'system';

/** Where distributions install jemalloc's shared library, per architecture. */
export const JEMALLOC_LIBRARIES = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2',
] as const;

/**
 * jemalloc purges the pages it freed after dirty_decay_ms (10 s) but, by default, only when some
 * thread calls into it: a background thread returns them when Gatehouse goes quiet after a peak too.
 */
const JEMALLOC_CONF = 'background_thread:true';

export interface WorkerAllocator {
  readonly name: 'jemalloc' | 'system';
  /** Added to each worker's environment (empty when the workers simply inherit this process's). */
  readonly env: Readonly<Record<string, string>>;
  /** For the startup log: where it comes from, or what to do to get jemalloc. */
  readonly detail: string;
}

export class AllocatorUnavailableError extends Error {}

export interface AllocatorHost {
  readonly platform: NodeJS.Platform;
  readonly env: NodeJS.ProcessEnv;
  readonly exists: (path: string) => boolean;
}

const thisHost: AllocatorHost = { platform: process.platform, env: process.env, exists: existsSync };

const INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get install libjemalloc2)';

/** The allocator forked workers get for `setting`; throws AllocatorUnavailableError when `jemalloc` cannot be had. */
export function workerAllocator(setting: AllocatorSetting, host: AllocatorHost = thisHost): WorkerAllocator {
  const preloaded = host.env.LD_PRELOAD ?? '';
  if (preloaded.includes('jemalloc')) return { name: 'jemalloc', env: {}, detail: `LD_PRELOAD=${preloaded}, inherited` };
  if (setting === 'system') return { name: 'system', env: {}, detail: 'proxy.allocator: system' };
  const library = host.platform === 'linux' ? JEMALLOC_LIBRARIES.find((path) => host.exists(path)) : undefined;
  if (library === undefined) {
    if (setting === 'jemalloc') throw new AllocatorUnavailableError(`proxy.allocator is jemalloc, but no libjemalloc.so.2 was found (looked in ${JEMALLOC_LIBRARIES.join(', ')}); ${INSTALL_HINT}, or set proxy.allocator: auto`);
    return { name: 'system', env: {}, detail: `no libjemalloc.so.2 found; memory freed after a load peak stays resident: ${INSTALL_HINT} to return it` };
  }
  const env: Record<string, string> = { LD_PRELOAD: preloaded === '' ? library : `${preloaded} ${library}` };
  if (host.env.MALLOC_CONF === undefined) env.MALLOC_CONF = JEMALLOC_CONF;
  return { name: 'jemalloc', env, detail: library };
}

/**
 * For a single-process Gatehouse, which cannot preload anything into itself: what it runs with, read
 * from its own memory map. Throws AllocatorUnavailableError when `jemalloc` is required and absent.
 */
export function ownAllocator(setting: AllocatorSetting, readMaps: () => string = () => readFileSync('/proc/self/maps', 'utf8')): WorkerAllocator {
  let maps = '';
  try {
    maps = readMaps();
  } catch {
    // Not Linux: nothing can be preloaded the way this module does it anyway.
  }
  const library = /\S*libjemalloc\S*/.exec(maps)?.[0];
  if (library !== undefined) return { name: 'jemalloc', env: {}, detail: `${library}, preloaded` };
  const how = `start Gatehouse with LD_PRELOAD=<path to libjemalloc.so.2>, or set proxy.workers above 1 and Gatehouse preloads it into its workers`;
  if (setting === 'jemalloc') throw new AllocatorUnavailableError(`proxy.allocator is jemalloc, but this single process was not started with it: ${how}`);
  return { name: 'system', env: {}, detail: setting === 'system' ? 'proxy.allocator: system' : `memory freed after a load peak stays resident; to return it, ${how}` };
}
