// Server-side TLS for client connections, after an SSLRequest or for direct TLS (PostgreSQL 17's
// sslnegotiation=direct with ALPN "postgresql").
//
// Why a non-listening tls.Server fed with emit('connection'): on Node 20 a standalone
// `new tls.TLSSocket(socket, { isServer: true, requestCert: true, rejectUnauthorized: true })`
// completes handshakes with certificates from any CA. The server path verifies the chain.
// We ask for a client certificate but do not let OpenSSL abort the handshake on a bad one:
// a TLS alert reaches psql as "certificate unknown", while a finished handshake lets Gatehouse
// send an ErrorResponse saying the certificate expired or comes from another CA and what to do.
// `authorized` is checked before a single byte is accepted, so nobody passes unverified.
//
// No TLS session resumption: every connection presents and verifies its certificate in full.
// A resumed session would carry the verdict of an earlier handshake (a certificate that has
// expired since would pass), and libpq never resumes anyway. Without SSL_OP_NO_TICKET, OpenSSL 3
// wrote two stateless session tickets per handshake, re-parsing the client certificate for each:
// about a seventh of the server side of a handshake, for tickets nobody used.
import { constants } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface TlsAcceptorOptions {
  serverCertPem: string;
  serverKeyPem: string;
  /** The CA that signs Gatehouse client certificates. */
  userCaPem: string;
}

export interface AcceptedTls {
  socket: tls.TLSSocket;
  /** Whether the client certificate chains to the user CA and is within its validity. */
  authorized: boolean;
  /** OpenSSL's reason when not authorized, e.g. CERT_HAS_EXPIRED. */
  authorizationError?: string;
}

type Pending = { resolve: (accepted: AcceptedTls) => void; reject: (error: Error) => void };

export class TlsAcceptor {
  private readonly server: tls.Server;
  private readonly pending = new WeakMap<net.Socket, Pending>();

  constructor(options: TlsAcceptorOptions) {
    this.server = tls.createServer({
      cert: options.serverCertPem,
      key: options.serverKeyPem,
      ca: options.userCaPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['postgresql'],
      secureOptions: constants.SSL_OP_NO_TICKET,
      // Our own startup timer bounds the handshake; this is only a backstop.
      handshakeTimeout: 60_000,
    });
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      const waiter = this.takePending(socket);
      const authorizationError = socket.authorizationError === undefined ? undefined : String(socket.authorizationError);
      waiter?.resolve({ socket, authorized: socket.authorized === true, authorizationError });
    });
    this.server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      this.takePending(socket)?.reject(error);
    });
  }

  /** Runs the TLS handshake on a raw socket whose reader has been detached. */
  accept(raw: net.Socket): Promise<AcceptedTls> {
    return new Promise((resolve, reject) => {
      this.pending.set(raw, { resolve, reject });
      this.server.emit('connection', raw);
    });
  }

  private takePending(socket: tls.TLSSocket): Pending | undefined {
    // tls.Server wraps the raw socket we emitted; `_parent` is that raw socket.
    const raw = (socket as unknown as { _parent?: net.Socket })._parent;
    if (raw === undefined) return undefined;
    const waiter = this.pending.get(raw);
    this.pending.delete(raw);
    return waiter;
  }
}
