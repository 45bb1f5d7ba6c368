// How many worker processes proxy.workers means. `auto` is os.availableParallelism(): the CPUs this
// process may run on (its affinity mask). It does not see a cgroup CPU quota, so in a container
// with a CPU limit (Kubernetes resources.limits.cpu) set workers to that limit instead.
import { availableParallelism } from 'node:os';
import { MAX_WORKERS } from '../config/defaults.js';

export function workerCount(setting: 'auto' | number, cpus: () => number = availableParallelism): number {
  if (setting !== 'auto') return setting;
  return Math.max(1, Math.min(MAX_WORKERS, cpus()));
}
