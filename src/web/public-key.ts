// The public key a client sends to have a certificate signed: the client generates its key pair
// and only the public half ever travels. Accepted is what CertificateAuthority certifies (see
// src/ca/subject-key.ts): an EC P-256 key, or an RSA key of 2048 to 8192 bits, as SPKI PEM ("BEGIN
// PUBLIC KEY", what `openssl genpkey` + `openssl pkey -pubout` and node's generateKeyPair with type
// spki write). Everything else is a 400 saying what to send instead; a private key pasted by
// mistake is refused outright, never used.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ACCEPTED_KEYS, unacceptableKey } from '../ca/subject-key.js';
import { badRequest } from './api-errors.js';

const SPKI_PEM = /^\s*-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/;
const HINT = 'generate an EC P-256 key pair (or RSA, 2048 to 8192 bits) and send its public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----")';

/** The SPKI PEM of the client's public key, or a 400 ApiError saying why it cannot be used. */
export function clientPublicKey(field: string, pem: string): string {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw badRequest(`the field "${field}" holds a private key; send only the public key (and keep the private key to yourself)`, HINT);
  }
  if (/-----BEGIN RSA PUBLIC KEY-----/.test(pem)) {
    throw badRequest(`the field "${field}" holds a PKCS#1 RSA public key; Gatehouse takes SPKI PEM`, HINT);
  }
  if (!SPKI_PEM.test(pem)) throw badRequest(`the field "${field}" is not a PEM public key ("-----BEGIN PUBLIC KEY-----")`, HINT);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw badRequest(`the field "${field}" is not a public key that can be parsed`, HINT);
  }
  const problem = unacceptableKey(key);
  if (problem !== undefined) throw badRequest(`the field "${field}" holds ${problem}; Gatehouse certifies ${ACCEPTED_KEYS}`, HINT);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
