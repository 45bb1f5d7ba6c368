// `gatehouse sessions ls [--json]` and `gatehouse sessions kill ID [--reason TEXT]`: the running
// sessions of a Gatehouse, and ending one at once (its client gets FATAL 57P01 naming the
// administrator and the reason). Through the admin API; needs an administrator (admin-client.ts).
import type { Command } from 'commander';
import { renderTable } from '../dbctl/text-table.js';
import { AdminClient, runAdminCommand, withAdminFlags, type AdminFlags } from './admin-client.js';

interface ListedSession {
  id: string;
  user: string;
  database: string;
  db_user: string;
  db_name: string;
  client_addr: string;
  started_at: string;
  bytes_from_client: number;
  bytes_to_client: number;
}

export function registerSessionsCommand(program: Command): void {
  const sessions =
    program.commands.find((command) => command.name() === 'sessions') ??
    program.command('sessions').description('list and end the sessions of a running Gatehouse (needs an admin role)');
  withAdminFlags(sessions.command('ls').description('list the running sessions'))
    .option('--json', 'print JSON for scripts')
    .action((options: AdminFlags & { json?: boolean }, command: Command) =>
      runAdminCommand(command, async ({ writeOut }) => {
        const answer = (await AdminClient.open(options).get('/v1/admin/sessions')) as { sessions: ListedSession[] };
        writeOut(options.json === true ? `${JSON.stringify(answer, null, 2)}\n` : sessionsTable(answer.sessions));
      }),
    );
  withAdminFlags(sessions.command('kill').description('end a running session at once (its client is told who ended it and why)').argument('<id>', 'the session id, from "gatehouse sessions ls"'))
    .option('--reason <text>', 'why; the client and the audit trail see it')
    .action((id: string, options: AdminFlags & { reason?: string }, command: Command) =>
      runAdminCommand(command, async ({ writeOut }) => {
        const answer = (await AdminClient.open(options).post('/v1/admin/sessions/kill', { id, ...(options.reason === undefined ? {} : { reason: options.reason }) })) as {
          killed: ListedSession;
        };
        const { killed } = answer;
        writeOut(`Ended session ${killed.id} of ${killed.user} on ${killed.database} (db user ${killed.db_user}, db name ${killed.db_name}, from ${killed.client_addr}).\n`);
      }),
    );
}

function sessionsTable(sessions: readonly ListedSession[]): string {
  if (sessions.length === 0) return 'No running sessions.\n';
  return renderTable(
    ['ID', 'USER', 'DATABASE', 'DB USER', 'DB NAME', 'CLIENT', 'STARTED', 'BYTES IN', 'BYTES OUT'],
    sessions.map((session) => [
      session.id,
      session.user,
      session.database,
      session.db_user,
      session.db_name,
      session.client_addr,
      session.started_at,
      String(session.bytes_from_client),
      String(session.bytes_to_client),
    ]),
  );
}
