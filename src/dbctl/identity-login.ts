// `dbctl login --proxy HOST:PORT --user NAME`: decide whether to trust the proxy (stored CA, pin,
// question or --insecure), get the password (and the TOTP code when Gatehouse asks for one),
// generate a key pair here, send only the public key, and store the identity certificate Gatehouse
// signs as the current profile. Nothing is written until Gatehouse has said yes.
import { DbctlError, ExitCode } from './dbctl-error.js';
import { caFingerprint, decideCaTrust, presentedCertificateProblem } from './ca-trust.js';
import { certificateMatchesKey, parseProxyAddress, type DbctlContext } from './dbctl-context.js';
import { fetchOfferedCa, login, type LoginAnswer } from './gatehouse-api.js';
import { generateClientKeyPair } from './key-pair.js';
import { managedSectionNames, readServiceFile, removeManagedSection, writeServiceFile } from './pg-service-file.js';
import { ProfileStore, type StoredProfile } from './profile-store.js';
import { readSecretFromStream } from './prompt.js';
import { WebClient, formatProxy } from './web-client.js';

export interface IdentityLoginOptions {
  proxy: string;
  user: string;
  passwordStdin: boolean;
  totp?: string;
  caFingerprint?: string;
  insecure: boolean;
}

export async function loginToProxy(context: DbctlContext, options: IdentityLoginOptions): Promise<StoredProfile> {
  const address = parseProxyAddress(options.proxy);
  const proxy = formatProxy(address);
  const name = ProfileStore.profileName(address);
  if (options.insecure) {
    context.writeErr(`WARNING: --insecure: accepting whatever CA ${proxy} offers without checking its fingerprint. Use this for development only.\n`);
  }
  const existing = loadQuietly(context, name);
  const trusted = await trustedCa(context, options, address, proxy, existing);
  const password = await readPassword(context, options, proxy);
  const keys = await generateClientKeyPair();
  const client = new WebClient({ proxy: address, caPem: trusted.caPem });
  const request = { user: options.user, password, publicKeyPem: keys.publicKeyPem, ...(options.totp === undefined ? {} : { totpCode: options.totp }) };
  let result = await login(client, request);
  if (result.kind === 'totp-required') {
    if (!context.prompter.interactive || options.passwordStdin) {
      throw new DbctlError(`login as ${options.user} refused: ${result.message}`, {
        exitCode: ExitCode.REFUSED,
        code: 'GH_ERR_TOTP_REQUIRED',
        hint: 'pass the current code from your authenticator app: --totp CODE',
      });
    }
    const totpCode = await context.prompter.line(`TOTP code for ${options.user}: `);
    result = await login(client, { ...request, totpCode });
    if (result.kind === 'totp-required') throw new DbctlError(`login as ${options.user} refused: ${result.message}`, { exitCode: ExitCode.REFUSED });
  }
  const answer = result.answer;
  if (!certificateMatchesKey(answer.identity_cert_pem, keys.publicKeyPem)) {
    throw new DbctlError(`${proxy} answered the login with a certificate for a key dbctl did not send`, { hint: 'tell your Gatehouse administrator' });
  }
  if (existing !== undefined && existing.user !== answer.user) forgetDatabases(context, name, existing.proxy, existing.user);
  const profile = context.store.saveProfile(name, profileOf(answer, proxy, trusted), trusted.caPem, {
    certPem: answer.identity_cert_pem,
    keyPem: keys.privateKeyPem,
  });
  context.store.setCurrent(name);
  return profile;
}

interface TrustedCa {
  caPem: string;
  fingerprint: string;
  insecure: boolean;
}

/** The host CA to verify the proxy with from now on, trusted by one of the ssh-like rules. */
async function trustedCa(
  context: DbctlContext,
  options: IdentityLoginOptions,
  address: { host: string; port: number },
  proxy: string,
  existing: { caPem: string; fingerprint: string; insecure: boolean } | undefined,
): Promise<TrustedCa> {
  // A known proxy is verified with the CA trusted before; a different CA there fails TLS loudly.
  if (existing !== undefined && options.caFingerprint === undefined && !options.insecure) {
    return { caPem: existing.caPem, fingerprint: existing.fingerprint, insecure: existing.insecure };
  }
  const offered = await fetchOfferedCa(new WebClient({ proxy: address, caPem: undefined }));
  const fingerprint = caFingerprint(offered.caPem);
  const problem = presentedCertificateProblem(offered.response.presented, offered.caPem, address.host, context.now());
  if (problem !== undefined) {
    throw new DbctlError(`not trusting the proxy at ${proxy}: ${problem}`, {
      hint: 'check --proxy (the host must be the one in Gatehouse\'s proxy.public_addr, or localhost/127.0.0.1); if it is right, tell your Gatehouse administrator',
    });
  }
  if (offered.fingerprint !== fingerprint) {
    throw new DbctlError(`not trusting the proxy at ${proxy}: it states the CA fingerprint ${offered.fingerprint}, but its CA's fingerprint is ${fingerprint}`, {
      hint: 'tell your Gatehouse administrator',
    });
  }
  if (existing !== undefined && existing.fingerprint === fingerprint && options.caFingerprint === undefined) {
    return { caPem: offered.caPem, fingerprint, insecure: existing.insecure };
  }
  const decision = decideCaTrust({
    proxy,
    seen: fingerprint,
    ...(options.caFingerprint === undefined ? {} : { pinned: options.caFingerprint }),
    insecure: options.insecure,
    canAsk: context.prompter.interactive && !options.passwordStdin,
  });
  if (decision === 'ask') {
    context.writeErr(`The authenticity of Gatehouse at ${proxy} can't be established.\nIts CA fingerprint is ${fingerprint}.\n`);
    if (existing !== undefined) context.writeErr(`dbctl trusted a different CA there before (${existing.fingerprint}).\n`);
    const yes = await context.prompter.confirm('Trust this CA and continue?');
    if (!yes) {
      throw new DbctlError(`not trusting the CA of ${proxy}; nothing was stored`, {
        hint: `compare the fingerprint with the one your Gatehouse administrator gives you; to pin it in scripts: --ca-fingerprint ${fingerprint}`,
      });
    }
  }
  return { caPem: offered.caPem, fingerprint, insecure: options.insecure && options.caFingerprint === undefined };
}

async function readPassword(context: DbctlContext, options: IdentityLoginOptions, proxy: string): Promise<string> {
  if (options.passwordStdin) return readSecretFromStream(context.stdin, '--password-stdin');
  if (!context.prompter.interactive) {
    throw new DbctlError('cannot ask for the password: stdin is not a terminal', { hint: 'pipe it in and add --password-stdin' });
  }
  const password = await context.prompter.secret(`Password for ${options.user} at ${proxy}: `);
  if (password === '') throw new DbctlError('no password given');
  return password;
}

function profileOf(answer: LoginAnswer, proxy: string, trusted: TrustedCa) {
  return {
    proxy,
    postgres_addr: answer.postgres_addr,
    user: answer.user,
    roles: answer.roles,
    ca_fingerprint: trusted.fingerprint,
    insecure: trusted.insecure,
  };
}

/** The profile as stored, or undefined when there is none or it is damaged (a new login rewrites it). */
function loadQuietly(context: DbctlContext, name: string): { caPem: string; fingerprint: string; insecure: boolean; user: string; proxy: string } | undefined {
  try {
    const stored = context.store.loadProfile(name);
    if (stored === undefined) return undefined;
    return { caPem: stored.caPem, fingerprint: caFingerprint(stored.caPem), insecure: stored.profile.insecure, user: stored.profile.user, proxy: stored.profile.proxy };
  } catch {
    return undefined;
  }
}

/** Another user logs in on this proxy: the previous user's database certificates and service sections go. */
function forgetDatabases(context: DbctlContext, name: string, proxy: string, previousUser: string): void {
  for (const database of context.store.databaseNames(name)) context.store.removeDatabase(name, database);
  const file = readServiceFile(context.serviceFile);
  let next = file;
  for (const section of managedSectionNames(file, proxy)) next = removeManagedSection(next, section, proxy).file;
  if (next !== file) writeServiceFile(context.serviceFile, next);
  context.writeErr(`note: logged out ${previousUser}'s databases on ${proxy}\n`);
}
