// Every refusal a client can meet on the way through a bastion: its SQLSTATE, code, message and hint.
import { describe, expect, it } from 'vitest';
import type { SshTunnelConfig } from '../../../src/config/types.js';
import { bastionError, bastionLabel, channelRefusedError, tunnelLostError } from '../../../src/ssh/ssh-errors.js';

const tunnel: SshTunnelConfig = {
  host: 'bastion.example.com',
  port: 2222,
  user: 'gatehouse',
  private_key_file: '/var/lib/gatehouse/ssh/warehouse_ed25519',
  known_hosts_file: '/etc/gatehouse/known_hosts',
  keepalive_interval_ms: 30_000,
  keepalive_count_max: 10,
};

describe('bastionError', () => {
  it('labels a bastion as user@host:port, IPv6 in brackets', () => {
    expect(bastionLabel(tunnel)).toBe('gatehouse@bastion.example.com:2222');
    expect(bastionLabel({ ...tunnel, host: '::1' })).toBe('gatehouse@[::1]:2222');
  });

  it('an unreachable bastion', () => {
    const error = bastionError({ kind: 'unreachable', reason: 'connection refused' }, tunnel, 'warehouse');
    expect(error).toMatchObject({
      code: 'GH_ERR_SSH_UNREACHABLE',
      sqlState: '08001',
      message: 'cannot reach database "warehouse": its SSH bastion gatehouse@bastion.example.com:2222 is unreachable: connection refused',
    });
    expect(error.hint).toContain('try again later');
  });

  it('a handshake that did not finish in time', () => {
    expect(bastionError({ kind: 'timeout', timeoutMs: 10_000 }, tunnel, 'warehouse').message).toBe(
      'cannot reach database "warehouse": its SSH bastion gatehouse@bastion.example.com:2222 did not complete the SSH handshake and login within 10000 ms',
    );
  });

  it('a refused key says which command prints the key to authorize', () => {
    const error = bastionError({ kind: 'auth' }, tunnel, 'warehouse');
    expect(error).toMatchObject({ code: 'GH_ERR_SSH_AUTH', sqlState: '08001', message: `SSH bastion gatehouse@bastion.example.com:2222 refused Gatehouse's key for database "warehouse"` });
    expect(error.hint).toBe('The Gatehouse administrator must add this public key to authorized_keys of user gatehouse on the bastion: gatehouse ssh-key show warehouse');
  });

  it('an unknown host key: not trusted on first use, with the fingerprint to compare', () => {
    const error = bastionError(
      { kind: 'host-key', verdict: { kind: 'unknown' }, offeredType: 'ssh-ed25519', fingerprint: 'SHA256:abc' },
      tunnel,
      'warehouse',
    );
    expect(error).toMatchObject({ code: 'GH_ERR_SSH_HOST_KEY', sqlState: '08001' });
    expect(error.message).toBe(
      'the host key of SSH bastion bastion.example.com:2222 (ssh-ed25519 SHA256:abc) is not in known_hosts_file /etc/gatehouse/known_hosts (no entry for [bastion.example.com]:2222), so Gatehouse does not trust it and did not log in (database "warehouse")',
    );
    expect(error.hint).toMatch(/^Check known_hosts: /);
    expect(error.hint).toContain('ssh-keyscan -p 2222 bastion.example.com >> /etc/gatehouse/known_hosts');
  });

  it('a changed host key names the lines it was checked against', () => {
    const error = bastionError(
      {
        kind: 'host-key',
        verdict: { kind: 'mismatch', known: [{ keyType: 'ssh-ed25519', line: 3 }, { keyType: 'ssh-rsa', line: 4 }] },
        offeredType: 'ecdsa-sha2-nistp256',
        fingerprint: 'SHA256:xyz',
      },
      tunnel,
      'warehouse',
    );
    expect(error.code).toBe('GH_ERR_SSH_HOST_KEY');
    expect(error.message).toContain('(ecdsa-sha2-nistp256 SHA256:xyz) does not match known_hosts_file /etc/gatehouse/known_hosts (ssh-ed25519 at line 3, ssh-rsa at line 4)');
    expect(error.message).toContain('someone is intercepting the connection');
    expect(error.hint).toMatch(/^Check known_hosts: /);
  });

  it('a revoked host key', () => {
    const error = bastionError({ kind: 'host-key', verdict: { kind: 'revoked', line: 7 }, offeredType: 'ssh-ed25519', fingerprint: 'SHA256:abc' }, tunnel, 'warehouse');
    expect(error.message).toContain('is marked @revoked in known_hosts_file /etc/gatehouse/known_hosts (line 7)');
  });

  it('a known_hosts file that is missing says how to make one', () => {
    const error = bastionError({ kind: 'known-hosts-file', reason: 'does not exist' }, tunnel, 'warehouse');
    expect(error.message).toBe(
      'cannot check the host key of SSH bastion gatehouse@bastion.example.com:2222 for database "warehouse": known_hosts_file /etc/gatehouse/known_hosts does not exist',
    );
    expect(error.hint).toContain('ssh-keyscan -p 2222 bastion.example.com > /etc/gatehouse/known_hosts');
  });

  it('a connection lost while a dial waited on it, and while a session ran over it', () => {
    expect(bastionError({ kind: 'lost', reason: 'Keepalive timeout' }, tunnel, 'warehouse').message).toBe(
      'the SSH connection to bastion gatehouse@bastion.example.com:2222 was lost while connecting to database "warehouse": Keepalive timeout',
    );
    const lost = tunnelLostError('connection reset', tunnel);
    expect(lost).toMatchObject({
      code: 'GH_ERR_SSH_UNREACHABLE',
      sqlState: '08006',
      message: 'the connection to the database ended: the SSH connection to its bastion gatehouse@bastion.example.com:2222 was lost (connection reset)',
    });
    expect(lost.hint).toContain('Reconnect');
  });

  it('shutting down', () => {
    expect(bastionError({ kind: 'closed' }, tunnel, 'warehouse')).toMatchObject({ code: 'GH_ERR_SHUTTING_DOWN', sqlState: '57P01' });
  });
});

describe('channelRefusedError', () => {
  it('forwarding not allowed for the user', () => {
    const error = channelRefusedError({ reason: 1, description: 'administratively prohibited' }, tunnel, 'warehouse', { host: 'db.internal', port: 5432 });
    expect(error).toMatchObject({
      code: 'GH_ERR_SSH_CHANNEL',
      sqlState: '08001',
      message: 'SSH bastion gatehouse@bastion.example.com:2222 refused to open a connection to database "warehouse" at db.internal:5432: administratively prohibited',
    });
    expect(error.hint).toContain('AllowTcpForwarding');
  });

  it('the database is not reachable from the bastion', () => {
    const error = channelRefusedError({ reason: 2, description: 'Connection refused' }, tunnel, 'warehouse', { host: 'fd00::5', port: 5432 });
    expect(error.message).toContain('at [fd00::5]:5432: Connection refused');
    expect(error.hint).toContain('not reachable from the bastion at [fd00::5]:5432');
  });
});
