// What went wrong with a bastion, as data (one failure can concern every database behind it), and
// the GatehouseError each session gets for it: SQLSTATE 08001 (08006 when a running session lost
// its tunnel) and a message that says which bastion, what happened and what to do.
import type { SshTunnelConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { knownHostsName, type HostKeyVerdict } from './known-hosts.js';

export type BastionFailure =
  /** The TCP connection to the bastion failed (refused, no route, name not found, reset). */
  | { readonly kind: 'unreachable'; readonly reason: string }
  /** No finished SSH handshake and login within the connect timeout. */
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  /** The bastion accepted none of Gatehouse's authentication (its key is not in authorized_keys). */
  | { readonly kind: 'auth' }
  | {
      readonly kind: 'host-key';
      readonly verdict: Exclude<HostKeyVerdict, { kind: 'trusted' }>;
      readonly offeredType: string;
      readonly fingerprint: string;
    }
  /** The known_hosts file could not be read. */
  | { readonly kind: 'known-hosts-file'; readonly reason: string }
  /** Any other SSH-level failure while connecting (no common algorithm, protocol error). */
  | { readonly kind: 'handshake'; readonly reason: string }
  /** An established connection went away (keepalive timeout, reset, the bastion closed it). */
  | { readonly kind: 'lost'; readonly reason: string }
  /** Gatehouse is shutting down and closed its SSH connections. */
  | { readonly kind: 'closed' };

/** user@host:port, as ssh would write it (IPv6 in brackets). */
export function bastionLabel(tunnel: SshTunnelConfig): string {
  const host = tunnel.host.includes(':') ? `[${tunnel.host}]` : tunnel.host;
  return `${tunnel.user}@${host}:${tunnel.port}`;
}

const unreachableHint = 'The bastion may be down or unreachable from Gatehouse; try again later or tell the Gatehouse administrator.';

/** The error a dial (a new session, or a cancel request) gets when its bastion connection failed. */
export function bastionError(failure: BastionFailure, tunnel: SshTunnelConfig, databaseName: string): GatehouseError {
  const bastion = bastionLabel(tunnel);
  const refused = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string, hint: string) =>
    new GatehouseError(code, message, { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH, hint });
  switch (failure.kind) {
    case 'unreachable':
      return refused(ErrorCodes.SSH_UNREACHABLE, `cannot reach database "${databaseName}": its SSH bastion ${bastion} is unreachable: ${failure.reason}`, unreachableHint);
    case 'timeout':
      return refused(
        ErrorCodes.SSH_UNREACHABLE,
        `cannot reach database "${databaseName}": its SSH bastion ${bastion} did not complete the SSH handshake and login within ${failure.timeoutMs} ms`,
        unreachableHint,
      );
    case 'auth':
      return refused(
        ErrorCodes.SSH_AUTH,
        `SSH bastion ${bastion} refused Gatehouse's key for database "${databaseName}"`,
        `The Gatehouse administrator must add this public key to authorized_keys of user ${tunnel.user} on the bastion: gatehouse ssh-key show ${databaseName}`,
      );
    case 'host-key':
      return hostKeyError(failure, tunnel, databaseName);
    case 'known-hosts-file':
      return refused(
        ErrorCodes.SSH_HOST_KEY,
        `cannot check the host key of SSH bastion ${bastion} for database "${databaseName}": known_hosts_file ${tunnel.known_hosts_file} ${failure.reason}`,
        `Check known_hosts: create it with "ssh-keyscan -p ${tunnel.port} ${tunnel.host} > ${tunnel.known_hosts_file}" and compare the fingerprints with the bastion's own.`,
      );
    case 'handshake':
      return refused(ErrorCodes.SSH_UNREACHABLE, `the SSH handshake with bastion ${bastion} for database "${databaseName}" failed: ${failure.reason}`, unreachableHint);
    case 'lost':
      return refused(
        ErrorCodes.SSH_UNREACHABLE,
        `the SSH connection to bastion ${bastion} was lost while connecting to database "${databaseName}": ${failure.reason}`,
        'Try again: Gatehouse re-establishes the bastion connection for the next session.',
      );
    case 'closed':
      return new GatehouseError(ErrorCodes.SHUTTING_DOWN, 'Gatehouse is shutting down', { sqlState: SqlState.ADMIN_SHUTDOWN, hint: 'Reconnect in a moment.' });
  }
}

/** The error a running session ends with when the SSH connection under it goes away. */
export function tunnelLostError(reason: string, tunnel: SshTunnelConfig): GatehouseError {
  return new GatehouseError(
    ErrorCodes.SSH_UNREACHABLE,
    `the connection to the database ended: the SSH connection to its bastion ${bastionLabel(tunnel)} was lost (${reason})`,
    { sqlState: SqlState.CONNECTION_FAILURE, hint: 'Reconnect: Gatehouse re-establishes the bastion connection for the next session.' },
  );
}

/** The bastion would not open a direct-tcpip channel (RFC 4254 7.2 reason codes). */
export function channelRefusedError(
  refusal: { reason?: number | string; description: string },
  tunnel: SshTunnelConfig,
  databaseName: string,
  target: { host: string; port: number },
): GatehouseError {
  const at = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const hint =
    refusal.reason === 1
      ? `The bastion does not let ${tunnel.user} forward TCP connections: check AllowTcpForwarding / PermitOpen in its sshd_config and any restrict or permitopen option on Gatehouse's line in authorized_keys.`
      : refusal.reason === 2
        ? `The database may be down, or not reachable from the bastion at ${at}; check databases[].uri (it is dialled from the bastion) or tell the Gatehouse administrator.`
        : unreachableHint;
  return new GatehouseError(
    ErrorCodes.SSH_CHANNEL,
    `SSH bastion ${bastionLabel(tunnel)} refused to open a connection to database "${databaseName}" at ${at}: ${refusal.description || 'no reason given'}`,
    { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH, hint },
  );
}

function hostKeyError(failure: Extract<BastionFailure, { kind: 'host-key' }>, tunnel: SshTunnelConfig, databaseName: string): GatehouseError {
  const host = tunnel.host.includes(':') ? `[${tunnel.host}]:${tunnel.port}` : `${tunnel.host}:${tunnel.port}`;
  const offered = `${failure.offeredType} ${failure.fingerprint}`;
  const file = tunnel.known_hosts_file;
  const scan = `ssh-keyscan -p ${tunnel.port} ${tunnel.host}`;
  const { verdict } = failure;
  let message: string;
  let hint: string;
  switch (verdict.kind) {
    case 'unknown':
      message = `the host key of SSH bastion ${host} (${offered}) is not in known_hosts_file ${file} (no entry for ${knownHostsName(tunnel.host, tunnel.port)}), so Gatehouse does not trust it and did not log in (database "${databaseName}")`;
      hint = `Check known_hosts: compare that fingerprint with the bastion's own, then add its line ("${scan} >> ${file}").`;
      break;
    case 'mismatch': {
      const known = verdict.known.map((entry) => `${entry.keyType} at line ${entry.line}`).join(', ');
      message = `the host key of SSH bastion ${host} (${offered}) does not match known_hosts_file ${file} (${known}): the bastion's key changed, or someone is intercepting the connection; Gatehouse did not log in (database "${databaseName}")`;
      hint = `Check known_hosts: if the bastion's key was replaced on purpose, compare the new fingerprint with the bastion's own and replace its line with the output of "${scan}".`;
      break;
    }
    case 'revoked':
      message = `the host key of SSH bastion ${host} (${offered}) is marked @revoked in known_hosts_file ${file} (line ${verdict.line}); Gatehouse did not log in (database "${databaseName}")`;
      hint = 'Check known_hosts: the bastion still uses a key that was revoked; give it a new host key.';
      break;
  }
  return new GatehouseError(ErrorCodes.SSH_HOST_KEY, message, { sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH, hint });
}
