// proxy.allocator: which allocator the workers are forked with, and what a single process can only report.
import { describe, expect, it } from 'vitest';
import { AllocatorUnavailableError, ownAllocator, workerAllocator, type AllocatorHost } from '../../../src/cluster/worker-allocator.js';

const LIBRARY = '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2';

function host(options: { env?: NodeJS.ProcessEnv; installed?: string[]; platform?: NodeJS.Platform } = {}): AllocatorHost {
  const installed = new Set(options.installed ?? []);
  return { platform: options.platform ?? 'linux', env: options.env ?? {}, exists: (path) => installed.has(path) };
}

describe('workerAllocator', () => {
  it('preloads the jemalloc it finds, with a background thread to return memory when idle', () => {
    expect(workerAllocator('auto', host({ installed: [LIBRARY] }))).toEqual({
      name: 'jemalloc',
      env: { LD_PRELOAD: LIBRARY, MALLOC_CONF: 'background_thread:true' },
      detail: LIBRARY,
    });
  });

  it('keeps what the operator preloads and their MALLOC_CONF', () => {
    const allocator = workerAllocator('jemalloc', host({ installed: [LIBRARY], env: { LD_PRELOAD: '/opt/trace.so', MALLOC_CONF: 'narenas:2' } }));
    expect(allocator.env).toEqual({ LD_PRELOAD: `/opt/trace.so ${LIBRARY}` });
  });

  it('adds nothing when jemalloc is already preloaded into this process: the workers inherit it', () => {
    expect(workerAllocator('auto', host({ env: { LD_PRELOAD: '/usr/local/lib/libjemalloc.so.2' } }))).toEqual({
      name: 'jemalloc',
      env: {},
      detail: 'LD_PRELOAD=/usr/local/lib/libjemalloc.so.2, inherited',
    });
  });

  it('falls back to the system allocator with auto, saying how to get jemalloc', () => {
    const allocator = workerAllocator('auto', host());
    expect(allocator).toMatchObject({ name: 'system', env: {} });
    expect(allocator.detail).toContain('apt-get install libjemalloc2');
  });

  it('refuses to start without jemalloc when proxy.allocator is jemalloc', () => {
    expect(() => workerAllocator('jemalloc', host())).toThrow(AllocatorUnavailableError);
    expect(() => workerAllocator('jemalloc', host())).toThrow(/proxy\.allocator is jemalloc, but no libjemalloc\.so\.2 was found .*apt-get install libjemalloc2/);
  });

  it('leaves it out with system, and off Linux', () => {
    expect(workerAllocator('system', host({ installed: [LIBRARY] }))).toMatchObject({ name: 'system', env: {} });
    expect(workerAllocator('auto', host({ installed: [LIBRARY], platform: 'darwin' }))).toMatchObject({ name: 'system', env: {} });
  });
});

describe('ownAllocator', () => {
  const mapsWith = (path: string) => () => `7f00-7f01 r-xp 00000000 08:01 42 ${path}\n`;

  it('reports the jemalloc this process was started with', () => {
    expect(ownAllocator('jemalloc', mapsWith('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2'))).toMatchObject({ name: 'jemalloc' });
  });

  it('reports the system allocator, and how to preload jemalloc', () => {
    const allocator = ownAllocator('auto', mapsWith('/usr/lib/x86_64-linux-gnu/libc.so.6'));
    expect(allocator.name).toBe('system');
    expect(allocator.detail).toContain('LD_PRELOAD=');
  });

  it('refuses to start when jemalloc is required and not loaded', () => {
    expect(() => ownAllocator('jemalloc', mapsWith('/usr/lib/x86_64-linux-gnu/libc.so.6'))).toThrow(/this single process was not started with it/);
  });
});
