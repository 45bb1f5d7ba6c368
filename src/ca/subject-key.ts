// The public keys Gatehouse's CAs certify, and the key pairs they generate. New keys are ECDSA
// P-256: every TLS handshake costs the server a signature with its certificate's key (and the
// client one with its key, for a client certificate), and a P-256 signature costs a small
// fraction of an RSA-2048 one. Clients may still bring RSA keys of 2048 to 8192 bits. The CAs'
// own keys stay RSA (certificate-authority.ts): existing CAs stay valid, and a handshake only
// verifies the CA's signature, which is cheap for RSA.
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DerTag, children, expectTlv } from './der.js';

const MIN_RSA_BITS = 2048;
/** Larger keys only make signing and every handshake slower; 8192 is already far beyond need. */
const MAX_RSA_BITS = 8192;
/** node:crypto's name for NIST P-256 (secp256r1). */
const P256 = 'prime256v1';
/** One curve, the one every TLS client (libpq, node, Java, Go) supports, keeps what Gatehouse certifies small and known. */
export const ACCEPTED_KEYS = `an EC P-256 key or an RSA key of ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`;
const CURVE_NAMES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** A public key Gatehouse will certify: its type (which decides keyUsage) and its SubjectPublicKeyInfo DER. */
export interface SubjectPublicKey {
  readonly type: 'rsa' | 'ec';
  readonly spkiDer: Buffer;
}

export interface GeneratedKeyPair {
  /** SPKI PEM ("BEGIN PUBLIC KEY"). */
  publicKeyPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"), which OpenSSL (PostgreSQL, libpq, PgBouncer) and node read for any key type. */
  privateKeyPem: string;
}

/** A new ECDSA P-256 key pair, for a server or client certificate. */
export function generateEcKeyPair(): GeneratedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * What kind of key this is when Gatehouse will not certify it, as a phrase that completes "the
 * public key is …" ("an RSA key of 1024 bits"); undefined when it is acceptable.
 */
export function unacceptableKey(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS ? undefined : `an RSA key of ${bits} bits`;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === P256) return undefined;
    return curve === undefined ? 'an EC key without a named curve' : `an EC key on curve ${CURVE_NAMES[curve] ?? curve}`;
  }
  return `a key of type ${key.asymmetricKeyType ?? 'unknown'}`;
}

/**
 * The key as it goes into a certificate; call only for a key unacceptableKey accepted. An EC point
 * is re-encoded uncompressed (through JWK), the form RFC 5480 asks for and every TLS stack reads;
 * OpenSSL would otherwise keep a compressed point as the client sent it.
 */
export function subjectPublicKey(key: KeyObject): SubjectPublicKey {
  const problem = unacceptableKey(key);
  if (problem !== undefined) throw new RangeError(`Gatehouse does not certify ${problem}`);
  if (key.asymmetricKeyType === 'rsa') return { type: 'rsa', spkiDer: key.export({ type: 'spki', format: 'der' }) };
  const uncompressed = createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' });
  return { type: 'ec', spkiDer: uncompressed.export({ type: 'spki', format: 'der' }) };
}

/**
 * The subjectKeyIdentifier of RFC 5280 4.2.1.2, method 1: SHA-1 of the subjectPublicKey BIT
 * STRING's value, without its tag, length and unused-bits byte. For an RSA key this is what forge
 * computes from its own key field (SHA-1 of the RSAPublicKey DER), so RSA certificates are unchanged.
 */
export function subjectKeyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = expectTlv(spkiDer, 0, spkiDer.length, DerTag.SEQUENCE, 'SubjectPublicKeyInfo');
  const bitString = children(spkiDer, spki)[1];
  if (bitString?.tag !== DerTag.BIT_STRING || bitString.end <= bitString.start || spkiDer[bitString.start] !== 0) {
    throw new RangeError('the SubjectPublicKeyInfo has no whole-byte subjectPublicKey BIT STRING');
  }
  return createHash('sha1').update(spkiDer.subarray(bitString.start + 1, bitString.end)).digest();
}
