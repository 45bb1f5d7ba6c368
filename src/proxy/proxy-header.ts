// The PROXY protocol step of a client connection, before any PostgreSQL byte: with
// proxy.proxy_protocol on or optional, read the header a load balancer put in front of the stream
// and say who the real client is. A header is believed only from a peer inside
// proxy.proxy_protocol_trusted_cidrs: anyone else could claim any address and walk past
// address-based rules and the audit trail. The bytes after the header stay in the reader for the
// startup packets.
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/types.js';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { parseProxyHeader, type ProxiedAddress, type ProxyHeader } from '../protocol/proxy-protocol.js';
import { CidrMatcher } from './cidr.js';
import { ClientClosedError, type StartupReader } from './startup-reader.js';

export interface ProxyProtocolPolicy {
  /** on: every connection must start with a header; optional: a header is used when present. */
  readonly mode: 'on' | 'optional';
  readonly trusted: CidrMatcher;
  readonly logger: Logger;
}

/** The policy in force for a new connection, or undefined when proxy.proxy_protocol is off. */
export function proxyProtocolPolicy(proxy: ProxyConfig, logger: Logger): ProxyProtocolPolicy | undefined {
  if (proxy.proxy_protocol === 'off') return undefined;
  return { mode: proxy.proxy_protocol, trusted: new CidrMatcher(proxy.proxy_protocol_trusted_cidrs), logger };
}

/**
 * Reads the PROXY header, if any, off the front of the connection. Returns the real client's
 * address, or undefined when the socket's own address is the client's (no header in optional
 * mode, a LOCAL health check, a v1 UNKNOWN or a UNIX-socket client). Throws a GatehouseError the
 * session turns into an ErrorResponse for a missing, malformed or untrusted header.
 */
export async function readProxyHeader(reader: StartupReader, peer: { address?: string; port?: number }, policy: ProxyProtocolPolicy): Promise<ProxiedAddress | undefined> {
  const peerText = `${peer.address ?? '?'}:${peer.port ?? 0}`;
  const header = await reader.take((buffered): { value: ProxyHeader | undefined; consumed: number } | null => {
    const result = parseProxyHeader(buffered);
    switch (result.kind) {
      case 'need-more':
        return null;
      case 'not-a-header':
        return { value: undefined, consumed: 0 };
      case 'header':
        return { value: result.header, consumed: result.consumed };
    }
  });
  if (header === undefined) {
    if (policy.mode === 'optional') return undefined;
    policy.logger.warn({ peer_addr: peerText }, 'connection without a PROXY protocol header refused (proxy.proxy_protocol is on)');
    throw new GatehouseError(
      ErrorCodes.PROXY_PROTOCOL,
      'this Gatehouse listener requires a PROXY protocol header (proxy.proxy_protocol: on), and the connection did not start with one',
      {
        sqlState: SqlState.PROTOCOL_VIOLATION,
        hint: 'Connect through the load balancer in front of Gatehouse rather than to Gatehouse directly, or ask the administrator to set proxy.proxy_protocol to optional.',
      },
    );
  }
  // A socket reset before its header was read no longer knows its peer: the client left, it was not refused.
  if (peer.address === undefined) throw new ClientClosedError();
  if (!policy.trusted.contains(peer.address)) {
    policy.logger.warn({ peer_addr: peerText }, 'PROXY protocol header from an untrusted peer refused');
    throw new GatehouseError(
      ErrorCodes.PROXY_PROTOCOL_UNTRUSTED,
      `a PROXY protocol header came from ${peerText}, which is not in proxy.proxy_protocol_trusted_cidrs; Gatehouse takes the client address from trusted load balancers only`,
      {
        sqlState: SqlState.PROTOCOL_VIOLATION,
        hint: 'If this is your load balancer, add its address range to proxy.proxy_protocol_trusted_cidrs.',
      },
    );
  }
  const client = header.command === 'PROXY' ? header.source : undefined;
  policy.logger.debug(
    { peer_addr: peerText, client_addr: client === undefined ? undefined : `${client.address}:${client.port}`, version: header.version, command: header.command },
    'PROXY protocol header accepted',
  );
  return client;
}
