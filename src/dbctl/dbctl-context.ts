// What every dbctl command works with: where its files are (DBCTL_HOME, the pg service file),
// the clock, the terminal, and the current profile with a web client that authenticates as it.
// Built from the environment once per command, so tests run the real executable with another HOME.
import { X509Certificate } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readPrivateKeyFile } from '../ca/key-files.js';
import { parseHostPort } from '../config/address.js';
import { DbctlError } from './dbctl-error.js';
import { serviceFilePath } from './pg-service-file.js';
import { ProfileStore, type StoredProfile } from './profile-store.js';
import { TerminalPrompter, type Prompter } from './prompt.js';
import { WebClient } from './web-client.js';

export interface DbctlContext {
  store: ProfileStore;
  serviceFile: string;
  now: () => number;
  prompter: Prompter;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  writeOut: (text: string) => void;
  writeErr: (text: string) => void;
}

export function dbctlContext(output: { writeOut: (text: string) => void; writeErr: (text: string) => void }, env: NodeJS.ProcessEnv = process.env): DbctlContext {
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
  const dbctlHome = env.DBCTL_HOME !== undefined && env.DBCTL_HOME !== '' ? env.DBCTL_HOME : join(home, '.dbctl');
  return {
    // Absolute, because the paths dbctl writes into service files and commands must work from anywhere.
    store: new ProfileStore(resolve(dbctlHome)),
    serviceFile: resolve(serviceFilePath({ ...env, HOME: home })),
    now: Date.now,
    prompter: new TerminalPrompter(),
    stdin: process.stdin,
    env,
    ...output,
  };
}

/** The default port of Gatehouse's web API (proxy.web_listen_addr). */
export const DEFAULT_WEB_PORT = 3080;

export function parseProxyAddress(text: string): { host: string; port: number } {
  try {
    return parseHostPort(text, DEFAULT_WEB_PORT);
  } catch (error) {
    throw new DbctlError(`--proxy: ${(error as Error).message}`, { hint: 'give the address of Gatehouse\'s web API, e.g. --proxy gatehouse.example.com:3080' });
  }
}

/** The profile commands act on; refuses with the login command when there is none. */
export function currentProfile(context: DbctlContext): StoredProfile {
  const name = context.store.currentName();
  const profile = name === undefined ? undefined : context.store.loadProfile(name);
  if (profile === undefined) {
    throw new DbctlError('you are not logged in to a Gatehouse', { hint: 'log in first: dbctl login --proxy HOST:PORT --user NAME' });
  }
  return profile;
}

/** The command that renews a profile's identity certificate. */
export function reloginCommand(profile: StoredProfile): string {
  return `dbctl login --proxy ${profile.profile.proxy} --user ${profile.profile.user}`;
}

export function isExpired(notAfter: Date, now: number): boolean {
  return notAfter.getTime() <= now;
}

/** A web client that verifies the proxy with the stored CA and presents the identity certificate. */
export function authenticatedClient(profile: StoredProfile): WebClient {
  return new WebClient({
    proxy: parseHostPort(profile.profile.proxy, DEFAULT_WEB_PORT),
    caPem: profile.caPem,
    clientCertificate: { certPem: profile.identity.certPem, keyPem: readPrivateKeyFile(profile.identity.keyPath) },
  });
}

/**
 * Runs an API call with the identity certificate. When it fails without an answer from Gatehouse
 * (a TLS alert, a reset) and the identity certificate has expired by this machine's clock, that
 * is the likely cause and the error says so, with the command that renews it.
 */
export async function withIdentity<T>(context: DbctlContext, profile: StoredProfile, call: (client: WebClient, relogin: string) => Promise<T>): Promise<T> {
  const relogin = reloginCommand(profile);
  try {
    return await call(authenticatedClient(profile), relogin);
  } catch (error) {
    if (error instanceof DbctlError && error.code === undefined && isExpired(profile.identity.notAfter, context.now())) {
      throw new DbctlError(`your identity certificate for ${profile.profile.proxy} expired at ${profile.identity.notAfter.toISOString()} (${error.message})`, {
        hint: `run: ${relogin}`,
        exitCode: error.exitCode,
        cause: error,
      });
    }
    throw error;
  }
}

/** Whether a certificate (PEM) holds the public key of `privateKeyPem`'s pair: Gatehouse signed what dbctl sent. */
export function certificateMatchesKey(certPem: string, publicKeyPem: string): boolean {
  try {
    const certificateKey = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    return certificateKey.trim() === publicKeyPem.trim();
  } catch {
    return false;
  }
}

/** "7h59m", "12m", "30s": how long until `at`. */
export function timeLeft(at: Date, now: number): string {
  const seconds = Math.max(0, Math.round((at.getTime() - now) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}
