// What the administrator's commands (`gatehouse status|sessions|locks|reload`) share: talking to a
// running daemon's admin API. Run on the Gatehouse host with read access to ca_dir, a command signs
// itself a 5-minute identity certificate for the user named by --as (default $GATEHOUSE_USER) with
// the user CA, verifies the daemon's certificate with the host CA, and calls the API over mutual
// TLS; the daemon still checks that the user's roles have options.admin, and audits the call.
// Exit codes: 0 ok, 1 usage or local error (bad flags, unreadable CA, daemon unreachable), 2 the
// daemon refused (like dbctl).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { AUTHORITY_FILES } from '../ca/authority-store.js';
import { CertificateAuthority } from '../ca/certificate-authority.js';
import { readPrivateKeyFile } from '../ca/key-files.js';
import { parseHostPort } from '../config/address.js';
import { DEFAULT_DATA_DIR, DEFAULT_WEB_LISTEN_ADDR } from '../config/defaults.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { apiErrorBody, WebClient, type ApiResponse } from '../dbctl/web-client.js';
import { DbctlError } from '../dbctl/dbctl-error.js';
import { commandOutput, type CommandOutput } from './command-output.js';

export interface AdminFlags {
  config: string;
  as?: string;
  webAddr?: string;
}

export const AdminExit = { OK: 0, LOCAL: 1, REFUSED: 2 } as const;

/** A failure of an admin command: what happened, what to do, and the exit code. */
export class AdminCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
    /** Lines to print after the message (a reload's config problems). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'AdminCommandError';
  }
}

/** The identity certificate is good for this long: one command, with room for slow clocks. */
const IDENTITY_TTL_MS = 5 * 60_000;

/** Adds --config, --as and --web-addr to an admin command. */
export function withAdminFlags(command: Command): Command {
  return command
    .option('--config <file>', 'configuration file of the running Gatehouse', 'config/gatehouse.yaml')
    .option('--as <user>', 'the Gatehouse user to act as (a role with options.admin); default $GATEHOUSE_USER')
    .option('--web-addr <host:port>', "the daemon's web API; default proxy.web_listen_addr from the config");
}

export class AdminClient {
  private constructor(
    private readonly web: WebClient,
    readonly user: string,
  ) {}

  static open(flags: AdminFlags, env: NodeJS.ProcessEnv = process.env): AdminClient {
    const user = flags.as ?? env.GATEHOUSE_USER;
    if (user === undefined || user === '') {
      throw new AdminCommandError('say which Gatehouse user you act as: --as USER, or set GATEHOUSE_USER', AdminExit.LOCAL, 'the user needs a role with "options: { admin: true }"');
    }
    const { caDir, webListenAddr } = daemonLocation(flags.config);
    let userCa: CertificateAuthority;
    let hostCaPem: string;
    try {
      userCa = CertificateAuthority.fromPem({ certPem: readFileSync(join(caDir, AUTHORITY_FILES.userCaCert), 'utf8'), keyPem: readPrivateKeyFile(join(caDir, AUTHORITY_FILES.userCaKey)) });
      hostCaPem = readFileSync(join(caDir, AUTHORITY_FILES.hostCaCert), 'utf8');
    } catch (error) {
      throw new AdminCommandError(
        `cannot use Gatehouse's certificate authority in ${caDir}: ${(error as Error).message}`,
        AdminExit.LOCAL,
        'run this on the Gatehouse host, as the user Gatehouse runs as (the command signs its own short-lived certificate with the user CA)',
      );
    }
    const issued = userCa.issueClientCertificate({ user, ttlMs: IDENTITY_TTL_MS });
    const web = new WebClient({
      proxy: webAddress(flags.webAddr ?? webListenAddr, flags.webAddr === undefined),
      caPem: hostCaPem,
      clientCertificate: { certPem: issued.certPem, keyPem: issued.keyPem as string },
    });
    return new AdminClient(web, user);
  }

  get(path: string): Promise<unknown> {
    return this.call('GET', path);
  }

  post(path: string, body: Record<string, unknown> = {}): Promise<unknown> {
    return this.call('POST', path, body);
  }

  private async call(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<unknown> {
    let response: ApiResponse;
    try {
      response = await this.web.request(method, path, body);
    } catch (error) {
      if (error instanceof DbctlError) throw new AdminCommandError(error.message, AdminExit.LOCAL, error.hint);
      throw error;
    }
    if (response.status >= 200 && response.status < 300) return response.body;
    const problem = apiErrorBody(response.body);
    // 400 means this command sent something wrong, 5xx a daemon bug: local failures. The rest are refusals.
    const exitCode = response.status === 400 || response.status >= 500 ? AdminExit.LOCAL : AdminExit.REFUSED;
    if (problem === undefined) throw new AdminCommandError(`Gatehouse at ${this.web.proxyText} answered HTTP ${response.status}`, exitCode);
    const details = Array.isArray(problem.extra.errors) ? problem.extra.errors.map(String) : [];
    throw new AdminCommandError(`refused by Gatehouse: ${problem.message} (${problem.code})`, exitCode, problem.hint, details);
  }
}

/**
 * Runs one admin command's body, printing its failure the gatehouse way (message, indented details,
 * "hint: …") and setting the exit code; never calls process.exit, so output is flushed.
 */
export async function runAdminCommand(command: Command, body: (output: CommandOutput) => Promise<void>): Promise<void> {
  const output = commandOutput(command);
  try {
    await body(output);
  } catch (error) {
    const exitCode = error instanceof AdminCommandError ? error.exitCode : AdminExit.LOCAL;
    process.exitCode = exitCode;
    output.writeErr(`${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof AdminCommandError) for (const line of error.details) output.writeErr(`  ${line}\n`);
    const hint = (error as { hint?: unknown }).hint;
    if (typeof hint === 'string' && hint !== '') output.writeErr(`hint: ${hint}\n`);
  }
}

/**
 * Where the daemon keeps its CA and listens, from gatehouse.yaml. A file that does not validate is
 * still read for these three keys (with their defaults), so that `gatehouse reload` after a bad
 * edit reaches the daemon, which answers with the problems (and keeps its configuration).
 */
function daemonLocation(configFile: string): { caDir: string; webListenAddr: string } {
  try {
    const config = loadConfigFile(configFile);
    return { caDir: config.proxy.ca_dir, webListenAddr: config.proxy.web_listen_addr };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lenient = lenientLocation(configFile);
    if (lenient === undefined) throw error;
    return lenient;
  }
}

function lenientLocation(configFile: string): { caDir: string; webListenAddr: string } | undefined {
  let raw: unknown;
  try {
    const document = parseDocument(readFileSync(configFile, 'utf8'));
    if (document.errors.length > 0) return undefined;
    raw = document.toJS();
  } catch {
    return undefined;
  }
  const proxy = typeof raw === 'object' && raw !== null ? (raw as { proxy?: unknown }).proxy : undefined;
  const field = (name: string): string | undefined => {
    const value = typeof proxy === 'object' && proxy !== null ? (proxy as Record<string, unknown>)[name] : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const dataDir = resolve(field('data_dir') ?? DEFAULT_DATA_DIR);
  const caDirText = field('ca_dir');
  return { caDir: caDirText === undefined ? join(dataDir, 'certs') : resolve(caDirText), webListenAddr: field('web_listen_addr') ?? DEFAULT_WEB_LISTEN_ADDR };
}

/** host:port to reach the daemon at; a wildcard listen address is reached on loopback. */
function webAddress(text: string, fromConfig: boolean): { host: string; port: number } {
  let parsed: { host: string; port: number };
  try {
    parsed = parseHostPort(text, 3080);
  } catch (error) {
    throw new AdminCommandError(`--web-addr: ${(error as Error).message}`, AdminExit.LOCAL);
  }
  if (parsed.port === 0) {
    throw new AdminCommandError(
      `${fromConfig ? 'proxy.web_listen_addr' : '--web-addr'} has port 0, so the daemon's web port is only known to the daemon`,
      AdminExit.LOCAL,
      'pass --web-addr HOST:PORT with the port it printed at start ("listeners ready")',
    );
  }
  const host = parsed.host === '0.0.0.0' || parsed.host === '' ? '127.0.0.1' : parsed.host === '::' ? '::1' : parsed.host;
  return { host, port: parsed.port };
}
