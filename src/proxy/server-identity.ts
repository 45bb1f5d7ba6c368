// verify-full's name check of the database's certificate, made from the X509Certificate the TLS
// connection already holds instead of the detailed certificate object Node builds for it.
//
// Why: on every verified handshake, tls.connect calls getPeerCertificate(true) to hand
// checkServerIdentity a description of the whole chain, which copies each certificate (OpenSSL 3
// re-parses its public key, about 0.3 ms a certificate) and formats every field: about a tenth of
// the CPU Gatehouse spent on a new connection, for two fields. The check itself is still Node's own
// tls.checkServerIdentity, given the same subjectAltName text Node would give it, so the rules
// (wildcards, IP addresses, the CN fallback) are exactly Node's. Only when the subject could decide
// (a DNS name and no DNS entry among the alternative names, where the CN is used) is the full
// legacy description built, with X509Certificate.toLegacyObject(), which is what Node would pass.
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import tls from 'node:tls';

/** Why the certificate does not carry `serverName` (Node's own error), or undefined when it does. */
export function serverIdentityError(certificate: X509Certificate | undefined, serverName: string): Error | undefined {
  if (certificate === undefined) return new Error('the database presented no certificate');
  const altNames = certificate.subjectAltName;
  const peer: Pick<tls.PeerCertificate, 'subject' | 'subjectaltname'> = subjectCanDecide(serverName, altNames)
    ? certificate.toLegacyObject()
    : { subject: {} as tls.Certificate, subjectaltname: altNames ?? '' };
  return tls.checkServerIdentity(serverName, peer as tls.PeerCertificate);
}

/**
 * Whether tls.checkServerIdentity would look at the subject: for a host name (not an IP address,
 * after the trailing dot it removes) when no alternative name it parses is a DNS name. Names with
 * quotes are parsed by Node with its escaping rules; those take the exact path too.
 */
function subjectCanDecide(serverName: string, altNames: string | undefined): boolean {
  if (isIP(serverName.endsWith('.') ? serverName.slice(0, -1) : serverName) !== 0) return false;
  if (altNames === undefined || altNames === '' || altNames.includes('"')) return true;
  return !altNames.split(', ').some((name) => name.startsWith('DNS:'));
}
