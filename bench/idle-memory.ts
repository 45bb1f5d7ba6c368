// Gatehouse's memory with idle sessions, measured inside its process after a full garbage
// collection: RSS, V8 heap in use and external memory at 1, 100 and 1,000 open sessions (each has
// run one query and sits idle), and RSS after each of 10 rounds of 1,000 sessions opening and
// closing, which shows whether anything of a closed session is left behind. It runs before the
// load figures, so the baseline is not inflated by heap the load left committed.
import pg from 'pg';
import type { GatehouseMemory, GatehouseProcess } from './gatehouse-process.js';
import type { Target } from './load.js';
import { summariseMemory, type MemoryStep, type MemorySummary } from './results.js';

/** Sessions opened at once: enough to be quick, few enough not to queue TLS handshakes for long. */
const OPEN_CONCURRENCY = 16;
/** A closed session's sockets stay referenced until the relay's 5-second destroy timer runs. */
const CLOSE_TIMERS_MS = 6_000;

export interface IdleMemoryOptions {
  readonly steps: readonly number[];
  readonly churnRounds: number;
  readonly churnSessions: number;
  readonly log: (line: string) => void;
}

export async function measureIdleMemory(target: Target, gatehouse: GatehouseProcess, options: IdleMemoryOptions): Promise<MemorySummary> {
  const { log } = options;
  const steps: MemoryStep[] = [];
  const open: pg.Client[] = [];
  try {
    for (const count of options.steps) {
      open.push(...(await openSessions(target, count - open.length)));
      const memory = await settled(gatehouse, count);
      steps.push(step(memory));
      log(`memory: ${count} idle sessions: RSS ${mib(memory.rss)}, heap used ${mib(memory.heapUsed)} of ${mib(memory.heapTotal)}, external ${mib(memory.external)}`);
    }
  } finally {
    await closeSessions(open.splice(0));
  }
  await settled(gatehouse, 0);
  const churn: (MemoryStep & { round: number })[] = [];
  for (let round = 1; round <= options.churnRounds; round++) {
    const clients = await openSessions(target, options.churnSessions);
    await closeSessions(clients);
    await settled(gatehouse, 0);
    // Measured once the closed sessions' sockets are released, so each round shows what stays.
    await new Promise((resolve) => setTimeout(resolve, CLOSE_TIMERS_MS));
    const memory = await settled(gatehouse, 0);
    churn.push({ round, ...step(memory) });
    log(`memory: after open/close round ${round}/${options.churnRounds} of ${options.churnSessions}: RSS ${mib(memory.rss)}, heap used ${mib(memory.heapUsed)} of ${mib(memory.heapTotal)}`);
  }
  return summariseMemory(steps, churn, options.churnSessions);
}

async function openSessions(target: Target, count: number): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const client = new pg.Client(target.pgConfig);
      // Registered before connecting, so a failure below still closes it.
      clients.push(client);
      client.on('error', () => undefined);
      await client.connect();
      await client.query('SELECT 1');
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker));
  } catch (error) {
    await closeSessions(clients);
    throw error;
  }
  return clients;
}

async function closeSessions(clients: readonly pg.Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
}

/** Memory once the daemon holds exactly `sessions` sessions (closing ones take a moment). */
async function settled(gatehouse: GatehouseProcess, sessions: number): Promise<GatehouseMemory> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const memory = await gatehouse.memory();
    if (memory.sessions === sessions) return memory;
    if (Date.now() > deadline) throw new Error(`Gatehouse still holds ${memory.sessions} sessions, expected ${sessions}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function step(memory: GatehouseMemory): MemoryStep {
  return { sessions: memory.sessions, rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
