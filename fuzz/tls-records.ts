// TLS input for the fuzzer: real ClientHellos captured from Node's own TLS client (so mutations
// start from what OpenSSL really sends: TLS 1.3 and 1.2, with and without ALPN and SNI), and
// hand-made records a broken or hostile client might send instead (alerts, ChangeCipherSpec,
// application data before any handshake, SSLv2-style hellos, heartbeats).
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Prng } from './prng.js';

/** The first flight a TLS client writes for these options (its ClientHello record). */
function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        callback();
        resolve(Buffer.from(chunk));
        // The write happens inside tls.connect(); end the client once it has returned.
        setImmediate(() => socket.destroy());
      },
    });
    const socket: tls.TLSSocket = tls.connect({ ...options, socket: sink, rejectUnauthorized: false });
    socket.on('error', () => undefined);
    setTimeout(() => reject(new Error('no ClientHello was written within 5 s')), 5_000).unref();
  });
}

export async function captureClientHellos(): Promise<Buffer[]> {
  const variants: tls.ConnectionOptions[] = [
    { ALPNProtocols: ['postgresql'], servername: 'localhost' },
    { ALPNProtocols: ['postgresql'] },
    { servername: 'localhost' },
    { maxVersion: 'TLSv1.2', ALPNProtocols: ['postgresql'], servername: 'localhost' },
    { minVersion: 'TLSv1.3', ALPNProtocols: ['postgresql', 'http/1.1'], servername: 'localhost' },
    { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' },
  ];
  return Promise.all(variants.map(captureClientHello));
}

function record(type: number, body: Buffer, version = 0x0303): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt16BE(version, 1);
  head.writeUInt16BE(body.length & 0xffff, 3);
  return Buffer.concat([head, body]);
}

/** A record or two no well-behaved client sends first. */
export function oddRecords(rng: Prng): Buffer {
  switch (rng.int(0, 7)) {
    case 0:
      return record(0x15, Buffer.from([rng.pick([1, 2]), rng.pick([0, 10, 20, 40, 42, 48, 70, 80, 90])])); // alert
    case 1:
      return record(0x14, Buffer.from([1])); // ChangeCipherSpec
    case 2:
      return record(0x17, rng.bytes(rng.size(200))); // application data before any handshake
    case 3:
      return record(0x18, Buffer.concat([Buffer.from([1, 0xff, 0xff]), rng.bytes(16)])); // heartbeat request claiming 64 KiB
    case 4: {
      // An SSLv2-compatible ClientHello header with a random body.
      const body = rng.bytes(rng.int(0, 60));
      return Buffer.concat([Buffer.from([0x80 | ((body.length + 1) >> 8), (body.length + 1) & 0xff, 0x01]), body]);
    }
    case 5:
      return record(0x16, rng.bytes(rng.size(300)), rng.pick([0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfefd, rng.int(0, 0xffff)]));
    case 6:
      // A handshake record announcing far more than it carries (16 KiB + the maximum).
      return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), rng.bytes(rng.size(100))]);
    default:
      return record(rng.int(0, 255), rng.bytes(rng.size(64)), rng.int(0, 0xffff));
  }
}
