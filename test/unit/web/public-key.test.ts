import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/web/api-errors.js';
import { clientRsaPublicKey } from '../../../src/web/public-key.js';

function refusal(pem: string): ApiError {
  try {
    clientRsaPublicKey('public_key_pem', pem);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(400);
    expect(apiError.code).toBe('GH_ERR_BAD_REQUEST');
    expect(apiError.hint).toMatch(/RSA key pair of at least 2048 bits .* SPKI PEM/);
    return apiError;
  }
  throw new Error('expected a refusal');
}

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });

describe('clientRsaPublicKey', () => {
  it('accepts an RSA SPKI PEM and returns it normalised', () => {
    const { publicKey } = rsa(2048);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(clientRsaPublicKey('public_key_pem', pem)).toBe(pem);
    expect(clientRsaPublicKey('public_key_pem', `\n${pem.replace(/\n/g, '\r\n')}  `)).toBe(pem);
  });

  it('refuses a private key without using it', () => {
    const { privateKey } = rsa(2048);
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      expect(refusal(privateKey.export({ type, format: 'pem' }).toString()).message).toBe(
        'the field "public_key_pem" holds a private key; send only the public key (and keep the private key to yourself)',
      );
    }
  });

  it('refuses PKCS#1, other key types, small keys, and junk', () => {
    const { publicKey } = rsa(2048);
    expect(refusal(publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()).message).toBe(
      'the field "public_key_pem" holds a PKCS#1 RSA public key; Gatehouse takes SPKI PEM',
    );
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(ed).message).toBe('the field "public_key_pem" holds a key of type ed25519; Gatehouse certificates need an RSA key');
    const small = rsa(1024).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(small).message).toBe('the field "public_key_pem" holds a 1024-bit RSA key; Gatehouse takes 2048 to 8192 bits');
    expect(refusal('ssh-rsa AAAAB3NzaC1yc2E alice@laptop').message).toBe('the field "public_key_pem" is not a PEM public key ("-----BEGIN PUBLIC KEY-----")');
    expect(refusal('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n').message).toBe('the field "public_key_pem" is not a public key that can be parsed');
  });
});
