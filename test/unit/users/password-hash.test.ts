import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT_PARAMETERS, hashPassword, parsePasswordHash, verifyPassword } from '../../../src/users/password-hash.js';

const ENCODED = /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

/** Replaces one part of "$scrypt$params$salt$key". */
function withPart(encoded: string, index: 2 | 3 | 4, value: string): string {
  const parts = encoded.split('$');
  parts[index] = value;
  return parts.join('$');
}

describe('password hashes', () => {
  it('hashes with scrypt ln=15,r=8,p=1, a 16-byte salt and a 32-byte key, and verifies', async () => {
    const encoded = await hashPassword('correct horse battery staple');
    expect(encoded).toMatch(ENCODED);
    const parsed = parsePasswordHash(encoded);
    expect(typeof parsed).toBe('object');
    if (typeof parsed === 'string') throw new Error(parsed);
    expect({ ln: parsed.ln, r: parsed.r, p: parsed.p }).toEqual(DEFAULT_SCRYPT_PARAMETERS);
    expect(parsed.salt.length).toBe(16);
    expect(parsed.key.length).toBe(32);
    expect(await verifyPassword('correct horse battery staple', encoded)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', encoded)).toBe(false);
    expect(await verifyPassword('', encoded)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
  });

  it('treats the two Unicode spellings of a password as one (NFC)', async () => {
    const composed = 'caf\u00e9-pass';
    const decomposed = 'cafe\u0301-pass';
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });

  it('verifies a hash with other accepted parameters', async () => {
    // A hash some other tool wrote with smaller parameters (made here with node's scrypt directly).
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('pw', salt, 32, { N: 1024, r: 4, p: 2 });
    const encoded = `$scrypt$ln=10,r=4,p=2$${salt.toString('base64').replace(/=+$/, '')}$${key.toString('base64').replace(/=+$/, '')}`;
    expect(await verifyPassword('pw', encoded)).toBe(true);
    expect(await verifyPassword('pW', encoded)).toBe(false);
  });

  it('returns false when there is no hash (unknown user, no password set)', async () => {
    expect(await verifyPassword('anything', undefined)).toBe(false);
  });

  it('returns false, not an error, for a tampered hash', async () => {
    const encoded = await hashPassword('secret');
    const key = encoded.split('$')[4] ?? '';
    const flipped = (key[0] === 'A' ? 'B' : 'A') + key.slice(1);
    expect(await verifyPassword('secret', withPart(encoded, 4, flipped))).toBe(false);
    expect(await verifyPassword('secret', encoded.replace('$scrypt$', '$bcrypt$'))).toBe(false);
    expect(await verifyPassword('secret', `${encoded}$`)).toBe(false);
    expect(await verifyPassword('secret', '')).toBe(false);
  });

  it.each([
    ['not a hash at all', /is not a Gatehouse password hash/],
    ['$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$', /is not a Gatehouse password hash/],
    ['$scrypt$ln=015,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /is not a Gatehouse password hash/],
    ['$scrypt$r=8,ln=15,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /is not a Gatehouse password hash/],
    ['$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /is not a Gatehouse password hash/],
    ['$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /ln=30; Gatehouse accepts ln from 10 to 16/],
    ['$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /ln=4; Gatehouse accepts ln from 10 to 16/],
    ['$scrypt$ln=15,r=99,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /r=99; Gatehouse accepts r up to 16/],
    ['$scrypt$ln=15,r=8,p=64$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /p=64; Gatehouse accepts p up to 4/],
    ['$scrypt$ln=16,r=16,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /cost more than Gatehouse allows/],
    ['$scrypt$ln=16,r=8,p=4$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /cost more than Gatehouse allows/],
    ['$scrypt$ln=15,r=8,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /4-byte salt; Gatehouse accepts 8 to 64 bytes/],
    ['$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5', /3-byte key; Gatehouse accepts 16 to 64 bytes/],
    [`$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(200)}`, /150-byte key/],
    // "c2FsdHNhbHRzYWx0c2FsdB" decodes like "...dA" but is not the canonical spelling of those bytes.
    ['$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdB$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U', /not canonical base64/],
  ])('refuses %s', (encoded, message) => {
    const parsed = parsePasswordHash(encoded);
    expect(typeof parsed).toBe('string');
    expect(parsed).toMatch(message);
  });

  it('accepts the parameters at the edge of the caps', () => {
    // Twice the default memory (ln=16,r=8 and ln=14,r=16) and four times its work (p=4, ln=16,r=8,p=2) are the limits.
    for (const params of ['ln=16,r=8,p=1', 'ln=15,r=8,p=4', 'ln=16,r=8,p=2', 'ln=10,r=1,p=1', 'ln=14,r=16,p=1']) {
      const parsed = parsePasswordHash(`$scrypt$${params}$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U`);
      expect(typeof parsed, params).toBe('object');
    }
  });

  it('never repeats the hash in a refusal', () => {
    const secretish = '$scrypt$ln=15,r=8,p=1$SECRETSALTSECRETSALT!$SECRETKEY';
    expect(parsePasswordHash(secretish)).not.toContain('SECRET');
  });
});
