import { createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { ACCEPTED_KEYS, generateEcKeyPair, subjectKeyIdentifier, subjectPublicKey, unacceptableKey } from '../../../src/ca/subject-key.js';

/** An RSA public key of any size without generating one: a public key is only n and e. */
function rsaPublicKeyOfBits(bits: number): KeyObject {
  const modulus = randomBytes(bits / 8);
  modulus[0] = (modulus[0] as number) | 0x80;
  modulus[modulus.length - 1] = (modulus[modulus.length - 1] as number) | 0x01;
  return createPublicKey({ key: { kty: 'RSA', n: modulus.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
}

/** SPKI header of a P-256 key with a 33-byte (compressed) point: SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING. */
const P256_COMPRESSED_SPKI_HEADER = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');

describe('unacceptableKey', () => {
  it('accepts EC P-256 and RSA of 2048 to 8192 bits', () => {
    expect(unacceptableKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBeUndefined();
    expect(unacceptableKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).toBeUndefined();
    expect(unacceptableKey(rsaPublicKeyOfBits(8192))).toBeUndefined();
  });

  it('names what it refuses', () => {
    expect(unacceptableKey(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toBe('an EC key on curve P-384');
    expect(unacceptableKey(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey)).toBe('an EC key on curve P-521');
    expect(unacceptableKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)).toBe('an EC key on curve secp256k1');
    expect(unacceptableKey(generateKeyPairSync('ed25519').publicKey)).toBe('a key of type ed25519');
    expect(unacceptableKey(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey)).toBe('a key of type rsa-pss');
    expect(unacceptableKey(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)).toBe('an RSA key of 1024 bits');
    expect(unacceptableKey(rsaPublicKeyOfBits(8200))).toBe('an RSA key of 8200 bits');
    expect(ACCEPTED_KEYS).toBe('an EC P-256 key or an RSA key of 2048 to 8192 bits');
  });
});

describe('subjectPublicKey', () => {
  it('keeps an uncompressed P-256 key and an RSA key as node exports them', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(subjectPublicKey(ec)).toEqual({ type: 'ec', spkiDer: ec.export({ type: 'spki', format: 'der' }) });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(subjectPublicKey(rsa)).toEqual({ type: 'rsa', spkiDer: rsa.export({ type: 'spki', format: 'der' }) });
  });

  it('re-encodes a compressed EC point uncompressed, the same key', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const compressed = createPublicKey({ key: Buffer.concat([P256_COMPRESSED_SPKI_HEADER, ecdh.getPublicKey(null, 'compressed')]), format: 'der', type: 'spki' });
    expect(compressed.export({ type: 'spki', format: 'der' }).length).toBe(59);
    const { spkiDer } = subjectPublicKey(compressed);
    expect(spkiDer.length).toBe(91);
    expect(spkiDer.subarray(-65).equals(ecdh.getPublicKey(null, 'uncompressed'))).toBe(true);
  });

  it('refuses a key it would not certify', () => {
    expect(() => subjectPublicKey(generateKeyPairSync('ed25519').publicKey)).toThrow('Gatehouse does not certify a key of type ed25519');
  });
});

describe('subjectKeyIdentifier', () => {
  it('is SHA-1 of the EC point (the subjectPublicKey BIT STRING without its unused-bits byte)', () => {
    const spkiDer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const point = spkiDer.subarray(-65);
    expect(point[0]).toBe(0x04);
    expect(subjectKeyIdentifier(spkiDer).toString('hex')).toBe(createHash('sha1').update(point).digest('hex'));
  });

  it('is what forge computes for an RSA key, so RSA certificates keep their identifiers', () => {
    const publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const forgeCertificate = forge.pki.createCertificate();
    forgeCertificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const expected = forgeCertificate.generateSubjectKeyIdentifier().toHex();
    expect(subjectKeyIdentifier(publicKey.export({ type: 'spki', format: 'der' })).toString('hex')).toBe(expected);
  });

  it('refuses bytes that are not a SubjectPublicKeyInfo', () => {
    expect(() => subjectKeyIdentifier(Buffer.from('300302017f', 'hex'))).toThrow(/no whole-byte subjectPublicKey BIT STRING/);
    expect(() => subjectKeyIdentifier(Buffer.from('0400', 'hex'))).toThrow(/SubjectPublicKeyInfo/);
  });
});

describe('generateEcKeyPair', () => {
  it('makes a P-256 pair as SPKI and PKCS#8 PEM', () => {
    const pair = generateEcKeyPair();
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const privateKey = createPrivateKey(pair.privateKeyPem);
    expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString()).toBe(pair.publicKeyPem);
  });
});
