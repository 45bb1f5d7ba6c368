// known_hosts as OpenSSH writes it: the keys, hashed lines and fingerprints below were made with
// ssh-keygen (ssh-keygen -H for the hashed lines, ssh-keygen -l for the fingerprints).
import { describe, expect, it } from 'vitest';
import { blobKeyType, checkHostKey, fingerprint, hostMatches, knownHostsName, knownKeyTypes, parseKnownHosts } from '../../../src/ssh/known-hosts.js';

const ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAIAe0XYbLlMP54MX5i5LSfn38dE6IpLKD0LFXncM8DdrD';
const ECDSA =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCzlgkz7mreMpRDWehMYdBdNTs55S5cJChw+0peidQ+EuH3pM2z0Bvc5DzsRAExrAyMhjEF9waTuf+PWSnteOsQ=';
const ed25519 = Buffer.from(ED25519, 'base64');
const ecdsa = Buffer.from(ECDSA, 'base64');
/** ssh-keygen -H of "bastion.example.com" and "[127.0.0.1]:2222", both with the Ed25519 key. */
const HASHED_BASTION = `|1|oc8ReSD36usmsHSiL6Nyyz4fdQA=|1m9DgTAYn3p9IjgX78IW8t/Deew= ssh-ed25519 ${ED25519}`;
const HASHED_LOOPBACK_2222 = `|1|0/dhtuePhGMejeCwL+uL4wrs6r0=|xwk6gySMGnCHrQGlw+g1pYWxj40= ssh-ed25519 ${ED25519}`;

describe('parseKnownHosts', () => {
  it('reads entries with their markers and lines, skipping comments, blank and malformed lines', () => {
    const entries = parseKnownHosts(
      [
        '# a comment',
        '',
        `bastion.example.com ssh-ed25519 ${ED25519} a comment`,
        `@revoked * ecdsa-sha2-nistp256 ${ECDSA}`,
        `@cert-authority *.example.com ssh-ed25519 ${ED25519}`,
        `@unknown-marker host ssh-ed25519 ${ED25519}`,
        'onlyahost',
        `host ssh-ed25519 not*base64`,
        // The blob says ssh-ed25519: a line that calls it something else is corrupt.
        `host ssh-rsa ${ED25519}`,
        `\t  indented.example.com   ecdsa-sha2-nistp256   ${ECDSA}  `,
      ].join('\r\n'),
    );
    expect(entries.map((entry) => [entry.marker, entry.hosts, entry.keyType, entry.line])).toEqual([
      ['none', 'bastion.example.com', 'ssh-ed25519', 3],
      ['revoked', '*', 'ecdsa-sha2-nistp256', 4],
      ['cert-authority', '*.example.com', 'ssh-ed25519', 5],
      ['none', 'indented.example.com', 'ecdsa-sha2-nistp256', 10],
    ]);
    expect(entries[0]?.key.equals(ed25519)).toBe(true);
  });
});

describe('host names and patterns', () => {
  it('names a host as ssh does: plain on port 22, [host]:port otherwise, lower case', () => {
    expect(knownHostsName('Bastion.Example.com', 22)).toBe('bastion.example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(knownHostsName('::1', 2222)).toBe('[::1]:2222');
  });

  it('matches lists, wildcards and negations, case-insensitively', () => {
    expect(hostMatches('a.example.com,bastion.example.com', 'bastion.example.com')).toBe(true);
    expect(hostMatches('*.EXAMPLE.com', 'bastion.example.com')).toBe(true);
    expect(hostMatches('bastion?.example.com', 'bastion1.example.com')).toBe(true);
    expect(hostMatches('bastion?.example.com', 'bastion.example.com')).toBe(false);
    expect(hostMatches('*.example.com,!bastion.example.com', 'bastion.example.com')).toBe(false);
    expect(hostMatches('*.example.com,!bastion.example.com', 'other.example.com')).toBe(true);
    expect(hostMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222')).toBe(true);
    // A port-22 entry does not vouch for another port, nor the other way round.
    expect(hostMatches('127.0.0.1', '[127.0.0.1]:2222')).toBe(false);
    expect(hostMatches('[127.0.0.1]:2222', '127.0.0.1')).toBe(false);
    // Regular expression characters in a pattern are literal.
    expect(hostMatches('bastion.example.com', 'bastionXexample.com')).toBe(false);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const [bastion, loopback] = parseKnownHosts(`${HASHED_BASTION}\n${HASHED_LOOPBACK_2222}\n`);
    expect(hostMatches(bastion?.hosts ?? '', 'bastion.example.com')).toBe(true);
    expect(hostMatches(bastion?.hosts ?? '', 'other.example.com')).toBe(false);
    expect(hostMatches(loopback?.hosts ?? '', '[127.0.0.1]:2222')).toBe(true);
    expect(hostMatches(loopback?.hosts ?? '', '127.0.0.1')).toBe(false);
    expect(hostMatches('|1|broken', 'bastion.example.com')).toBe(false);
  });
});

describe('checkHostKey', () => {
  const entries = parseKnownHosts(
    [`bastion.example.com ssh-ed25519 ${ED25519}`, HASHED_LOOPBACK_2222, `other.example.com ecdsa-sha2-nistp256 ${ECDSA}`].join('\n'),
  );

  it('trusts the listed key, by plain or hashed name', () => {
    expect(checkHostKey(entries, 'bastion.example.com', 22, ed25519)).toEqual({ kind: 'trusted', line: 1 });
    expect(checkHostKey(entries, 'BASTION.example.com', 22, ed25519)).toEqual({ kind: 'trusted', line: 1 });
    expect(checkHostKey(entries, '127.0.0.1', 2222, ed25519)).toEqual({ kind: 'trusted', line: 2 });
  });

  it('refuses another key for a listed host, naming what is listed', () => {
    expect(checkHostKey(entries, 'bastion.example.com', 22, ecdsa)).toEqual({ kind: 'mismatch', known: [{ keyType: 'ssh-ed25519', line: 1 }] });
  });

  it('refuses a host that is not listed, even with a key known for another host (no trust on first use)', () => {
    expect(checkHostKey(entries, 'new.example.com', 22, ed25519)).toEqual({ kind: 'unknown' });
    expect(checkHostKey(entries, 'bastion.example.com', 2222, ed25519)).toEqual({ kind: 'unknown' });
    expect(checkHostKey([], 'bastion.example.com', 22, ed25519)).toEqual({ kind: 'unknown' });
  });

  it('refuses a revoked key even when another line trusts it', () => {
    const revoked = parseKnownHosts(`bastion.example.com ssh-ed25519 ${ED25519}\n@revoked * ssh-ed25519 ${ED25519}\n`);
    expect(checkHostKey(revoked, 'bastion.example.com', 22, ed25519)).toEqual({ kind: 'revoked', line: 2 });
  });

  it('never trusts through @cert-authority lines (host certificates are not supported)', () => {
    const authority = parseKnownHosts(`@cert-authority bastion.example.com ssh-ed25519 ${ED25519}\n`);
    expect(checkHostKey(authority, 'bastion.example.com', 22, ed25519)).toEqual({ kind: 'unknown' });
  });

  it('lists the key types known for a host, for the algorithm order', () => {
    const both = parseKnownHosts(`b.example.com ecdsa-sha2-nistp256 ${ECDSA}\nb.example.com ssh-ed25519 ${ED25519}\n@revoked b.example.com ssh-ed25519 ${ED25519}\n`);
    expect(knownKeyTypes(both, 'b.example.com', 22)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(knownKeyTypes(both, 'c.example.com', 22)).toEqual([]);
  });
});

describe('fingerprint and key type', () => {
  it('prints fingerprints as ssh-keygen -l does', () => {
    expect(fingerprint(ed25519)).toBe('SHA256:+iNeM+PXW5WHIbZMFFU4fodEmdc04EIQIymgKzI0FMA');
    expect(fingerprint(ecdsa)).toBe('SHA256:0OPxoHI3B8vy9FnRzrx/3OqlXkP1yLjoHa1j/5hZrK8');
  });

  it('reads the type a blob names, and nothing from a truncated one', () => {
    expect(blobKeyType(ed25519)).toBe('ssh-ed25519');
    expect(blobKeyType(ecdsa)).toBe('ecdsa-sha2-nistp256');
    expect(blobKeyType(Buffer.from([0, 0, 0, 11, 0x73]))).toBeUndefined();
    expect(blobKeyType(Buffer.alloc(2))).toBeUndefined();
  });
});
