// `gatehouse aws policy`: prints the IAM policy JSON Gatehouse's AWS identity needs for the Redshift
// and Redshift Serverless databases in a config, with the ARNs filled in, ready for
// `aws iam put-role-policy --policy-document file://...`. The JSON alone goes to stdout so it can be
// redirected to a file; what to attach where goes to stderr.
import type { Command } from 'commander';
import { gatehousePolicy } from '../aws/iam-policy.js';
import { loadConfigFile } from '../config/load.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';

export function registerAwsPolicyCommand(program: Command): void {
  // Other `aws ...` subcommands may be registered too; share their parent rather than add a twin.
  const aws = program.commands.find((command) => command.name() === 'aws') ?? program.command('aws').description('work with the AWS side of Redshift databases');
  aws
    .command('policy')
    .description('print the IAM policy Gatehouse needs for the Redshift databases in a config')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .option('--account-id <id>', "the AWS account of the clusters and workgroups (default: the account of each database's assume_role_arn, else *)")
    .action((options: { config: string; accountId?: string }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        if (options.accountId !== undefined && !/^\d{12}$/.test(options.accountId)) {
          throw new GatehouseError(ErrorCodes.CONFIG_INVALID, `--account-id ${JSON.stringify(options.accountId)} is not an AWS account id`, {
            sqlState: SqlState.INTERNAL_ERROR,
            hint: 'An account id is 12 digits, e.g. 123456789012.',
          });
        }
        const { policy, notes } = gatehousePolicy(loadConfigFile(options.config), options.accountId);
        writeOut(`${JSON.stringify(policy, null, 2)}\n`);
        for (const note of notes) writeErr(`note: ${note}\n`);
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}
