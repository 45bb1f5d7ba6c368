// Who a client is, read from the certificate it presented: the Gatehouse user (Subject CN) and the
// route signed into the route extension. A certificate without that extension is a dbctl identity
// certificate (route undefined): the web API accepts it, the Postgres listener does not. This runs on every client connection, so it uses Node's
// native X509Certificate and a small DER walk, never node-forge. It does not verify anything: the
// TLS layer has already checked the chain to the user CA; this only reads, and reads carefully,
// since a certificate from any CA reaches here when verification is left to the session.
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { DerError, DerTag, children, contentEquals, expectTlv, readTlv, type Tlv } from './der.js';
import { ROUTE_EXTENSION_OID_CONTENT, decodeRouteExtension, readText, type RouteToDatabase } from './route-extension.js';

export interface Identity {
  user: string;
  /** The database a database certificate opens; undefined for an identity certificate (no route extension). */
  route: RouteToDatabase | undefined;
  notBefore: Date;
  notAfter: Date;
  /** Upper-case hex, as OpenSSL prints it. */
  serialNumber: string;
  /** SHA-256 of the DER, colon-separated upper-case hex. */
  fingerprint256: string;
}

/** id-at-commonName 2.5.4.3 */
const COMMON_NAME_OID = Uint8Array.of(0x55, 0x04, 0x03);
const TAG_VERSION = 0xa0;
const TAG_EXTENSIONS = 0xa3;

const HOW_TO_GET_ONE = 'ask a Gatehouse administrator for one ("gatehouse certs issue")';

/** `der`, or the certificate TLS already parsed (getPeerX509Certificate), which saves parsing it again. */
export function identityFromCertificate(presented: Buffer | X509Certificate | undefined): Identity {
  if (presented === undefined) throw notGatehouse('no client certificate was presented');
  let certificate: X509Certificate;
  if (presented instanceof X509Certificate) certificate = presented;
  else {
    if (!Buffer.isBuffer(presented) || presented.length === 0) throw notGatehouse('no client certificate was presented');
    try {
      certificate = new X509Certificate(presented);
    } catch {
      throw notGatehouse('it cannot be parsed');
    }
  }
  // The bytes as presented are walked, not OpenSSL's re-encoding: PEM text or trailing bytes are refused.
  const der = presented instanceof X509Certificate ? certificate.raw : presented;
  let user: string;
  let route: RouteToDatabase | undefined;
  try {
    const tbs = tbsCertificateFields(der);
    user = commonName(der, tbs.subject);
    route = routeExtension(der, tbs.extensions);
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    if (error instanceof DerError) throw notGatehouse(error.message);
    throw notGatehouse('it cannot be parsed');
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) throw notGatehouse('its validity dates cannot be read');
  return {
    user,
    route,
    notBefore,
    notAfter,
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
  };
}

interface TbsFields {
  subject: Tlv;
  extensions: Tlv | undefined;
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity,
 *   subject, subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL,
 *   [3] extensions OPTIONAL }
 */
function tbsCertificateFields(der: Uint8Array): TbsFields {
  const outer = expectTlv(der, 0, der.length, DerTag.SEQUENCE, 'certificate');
  if (outer.end !== der.length) throw new DerError('trailing bytes after the certificate');
  const tbs = expectTlv(der, outer.start, outer.end, DerTag.SEQUENCE, 'tbsCertificate');
  const fields = children(der, tbs);
  let index = fields[0]?.tag === TAG_VERSION ? 1 : 0;
  // serialNumber, signature, issuer, validity come before the subject.
  index += 4;
  const subject = fields[index];
  if (subject === undefined || subject.tag !== DerTag.SEQUENCE) throw new DerError('the subject is missing');
  const extensions = fields.slice(index + 2).find((field) => field.tag === TAG_EXTENSIONS);
  return { subject, extensions };
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }; exactly one CN. */
function commonName(der: Uint8Array, subject: Tlv): string {
  const found: Tlv[] = [];
  for (const rdn of children(der, subject)) {
    if (rdn.tag !== DerTag.SET) throw new DerError('the subject is malformed');
    for (const attribute of children(der, rdn)) {
      if (attribute.tag !== DerTag.SEQUENCE) throw new DerError('the subject is malformed');
      const type = expectTlv(der, attribute.start, attribute.end, DerTag.OID, 'subject attribute type');
      const value = readTlv(der, type.end, attribute.end);
      if (value.end !== attribute.end) throw new DerError('the subject is malformed');
      if (contentEquals(der, type, COMMON_NAME_OID)) found.push(value);
    }
  }
  if (found.length === 0) throw notGatehouse('its subject has no common name (CN) naming a Gatehouse user');
  if (found.length > 1) throw notGatehouse('its subject has more than one common name (CN)');
  const value = found[0] as Tlv;
  switch (value.tag) {
    case DerTag.UTF8_STRING:
      return readText(der, value, 'the common name (CN)');
    case DerTag.PRINTABLE_STRING:
    case DerTag.IA5_STRING:
      for (let offset = value.start; offset < value.end; offset += 1) {
        if ((der[offset] as number) >= 0x80) throw new DerError('the common name (CN) is not ASCII');
      }
      return readText(der, value, 'the common name (CN)');
    default:
      throw notGatehouse('its common name (CN) uses a string type Gatehouse does not issue');
  }
}

/**
 * Extensions ::= [3] EXPLICIT SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * The route, or undefined when the certificate has no route extension (an identity certificate).
 */
function routeExtension(der: Uint8Array, extensionsField: Tlv | undefined): RouteToDatabase | undefined {
  if (extensionsField === undefined) return undefined;
  const list = expectTlv(der, extensionsField.start, extensionsField.end, DerTag.SEQUENCE, 'extensions');
  if (list.end !== extensionsField.end) throw new DerError('trailing bytes after the extensions');
  let routeValue: Tlv | undefined;
  for (const extension of children(der, list)) {
    if (extension.tag !== DerTag.SEQUENCE) throw new DerError('an extension is malformed');
    const parts = children(der, extension);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id === undefined || id.tag !== DerTag.OID || parts.length < 2 || parts.length > 3 || value === undefined) {
      throw new DerError('an extension is malformed');
    }
    if (!contentEquals(der, id, ROUTE_EXTENSION_OID_CONTENT)) continue;
    if (value.tag !== DerTag.OCTET_STRING) throw new DerError('the route extension is malformed');
    if (routeValue !== undefined) throw notGatehouse('it carries the Gatehouse route extension twice');
    routeValue = value;
  }
  if (routeValue === undefined) return undefined;
  return decodeRouteExtension(der, routeValue.start, routeValue.end);
}

function notGatehouse(why: string): GatehouseError {
  return new GatehouseError(ErrorCodes.CERT_INVALID, `the client certificate is not a Gatehouse client certificate (${why}); ${HOW_TO_GET_ONE}`, {
    sqlState: SqlState.INVALID_AUTHORIZATION,
  });
}
