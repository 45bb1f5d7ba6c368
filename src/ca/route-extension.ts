// The route a Gatehouse client certificate carries: which database service, and optionally the
// database user and database name to use when the client does not name them. It travels in a
// custom, non-critical X.509 extension whose value is DER:
//
//   RouteToDatabase ::= SEQUENCE {
//     database  UTF8String,
//     dbUser    [0] IMPLICIT UTF8String OPTIONAL,
//     dbName    [1] IMPLICIT UTF8String OPTIONAL }
//
// Non-critical, so TLS stacks that do not know it (OpenSSL in psql, in Node) still accept the
// certificate; only Gatehouse reads it. No node-forge here: the decoder runs on every connection.
import { DerError, DerTag, children, concatBytes, encodeOidContent, encodeTlv, expectTlv, type Tlv } from './der.js';

/**
 * The route extension's OID. Self-assigned under the UUID arc 2.25 (ITU-T X.667): any UUID,
 * written as one decimal integer, is an OID arc nobody else will ever use, and the arc needs no
 * registration. This one is the UUID 42f13988-a124-46e1-8610-646243532b21; never change it, or
 * certificates already issued stop carrying a route Gatehouse can read.
 */
export const ROUTE_EXTENSION_OID = '2.25.88981558186959793791865425057847388961';

/** Content octets of ROUTE_EXTENSION_OID, for comparing against an extension's extnID. */
export const ROUTE_EXTENSION_OID_CONTENT: Uint8Array = encodeOidContent(ROUTE_EXTENSION_OID);

export interface RouteToDatabase {
  /** The database service's name in gatehouse.yaml. */
  database: string;
  /** The database user to log in as when the client does not send one. */
  dbUser?: string;
  /** The database to open when the client does not name one. */
  dbName?: string;
}

/** Longest text Gatehouse accepts in a certificate's user name or route, in UTF-8 bytes. */
export const MAX_IDENTITY_TEXT_BYTES = 1024;

const TAG_DB_USER = 0x80;
const TAG_DB_NAME = 0x81;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Why `value` cannot be a user name or route field, or undefined when it can. Control characters
 * (NUL above all) would corrupt the NUL-terminated strings of the Postgres startup packet and logs.
 */
export function badIdentityText(value: string): string | undefined {
  if (value.length === 0) return 'it is empty';
  if (utf8.encode(value).length > MAX_IDENTITY_TEXT_BYTES) return `it is longer than ${MAX_IDENTITY_TEXT_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'it contains control characters';
  return undefined;
}

/** The DER extnValue for a route; throws when a field could not be read back. */
export function encodeRouteExtension(route: RouteToDatabase): Uint8Array {
  const fields: Array<[string, string | undefined, number]> = [
    ['database', route.database, DerTag.UTF8_STRING],
    ['db user', route.dbUser, TAG_DB_USER],
    ['db name', route.dbName, TAG_DB_NAME],
  ];
  const parts: Uint8Array[] = [];
  for (const [label, value, tag] of fields) {
    if (value === undefined) continue;
    const problem = badIdentityText(value);
    if (problem !== undefined) throw new RangeError(`the route's ${label} ${JSON.stringify(value)} cannot go into a certificate: ${problem}`);
    parts.push(encodeTlv(tag, utf8.encode(value)));
  }
  return encodeTlv(DerTag.SEQUENCE, concatBytes(parts));
}

/** Reads an extnValue written by encodeRouteExtension; throws DerError on anything else. */
export function decodeRouteExtension(bytes: Uint8Array, start = 0, end = bytes.length): RouteToDatabase {
  const sequence = expectTlv(bytes, start, end, DerTag.SEQUENCE, 'route');
  if (sequence.end !== end) throw new DerError('route: trailing bytes after the sequence');
  const fields = children(bytes, sequence);
  const [databaseField, ...optional] = fields;
  if (databaseField === undefined || databaseField.tag !== DerTag.UTF8_STRING) throw new DerError('route: the database name is missing');
  const route: RouteToDatabase = { database: readText(bytes, databaseField, 'database') };
  let lastTag = 0;
  for (const field of optional) {
    if (field.tag !== TAG_DB_USER && field.tag !== TAG_DB_NAME) throw new DerError(`route: unexpected field with tag 0x${field.tag.toString(16)}`);
    if (field.tag <= lastTag) throw new DerError('route: optional fields repeated or out of order');
    lastTag = field.tag;
    if (field.tag === TAG_DB_USER) route.dbUser = readText(bytes, field, 'db user');
    else route.dbName = readText(bytes, field, 'db name');
  }
  return route;
}

/** UTF-8 text of an element's content, checked with badIdentityText. */
export function readText(bytes: Uint8Array, tlv: Tlv, label: string): string {
  let value: string;
  try {
    value = strictUtf8.decode(bytes.subarray(tlv.start, tlv.end));
  } catch {
    throw new DerError(`${label} is not valid UTF-8`);
  }
  const problem = badIdentityText(value);
  if (problem !== undefined) throw new DerError(`${label} is unusable: ${problem}`);
  return value;
}
