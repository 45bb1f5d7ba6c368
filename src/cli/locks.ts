// `gatehouse locks add --user U [--db NAME] [--ttl 1h] --reason TEXT`, `locks ls [--json]` and
// `locks rm ID`: locking a user out (of one database or all), which ends their matching sessions at
// once and refuses new ones until the lock expires or is removed. Through the admin API, which
// keeps the locks in <data_dir>/locks.yaml; needs an administrator (admin-client.ts).
import type { Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { renderTable } from '../dbctl/text-table.js';
import { AdminClient, AdminCommandError, AdminExit, runAdminCommand, withAdminFlags, type AdminFlags } from './admin-client.js';

interface ListedLock {
  id: string;
  user: string;
  database?: string;
  reason: string;
  created_by: string;
  created_at: string;
  expires_at?: string;
}

interface AddFlags extends AdminFlags {
  user: string;
  db?: string;
  ttl?: string;
  reason: string;
}

export function registerLocksCommand(program: Command): void {
  const locks =
    program.commands.find((command) => command.name() === 'locks') ??
    program.command('locks').description('lock users out of a running Gatehouse, list and lift locks (needs an admin role)');
  withAdminFlags(locks.command('add').description("lock a user out: ends the user's matching sessions now and refuses new ones"))
    .requiredOption('--user <name>', 'the Gatehouse user to lock')
    .option('--db <name>', 'lock only this database (default: every database)')
    .option('--ttl <duration>', 'lift the lock by itself after this long, e.g. 30m or 8h (default: until "locks rm")')
    .requiredOption('--reason <text>', 'why; the user is told, and the audit trail keeps it')
    .action((options: AddFlags, command: Command) =>
      runAdminCommand(command, async ({ writeOut }) => {
        if (options.ttl !== undefined) checkTtl(options.ttl);
        const body = {
          user: options.user,
          ...(options.db === undefined ? {} : { database: options.db }),
          ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
          reason: options.reason,
        };
        const answer = (await AdminClient.open(options).post('/v1/admin/locks', body)) as { lock: ListedLock; sessions_ended: number };
        const { lock } = answer;
        const scope = lock.database === undefined ? 'every database' : `database ${lock.database}`;
        const until = lock.expires_at === undefined ? 'until removed' : `until ${lock.expires_at}`;
        writeOut(`Locked ${lock.user} out of ${scope} ${until} (lock ${lock.id}); ended ${answer.sessions_ended} running session(s).\n`);
        writeOut(`Lift it with: gatehouse locks rm ${lock.id}\n`);
      }),
    );
  withAdminFlags(locks.command('ls').description('list the locks in force'))
    .option('--json', 'print JSON for scripts')
    .action((options: AdminFlags & { json?: boolean }, command: Command) =>
      runAdminCommand(command, async ({ writeOut }) => {
        const answer = (await AdminClient.open(options).get('/v1/admin/locks')) as { locks: ListedLock[] };
        writeOut(options.json === true ? `${JSON.stringify(answer, null, 2)}\n` : locksTable(answer.locks));
      }),
    );
  withAdminFlags(locks.command('rm').description('lift a lock').argument('<id>', 'the lock id, from "gatehouse locks ls"'))
    .action((id: string, options: AdminFlags, command: Command) =>
      runAdminCommand(command, async ({ writeOut }) => {
        const answer = (await AdminClient.open(options).post('/v1/admin/locks/remove', { id })) as { removed: ListedLock };
        const { removed } = answer;
        writeOut(`Removed lock ${removed.id} on ${removed.user}${removed.database === undefined ? '' : ` (database ${removed.database})`}.\n`);
      }),
    );
}

function checkTtl(text: string): void {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw new AdminCommandError(`--ttl: ${(error as Error).message}`, AdminExit.LOCAL);
  }
  if (ms <= 0) throw new AdminCommandError('--ttl must be longer than 0; leave it out for a lock that lasts until "gatehouse locks rm"', AdminExit.LOCAL);
}

function locksTable(locks: readonly ListedLock[]): string {
  if (locks.length === 0) return 'No locks in force.\n';
  return renderTable(
    ['ID', 'USER', 'DATABASE', 'EXPIRES', 'BY', 'CREATED', 'REASON'],
    locks.map((lock) => [lock.id, lock.user, lock.database ?? '*', lock.expires_at ?? 'never', lock.created_by, lock.created_at, lock.reason]),
  );
}
