// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second steps, six
// digits — the only combination every authenticator app implements. Secrets are 20 random bytes in
// RFC 4648 base32 without padding, the form otpauth:// URIs and the users file carry.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOTP_PERIOD_MS = 30_000;
export const TOTP_DIGITS = 6;
const SECRET_BYTES = 20;
/** Codes from one step before or after now are accepted too: phone clocks drift and people type slowly. */
const ALLOWED_DRIFT_STEPS = 1;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newTotpSecret(): string {
  return encodeBase32(randomBytes(SECRET_BYTES));
}

/** The code for the time step containing `atMs`. */
export function totpCode(secretBase32: string, atMs: number): string {
  return hotp(decodeBase32(secretBase32), totpStep(atMs), TOTP_DIGITS);
}

/** The time step (RFC 6238's T) of a moment: whole periods since the Unix epoch. */
export function totpStep(atMs: number): number {
  return Math.floor(atMs / TOTP_PERIOD_MS);
}

/**
 * The time step whose code is `code`, looking at the step of `atMs` and one either side, or
 * undefined. Every candidate is computed and compared in constant time, so how long this takes does
 * not say which step (if any) matched. When two steps share a code the later one is returned, so a
 * caller that refuses steps it has already accepted errs on the side of refusing a replay.
 */
export function matchTotp(secretBase32: string, code: string, atMs: number): number | undefined {
  if (!new RegExp(`^[0-9]{${TOTP_DIGITS}}$`).test(code)) return undefined;
  const key = decodeBase32(secretBase32);
  const given = Buffer.from(code, 'ascii');
  const now = totpStep(atMs);
  let matched: number | undefined;
  for (let step = now - ALLOWED_DRIFT_STEPS; step <= now + ALLOWED_DRIFT_STEPS; step++) {
    if (step < 0) continue;
    const expected = Buffer.from(hotp(key, step, TOTP_DIGITS), 'ascii');
    if (timingSafeEqual(expected, given)) matched = step;
  }
  return matched;
}

/** RFC 4226 HOTP: HMAC-SHA1 over the 8-byte big-endian counter, dynamically truncated to `digits` digits. */
export function hotp(key: Buffer, counter: number, digits: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The otpauth:// URI authenticator apps read (Google's Key URI format), every part percent-encoded. */
export function otpauthUri(options: { issuer: string; account: string; secret: string }): string {
  const issuer = encodeURIComponent(options.issuer);
  const label = `${issuer}:${encodeURIComponent(options.account)}`;
  const query = [
    `secret=${encodeURIComponent(options.secret)}`,
    `issuer=${issuer}`,
    'algorithm=SHA1',
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_PERIOD_MS / 1000}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}

/** RFC 4648 base32, upper case, without padding. */
export function encodeBase32(bytes: Uint8Array): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += BASE32_ALPHABET[(buffer >>> bits) & 0x1f];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) text += BASE32_ALPHABET[(buffer << (5 - bits)) & 0x1f];
  return text;
}

/** Base32 to bytes; lower case is accepted, padding and anything outside the alphabet are not. Throws RangeError. */
export function decodeBase32(text: string): Buffer {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const character of text.toUpperCase()) {
    const value = BASE32_ALPHABET.indexOf(character);
    if (value < 0) throw new RangeError('not base32: it contains a character other than A-Z and 2-7');
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >>> bits) & 0xff);
    }
    buffer &= (1 << bits) - 1;
  }
  // Leftover bits must be zero padding of the last character; anything else was not written by an encoder.
  if (bits >= 5 || buffer !== 0) throw new RangeError('not base32: its length or last character does not end on a whole byte');
  return Buffer.from(bytes);
}
