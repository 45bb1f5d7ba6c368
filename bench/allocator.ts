// The C allocator the measured Gatehouse runs with. By default the one production gets: jemalloc,
// preloaded when the machine has it, as proxy.allocator: auto does for the workers and the
// container image does for every process (docs/deployment.md, "Memory"); glibc's malloc
// otherwise. GATEHOUSE_BENCH_ALLOCATOR=system measures with glibc's malloc for comparison.
import { workerAllocator, type WorkerAllocator } from '../src/cluster/worker-allocator.js';

export function benchAllocator(): WorkerAllocator {
  const setting = process.env.GATEHOUSE_BENCH_ALLOCATOR ?? 'auto';
  if (setting !== 'auto' && setting !== 'system') throw new Error(`GATEHOUSE_BENCH_ALLOCATOR must be auto or system, not ${setting}`);
  return workerAllocator(setting);
}

/** For the report's versions line: "jemalloc" or "glibc malloc". */
export function allocatorName(allocator: WorkerAllocator): string {
  return allocator.name === 'jemalloc' ? 'jemalloc' : 'glibc malloc';
}
