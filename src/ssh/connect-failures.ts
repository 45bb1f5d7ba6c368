// How an ssh2 error while connecting to a bastion becomes a BastionFailure: ssh2 says what kind of
// failure it is by the error's `level`, and the host key check (which ssh2 only reports as
// "Host denied") by what Gatehouse's own verifier saw.
import { describeSocketError } from '../proxy/socket-error-text.js';
import type { HostKeySeen } from './ssh-client-config.js';
import type { BastionFailure } from './ssh-errors.js';

/** Which failure an error while connecting is: ssh2 tells by its `level`. */
export function classifyConnectError(error: Error & { level?: string; code?: string }, seen: HostKeySeen | undefined, timeoutMs: number): BastionFailure {
  if (seen !== undefined && seen.verdict.kind !== 'trusted') {
    return { kind: 'host-key', verdict: seen.verdict, offeredType: seen.offeredType, fingerprint: seen.fingerprint };
  }
  switch (error.level) {
    case 'client-authentication':
      return { kind: 'auth' };
    case 'client-timeout':
      return { kind: 'timeout', timeoutMs };
    case 'client-socket':
      return { kind: 'unreachable', reason: describeSocketError(error) };
    default:
      return { kind: 'handshake', reason: error.message };
  }
}
