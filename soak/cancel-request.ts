// A client's cancel, sent the two ways clients send it: as psql and node-postgres do, a
// CancelRequest on a new plaintext connection carrying only the key; and, as libpq 17 does with
// sslmode set, inside TLS after an SSLRequest. Resolves once Gatehouse has closed the connection,
// which it does as soon as it has read the request (it never answers a cancel).
import net from 'node:net';
import tls from 'node:tls';

const CANCEL_REQUEST_CODE = 80877102;
const SSL_REQUEST_CODE = 80877103;
const TIMEOUT_MS = 30_000;

export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

export function sendCancel(target: CancelTarget, overTls?: { secureContext: tls.SecureContext; servername: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: target.host, port: target.port });
    const fail = (error: Error) => {
      raw.destroy();
      reject(error);
    };
    raw.setTimeout(TIMEOUT_MS, () => fail(new Error(`the cancel connection was still open after ${TIMEOUT_MS / 1000} s`)));
    raw.on('error', fail);
    raw.on('close', () => resolve());
    raw.once('connect', () => {
      if (overTls === undefined) {
        raw.end(cancelRequest(target));
        raw.resume();
        return;
      }
      raw.write(packet(SSL_REQUEST_CODE));
      raw.once('data', (answer: Buffer) => {
        if (answer.length !== 1 || answer[0] !== 0x53) return fail(new Error(`Gatehouse answered the SSLRequest with ${JSON.stringify(answer.toString('latin1'))}, not S`));
        const secure = tls.connect({ socket: raw, secureContext: overTls.secureContext, servername: overTls.servername, minVersion: 'TLSv1.2' });
        secure.on('error', fail);
        secure.once('secureConnect', () => {
          secure.end(cancelRequest(target));
          secure.resume();
        });
      });
    });
  });
}

function cancelRequest(target: CancelTarget): Buffer {
  const body = packet(CANCEL_REQUEST_CODE, 16);
  body.writeInt32BE(target.processId, 8);
  body.writeInt32BE(target.secretKey, 12);
  return body;
}

/** A startup-phase packet: length, request code, and room for the rest. */
function packet(code: number, length = 8): Buffer {
  const buffer = Buffer.alloc(length);
  buffer.writeInt32BE(length, 0);
  buffer.writeInt32BE(code, 4);
  return buffer;
}
