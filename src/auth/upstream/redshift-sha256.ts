// Amazon Redshift's extensible password digest, authentication request code 13 (AUTH_REQ_DIGEST),
// which Redshift sends for users whose password was created as 'sha256|…'. Not part of
// PostgreSQL; the layout and the algorithm come from Amazon's own open-source drivers:
//   - aws/amazon-redshift-jdbc-driver, core/v3/ConnectionFactoryImpl.java (case AUTH_REQ_DIGEST)
//     and util/ExtensibleDigest.java;
//   - aws/amazon-redshift-python-driver, redshift_connector/core.py (auth_code == 13).
// Request body after the int32 code: int32 algorithm (0 = SHA-256; the JDBC driver also names
// 1 = scrypt and 2 = Argon2 but implements neither), int32 salt length, salt, int32 server-nonce
// length, server nonce.
// Digest: SHA256(SHA256(password ‖ salt) ‖ server nonce ‖ client nonce), the raw 32 bytes; the
// inner hash is what Redshift stores, so the password itself never crosses the wire.
// Reply: 'd', int32 length, int32 digest length, digest, int32 client-nonce length, client nonce.
import { createHash } from 'node:crypto';
import { ErrorCodes, GatehouseError, SqlState } from '../../errors.js';
import { frontendMessage, int32 } from './frontend-message.js';
import { passwordBytes } from './password-bytes.js';

export const REDSHIFT_DIGEST_SHA256 = 0;
const ALGORITHM_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'SHA-256'],
  [1, 'scrypt'],
  [2, 'Argon2'],
]);

export interface RedshiftDigestRequest {
  algorithm: number;
  salt: Buffer;
  serverNonce: Buffer;
}

/** Parses the AUTH_REQ_DIGEST body that follows the int32 code; salt and nonce are copies. */
export function parseRedshiftDigestRequest(bodyAfterCode: Buffer): RedshiftDigestRequest {
  if (bodyAfterCode.length < 8) throw malformed(`${bodyAfterCode.length} bytes is too short`);
  const algorithm = bodyAfterCode.readInt32BE(0);
  const [salt, afterSalt] = lengthPrefixed(bodyAfterCode, 4, 'salt');
  const [serverNonce, end] = lengthPrefixed(bodyAfterCode, afterSalt, 'server nonce');
  if (end !== bodyAfterCode.length) throw malformed(`${bodyAfterCode.length - end} unexpected bytes after the server nonce`);
  return { algorithm, salt, serverNonce };
}

/** SHA256(SHA256(password ‖ salt) ‖ serverNonce ‖ clientNonce), as Redshift's drivers compute it. */
export function redshiftSha256Digest(password: string, salt: Buffer, serverNonce: Buffer, clientNonce: Buffer): Buffer {
  const stored = createHash('sha256').update(passwordBytes(password)).update(salt).digest();
  return createHash('sha256').update(stored).update(serverNonce).update(clientNonce).digest();
}

/**
 * The 'd' reply to AUTH_REQ_DIGEST. The client nonce defaults to the current time in milliseconds
 * as decimal digits, which is what both Amazon drivers send; Redshift's side is closed, so we
 * send nothing it has not seen from them.
 */
export function redshiftDigestMessage(password: string, request: RedshiftDigestRequest, clientNonce?: Buffer): Buffer {
  if (request.algorithm !== REDSHIFT_DIGEST_SHA256) {
    const name = ALGORITHM_NAMES.get(request.algorithm);
    throw new GatehouseError(
      ErrorCodes.UPSTREAM_AUTH,
      `Redshift asked for password digest algorithm ${request.algorithm}${name === undefined ? '' : ` (${name})`}, which Gatehouse does not support (it supports SHA-256)`,
      { sqlState: SqlState.FEATURE_NOT_SUPPORTED },
    );
  }
  const nonce = clientNonce ?? Buffer.from(String(Date.now()), 'latin1');
  const digest = redshiftSha256Digest(password, request.salt, request.serverNonce, nonce);
  return frontendMessage('d', int32(digest.length), digest, int32(nonce.length), nonce);
}

function lengthPrefixed(body: Buffer, offset: number, field: string): [Buffer, number] {
  if (body.length - offset < 4) throw malformed(`it ends before the ${field} length`);
  const length = body.readInt32BE(offset);
  const start = offset + 4;
  if (length < 0 || length > body.length - start) {
    throw malformed(`the ${field} length ${length} does not fit in the ${body.length - start} bytes left`);
  }
  return [Buffer.from(body.subarray(start, start + length)), start + length];
}

function malformed(reason: string): GatehouseError {
  return new GatehouseError(ErrorCodes.UPSTREAM_AUTH, `the database sent a malformed Redshift digest request: ${reason}`, {
    sqlState: SqlState.PROTOCOL_VIOLATION,
  });
}
