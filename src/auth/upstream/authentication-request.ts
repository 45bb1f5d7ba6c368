// Parses the body of a backend Authentication ('R') message: the int32 request code and what
// follows it, strictly. Our own parser rather than pg-protocol's, which reports unknown codes as
// AuthenticationOk and knows nothing of Redshift's digest request (code 13).
import { ErrorCodes, GatehouseError, SqlState } from '../../errors.js';
import { parseRedshiftDigestRequest, type RedshiftDigestRequest } from './redshift-sha256.js';

export const AuthenticationCode = {
  OK: 0,
  KERBEROS_V5: 2,
  CLEARTEXT_PASSWORD: 3,
  MD5_PASSWORD: 5,
  GSS: 7,
  GSS_CONTINUE: 8,
  SSPI: 9,
  SASL: 10,
  SASL_CONTINUE: 11,
  SASL_FINAL: 12,
  REDSHIFT_DIGEST: 13,
  REDSHIFT_IDP: 14,
} as const;

export type AuthenticationRequest =
  | { kind: 'ok' }
  | { kind: 'cleartext' }
  | { kind: 'md5'; salt: Buffer }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'sasl-continue'; data: Buffer }
  | { kind: 'sasl-final'; data: Buffer }
  | { kind: 'redshift-digest'; request: RedshiftDigestRequest }
  /** `method` names the code for messages: "KerberosV5", "GSSAPI", … or "unknown". */
  | { kind: 'unsupported'; code: number; method: string };

const UNSUPPORTED_METHODS: ReadonlyMap<number, string> = new Map([
  [1, 'KerberosV4'],
  [AuthenticationCode.KERBEROS_V5, 'KerberosV5'],
  [4, 'crypt'],
  [6, 'SCM credentials'],
  [AuthenticationCode.GSS, 'GSSAPI'],
  [AuthenticationCode.GSS_CONTINUE, 'GSSAPI'],
  [AuthenticationCode.SSPI, 'SSPI'],
  [AuthenticationCode.REDSHIFT_IDP, 'Redshift identity-provider token'],
]);

/** `body` is the message after its type byte and length. Buffers returned are copies. */
export function parseAuthenticationRequest(body: Buffer): AuthenticationRequest {
  if (body.length < 4) throw malformed(`${body.length} bytes is too short to hold a request code`);
  const code = body.readInt32BE(0);
  const rest = body.subarray(4);
  switch (code) {
    case AuthenticationCode.OK:
      expectLength(rest, 0, 'AuthenticationOk');
      return { kind: 'ok' };
    case AuthenticationCode.CLEARTEXT_PASSWORD:
      expectLength(rest, 0, 'AuthenticationCleartextPassword');
      return { kind: 'cleartext' };
    case AuthenticationCode.MD5_PASSWORD:
      expectLength(rest, 4, 'AuthenticationMD5Password');
      return { kind: 'md5', salt: Buffer.from(rest) };
    case AuthenticationCode.SASL:
      return { kind: 'sasl', mechanisms: parseMechanisms(rest) };
    case AuthenticationCode.SASL_CONTINUE:
      return { kind: 'sasl-continue', data: Buffer.from(rest) };
    case AuthenticationCode.SASL_FINAL:
      return { kind: 'sasl-final', data: Buffer.from(rest) };
    case AuthenticationCode.REDSHIFT_DIGEST:
      return { kind: 'redshift-digest', request: parseRedshiftDigestRequest(rest) };
    default:
      return { kind: 'unsupported', code, method: UNSUPPORTED_METHODS.get(code) ?? 'unknown' };
  }
}

/** AuthenticationSASL: mechanism names as NUL-terminated strings, then an empty one. */
function parseMechanisms(data: Buffer): string[] {
  const mechanisms: string[] = [];
  let offset = 0;
  for (;;) {
    const end = data.indexOf(0, offset);
    if (end === -1) throw malformed('AuthenticationSASL\'s mechanism list is not terminated');
    if (end === offset) break;
    const name = data.subarray(offset, end);
    if (name.some((byte) => byte < 0x21 || byte > 0x7e)) throw malformed('AuthenticationSASL names a mechanism that is not printable ASCII');
    mechanisms.push(name.toString('latin1'));
    offset = end + 1;
  }
  if (offset + 1 !== data.length) throw malformed(`AuthenticationSASL has ${data.length - offset - 1} bytes after its mechanism list`);
  if (mechanisms.length === 0) throw malformed('AuthenticationSASL offers no mechanisms');
  return mechanisms;
}

function expectLength(data: Buffer, length: number, message: string): void {
  if (data.length !== length) throw malformed(`${message} carries ${data.length} bytes after its code instead of ${length}`);
}

function malformed(reason: string): GatehouseError {
  return new GatehouseError(ErrorCodes.UPSTREAM_AUTH, `the database sent a malformed authentication request: ${reason}`, {
    sqlState: SqlState.PROTOCOL_VIOLATION,
  });
}
