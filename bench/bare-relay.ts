// The floor a Node.js proxy stands on: a relay that terminates TLS on both sides and only moves
// bytes, with none of Gatehouse's work (no certificate identity, RBAC, audit, framing, upstream
// login: the client logs in to PostgreSQL itself, through it). bench/ab.ts runs it next to
// Gatehouse builds, so "how far is Gatehouse from a bare relay" is measured in the same run.
// It answers SSLRequest with 'S', does TLS with the proxy's certificate (no client certificate),
// dials PostgreSQL, sends SSLRequest, does verify-full TLS, then forwards 'data' events with
// backpressure, as Gatehouse's relay does.
// Run as: node --import tsx bench/bare-relay.ts CERT KEY DB_CA_FILE DB_PORT (started by ab.ts;
// it reports its port over IPC).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [certFile, keyFile, dbCaFile, dbPort] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined || dbCaFile === undefined || dbPort === undefined || process.send === undefined) {
  console.error('usage: node --import tsx bench/bare-relay.ts CERT KEY DB_CA_FILE DB_PORT (started by bench/ab.ts)');
  process.exit(2);
}
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' });
const upstreamContext = tls.createSecureContext({ ca: readFileSync(dbCaFile), minVersion: 'TLSv1.2' });

/** Forwards `from` to `to`, pausing `from` while `to` cannot keep up. */
function forward(from: tls.TLSSocket, to: tls.TLSSocket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
}

server.on('secureConnection', (client: tls.TLSSocket) => {
  client.pause();
  const raw = net.connect({ host: '127.0.0.1', port: Number(dbPort), noDelay: true }, () => {
    raw.write(SSL_REQUEST);
    raw.once('data', (answer: Buffer) => {
      raw.pause();
      if (answer[0] !== 0x53) return client.destroy();
      const upstream = tls.connect({ socket: raw, servername: 'localhost', secureContext: upstreamContext });
      upstream.once('secureConnect', () => {
        forward(client, upstream);
        forward(upstream, client);
        client.resume();
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) socket.on('error', close).on('close', close);
    });
  });
  raw.on('error', () => client.destroy());
});
server.on('tlsClientError', () => undefined);

const listener = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => undefined);
  socket.once('readable', function first() {
    const request = socket.read(8) as Buffer | null;
    if (request === null) return socket.once('readable', first);
    if (!request.equals(SSL_REQUEST)) return socket.destroy();
    socket.write('S');
    server.emit('connection', socket);
  });
});
listener.listen(0, '127.0.0.1', () => process.send?.({ port: (listener.address() as net.AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
