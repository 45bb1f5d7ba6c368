// `gatehouse ssh-key show DB`: Gatehouse's public key for the SSH bastion in front of database DB,
// as the line to paste into the bastion's authorized_keys. The key pair is made on first use
// (Ed25519, private key 0600 in a 0700 directory) at ssh_tunnel.private_key_file, by default
// <data_dir>/ssh/DB_ed25519, the file the daemon logs in with. Only the line goes to stdout, so
// `gatehouse ssh-key show DB >> authorized_keys` works; what to do with it goes to stderr.
import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { ensureSshKeyPair } from '../ssh/ssh-keys.js';
import { reportCliError } from './cli-errors.js';
import { commandOutput } from './command-output.js';

export function registerSshKeyCommand(program: Command): void {
  // Other `ssh-key ...` subcommands may be registered too; share their parent rather than add a twin.
  const sshKey =
    program.commands.find((command) => command.name() === 'ssh-key') ??
    program.command('ssh-key').description("Gatehouse's SSH keys for databases behind a bastion (ssh_tunnel, see docs/ssh-bastion.md)");
  sshKey
    .command('show')
    .description("print the public key line for the bastion's authorized_keys, generating the key pair on first use")
    .argument('<database>', 'a database with an ssh_tunnel')
    .option('--config <file>', 'configuration file', 'config/gatehouse.yaml')
    .action((databaseName: string, options: { config: string }, command: Command) => {
      const { writeOut, writeErr } = commandOutput(command);
      try {
        const config = loadConfigFile(options.config);
        const database = config.databases.find((candidate) => candidate.name === databaseName);
        if (database === undefined) {
          const names = config.databases.map((candidate) => candidate.name);
          throw new GatehouseError(ErrorCodes.UNKNOWN_DATABASE, `database "${databaseName}" is not in ${options.config}`, {
            sqlState: SqlState.INTERNAL_ERROR,
            hint: names.length === 0 ? 'That file defines no databases.' : `Databases there: ${names.join(', ')}.`,
          });
        }
        const tunnel = database.ssh_tunnel;
        if (tunnel === undefined) {
          throw new GatehouseError(ErrorCodes.CONFIG_INVALID, `database "${databaseName}" has no ssh_tunnel in ${options.config}, so Gatehouse needs no SSH key for it`, {
            sqlState: SqlState.INTERNAL_ERROR,
            hint: 'Give it ssh_tunnel: { host, user, known_hosts_file } first (see docs/ssh-bastion.md).',
          });
        }
        const pair = ensureSshKeyPair(tunnel.private_key_file, database.name);
        writeOut(`${pair.publicKeyLine}\n`);
        if (pair.created) writeErr(`created ${pair.privateKeyFile} (mode 0600) and ${pair.privateKeyFile}.pub\n`);
        writeErr(`Add that line to ~${tunnel.user}/.ssh/authorized_keys on ${tunnel.host}; Gatehouse logs in there as ${tunnel.user} with this key.\n`);
      } catch (error) {
        reportCliError(error, writeErr);
      }
    });
}
