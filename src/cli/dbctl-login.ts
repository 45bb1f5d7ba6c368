// `dbctl login`: log in to a Gatehouse proxy (--proxy, --user: an identity certificate), to a
// database (DB: a database certificate and a pg service section), or both in one go:
//   dbctl login --proxy gatehouse.example.com:3080 --user alice local
import type { Command } from 'commander';
import { connectionSettings } from '../dbctl/connection-settings.js';
import { psqlCommandLine } from '../dbctl/connection-formats.js';
import { databaseRequest, describeDatabaseLogin, loginToDatabase } from '../dbctl/database-login.js';
import { currentProfile, dbctlContext, timeLeft, type DbctlContext } from '../dbctl/dbctl-context.js';
import { DbctlError, reportDbctlError } from '../dbctl/dbctl-error.js';
import { loginToProxy } from '../dbctl/identity-login.js';
import type { StoredProfile } from '../dbctl/profile-store.js';
import { commandOutput } from './command-output.js';

interface LoginOptions {
  proxy?: string;
  user?: string;
  passwordStdin?: boolean;
  totp?: string;
  caFingerprint?: string;
  insecure?: boolean;
  dbUser?: string;
  dbName?: string;
}

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('log in to Gatehouse (--proxy, --user) and/or to a database (DATABASE)')
    .argument('[database]', 'a database to get a certificate for and write a pg service section for')
    .option('--proxy <host:port>', "Gatehouse's web API (proxy.web_listen_addr); default: the current profile's")
    .option('--user <name>', 'your Gatehouse user name; default: the current profile\'s')
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .option('--totp <code>', 'the current code from your authenticator app, when your account has TOTP')
    .option('--ca-fingerprint <sha256:hex>', "pin the proxy's CA (as your administrator gives it) instead of being asked")
    .option('--insecure', 'development only: trust whatever CA the proxy offers without asking')
    .option('--db-user <name>', 'default database user written into the database certificate')
    .option('--db-name <name>', 'default database name written into the database certificate')
    .addHelpText(
      'after',
      '\nExamples:\n  dbctl login --proxy gatehouse.example.com:3080 --user alice\n  dbctl login local\n' +
        '  pass show gatehouse | dbctl login --proxy gh:3080 --user alice --password-stdin --ca-fingerprint sha256:… local',
    )
    .action(async (database: string | undefined, options: LoginOptions, command: Command) => {
      const context = dbctlContext(commandOutput(command));
      try {
        await runLogin(context, database, options);
      } catch (error) {
        reportDbctlError(error, context.writeErr);
      }
    });
}

async function runLogin(context: DbctlContext, database: string | undefined, options: LoginOptions): Promise<void> {
  const identityAsked =
    options.proxy !== undefined || options.user !== undefined || options.passwordStdin === true || options.totp !== undefined || options.caFingerprint !== undefined || options.insecure === true;
  if (!identityAsked && database === undefined) {
    throw new DbctlError('say what to log in to', {
      hint: 'dbctl login --proxy HOST:PORT --user NAME to log in to Gatehouse, dbctl login DATABASE for a database (see dbctl ls)',
    });
  }
  if (database === undefined && (options.dbUser !== undefined || options.dbName !== undefined)) {
    throw new DbctlError('--db-user and --db-name go with a database', { hint: 'dbctl login DATABASE --db-user NAME' });
  }
  let profile: StoredProfile;
  if (identityAsked) {
    const previous = currentProfileOrUndefined(context);
    const proxy = options.proxy ?? previous?.profile.proxy;
    if (proxy === undefined) throw new DbctlError('--proxy is needed the first time', { hint: 'dbctl login --proxy HOST:PORT --user NAME (ask your administrator for the address)' });
    const user = options.user ?? (previous !== undefined && previous.profile.proxy === proxy ? previous.profile.user : undefined);
    if (user === undefined) throw new DbctlError('--user is needed', { hint: `dbctl login --proxy ${proxy} --user NAME` });
    profile = await loginToProxy(context, {
      proxy,
      user,
      passwordStdin: options.passwordStdin === true,
      insecure: options.insecure === true,
      ...(options.totp === undefined ? {} : { totp: options.totp }),
      ...(options.caFingerprint === undefined ? {} : { caFingerprint: options.caFingerprint }),
    });
    const { profile: stored, identity } = profile;
    context.writeOut(
      `Logged in to Gatehouse at ${stored.proxy} as ${stored.user} (roles: ${stored.roles.join(', ') || 'none'}).\n` +
        `Your identity certificate is valid until ${identity.notAfter.toISOString()} (${timeLeft(identity.notAfter, context.now())}).\n`,
    );
    if (database === undefined) {
      context.writeOut('Next: "dbctl ls" lists the databases you may use; "dbctl login DATABASE" gets a certificate for one.\n');
      return;
    }
  } else {
    profile = currentProfile(context);
  }
  const result = await loginToDatabase(context, profile, databaseRequest(database as string, options));
  context.writeOut(`${describeDatabaseLogin(result, context.serviceFile)}\nConnect with:\n  psql "service=${result.login.route.database}"\n`);
  context.writeOut(`or, without the service file:\n  ${psqlCommandLine(connectionSettings(profile, result.login))}\n`);
}

function currentProfileOrUndefined(context: DbctlContext): StoredProfile | undefined {
  try {
    return currentProfile(context);
  } catch {
    return undefined;
  }
}
