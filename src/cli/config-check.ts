// `gatehouse config check`: validate a config file without starting anything, printing every problem
// as FILE:LINE:COL: PATH: MESSAGE (the form editors and CI annotate) or a one-line summary.
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { formatIssue } from '../config/issues.js';
import { commandOutput } from './command-output.js';

export function registerConfigCheckCommand(program: Command): void {
  // Other `config ...` subcommands may be registered too; share their parent rather than add a twin.
  const config =
    program.commands.find((command) => command.name() === 'config') ??
    program.command('config').description('work with the Gatehouse configuration file');
  config
    .command('check')
    .description('validate a configuration file and report every problem in it')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action((options: { config: string }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        const loaded = loadConfigFile(options.config);
        const counts = [
          count(loaded.databases.length, 'database'),
          count(loaded.roles.length, 'role'),
          count(loaded.users.length, 'user'),
        ];
        writeOut(`${options.config} is valid: ${counts.join(', ')}\n`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const issue of error.issues) writeErr(`${formatIssue(issue)}\n`);
        const problems = count(error.issues.length, 'problem');
        writeErr(`${options.config} is not valid: ${problems}\n`);
        process.exitCode = 1;
      }
    });
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
