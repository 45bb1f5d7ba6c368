// Password hashes for Gatehouse users: scrypt from node:crypto, stored as
// "$scrypt$ln=15,r=8,p=1$<salt>$<key>" (salt and key in base64 without padding). Hashing runs on
// libuv's thread pool (async scrypt), never on the event loop, so logins cannot stall the proxy.
// The stored form comes from a file an operator (or an attacker who reached it) can edit, so it is
// parsed strictly and its cost parameters are capped: a hash must not make one login take minutes
// or allocate gigabytes.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** The parameters new hashes get: N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds). */
export const DEFAULT_SCRYPT_PARAMETERS = { ln: 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// What a stored hash may ask for. Memory is 128·N·r bytes and work grows with N·r·p; the caps allow
// up to twice today's memory and four times its work, so parameters can grow a little without a
// hostile file turning each login into a denial of service.
const MIN_LN = 10;
const MAX_LN = 16;
const MAX_R = 16;
const MAX_P = 4;
const MAX_MEMORY_BYTES = 2 * 128 * 2 ** DEFAULT_SCRYPT_PARAMETERS.ln * DEFAULT_SCRYPT_PARAMETERS.r;
const MAX_WORK = 4 * 2 ** DEFAULT_SCRYPT_PARAMETERS.ln * DEFAULT_SCRYPT_PARAMETERS.r * DEFAULT_SCRYPT_PARAMETERS.p;
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;

export interface ParsedPasswordHash {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

// Numbers without leading zeros, base64 (standard alphabet) without padding.
const ENCODED = /^\$scrypt\$ln=([1-9][0-9]?),r=([1-9][0-9]?),p=([1-9][0-9]?)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Hashes a password with fresh salt and the default parameters. */
export async function hashPassword(password: string): Promise<string> {
  const { ln, r, p } = DEFAULT_SCRYPT_PARAMETERS;
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, { ln, r, p }, KEY_BYTES);
  return `$scrypt$ln=${ln},r=${r},p=${p}$${toBase64(salt)}$${toBase64(key)}`;
}

/**
 * Whether `password` matches `encoded`. With no hash (unknown user, no password set) or a hash that
 * does not parse, scrypt still runs once with the default parameters, so the answer takes about as
 * long as a real check and does not tell which case it was; the result is then false.
 */
export async function verifyPassword(password: string, encoded: string | undefined): Promise<boolean> {
  const parsed = encoded === undefined ? undefined : parsePasswordHash(encoded);
  if (parsed === undefined || typeof parsed === 'string') {
    await deriveKey(password, DUMMY_SALT, DEFAULT_SCRYPT_PARAMETERS, KEY_BYTES);
    return false;
  }
  const derived = await deriveKey(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(derived, parsed.key);
}

/** The parts of a stored hash, or a sentence saying why it is not one Gatehouse accepts (never echoing it). */
export function parsePasswordHash(encoded: string): ParsedPasswordHash | string {
  const match = ENCODED.exec(encoded);
  if (match === null) return 'is not a Gatehouse password hash ($scrypt$ln=N,r=N,p=N$SALT$KEY); set the password again with "gatehouse users set-password"';
  const [, lnText = '', rText = '', pText = '', saltText = '', keyText = ''] = match;
  const ln = Number(lnText);
  const r = Number(rText);
  const p = Number(pText);
  if (ln < MIN_LN || ln > MAX_LN) return `has scrypt cost ln=${ln}; Gatehouse accepts ln from ${MIN_LN} to ${MAX_LN}`;
  if (r > MAX_R) return `has scrypt block size r=${r}; Gatehouse accepts r up to ${MAX_R}`;
  if (p > MAX_P) return `has scrypt parallelism p=${p}; Gatehouse accepts p up to ${MAX_P}`;
  if (scryptMemory(ln, r) > MAX_MEMORY_BYTES || 2 ** ln * r * p > MAX_WORK) {
    return `has scrypt parameters ln=${ln},r=${r},p=${p} that cost more than Gatehouse allows for one login`;
  }
  const salt = fromBase64(saltText);
  const key = fromBase64(keyText);
  if (salt === undefined || key === undefined) return 'has a salt or key that is not canonical base64 without padding';
  if (salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) return `has a ${salt.length}-byte salt; Gatehouse accepts ${MIN_SALT_BYTES} to ${MAX_SALT_BYTES} bytes`;
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) return `has a ${key.length}-byte key; Gatehouse accepts ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`;
  return { ln, r, p, salt, key };
}

const DUMMY_SALT = Buffer.alloc(SALT_BYTES, 0x5a);

function deriveKey(password: string, salt: Buffer, parameters: { ln: number; r: number; p: number }, length: number): Promise<Buffer> {
  const N = 2 ** parameters.ln;
  // maxmem must exceed what scrypt allocates (about 128·N·r); twice that leaves room for its overhead.
  const options: ScryptOptions = { N, r: parameters.r, p: parameters.p, maxmem: 2 * scryptMemory(parameters.ln, parameters.r) };
  // NFC so that "é" typed as one code point or as e + accent is the same password everywhere.
  const secret = Buffer.from(password.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}

function scryptMemory(ln: number, r: number): number {
  return 128 * 2 ** ln * r;
}

function toBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Decodes base64 without padding, refusing any text that does not re-encode to itself. */
function fromBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return toBase64(bytes) === text ? bytes : undefined;
}
