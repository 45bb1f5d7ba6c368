// Reading gatehouse.yaml again for a reload (SIGHUP, POST /v1/admin/reload). A file that does not
// validate changes nothing: its problems come back as FILE:LINE:COL lines and the running config
// stays in force. A valid one applies, except for the keys a running process cannot change (the
// sockets it listens on, the directories and files it opened at start, the databases it started
// itself, the certificate it serves): those keep their running values, each with a warning that
// the change needs a restart.
import { formatDuration } from '../config/duration.js';
import { deepFreeze } from '../config/freeze.js';
import { formatIssue } from '../config/issues.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { AuditConfig, DatabaseConfig, GatehouseConfig, ProxyConfig } from '../config/types.js';
import type { EndedSession } from './session-recheck.js';

/** What a reload did: applied (with warnings, and the sessions it ended), or nothing, with the file's problems. */
export type ReloadOutcome =
  | { readonly ok: true; readonly warnings: readonly string[]; readonly sessionsEnded: readonly EndedSession[] }
  | { readonly ok: false; readonly errors: readonly string[] };

export type ReloadedConfig =
  | { readonly ok: true; readonly config: GatehouseConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** The proxy keys read once at start: listeners, state directories, the proxy certificate's name, the login throttle, the processes. */
const RESTART_ONLY_PROXY_KEYS = [
  'postgres_listen_addr',
  'web_listen_addr',
  'public_addr',
  'data_dir',
  'ca_dir',
  'users_file',
  'login_max_failures',
  'login_lockout_ms',
  'workers',
  'allocator',
] as const satisfies readonly (keyof ProxyConfig)[];

/** Reads the file the running config came from and works out what of it can apply now. */
export function reloadConfigFile(running: GatehouseConfig): ReloadedConfig {
  let next: GatehouseConfig;
  try {
    next = loadConfigFile(running.source);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, errors: error.issues.map(formatIssue) };
    return { ok: false, errors: [`${running.source}: ${(error as Error).message}`] };
  }
  return { ok: true, ...keepRestartOnlyValues(running, next) };
}

/** `next` with every key that needs a restart set back to its running value, and a warning for each that differed. */
export function keepRestartOnlyValues(running: GatehouseConfig, next: GatehouseConfig): { config: GatehouseConfig; warnings: string[] } {
  const warnings: string[] = [];
  const proxy: Record<string, unknown> = { ...next.proxy };
  for (const key of RESTART_ONLY_PROXY_KEYS) {
    if (running.proxy[key] === next.proxy[key]) continue;
    const name = key === 'login_lockout_ms' ? 'login_lockout' : key;
    const show = (value: string | number) => (key === 'login_lockout_ms' ? formatDuration(value as number) : String(value));
    warnings.push(needsRestart(`proxy.${name}`, `${show(next.proxy[key])}`, show(running.proxy[key])));
    proxy[key] = running.proxy[key];
  }
  const audit: AuditConfig = { ...next.audit, output: running.audit.output };
  if (running.audit.output !== next.audit.output) warnings.push(needsRestart('audit.output', next.audit.output, running.audit.output));
  const databases = withRunningEmbeddedDatabases(running.databases, next.databases, warnings);
  const config = deepFreeze({ ...next, proxy: proxy as unknown as ProxyConfig, audit, databases }) as GatehouseConfig;
  return { config, warnings };
}

/**
 * Embedded databases are processes Gatehouse started: their definitions stay as they were started.
 * One that was removed keeps being served, and a new one is not served, until a restart.
 */
function withRunningEmbeddedDatabases(running: readonly DatabaseConfig[], next: readonly DatabaseConfig[], warnings: string[]): DatabaseConfig[] {
  const started = new Map(running.filter((database) => database.kind === 'embedded').map((database) => [database.name, database]));
  const databases: DatabaseConfig[] = [];
  for (const database of next) {
    const runningOne = started.get(database.name);
    if (runningOne !== undefined) {
      if (JSON.stringify(runningOne) !== JSON.stringify(database)) {
        warnings.push(`databases: the definition of embedded database "${database.name}" changed, but that needs a restart; the running definition stays in force until then`);
      }
      databases.push(runningOne);
    } else if (database.kind === 'embedded') {
      warnings.push(`databases: "${database.name}" is a new embedded database; starting it needs a restart, so it is not served until then`);
    } else {
      databases.push(database);
    }
  }
  for (const runningOne of started.values()) {
    if (next.some((database) => database.name === runningOne.name)) continue;
    warnings.push(`databases: embedded database "${runningOne.name}" was removed, but stopping it needs a restart; it is served until then`);
    databases.push(runningOne);
  }
  return databases;
}

function needsRestart(key: string, wanted: string, running: string): string {
  return `${key} changed to ${wanted}, but that needs a restart; ${running} stays in force until then`;
}
