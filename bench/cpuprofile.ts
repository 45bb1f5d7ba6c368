// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) without any tool: self time per function,
// self time per module (Gatehouse's files, node's internals, packages, native code, GC), and total
// time (self plus callees) of Gatehouse's own functions. Only samples inside a time window count
// when one is given, so start-up and shutdown do not dilute the load being profiled.

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time in the window. */
  readonly share: number;
  /** For self time outside Gatehouse: the Gatehouse functions it was spent under, largest first. */
  readonly via?: readonly { readonly name: string; readonly share: number }[];
}

export interface ProfileAnalysis {
  /** Whether the window matched the profile's clock; otherwise the whole profile was used. */
  readonly windowed: boolean;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly topSelf: readonly ProfileEntry[];
  readonly byModule: readonly ProfileEntry[];
  readonly gatehouseTotal: readonly ProfileEntry[];
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** `window` is in microseconds of the monotonic clock (process.hrtime), as the profile's timestamps are. */
export function analyseProfile(profile: CpuProfile, window?: { startUs: number; endUs: number }, top = 25): ProfileAnalysis {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const times: number[] = [];
  let clock = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((clock += delta));
  const inWindow = window !== undefined && times.some((time) => time >= window.startUs && time <= window.endUs);
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const total = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  let wallMs = 0;
  let busyMs = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    const time = times[index] as number;
    if (inWindow && window !== undefined && (time < window.startUs || time > window.endUs)) continue;
    // A sample stands for the time until the next one.
    const ms = ((index + 1 < times.length ? (times[index + 1] as number) : profile.endTime) - time) / 1000;
    const node = nodes.get(profile.samples[index] as number);
    if (node === undefined || ms <= 0) continue;
    wallMs += ms;
    if (node.callFrame.functionName === '(idle)') continue;
    busyMs += ms;
    add(self, functionKey(node), ms);
    add(modules, moduleOf(node), ms);
    const seen = new Set<string>();
    let nearest: string | undefined;
    for (let current: ProfileNode | undefined = node; current !== undefined; current = nodes.get(parents.get(current.id) ?? -1)) {
      if (!isGatehouse(current)) continue;
      const key = functionKey(current);
      nearest ??= key;
      if (!seen.has(key)) add(total, key, ms);
      seen.add(key);
    }
    const selfKey = functionKey(node);
    const byCaller = callers.get(selfKey) ?? new Map<string, number>();
    add(byCaller, nearest ?? '(not under Gatehouse code)', ms);
    callers.set(selfKey, byCaller);
  }
  const ranked = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, ms]) => ({ name, ms, share: busyMs === 0 ? 0 : ms / busyMs }));
  const topSelf = ranked(self, top).map((entry) => {
    const byCaller = callers.get(entry.name);
    if (byCaller === undefined || SPECIAL.has(entry.name) || entry.name.includes(' dist/')) return entry;
    const via = [...byCaller.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, ms]) => ({ name, share: ms / entry.ms }));
    return { ...entry, via };
  });
  return { windowed: inWindow, wallMs, busyMs, topSelf, byModule: ranked(modules, 20), gatehouseTotal: ranked(total, 20) };
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (SPECIAL.has(functionName)) return functionName;
  const name = functionName === '' ? '(anonymous)' : functionName;
  return url === '' ? `${name} (native)` : `${name}  ${shortUrl(url)}:${lineNumber + 1}`;
}

function moduleOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (SPECIAL.has(functionName)) return functionName;
  if (url === '') return 'native code called from JavaScript';
  if (url.startsWith('node:')) return url;
  return shortUrl(url);
}

function isGatehouse(node: ProfileNode): boolean {
  return node.callFrame.url.includes('/dist/') && !node.callFrame.url.includes('/node_modules/');
}

/** dist/proxy/relay.js, pino/lib/tools.js, or the file name. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const packageAt = path.lastIndexOf('/node_modules/');
  if (packageAt >= 0) return path.slice(packageAt + '/node_modules/'.length);
  const distAt = path.lastIndexOf('/dist/');
  if (distAt >= 0) return path.slice(distAt + 1);
  return path.split('/').slice(-2).join('/');
}
