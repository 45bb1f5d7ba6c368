#!/usr/bin/env node
// The `dbctl` executable: the user's client. Its commands (login, ls, logout, connect, config,
// proxy) arrive with the login service; until then it says so instead of pretending.
import { Command } from 'commander';
import { packageVersion } from './version.js';

const program = new Command('dbctl')
  .description('dbctl: get short-lived Gatehouse certificates and connect to databases through Gatehouse')
  .version(packageVersion())
  .showHelpAfterError();

program.action(() => {
  console.error('dbctl has no commands in this version yet; ask your administrator for a certificate ("gatehouse certs issue").');
  process.exitCode = 1;
});

await program.parseAsync(process.argv);
