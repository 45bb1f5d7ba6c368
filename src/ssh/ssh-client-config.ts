// The ssh2 settings for one bastion connection: who logs in with which key, the keepalives from
// ssh_tunnel, the handshake deadline, and the host key check. The bastion is asked first for the
// host key types known_hosts lists for it (as ssh does), so a bastion with several host keys
// offers the one Gatehouse can check rather than the one ssh2 happens to prefer.
import type { ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import type { SshTunnelConfig } from '../config/types.js';
import { blobKeyType, checkHostKey, fingerprint, knownKeyTypes, type HostKeyVerdict, type KnownHostEntry } from './known-hosts.js';

/** ssh2's own default order of host key algorithms (all of them supported on Node 20). */
const DEFAULT_HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** The signature algorithms that prove a key of each type known_hosts can hold. */
const ALGORITHMS_FOR_KEY_TYPE: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Known types' algorithms first, then every other one, so that an unlisted key is still seen (and named in the error). */
export function hostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const preferred = knownTypes.flatMap((type) => ALGORITHMS_FOR_KEY_TYPE[type] ?? []);
  return [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

/** What the host key check saw, for the error message when it refused. */
export interface HostKeySeen {
  verdict: HostKeyVerdict;
  offeredType: string;
  fingerprint: string;
}

export function sshClientConfig(options: {
  readonly tunnel: SshTunnelConfig;
  readonly knownHosts: readonly KnownHostEntry[];
  /** The private key file's text (already checked by readSshPrivateKey). */
  readonly privateKey: string;
  readonly readyTimeoutMs: number;
  /** Called with what the check saw, whatever it decided. */
  readonly onHostKey: (seen: HostKeySeen) => void;
}): ConnectConfig {
  const { tunnel, knownHosts } = options;
  return {
    host: tunnel.host,
    port: tunnel.port,
    username: tunnel.user,
    privateKey: options.privateKey,
    // Only the key: no agent, no password, no keyboard-interactive prompts a daemon could not answer.
    tryKeyboard: false,
    keepaliveInterval: tunnel.keepalive_interval_ms,
    keepaliveCountMax: tunnel.keepalive_count_max,
    readyTimeout: options.readyTimeoutMs,
    algorithms: { serverHostKey: hostKeyAlgorithms(knownKeyTypes(knownHosts, tunnel.host, tunnel.port)) },
    hostVerifier: (key: Buffer): boolean => {
      const verdict = checkHostKey(knownHosts, tunnel.host, tunnel.port, key);
      options.onHostKey({ verdict, offeredType: blobKeyType(key) ?? 'unknown-type', fingerprint: fingerprint(key) });
      return verdict.kind === 'trusted';
    },
  };
}
