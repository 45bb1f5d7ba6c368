#!/usr/bin/env node
// The `dbctl` executable: the user's client. It logs in to Gatehouse's web API, keeps short-lived
// certificates under ~/.dbctl (DBCTL_HOME), writes pg service sections, and connects psql, dbt,
// GUI clients (through a local proxy) and scripts to databases through Gatehouse.
// Exit codes: 0 success, 1 usage or local error, 2 Gatehouse refused.
import { Command } from 'commander';
import { registerConfigCommand } from './dbctl-config.js';
import { registerConnectCommand } from './dbctl-connect.js';
import { registerLoginCommand } from './dbctl-login.js';
import { registerLogoutCommand } from './dbctl-logout.js';
import { registerLsCommand } from './dbctl-ls.js';
import { registerProxyCommand } from './dbctl-proxy.js';
import { registerStatusCommand } from './dbctl-status.js';
import { packageVersion } from './version.js';

const program = new Command('dbctl')
  .description('dbctl: get short-lived Gatehouse certificates and connect to databases through Gatehouse')
  .version(packageVersion())
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nStart with: dbctl login --proxy HOST:PORT --user NAME, then dbctl ls and dbctl login DATABASE.\n' +
      'Files: $DBCTL_HOME (default ~/.dbctl) and the pg service file ($PGSERVICEFILE or ~/.pg_service.conf).\n' +
      'Exit codes: 0 success, 1 usage or local error, 2 Gatehouse refused.',
  );

registerLoginCommand(program);
registerLsCommand(program);
registerStatusCommand(program);
registerConnectCommand(program);
registerConfigCommand(program);
registerProxyCommand(program);
registerLogoutCommand(program);

await program.parseAsync(process.argv);
