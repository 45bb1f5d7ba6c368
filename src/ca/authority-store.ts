// Gatehouse's CA files under proxy.ca_dir: the user CA (signs client certificates), the host CA
// (signs server certificates; psql's sslrootcert) and the proxy's own server certificate.
// `gatehouse ca init` creates what is missing; `gatehouse start` loads them and refuses to run on
// a missing, mismatched or readable-by-others file, saying which one and what to run.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseHostPort } from '../config/address.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { CertificateAuthority, type KeyPairPem } from './certificate-authority.js';
import { readPrivateKeyFile, writePrivateKeyFile } from './key-files.js';

export interface Authorities {
  userCa: CertificateAuthority;
  hostCa: CertificateAuthority;
  proxyServer: KeyPairPem;
}

export const AUTHORITY_FILES = {
  userCaCert: 'user_ca.crt',
  userCaKey: 'user_ca.key',
  hostCaCert: 'host_ca.crt',
  hostCaKey: 'host_ca.key',
  proxyCert: 'proxy.crt',
  proxyKey: 'proxy.key',
} as const;

export const USER_CA_NAME = 'Gatehouse user CA';
export const HOST_CA_NAME = 'Gatehouse host CA';
export const PROXY_CERT_VALIDITY_MS = 365 * 24 * 60 * 60 * 1000;
/** `ca init` re-issues a proxy certificate this close to expiry, so a yearly run never leaves a gap. */
const PROXY_RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
const INIT_COMMAND = 'run "gatehouse ca init --config FILE"';

/** Creates whatever of the CA files is missing; returns the paths it wrote. */
export function initAuthorities(caDir: string, publicAddr: string, now: () => number = Date.now): { created: string[] } {
  const host = publicHost(publicAddr);
  const created: string[] = [];
  if (!existsSync(caDir)) mkdirSync(caDir, { recursive: true, mode: 0o700 });
  ensureCa(caDir, AUTHORITY_FILES.userCaCert, AUTHORITY_FILES.userCaKey, USER_CA_NAME, created, now);
  const hostCa = ensureCa(caDir, AUTHORITY_FILES.hostCaCert, AUTHORITY_FILES.hostCaKey, HOST_CA_NAME, created, now);

  const certPath = join(caDir, AUTHORITY_FILES.proxyCert);
  const keyPath = join(caDir, AUTHORITY_FILES.proxyKey);
  if (proxyCertificateProblem(caDir, hostCa, host, now()) !== undefined) {
    const sans = proxySubjectAltNames(host);
    const pair = hostCa.issueServerCertificate({ commonName: host.length <= 64 ? host : 'Gatehouse proxy', ...sans, ttlMs: PROXY_CERT_VALIDITY_MS });
    writePrivateKeyFile(keyPath, pair.keyPem);
    writeFileSync(certPath, pair.certPem, { mode: 0o644 });
    created.push(keyPath, certPath);
  }
  return { created };
}

/** Loads and checks every CA file; throws a GatehouseError naming the file and the fix. */
export function loadAuthorities(caDir: string): Authorities {
  const missing = Object.values(AUTHORITY_FILES).filter((name) => !existsSync(join(caDir, name)));
  if (missing.length > 0) {
    throw caInvalid(`Gatehouse's certificate authority in ${caDir} is incomplete (missing ${missing.join(', ')}); ${INIT_COMMAND}`);
  }
  const userCa = loadCa(caDir, AUTHORITY_FILES.userCaCert, AUTHORITY_FILES.userCaKey);
  const hostCa = loadCa(caDir, AUTHORITY_FILES.hostCaCert, AUTHORITY_FILES.hostCaKey);
  const proxyServer = {
    certPem: readFileSync(join(caDir, AUTHORITY_FILES.proxyCert), 'utf8'),
    keyPem: readPrivateKeyFile(join(caDir, AUTHORITY_FILES.proxyKey)),
  };
  const problem = proxyPairProblem(proxyServer, hostCa, Date.now());
  if (problem !== undefined) {
    throw caInvalid(`the proxy certificate ${join(caDir, AUTHORITY_FILES.proxyCert)} ${problem}; ${INIT_COMMAND} to re-issue it`);
  }
  return { userCa, hostCa, proxyServer };
}

/** The host part of public_addr (which may carry a port), without brackets or a trailing dot. */
export function publicHost(publicAddr: string): string {
  if (isIP(publicAddr) === 6) return publicAddr;
  let host: string;
  try {
    host = parseHostPort(publicAddr, 0).host;
  } catch (error) {
    throw new GatehouseError(ErrorCodes.CONFIG_INVALID, `proxy.public_addr: ${(error as Error).message}`, { sqlState: SqlState.INTERNAL_ERROR });
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

function proxySubjectAltNames(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set<string>(['localhost']);
  const ipAddresses = new Set<string>(['127.0.0.1', '::1']);
  if (isIP(host) === 0) dnsNames.add(host.toLowerCase());
  else ipAddresses.add(host);
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}

function ensureCa(caDir: string, certName: string, keyName: string, commonName: string, created: string[], now: () => number): CertificateAuthority {
  const certPath = join(caDir, certName);
  const keyPath = join(caDir, keyName);
  const haveCert = existsSync(certPath);
  const haveKey = existsSync(keyPath);
  if (haveCert && haveKey) return loadCa(caDir, certName, keyName, now);
  if (haveCert || haveKey) {
    const [present, absent] = haveCert ? [certPath, keyPath] : [keyPath, certPath];
    throw caInvalid(
      `${present} exists but ${absent} does not; restore ${absent}, or delete ${present} to create a new CA ` +
        '(certificates the old one issued will stop working)',
    );
  }
  const ca = CertificateAuthority.create(commonName, undefined, now);
  writePrivateKeyFile(keyPath, ca.keyPem);
  writeFileSync(certPath, ca.certPem, { mode: 0o644 });
  created.push(keyPath, certPath);
  return ca;
}

function loadCa(caDir: string, certName: string, keyName: string, now: () => number = Date.now): CertificateAuthority {
  const certPath = join(caDir, certName);
  const pair = { certPem: readFileSync(certPath, 'utf8'), keyPem: readPrivateKeyFile(join(caDir, keyName)) };
  try {
    return CertificateAuthority.fromPem(pair, now);
  } catch (error) {
    if (error instanceof GatehouseError) throw caInvalid(`${certPath} and ${keyName}: ${error.message}`);
    throw error;
  }
}

/** Why proxy.crt/proxy.key must be (re-)issued, or undefined when they are fine for `host`. */
function proxyCertificateProblem(caDir: string, hostCa: CertificateAuthority, host: string, nowMs: number): string | undefined {
  const certPath = join(caDir, AUTHORITY_FILES.proxyCert);
  const keyPath = join(caDir, AUTHORITY_FILES.proxyKey);
  if (!existsSync(certPath) || !existsSync(keyPath)) return 'it is missing';
  const pair = { certPem: readFileSync(certPath, 'utf8'), keyPem: readPrivateKeyFile(keyPath) };
  const problem = proxyPairProblem(pair, hostCa, nowMs + PROXY_RENEW_BEFORE_MS);
  if (problem !== undefined) return problem;
  const certificate = new X509Certificate(pair.certPem);
  const covered = isIP(host) === 0 ? certificate.checkHost(host, { subject: 'never' }) !== undefined : certificate.checkIP(host) !== undefined;
  return covered ? undefined : `does not name ${host}, the host in proxy.public_addr`;
}

/** Why a proxy certificate and key cannot serve TLS at `atMs` under this host CA, or undefined. */
function proxyPairProblem(pair: KeyPairPem, hostCa: CertificateAuthority, atMs: number): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.certPem);
  } catch {
    return 'cannot be parsed';
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(pair.keyPem))) return 'does not match its private key';
  } catch {
    return 'has a private key that cannot be parsed';
  }
  const hostCaCertificate = new X509Certificate(hostCa.certPem);
  if (!certificate.checkIssued(hostCaCertificate) || !certificate.verify(hostCaCertificate.publicKey)) {
    return 'is not signed by the host CA';
  }
  if (new Date(certificate.validTo).getTime() <= atMs) return `expires on ${new Date(certificate.validTo).toISOString()}`;
  return undefined;
}

function caInvalid(message: string): GatehouseError {
  return new GatehouseError(ErrorCodes.CA_INVALID, message, { sqlState: SqlState.INTERNAL_ERROR });
}
