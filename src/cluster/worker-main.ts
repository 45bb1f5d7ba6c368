// The program a worker process runs: `gatehouse start` with proxy.workers > 1 forks it through
// node:cluster (cluster.setupPrimary({ exec })). Everything it needs comes from the primary over
// IPC: nothing secret is ever in its argv or environment.
import { runWorker } from './worker-runtime.js';

runWorker();
