// `gatehouse reload`: what SIGHUP does, through the admin API (so it works from another host, in a
// container, or without the daemon's pid): gatehouse.yaml and the users file are read again. Prints
// the warnings (keys that need a restart) and the sessions the new configuration ended; an invalid
// configuration changes nothing and is listed line by line (exit 2).
import type { Command } from 'commander';
import { AdminClient, runAdminCommand, withAdminFlags, type AdminFlags } from './admin-client.js';

interface Reloaded {
  warnings: string[];
  sessions_ended: { id: string; user: string; reason: string }[];
}

export function registerReloadCommand(program: Command): void {
  withAdminFlags(program.command('reload').description('make the running Gatehouse read gatehouse.yaml and the users file again, like SIGHUP (needs an admin role)'))
    .option('--json', 'print the admin API answer as JSON')
    .action((options: AdminFlags & { json?: boolean }, command: Command) =>
      runAdminCommand(command, async ({ writeOut, writeErr }) => {
        const reloaded = (await AdminClient.open(options).post('/v1/admin/reload')) as Reloaded;
        if (options.json === true) {
          writeOut(`${JSON.stringify(reloaded, null, 2)}\n`);
          return;
        }
        for (const warning of reloaded.warnings) writeErr(`warning: ${warning}\n`);
        const ended = reloaded.sessions_ended;
        writeOut(`Reloaded the configuration. ${ended.length === 0 ? 'No running session was ended.' : `Ended ${ended.length} session(s) no longer allowed:`}\n`);
        for (const session of ended) writeOut(`  ${session.id} (${session.user}): ${session.reason}\n`);
      }),
    );
}
