// What Gatehouse's JavaScript heap really holds once garbage is gone: every Gatehouse process writes
// a heap snapshot (through gc-probe.mjs) and the census counts the objects that exist once per
// session (Session, Relay, FrontendFramer, …) in all of them. After every session has closed,
// any of those left is a leak, whatever RSS says. Writing a snapshot makes a process allocate
// hundreds of MiB itself, so the soak takes its census last, after every memory figure.
import { readFileSync, rmSync } from 'node:fs';
import { probeProcesses } from './gc-probe-client.js';

/** Classes of which Gatehouse holds one per live session: any left once all sessions closed is a leak. */
export const PER_SESSION_CLASSES = ['Session', 'Relay', 'FrontendFramer', 'QueryAuditor', 'SessionWatch'] as const;

export interface HeapCensus {
  readonly processes: number;
  /** Objects of PER_SESSION_CLASSES over all processes. */
  readonly perSessionObjects: Record<string, number>;
}

/** Snapshots each process in turn (gc-probe.mjs) and counts what they hold; the snapshots are removed. */
export async function takeHeapCensus(pids: readonly number[], dir: string): Promise<HeapCensus> {
  const perSessionObjects: Record<string, number> = Object.fromEntries(PER_SESSION_CLASSES.map((name) => [name, 0]));
  for (const answer of await probeProcesses(pids, dir, 'snapshot')) {
    const file = answer.snapshotFile as string;
    try {
      const counted = countSnapshot(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot);
      for (const name of PER_SESSION_CLASSES) perSessionObjects[name] = (perSessionObjects[name] ?? 0) + (counted.objects.get(name) ?? 0);
    } finally {
      rmSync(file, { force: true });
    }
  }
  return { processes: pids.length, perSessionObjects };
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Object counts by constructor name. */
export function countSnapshot(snapshot: HeapSnapshot): { objects: Map<string, number> } {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const objectType = snapshot.snapshot.meta.node_types[0].indexOf('object');
  const { nodes, strings } = snapshot;
  const objects = new Map<string, number>();
  for (let index = 0; index < nodes.length; index += width) {
    if (nodes[index + typeAt] !== objectType) continue;
    const name = strings[nodes[index + nameAt] as number] as string;
    objects.set(name, (objects.get(name) ?? 0) + 1);
  }
  return { objects };
}
