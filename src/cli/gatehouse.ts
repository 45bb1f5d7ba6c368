#!/usr/bin/env node
// The `gatehouse` executable: the daemon (`start`) and the administrator's commands.
import { Command } from 'commander';
import { registerAwsPolicyCommand } from './aws-policy.js';
import { registerCaInitCommand } from './ca-init.js';
import { registerCertsIssueCommand } from './certs-issue.js';
import { registerConfigCheckCommand } from './config-check.js';
import { registerLocksCommand } from './locks.js';
import { registerReloadCommand } from './reload.js';
import { registerSessionsCommand } from './sessions.js';
import { registerSshKeyCommand } from './ssh-key.js';
import { registerStartCommand } from './start.js';
import { registerStatusCommand } from './status.js';
import { registerUsersCommand } from './users.js';
import { packageVersion } from './version.js';

const program = new Command('gatehouse')
  .description('Gatehouse: a Postgres access proxy with short-lived client certificates, RBAC and audit')
  .version(packageVersion())
  .showHelpAfterError();

registerStartCommand(program);
registerConfigCheckCommand(program);
registerCaInitCommand(program);
registerCertsIssueCommand(program);
registerAwsPolicyCommand(program);
registerUsersCommand(program);
registerStatusCommand(program);
registerSessionsCommand(program);
registerLocksCommand(program);
registerReloadCommand(program);
registerSshKeyCommand(program);

await program.parseAsync(process.argv);
