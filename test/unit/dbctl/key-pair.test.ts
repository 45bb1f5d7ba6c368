import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/ca/certificate-authority.js';
import { certificateMatchesKey } from '../../../src/dbctl/dbctl-context.js';
import { generateClientKeyPair } from '../../../src/dbctl/key-pair.js';
import { clientPublicKey } from '../../../src/web/public-key.js';

describe('generateClientKeyPair', () => {
  it('makes an EC P-256 pair: SPKI public key, PKCS#8 private key', async () => {
    const pair = await generateClientKeyPair();
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const privateKey = createPrivateKey(pair.privateKeyPem);
    expect(privateKey.asymmetricKeyType).toBe('ec');
    expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString()).toBe(pair.publicKeyPem);
  });

  it('makes a public key the web API takes and the user CA certifies, and dbctl recognises the result', async () => {
    const pair = await generateClientKeyPair();
    const publicKeyPem = clientPublicKey('public_key_pem', pair.publicKeyPem);
    const issued = CertificateAuthority.create('Gatehouse user CA').issueClientCertificate({ user: 'alice', ttlMs: 60_000, publicKeyPem });
    expect(new X509Certificate(issued.certPem).checkPrivateKey(createPrivateKey(pair.privateKeyPem))).toBe(true);
    expect(certificateMatchesKey(issued.certPem, pair.publicKeyPem)).toBe(true);
    expect(certificateMatchesKey(issued.certPem, (await generateClientKeyPair()).publicKeyPem)).toBe(false);
  });
});
