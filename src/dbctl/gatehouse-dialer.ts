// The local proxy's connection to Gatehouse's Postgres listener, as psql would make it with
// sslmode=verify-full: TCP, SSLRequest, 'S', then TLS presenting the database certificate and
// verifying the proxy against the stored host CA and its host name. Any failure becomes a
// GatehouseError with SQLSTATE 08001 whose message the local client sees.
import net from 'node:net';
import tls from 'node:tls';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { sslRequest } from '../protocol/startup-message.js';

export interface GatehouseDial {
  host: string;
  port: number;
  /** The host CA the proxy's server certificate must chain to. */
  caPem: string;
  certPem: string;
  keyPem: string;
  timeoutMs: number;
  /** Called with every socket opened, so the caller can close them all on shutdown. */
  track: <T extends net.Socket>(socket: T) => T;
}

const CERTIFICATE_PROBLEMS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export async function dialGatehouse(dial: GatehouseDial): Promise<tls.TLSSocket> {
  const address = `${dial.host}:${dial.port}`;
  const unreachable = (why: string, hint: string, cause?: unknown) =>
    new GatehouseError(ErrorCodes.UPSTREAM_UNREACHABLE, `dbctl proxy cannot connect to Gatehouse at ${address}: ${why}`, {
      sqlState: SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH,
      hint,
      cause,
    });
  const raw = dial.track(new net.Socket());
  raw.setTimeout(dial.timeoutMs, () => raw.destroy(Object.assign(new Error(`no answer within ${dial.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('error', reject);
      raw.connect({ host: dial.host, port: dial.port }, () => {
        raw.off('error', reject);
        resolve();
      });
    });
    raw.write(sslRequest());
    const answer = await readOneByte(raw);
    if (answer !== 'S') {
      throw unreachable(`it answered the SSLRequest with ${JSON.stringify(answer)}, so it is not Gatehouse's Postgres port`, 'log in again ("dbctl login --proxy …") to refresh the stored address');
    }
    const socket = dial.track(
      tls.connect({
        socket: raw,
        // checkServerIdentity compares against `host` when there is no SNI name (IP addresses).
        host: dial.host,
        ...(net.isIP(dial.host) === 0 ? { servername: dial.host } : {}),
        ca: [dial.caPem],
        cert: dial.certPem,
        key: dial.keyPem,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          unreachable(
            `TLS failed: ${error.message}`,
            CERTIFICATE_PROBLEMS.has(error.code ?? '')
              ? "the proxy's certificate does not verify against the CA dbctl stored for it; if Gatehouse's CA was replaced on purpose, log out and log in again, otherwise tell your administrator"
              : 'check that Gatehouse is running and reachable from this machine',
            error,
          ),
        ),
      );
      socket.once('secureConnect', () => resolve());
    });
    raw.setTimeout(0);
    return socket;
  } catch (error) {
    raw.destroy();
    if (error instanceof GatehouseError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw unreachable(
      code === undefined ? (error as Error).message : `${code} (${(error as Error).message})`,
      'check that Gatehouse is running and reachable from this machine (VPN, firewall)',
      error,
    );
  }
}

/** The server's one-byte answer to the SSLRequest; anything after it is left on the socket. */
function readOneByte(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      resolve(String.fromCharCode(chunk[0] as number));
    };
    const onEnd = () => {
      cleanup();
      reject(Object.assign(new Error('the connection closed before an answer'), { code: 'ECONNRESET' }));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.pause();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}
