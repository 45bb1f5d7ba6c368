// The client side of connection startup, up to a verified TLS session and a StartupMessage:
// SSLRequest → 'S' → TLS, or direct TLS (first byte is a TLS record), GSSENCRequest → 'N',
// CancelRequest in plaintext (psql sends Ctrl+C that way), and refusals of everything else.
// With proxy.proxy_protocol on or optional, a load balancer's PROXY header comes first of all.
// It only reads and answers the negotiation; what the session does with the result is not its job.
import type net from 'node:net';
import type tls from 'node:tls';
import { SSL_ACCEPT, SSL_REFUSE } from '../protocol/backend-messages.js';
import { ErrorCodes, GatehouseError, ProtocolError, SqlState } from '../errors.js';
import type { ProxiedAddress } from '../protocol/proxy-protocol.js';
import { readProxyHeader, type ProxyProtocolPolicy } from './proxy-header.js';
import { StartupReader } from './startup-reader.js';
import type { TlsAcceptor } from './tls-acceptor.js';

const TLS_HANDSHAKE_RECORD = 0x16;

export type ClientHello =
  | {
      kind: 'startup';
      socket: tls.TLSSocket;
      minorVersion: number;
      parameters: Map<string, string>;
      /** Bytes the client pipelined after its StartupMessage; they belong to the relay. */
      pipelined: Buffer;
    }
  | { kind: 'cancel'; processId: number; secretKey: Buffer };

export interface ClientHandshakeOptions {
  /** Absent when proxy.proxy_protocol is off. */
  readonly proxyProtocol?: ProxyProtocolPolicy;
  /** Called with the real client's address from a trusted PROXY header, before anything else is read. */
  readonly onProxiedClient?: (client: ProxiedAddress) => void;
}

export class ClientHandshake {
  /** The socket a refusal must be written to: the raw one until TLS is up, then the TLS one. */
  current: net.Socket;
  /** Whether an ErrorResponse can be written on `current` (not mid-handshake). */
  canReply = true;

  constructor(
    private readonly raw: net.Socket,
    private readonly acceptor: TlsAcceptor,
    private readonly options: ClientHandshakeOptions = {},
  ) {
    this.current = raw;
  }

  async run(): Promise<ClientHello> {
    const plain = new StartupReader(this.raw);
    if (this.options.proxyProtocol !== undefined) {
      const client = await readProxyHeader(plain, { address: this.raw.remoteAddress, port: this.raw.remotePort }, this.options.proxyProtocol);
      if (client !== undefined) this.options.onProxiedClient?.(client);
    }
    await plain.waitForBytes(1);
    if (plain.firstByte === TLS_HANDSHAKE_RECORD) {
      const tlsSocket = await this.upgrade(plain, true);
      return this.readStartupOverTls(tlsSocket);
    }
    let gssencAnswered = false;
    for (;;) {
      const packet = await plain.next();
      switch (packet.kind) {
        case 'ssl-request': {
          if (plain.pendingBytes > 0) {
            // CVE-2021-3935's class: bytes injected before the handshake must never be read as
            // if they had come through TLS.
            throw new ProtocolError('received unencrypted data after SSLRequest; start the TLS handshake only after the server answers');
          }
          this.raw.write(SSL_ACCEPT);
          const tlsSocket = await this.upgrade(plain, false);
          return this.readStartupOverTls(tlsSocket);
        }
        case 'gssenc-request':
          if (gssencAnswered) throw new ProtocolError('GSSENCRequest sent twice');
          gssencAnswered = true;
          this.raw.write(SSL_REFUSE);
          break;
        case 'cancel-request':
          plain.detach();
          return { kind: 'cancel', processId: packet.processId, secretKey: packet.secretKey };
        case 'startup':
          throw new GatehouseError(
            ErrorCodes.TLS_REQUIRED,
            'Gatehouse requires TLS with a Gatehouse client certificate; this connection did not request TLS',
            {
              sqlState: SqlState.INVALID_AUTHORIZATION,
              hint: 'Ask a Gatehouse administrator for a client certificate ("gatehouse certs issue") and connect with sslmode=verify-full, sslcert, sslkey and sslrootcert.',
            },
          );
      }
    }
  }

  private async upgrade(plain: StartupReader, direct: boolean): Promise<tls.TLSSocket> {
    const unread = plain.detach();
    if (unread.length > 0) this.raw.unshift(unread);
    this.canReply = false;
    let accepted;
    try {
      accepted = await this.acceptor.accept(this.raw);
    } catch (error) {
      // Nothing can be said to a client whose handshake failed; this is for the audit trail.
      throw new ProtocolError(`TLS handshake failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.current = accepted.socket;
    this.canReply = true;
    if (direct && accepted.socket.alpnProtocol !== 'postgresql') {
      throw new ProtocolError('direct TLS connections must negotiate the ALPN protocol "postgresql"');
    }
    if (!accepted.authorized) throw certificateRefusal(accepted.socket, accepted.authorizationError);
    return accepted.socket;
  }

  private async readStartupOverTls(socket: tls.TLSSocket): Promise<ClientHello> {
    const reader = new StartupReader(socket);
    const packet = await reader.next();
    const pipelined = reader.detach();
    switch (packet.kind) {
      case 'startup':
        return { kind: 'startup', socket, minorVersion: packet.minorVersion, parameters: packet.parameters, pipelined };
      case 'cancel-request':
        return { kind: 'cancel', processId: packet.processId, secretKey: packet.secretKey };
      default:
        throw new ProtocolError(`unexpected ${packet.kind} inside an established TLS session`);
    }
  }
}

/** Turns OpenSSL's verdict on the client certificate into a message a person can act on. */
function certificateRefusal(socket: tls.TLSSocket, reason: string | undefined): GatehouseError {
  const peer = socket.getPeerCertificate();
  const hint = 'Ask a Gatehouse administrator for a new certificate ("gatehouse certs issue").';
  const refuse = (message: string, code: (typeof ErrorCodes)[keyof typeof ErrorCodes] = ErrorCodes.CERT_INVALID) =>
    new GatehouseError(code, message, { sqlState: SqlState.INVALID_AUTHORIZATION, hint });
  if (peer === undefined || Object.keys(peer).length === 0) {
    return refuse('no client certificate was presented; Gatehouse authenticates every connection with a Gatehouse client certificate (sslcert and sslkey)');
  }
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return refuse(`the client certificate for "${peer.subject?.CN ?? '?'}" expired at ${new Date(peer.valid_to).toISOString()}`, ErrorCodes.CERT_EXPIRED);
    case 'CERT_NOT_YET_VALID':
      return refuse(`the client certificate for "${peer.subject?.CN ?? '?'}" is not valid until ${new Date(peer.valid_from).toISOString()}; check the clocks of this machine and the one that issued it`);
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_SIGNATURE_FAILURE':
      return refuse('the client certificate was not issued by this Gatehouse\'s user CA');
    default:
      return refuse(`the client certificate was refused (${reason ?? 'unknown reason'})`);
  }
}
