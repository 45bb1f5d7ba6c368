// `gatehouse ca init`: create Gatehouse's user CA, host CA and proxy certificate under
// proxy.ca_dir, keeping whatever already exists (re-running it is safe), and re-issuing the proxy
// certificate when public_addr changed.
import type { Command } from 'commander';
import { initAuthorities } from '../ca/authority-store.js';
import { loadConfigFile } from '../config/load.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';

export function registerCaInitCommand(program: Command): void {
  // Other `ca ...` subcommands may be registered too; share their parent rather than add a twin.
  const ca = program.commands.find((command) => command.name() === 'ca') ?? program.command('ca').description("manage Gatehouse's certificate authorities");
  ca.command('init')
    .description('create the user CA, the host CA and the proxy certificate in proxy.ca_dir (only what is missing)')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action((options: { config: string }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        const config = loadConfigFile(options.config);
        const { created } = initAuthorities(config.proxy.ca_dir, config.proxy.public_addr);
        if (created.length === 0) {
          writeOut(`Everything already exists in ${config.proxy.ca_dir}; nothing to do.\n`);
          return;
        }
        for (const path of created) writeOut(`created ${path}\n`);
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}
