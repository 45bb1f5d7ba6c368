import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import type { SshTunnelConfig } from '../../../src/config/types.js';
import { parseKnownHosts } from '../../../src/ssh/known-hosts.js';
import { hostKeyAlgorithms, sshClientConfig, type HostKeySeen } from '../../../src/ssh/ssh-client-config.js';

const tunnel: SshTunnelConfig = {
  host: 'bastion.example.com',
  port: 22,
  user: 'gatehouse',
  private_key_file: '/k',
  known_hosts_file: '/kh',
  keepalive_interval_ms: 30_000,
  keepalive_count_max: 10,
};

describe('hostKeyAlgorithms', () => {
  it("asks first for the types known_hosts lists, then every other one (ssh2's order)", () => {
    expect(hostKeyAlgorithms(['ssh-rsa'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
    ]);
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp384', 'sk-ssh-ed25519@openssh.com'])[0]).toBe('ecdsa-sha2-nistp384');
    expect(hostKeyAlgorithms([])).toHaveLength(7);
  });
});

describe('sshClientConfig', () => {
  const key = utils.generateKeyPairSync('ed25519');
  const other = utils.generateKeyPairSync('ed25519');
  const blob = (line: string) => Buffer.from(line.split(' ')[1] ?? '', 'base64');
  const knownHosts = parseKnownHosts(`bastion.example.com ${key.public}\n`);

  it('logs in with the key only, with the configured keepalives and deadline', () => {
    const config = sshClientConfig({ tunnel, knownHosts, privateKey: 'PEM', readyTimeoutMs: 5_000, onHostKey: () => undefined });
    expect(config).toMatchObject({
      host: 'bastion.example.com',
      port: 22,
      username: 'gatehouse',
      privateKey: 'PEM',
      tryKeyboard: false,
      keepaliveInterval: 30_000,
      keepaliveCountMax: 10,
      readyTimeout: 5_000,
    });
    expect(config.password).toBeUndefined();
    expect(config.agent).toBeUndefined();
  });

  it('accepts the known host key and refuses another, reporting what it saw', () => {
    const seen: HostKeySeen[] = [];
    const config = sshClientConfig({ tunnel, knownHosts, privateKey: 'PEM', readyTimeoutMs: 5_000, onHostKey: (hostKey) => seen.push(hostKey) });
    const verify = config.hostVerifier as (key: Buffer) => boolean;
    expect(verify(blob(key.public))).toBe(true);
    expect(verify(blob(other.public))).toBe(false);
    expect(seen.map((entry) => [entry.verdict.kind, entry.offeredType])).toEqual([
      ['trusted', 'ssh-ed25519'],
      ['mismatch', 'ssh-ed25519'],
    ]);
    expect(seen[1]?.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
