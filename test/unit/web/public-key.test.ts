import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/web/api-errors.js';
import { clientPublicKey } from '../../../src/web/public-key.js';

function refusal(pem: string): ApiError {
  try {
    clientPublicKey('public_key_pem', pem);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(400);
    expect(apiError.code).toBe('GH_ERR_BAD_REQUEST');
    expect(apiError.hint).toBe('generate an EC P-256 key pair (or RSA, 2048 to 8192 bits) and send its public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----")');
    return apiError;
  }
  throw new Error('expected a refusal');
}

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const ACCEPTED = 'Gatehouse certifies an EC P-256 key or an RSA key of 2048 to 8192 bits';

describe('clientPublicKey', () => {
  it('accepts an EC P-256 SPKI PEM and returns it normalised', () => {
    const pem = ec('P-256').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(clientPublicKey('public_key_pem', pem)).toBe(pem);
    expect(clientPublicKey('public_key_pem', `\n${pem.replace(/\n/g, '\r\n')}  `)).toBe(pem);
  });

  it('accepts an RSA SPKI PEM and returns it normalised', () => {
    const { publicKey } = rsa(2048);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(clientPublicKey('public_key_pem', pem)).toBe(pem);
    expect(clientPublicKey('public_key_pem', `\n${pem.replace(/\n/g, '\r\n')}  `)).toBe(pem);
  });

  it('refuses a private key without using it', () => {
    const { privateKey } = rsa(2048);
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      expect(refusal(privateKey.export({ type, format: 'pem' }).toString()).message).toBe(
        'the field "public_key_pem" holds a private key; send only the public key (and keep the private key to yourself)',
      );
    }
    for (const type of ['pkcs8', 'sec1'] as const) {
      expect(refusal(ec('P-256').privateKey.export({ type, format: 'pem' }).toString()).message).toBe(
        'the field "public_key_pem" holds a private key; send only the public key (and keep the private key to yourself)',
      );
    }
  });

  it('refuses other curves and key types, saying which keys it takes', () => {
    const p384 = ec('P-384').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(p384).message).toBe(`the field "public_key_pem" holds an EC key on curve P-384; ${ACCEPTED}`);
    const secp256k1 = ec('secp256k1').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(secp256k1).message).toBe(`the field "public_key_pem" holds an EC key on curve secp256k1; ${ACCEPTED}`);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(ed).message).toBe(`the field "public_key_pem" holds a key of type ed25519; ${ACCEPTED}`);
    const small = rsa(1024).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(small).message).toBe(`the field "public_key_pem" holds an RSA key of 1024 bits; ${ACCEPTED}`);
  });

  it('refuses PKCS#1 and junk', () => {
    const { publicKey } = rsa(2048);
    expect(refusal(publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()).message).toBe(
      'the field "public_key_pem" holds a PKCS#1 RSA public key; Gatehouse takes SPKI PEM',
    );
    expect(refusal('ssh-rsa AAAAB3NzaC1yc2E alice@laptop').message).toBe('the field "public_key_pem" is not a PEM public key ("-----BEGIN PUBLIC KEY-----")');
    expect(refusal('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n').message).toBe('the field "public_key_pem" is not a public key that can be parsed');
  });
});
