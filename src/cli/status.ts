// `gatehouse status [--json]`: a running daemon as its admin API reports it: version, runtime,
// uptime, listeners, databases (how each is reached and verified), active sessions and locks, and
// the metrics' plain numbers. Needs an administrator (see admin-client.ts).
import type { Command } from 'commander';
import { formatDuration } from '../config/duration.js';
import { renderTable } from '../dbctl/text-table.js';
import { AdminClient, runAdminCommand, withAdminFlags, type AdminFlags } from './admin-client.js';

interface Status {
  version: string;
  node: string;
  openssl: string;
  pid: number;
  started_at: string;
  uptime_s: number;
  listeners: { postgres: string; web: string };
  databases: { name: string; kind: string; address: string; tls_mode: string }[];
  sessions_active: number;
  locks_active: number;
  summary?: Record<string, number>;
}

export function registerStatusCommand(program: Command): void {
  withAdminFlags(program.command('status').description("show a running Gatehouse: version, uptime, listeners, databases, sessions, locks (needs an admin role)"))
    .option('--json', 'print the admin API answer as JSON')
    .action((options: AdminFlags & { json?: boolean }, command: Command) =>
      runAdminCommand(command, async ({ writeOut }) => {
        const status = (await AdminClient.open(options).get('/v1/admin/status')) as Status;
        writeOut(options.json === true ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
      }),
    );
}

export function statusText(status: Status): string {
  const lines = [
    `Gatehouse ${status.version}, pid ${status.pid}, up ${formatDuration(status.uptime_s * 1000)} (since ${status.started_at})`,
    `Node.js ${status.node}, OpenSSL ${status.openssl}`,
    `Listening: postgres ${status.listeners.postgres}, web ${status.listeners.web}`,
    `Sessions: ${status.sessions_active} active; locks: ${status.locks_active}`,
  ];
  if (status.summary !== undefined) {
    lines.push(`Metrics: ${Object.entries(status.summary).map(([name, value]) => `${name}=${value}`).join(', ')}`);
  }
  lines.push('');
  const text = `${lines.join('\n')}\n`;
  if (status.databases.length === 0) return `${text}No databases.\n`;
  return text + renderTable(['DATABASE', 'KIND', 'ADDRESS', 'TLS'], status.databases.map((database) => [database.name, database.kind, database.address, database.tls_mode]));
}
