// Searches logs for secrets, in the forms a secret takes when it leaks: the value itself, escaped
// inside JSON, URL-encoded or base64-encoded; a private key as PEM (whole or any line of it, also
// with its line breaks escaped in a JSON string) or as its bare secret numbers (JWK base64url,
// base64, hex); a TOTP seed as base32 or as the raw key in hex and base64.
// One pass per log: every form is indexed by its first MIN_SECRET_LENGTH characters, so a run with
// thousands of registered keys and megabytes of logs is scanned in about the time it takes to read.
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { decodeBase32 } from '../../src/users/totp.js';
import { MIN_SECRET_LENGTH, type RegisteredSecret } from './secret-ledger.js';

export interface Needle {
  readonly text: string;
  /** How the secret is written in this form, e.g. "PEM line", "base64". */
  readonly form: string;
  readonly secret: RegisteredSecret;
}

export interface Leak {
  readonly file: string;
  readonly line: number;
  readonly kind: string;
  readonly label: string;
  readonly form: string;
  /** The first characters only: the report must not be a leak itself. */
  readonly masked: string;
}

/** Every form in which `secret` would be recognisable in a log. */
export function needlesFor(secret: RegisteredSecret): Needle[] {
  const forms = new Map<string, string>();
  const add = (text: string | undefined, form: string) => {
    if (text !== undefined && text.length >= MIN_SECRET_LENGTH && !forms.has(text)) forms.set(text, form);
  };
  const { value } = secret;
  if (secret.kind === 'private-key' && value.includes('PRIVATE KEY')) {
    const body = value.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
    add(body.join(''), 'PEM body');
    for (const line of body) if (line.length >= 40) add(line, 'PEM line');
    const jwk = createPrivateKey(value).export({ format: 'jwk' });
    for (const name of ['d', 'p', 'q'] as const) {
      const part = jwk[name];
      if (part === undefined) continue;
      const bytes = Buffer.from(part, 'base64url');
      add(part, `JWK ${name} (base64url)`);
      add(bytes.toString('base64'), `private ${name} (base64)`);
      add(bytes.toString('hex'), `private ${name} (hex)`);
    }
    return [...forms].map(([text, form]) => ({ text, form, secret }));
  }
  add(value, 'as is');
  add(JSON.stringify(value).slice(1, -1), 'JSON-escaped');
  add(encodeURIComponent(value), 'URL-encoded');
  add(Buffer.from(value).toString('base64').replace(/=+$/, ''), 'base64');
  if (secret.kind === 'totp-seed') {
    add(value.toLowerCase(), 'base32, lower case');
    const key = decodeBase32(value);
    add(key.toString('hex'), 'raw key (hex)');
    add(key.toString('base64').replace(/=+$/, ''), 'raw key (base64)');
  }
  return [...forms].map(([text, form]) => ({ text, form, secret }));
}

/** Needles indexed by their first MIN_SECRET_LENGTH characters. */
export class NeedleIndex {
  private readonly byPrefix = new Map<string, Needle[]>();

  constructor(secrets: readonly RegisteredSecret[]) {
    for (const secret of secrets) {
      for (const needle of needlesFor(secret)) {
        const prefix = needle.text.slice(0, MIN_SECRET_LENGTH);
        const list = this.byPrefix.get(prefix);
        if (list === undefined) this.byPrefix.set(prefix, [needle]);
        else list.push(needle);
      }
    }
  }

  get size(): number {
    return this.byPrefix.size;
  }

  /** Each needle found in `text`, with the offset of its first occurrence. */
  find(text: string): Array<{ needle: Needle; offset: number }> {
    const found = new Map<Needle, number>();
    if (this.byPrefix.size === 0) return [];
    const last = text.length - MIN_SECRET_LENGTH;
    for (let offset = 0; offset <= last; offset++) {
      const candidates = this.byPrefix.get(text.slice(offset, offset + MIN_SECRET_LENGTH));
      if (candidates === undefined) continue;
      for (const needle of candidates) {
        if (!found.has(needle) && text.startsWith(needle.text, offset)) found.set(needle, offset);
      }
    }
    return [...found].map(([needle, offset]) => ({ needle, offset }));
  }
}

/** Line breaks removed, real and JSON-escaped, so a PEM written into a JSON log line is one string again. */
export function withoutLineBreaks(text: string): string {
  return text.replace(/\\r|\\n|\r|\n/g, '');
}

/** Each secret of `index` that appears in `text` (the contents of `file`): one leak per secret, in the first form found. */
export function scanText(text: string, index: NeedleIndex, file: string): Leak[] {
  const leaks: Leak[] = [];
  const seen = new Set<RegisteredSecret>();
  const report = (needle: Needle, line: number) => {
    if (seen.has(needle.secret)) return;
    seen.add(needle.secret);
    const { kind, label } = needle.secret;
    leaks.push({ file, line, kind, label, form: needle.form, masked: `${needle.text.slice(0, 3)}…` });
  };
  for (const { needle, offset } of index.find(text)) report(needle, lineAt(text, offset));
  // A whole PEM or base64 body broken over lines: found again with the breaks removed (line unknown: 0).
  for (const { needle } of index.find(withoutLineBreaks(text))) report(needle, 0);
  return leaks;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

export interface ScanResult {
  readonly leaks: Leak[];
  readonly files: number;
  readonly bytes: number;
  readonly secrets: number;
}

/** Reads the ledger of a run directory (secrets/*.jsonl) and scans every file under logs/. */
export function scanRunDir(dir: string): ScanResult {
  const secrets = readSecrets(join(dir, 'secrets'));
  const index = new NeedleIndex(secrets);
  const leaks: Leak[] = [];
  let files = 0;
  let bytes = 0;
  for (const file of filesUnder(join(dir, 'logs'))) {
    const text = readFileSync(file, 'utf8');
    files++;
    bytes += text.length;
    leaks.push(...scanText(text, index, relative(dir, file)));
  }
  return { leaks, files, bytes, secrets: secrets.length };
}

export function readSecrets(dir: string): RegisteredSecret[] {
  const secrets = new Map<string, RegisteredSecret>();
  for (const file of filesUnder(dir)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      const secret = JSON.parse(line) as RegisteredSecret;
      secrets.set(`${secret.kind}\0${secret.value}`, secret);
    }
  }
  return [...secrets.values()];
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** One line per leak, saying where and what, never the secret. */
export function describeLeaks(leaks: readonly Leak[]): string {
  return leaks
    .map((leak) => `  ${leak.file}${leak.line > 0 ? `:${leak.line}` : ''}: ${leak.kind} (${leak.label}) written ${leak.form}, starting "${leak.masked}"`)
    .join('\n');
}
