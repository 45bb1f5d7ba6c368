// The public key a client sends to have a certificate signed: the client generates its key pair
// and only the public half ever travels. Accepted is what CertificateAuthority signs: an RSA key
// of 2048 to 8192 bits as SPKI PEM ("BEGIN PUBLIC KEY", what `openssl genpkey` + `openssl pkey
// -pubout` and node's generateKeyPair with type spki write). Everything else is a 400 saying what
// to send instead; a private key pasted by mistake is refused outright, never used.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { badRequest } from './api-errors.js';

const MIN_RSA_BITS = 2048;
/** Larger keys only make signing and every handshake slower; 8192 is already far beyond need. */
const MAX_RSA_BITS = 8192;
const SPKI_PEM = /^\s*-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/;
const HINT = 'generate an RSA key pair of at least 2048 bits and send its public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----")';

/** The SPKI PEM of the client's RSA public key, or a 400 ApiError saying why it cannot be used. */
export function clientRsaPublicKey(field: string, pem: string): string {
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
  if (key.asymmetricKeyType !== 'rsa') {
    throw badRequest(`the field "${field}" holds a key of type ${key.asymmetricKeyType ?? 'unknown'}; Gatehouse certificates need an RSA key`, HINT);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw badRequest(`the field "${field}" holds a ${bits}-bit RSA key; Gatehouse takes ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`, HINT);
  }
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
