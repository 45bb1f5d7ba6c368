// Trust on first use, the way ssh does it: the first time dbctl meets a proxy it shows the
// fingerprint of the host CA the proxy offers (GET /v1/ca) and asks; `--ca-fingerprint` pins it
// for scripts; afterwards the stored CA verifies the proxy (verify-full). Before anything is
// shown, the certificate the proxy presented on that very TLS connection must chain to the CA it
// offered and name the host dialled: a CA that does not match the server is refused, whatever the
// person would have answered.
import { X509Certificate, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { DbctlError } from './dbctl-error.js';

const FINGERPRINT_PREFIX = 'sha256:';

/** `sha256:` + 64 lowercase hex digits of SHA-256 over the certificate's DER. */
export function caFingerprint(caPem: string): string {
  return `${FINGERPRINT_PREFIX}${createHash('sha256').update(parseCertificate(caPem, 'the CA certificate').raw).digest('hex')}`;
}

/**
 * A fingerprint as people paste it, in the canonical form: `sha256:<hex>`, bare hex, or OpenSSL's
 * `AB:CD:…` (with or without "SHA256 Fingerprint="). Undefined when it is none of those.
 */
export function normalizeFingerprint(text: string): string | undefined {
  let value = text.trim();
  const openssl = /^sha256 fingerprint=/i;
  if (openssl.test(value)) value = value.replace(openssl, '');
  else if (value.toLowerCase().startsWith(FINGERPRINT_PREFIX)) value = value.slice(FINGERPRINT_PREFIX.length);
  const hex = value.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? `${FINGERPRINT_PREFIX}${hex}` : undefined;
}

/**
 * Why the server certificate a proxy presented cannot be trusted under `caPem` for `host`, or
 * undefined when it chains to the CA, is within its validity and names the host.
 */
export function presentedCertificateProblem(presented: X509Certificate | undefined, caPem: string, host: string, nowMs: number): string | undefined {
  if (presented === undefined) return 'the proxy presented no server certificate';
  let ca: X509Certificate;
  try {
    ca = parseCertificate(caPem, 'the CA it offered');
  } catch (error) {
    return (error as Error).message;
  }
  if (!ca.ca) return 'the CA it offered is not a CA certificate';
  if (!presented.checkIssued(ca) || !presented.verify(ca.publicKey)) {
    return 'its server certificate is not signed by the CA it offered';
  }
  if (new Date(presented.validFrom).getTime() > nowMs) return `its server certificate is not valid before ${new Date(presented.validFrom).toISOString()}`;
  if (new Date(presented.validTo).getTime() <= nowMs) return `its server certificate expired at ${new Date(presented.validTo).toISOString()}`;
  const named = isIP(host) === 0 ? presented.checkHost(host) !== undefined : presented.checkIP(host) !== undefined;
  if (!named) return `its server certificate does not name ${host}, the host you gave`;
  return undefined;
}

export interface TrustQuestion {
  /** host:port of the proxy, for messages. */
  proxy: string;
  /** The fingerprint of the CA the proxy offered. */
  seen: string;
  /** --ca-fingerprint, as given. */
  pinned?: string;
  insecure: boolean;
  /** Whether a person can be asked (stdin is a terminal and not used for the password). */
  canAsk: boolean;
}

/**
 * What to do about a CA seen on first contact: trust it without asking (pinned and matching, or
 * --insecure) or ask. Throws a DbctlError for a pin that does not match (loudly: it may be an
 * attack) and when nobody can be asked and nothing was pinned.
 */
export function decideCaTrust(question: TrustQuestion): 'trust' | 'ask' {
  if (question.pinned !== undefined) {
    const pinned = normalizeFingerprint(question.pinned);
    if (pinned === undefined) {
      throw new DbctlError(`--ca-fingerprint ${JSON.stringify(question.pinned)} is not a SHA-256 fingerprint`, {
        hint: 'write it as sha256: followed by 64 hex digits, as "dbctl login" shows it',
      });
    }
    if (pinned !== question.seen) {
      throw new DbctlError(
        [
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
          '@  WARNING: THE PROXY\'S CA DOES NOT MATCH YOUR PIN  @',
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
          `The proxy at ${question.proxy} offered the CA ${question.seen},`,
          `but --ca-fingerprint says ${pinned}.`,
          'Someone could be intercepting this connection. Nothing was sent and nothing was stored.',
        ].join('\n'),
        { hint: 'check the fingerprint with your Gatehouse administrator (it is the SHA-256 of the host CA certificate, host_ca.crt)' },
      );
    }
    return 'trust';
  }
  if (question.insecure) return 'trust';
  if (!question.canAsk) {
    throw new DbctlError(
      `the proxy at ${question.proxy} is new to dbctl and its CA (${question.seen}) cannot be confirmed: there is no terminal to ask on`,
      { hint: `check the fingerprint with your Gatehouse administrator, then pin it: --ca-fingerprint ${question.seen}` },
    );
  }
  return 'ask';
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new DbctlError(`${what} cannot be parsed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
