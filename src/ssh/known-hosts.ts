// The bastion's host key, checked against an OpenSSH known_hosts file the way ssh checks it:
// plain and wildcard host patterns, negations, `[host]:port` entries for other ports than 22,
// hashed `|1|salt|hash` entries (ssh-keygen -H) and `@revoked` keys. Gatehouse never trusts a key
// on first use: a host that is not listed is refused like one whose key changed, so a
// man in the middle gets nothing, not even Gatehouse's login attempt. Pure: no sockets, no logs.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  /** `@revoked` keys are refused for the hosts they match; `@cert-authority` lines are not supported and never trust anything. */
  readonly marker: 'none' | 'revoked' | 'cert-authority';
  /** The host field as written: comma-separated patterns, or one hashed `|1|salt|hash` name. */
  readonly hosts: string;
  readonly keyType: string;
  /** The public key blob (the base64 field decoded), exactly as the server sends it in the key exchange. */
  readonly key: Buffer;
  /** 1-based, for messages. */
  readonly line: number;
}

export type HostKeyVerdict =
  | { readonly kind: 'trusted'; readonly line: number }
  | { readonly kind: 'revoked'; readonly line: number }
  /** The host is listed, but with other keys; `known` are their types and lines. */
  | { readonly kind: 'mismatch'; readonly known: readonly { keyType: string; line: number }[] }
  | { readonly kind: 'unknown' };

/** Reads every well-formed line; malformed ones are skipped, as ssh skips them. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostEntry['marker'] = 'none';
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const key = Buffer.from(base64, 'base64');
    // The blob names its own type first; a line whose two types disagree is corrupt.
    if (blobKeyType(key) !== keyType) continue;
    entries.push({ marker, hosts, keyType, key, line: index + 1 });
  }
  return entries;
}

/** The name ssh looks a host up by: `host` on port 22, `[host]:port` otherwise (host names are case-insensitive). */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** What known_hosts says about the key a bastion offered. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, offered: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  let trustedLine: number | undefined;
  const known: { keyType: string; line: number }[] = [];
  for (const entry of entries) {
    if (entry.marker === 'cert-authority' || !hostMatches(entry.hosts, name)) continue;
    // Every matching entry is compared, in constant time, so the answer's timing says nothing about the file.
    const same = sameKey(entry.key, offered);
    if (entry.marker === 'revoked') {
      if (same) return { kind: 'revoked', line: entry.line };
      continue;
    }
    if (same) trustedLine ??= entry.line;
    known.push({ keyType: entry.keyType, line: entry.line });
  }
  if (trustedLine !== undefined) return { kind: 'trusted', line: trustedLine };
  return known.length > 0 ? { kind: 'mismatch', known } : { kind: 'unknown' };
}

/** The key types known_hosts lists for a host: Gatehouse asks the bastion for those first, as ssh does. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = entries.filter((entry) => entry.marker === 'none' && hostMatches(entry.hosts, name)).map((entry) => entry.keyType);
  return [...new Set(types)];
}

/** ssh-keygen -l's form of a key: SHA256: and the unpadded base64 of the blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The type string at the start of a public key blob (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ...). */
export function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  if (length === 0 || length > 64 || key.length < 4 + length) return undefined;
  return key.toString('latin1', 4, 4 + length);
}

/**
 * Whether a host field names `name`. A hashed field is one name; otherwise any pattern may match,
 * but a matching negated pattern (`!pattern`) rules the whole line out, as in ssh's match_hostname.
 */
export function hostMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedHostMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern === '') continue;
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. */
function hashedHostMatches(hosts: string, name: string): boolean {
  const [, , saltText, hashText] = hosts.split('|');
  if (saltText === undefined || hashText === undefined) return false;
  const salt = Buffer.from(saltText, 'base64');
  const expected = Buffer.from(hashText, 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return sameKey(expected, actual);
}

/** ssh's patterns: `*` any run of characters, `?` one character, case-insensitive, anchored at both ends. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(name);
}

function sameKey(a: Buffer, b: Buffer): boolean {
  // Lengths are not secret (they follow from the key type); the bytes are compared in constant time.
  return a.length === b.length && timingSafeEqual(a, b);
}
