// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, for logging in to the database:
// AuthenticationSASL → SASLInitialResponse, AuthenticationSASLContinue → SASLResponse,
// AuthenticationSASLFinal → check the server's signature. Like libpq without channel binding:
// gs2 header "n,,", an empty user name (PostgreSQL takes the user from the startup message), the
// password SASLprep'd the way PostgreSQL does it, falling back to the raw bytes when SASLprep
// refuses it. The server's messages are hostile input: every problem with them is a
// GatehouseError, and any error ends the exchange.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, GatehouseError, SqlState } from '../../errors.js';
import { cString, frontendMessage, int32 } from './frontend-message.js';
import { passwordBytes } from './password-bytes.js';
import type { SaltedPasswordCache } from './salted-password-cache.js';
import { saslprep } from './saslprep.js';

export { LruSaltedPasswordCache, type SaltedPasswordCache } from './salted-password-cache.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
/** Far above PostgreSQL's default of 4096 and its scram_iterations settings in practice; a
 * server asking for more is asking us to burn seconds of CPU per login. */
export const MAX_SCRAM_ITERATIONS = 10_000_000;
const GS2_HEADER = 'n,,';
const CHANNEL_BINDING = Buffer.from(GS2_HEADER).toString('base64');
/** libpq's SCRAM_RAW_NONCE_LEN. */
const NONCE_BYTES = 18;
const KEY_BYTES = 32;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ScramSha256Options {
  cache?: SaltedPasswordCache;
  /** The raw client nonce; only tests set it. */
  nonce?: Buffer;
}

type Step =
  | { name: 'initial' }
  | { name: 'started'; clientNonce: string; clientFirstBare: string }
  | { name: 'continued'; serverSignature: Buffer }
  | { name: 'finished' }
  | { name: 'failed' };

export class ScramSha256Client {
  private readonly password: Buffer;
  private readonly cache: SaltedPasswordCache | undefined;
  private readonly nonce: Buffer | undefined;
  private step: Step = { name: 'initial' };

  constructor(password: string, options: ScramSha256Options = {}) {
    const prepared = saslprep(password);
    this.password = passwordBytes(prepared ?? password);
    if (options.nonce !== undefined && options.nonce.length === 0) throw new RangeError('a SCRAM client nonce cannot be empty');
    this.cache = options.cache;
    this.nonce = options.nonce;
  }

  /** True once the server has proved it knows the password (finish succeeded). The login must
   * not accept AuthenticationOk before this: a server that skips SASLFinal has proved nothing. */
  get completed(): boolean {
    return this.step.name === 'finished';
  }

  /** SASLInitialResponse for AuthenticationSASL's list of mechanisms. */
  start(mechanisms: readonly string[]): Buffer {
    this.expect('initial', 'AuthenticationSASL');
    if (!mechanisms.includes(SCRAM_SHA_256)) {
      this.step = { name: 'failed' };
      const offered = mechanisms.length === 0 ? 'none' : mechanisms.map((m) => JSON.stringify(m)).join(', ');
      throw new GatehouseError(
        ErrorCodes.UPSTREAM_AUTH,
        `the database offered SASL mechanisms ${offered}, but Gatehouse supports only ${SCRAM_SHA_256}`,
        { sqlState: SqlState.FEATURE_NOT_SUPPORTED },
      );
    }
    const clientNonce = (this.nonce ?? randomBytes(NONCE_BYTES)).toString('base64');
    const clientFirstBare = `n=,r=${clientNonce}`;
    this.step = { name: 'started', clientNonce, clientFirstBare };
    const clientFirst = Buffer.from(GS2_HEADER + clientFirstBare, 'latin1');
    return frontendMessage('p', cString(SCRAM_SHA_256), int32(clientFirst.length), clientFirst);
  }

  /** SASLResponse (client-final-message) for AuthenticationSASLContinue's server-first-message. */
  continue(serverFirst: Buffer): Buffer {
    const step = this.expect('started', 'AuthenticationSASLContinue');
    // The password is needed only here; don't keep it in memory once this returns or throws.
    return this.failOnError(() => {
      const text = printableAscii(serverFirst, 'server-first-message');
      const { nonce, salt, iterations } = parseServerFirst(text, step.clientNonce);
      const salted = this.saltedPassword(salt, iterations);
      const withoutProof = `c=${CHANNEL_BINDING},r=${nonce}`;
      const { clientProof, serverSignature } = scramProof(salted, `${step.clientFirstBare},${text},${withoutProof}`);
      this.step = { name: 'continued', serverSignature };
      return frontendMessage('p', Buffer.from(`${withoutProof},p=${clientProof.toString('base64')}`, 'latin1'));
    }, () => this.password.fill(0));
  }

  /** Checks AuthenticationSASLFinal's server-final-message; throws unless the server signed. */
  finish(serverFinal: Buffer): void {
    const step = this.expect('continued', 'AuthenticationSASLFinal');
    this.failOnError(() => {
      const text = printableAscii(serverFinal, 'server-final-message');
      if (text.startsWith('e=')) {
        throw new GatehouseError(
          ErrorCodes.UPSTREAM_AUTH,
          `the database rejected the SCRAM-SHA-256 login: ${text.slice(2, 200)}`,
          { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH, hint: 'Tell the Gatehouse administrator: check the password Gatehouse has for this database.' },
        );
      }
      const match = /^v=([^,]*)$/.exec(text);
      if (match === null) throw malformed('server-final-message', 'expected only a v= attribute');
      const signature = decodeBase64(match[1]!, 'server-final-message', 'signature');
      if (signature.length !== step.serverSignature.length || !timingSafeEqual(signature, step.serverSignature)) {
        throw new GatehouseError(
          ErrorCodes.UPSTREAM_AUTH,
          'the database failed to prove it knows the SCRAM-SHA-256 password (server signature mismatch)',
          { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH, hint: 'Something between Gatehouse and the database may be impersonating it, or the password changed mid-login.' },
        );
      }
      this.step = { name: 'finished' };
    });
  }

  private saltedPassword(salt: Buffer, iterations: number): Buffer {
    if (this.cache === undefined) return pbkdf2Sync(this.password, salt, iterations, KEY_BYTES, 'sha256');
    const key = `${createHash('sha256').update(this.password).digest('base64')}:${salt.toString('base64')}:${iterations}`;
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.length === KEY_BYTES) return cached;
    const salted = pbkdf2Sync(this.password, salt, iterations, KEY_BYTES, 'sha256');
    this.cache.set(key, salted);
    return salted;
  }

  private expect<N extends Step['name']>(name: N, message: string): Extract<Step, { name: N }> {
    if (this.step.name !== name) {
      const was = this.step.name;
      this.step = { name: 'failed' };
      throw new GatehouseError(
        ErrorCodes.UPSTREAM_AUTH,
        `the database sent ${message} out of order in the SCRAM-SHA-256 exchange (exchange was ${was})`,
        { sqlState: SqlState.PROTOCOL_VIOLATION },
      );
    }
    return this.step as Extract<Step, { name: N }>;
  }

  private failOnError<T>(run: () => T, always?: () => void): T {
    try {
      return run();
    } catch (error) {
      this.step = { name: 'failed' };
      throw error;
    } finally {
      always?.();
    }
  }
}

/** ClientProof and ServerSignature for a salted password and AuthMessage (RFC 5802 section 3). */
export function scramProof(saltedPassword: Buffer, authMessage: string): { clientProof: Buffer; serverSignature: Buffer } {
  const clientKey = hmac(saltedPassword, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const clientSignature = hmac(storedKey, authMessage);
  const clientProof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < clientKey.length; i++) clientProof[i] = clientKey[i]! ^ clientSignature[i]!;
  const serverSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
  return { clientProof, serverSignature };
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'latin1').digest();
}

/** server-first-message = r=<nonce>,s=<salt>,i=<count>, nothing more (as libpq insists). */
function parseServerFirst(text: string, clientNonce: string): { nonce: string; salt: Buffer; iterations: number } {
  const what = 'server-first-message';
  if (text.startsWith('m=')) throw malformed(what, 'it demands a SCRAM extension (m=) that Gatehouse does not support');
  const attributes = text.split(',');
  if (attributes.length !== 3) throw malformed(what, `expected r=, s= and i=, got ${attributes.length} attribute(s)`);
  const [r, s, i] = attributes as [string, string, string];
  if (!r.startsWith('r=') || !s.startsWith('s=') || !i.startsWith('i=')) throw malformed(what, 'expected r=, s= and i= in that order');
  const nonce = r.slice(2);
  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
    throw malformed(what, 'the server nonce does not extend the client nonce');
  }
  const salt = decodeBase64(s.slice(2), what, 'salt');
  if (salt.length === 0) throw malformed(what, 'the salt is empty');
  const count = i.slice(2);
  if (!/^[1-9][0-9]{0,7}$/.test(count) || Number(count) > MAX_SCRAM_ITERATIONS) {
    throw malformed(what, `iteration count ${JSON.stringify(count.slice(0, 20))} is not a whole number from 1 to ${MAX_SCRAM_ITERATIONS}`);
  }
  return { nonce, salt, iterations: Number(count) };
}

/** SCRAM messages are printable ASCII (attribute values exclude NUL, and the ones PostgreSQL sends
 * are ASCII); anything else is refused so the text we hash is exactly the bytes we received. */
function printableAscii(data: Buffer, what: string): string {
  if (data.length === 0) throw malformed(what, 'it is empty');
  for (const byte of data) {
    if (byte < 0x21 || byte > 0x7e) throw malformed(what, `it contains byte 0x${byte.toString(16).padStart(2, '0')}`);
  }
  return data.toString('latin1');
}

function decodeBase64(text: string, what: string, field: string): Buffer {
  const decoded = Buffer.from(text, 'base64');
  if (!BASE64.test(text) || decoded.toString('base64') !== text) throw malformed(what, `the ${field} is not valid base64`);
  return decoded;
}

function malformed(what: string, reason: string): GatehouseError {
  return new GatehouseError(ErrorCodes.UPSTREAM_AUTH, `the database sent a malformed SCRAM ${what}: ${reason}`, {
    sqlState: SqlState.PROTOCOL_VIOLATION,
  });
}
