import { describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32, hotp, matchTotp, newTotpSecret, otpauthUri, totpCode, totpStep } from '../../../src/users/totp.js';

// RFC 6238 appendix B and RFC 4226 appendix D use the 20-byte ASCII secret "12345678901234567890".
const RFC_SECRET = Buffer.from('12345678901234567890', 'ascii');
const RFC_SECRET_BASE32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('base32 (RFC 4648)', () => {
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('encodes %j as %s (the RFC vectors without padding) and back', (text, encoded) => {
    expect(encodeBase32(Buffer.from(text))).toBe(encoded);
    expect(decodeBase32(encoded).toString()).toBe(text);
    expect(decodeBase32(encoded.toLowerCase()).toString()).toBe(text);
  });

  it('encodes the RFC 6238 secret', () => {
    expect(encodeBase32(RFC_SECRET)).toBe(RFC_SECRET_BASE32);
  });

  it.each([['MZXW6==='], ['MZ1W6'], ['M'], ['MZXW6YR'], ['MZ XW6']])('refuses %j', (text) => {
    expect(() => decodeBase32(text)).toThrow(/not base32/);
  });
});

describe('HOTP (RFC 4226 appendix D)', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  it.each(expected.map((code, counter) => [counter, code]))('counter %i gives %s', (counter, code) => {
    expect(hotp(RFC_SECRET, counter, 6)).toBe(code);
  });
});

describe('TOTP (RFC 6238 appendix B, SHA-1)', () => {
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('at %i s the 8-digit code is %s, and Gatehouse shows its last six digits', (seconds, code) => {
    expect(hotp(RFC_SECRET, totpStep(seconds * 1000), 8)).toBe(code);
    expect(totpCode(RFC_SECRET_BASE32, seconds * 1000)).toBe(code.slice(2));
  });

  it('accepts the code of the current step and of one step either side, returning that step', () => {
    const at = 1111111111_000;
    const step = totpStep(at);
    expect(matchTotp(RFC_SECRET_BASE32, totpCode(RFC_SECRET_BASE32, at), at)).toBe(step);
    expect(matchTotp(RFC_SECRET_BASE32, totpCode(RFC_SECRET_BASE32, at - 30_000), at)).toBe(step - 1);
    expect(matchTotp(RFC_SECRET_BASE32, totpCode(RFC_SECRET_BASE32, at + 30_000), at)).toBe(step + 1);
  });

  it('refuses codes two steps away, other secrets, and anything not six digits', () => {
    const at = 1234567890_000;
    expect(matchTotp(RFC_SECRET_BASE32, totpCode(RFC_SECRET_BASE32, at - 60_000), at)).toBeUndefined();
    expect(matchTotp(RFC_SECRET_BASE32, totpCode(RFC_SECRET_BASE32, at + 60_000), at)).toBeUndefined();
    expect(matchTotp(newTotpSecret(), totpCode(RFC_SECRET_BASE32, at), at)).toBeUndefined();
    const code = totpCode(RFC_SECRET_BASE32, at);
    for (const wrong of ['', '12345', '1234567', `${code} `, `+${code.slice(1)}`, '٠١٢٣٤٥', `${code.slice(0, 5)}x`]) {
      expect(matchTotp(RFC_SECRET_BASE32, wrong, at), wrong).toBeUndefined();
    }
  });

  it('makes 20-byte secrets in unpadded upper-case base32, different each time', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(decodeBase32(secret).length).toBe(20);
    expect(newTotpSecret()).not.toBe(secret);
  });
});

describe('otpauth URI', () => {
  it('has the key URI format authenticator apps read', () => {
    expect(otpauthUri({ issuer: 'Gatehouse', account: 'alice@gatehouse.test', secret: RFC_SECRET_BASE32 })).toBe(
      `otpauth://totp/Gatehouse:alice%40gatehouse.test?secret=${RFC_SECRET_BASE32}&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30`,
    );
  });

  it('percent-encodes spaces, colons, ampersands and non-ASCII in the label and issuer', () => {
    const uri = otpauthUri({ issuer: 'ACME & Co: DB', account: 'zoë smith', secret: 'ABC' });
    expect(uri).toBe('otpauth://totp/ACME%20%26%20Co%3A%20DB:zo%C3%AB%20smith?secret=ABC&issuer=ACME%20%26%20Co%3A%20DB&algorithm=SHA1&digits=6&period=30');
    const parsed = new URL(uri);
    expect(parsed.searchParams.get('issuer')).toBe('ACME & Co: DB');
    expect(decodeURIComponent(parsed.pathname.slice(1).split(':')[1] ?? '')).toBe('zoë smith');
  });
});
