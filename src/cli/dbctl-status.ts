// `dbctl status`: what dbctl holds for the current proxy, read from its files alone (it works
// offline): the proxy, the user and roles, the trusted CA, and each certificate's expiry, expired
// ones marked with the command that renews them.
import type { Command } from 'commander';
import { connectionSettings } from '../dbctl/connection-settings.js';
import { currentProfile, dbctlContext, isExpired, reloginCommand, timeLeft } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { renderTable } from '../dbctl/text-table.js';
import { commandOutput } from './command-output.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show the proxy, user, roles and the expiry of each certificate dbctl holds')
    .option('--format <format>', 'text or json', 'text')
    .action((options: { format: string }, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        if (options.format !== 'text' && options.format !== 'json') throw new DbctlError(`--format ${options.format}: use text or json`);
        const profile = currentProfile(context);
        const now = context.now();
        const databases = context.store.listDatabases(profile.name);
        const { profile: stored, identity } = profile;
        if (options.format === 'json') {
          const certificate = (notAfter: Date) => ({ expires_at: notAfter.toISOString(), expired: isExpired(notAfter, now) });
          const json = {
            proxy: stored.proxy,
            postgres_addr: stored.postgres_addr,
            user: stored.user,
            roles: stored.roles,
            ca_fingerprint: stored.ca_fingerprint,
            insecure: stored.insecure,
            identity: certificate(identity.notAfter),
            databases: databases.map((login) => ({ ...login.route, ...certificate(login.notAfter), ...pathsOf(connectionSettings(profile, login)) })),
          };
          context.writeOut(`${JSON.stringify(json, null, 2)}\n`);
          return;
        }
        const expiry = (notAfter: Date, renew: string) =>
          isExpired(notAfter, now) ? `EXPIRED at ${notAfter.toISOString()} (renew: ${renew})` : `valid until ${notAfter.toISOString()} (${timeLeft(notAfter, now)} left)`;
        const lines = [
          `Proxy:     ${stored.proxy} (Postgres at ${stored.postgres_addr})`,
          `User:      ${stored.user}`,
          `Roles:     ${stored.roles.join(', ') || 'none'}`,
          `CA:        ${stored.ca_fingerprint}${stored.insecure ? ' (accepted with --insecure, never confirmed)' : ''}`,
          `Identity:  ${expiry(identity.notAfter, reloginCommand(profile))}`,
        ];
        context.writeOut(`${lines.join('\n')}\n`);
        if (databases.length === 0) {
          context.writeOut('Databases: none logged in to ("dbctl ls" lists them, "dbctl login DATABASE" logs in)\n');
          return;
        }
        context.writeOut('Databases:\n');
        const rows = databases.map((login) => [
          login.route.database,
          login.route.db_user ?? '-',
          login.route.db_name ?? '-',
          expiry(login.notAfter, `dbctl login ${login.route.database}`),
        ]);
        context.writeOut(
          renderTable(['  DATABASE', 'DB USER', 'DB NAME', 'CERTIFICATE'], rows.map(([first, ...rest]) => [`  ${first as string}`, ...rest])),
        );
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}

function pathsOf(settings: { sslcert: string; sslkey: string; sslrootcert: string }): Record<string, string> {
  return { sslcert: settings.sslcert, sslkey: settings.sslkey, sslrootcert: settings.sslrootcert };
}
