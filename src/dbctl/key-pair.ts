// The client's key pairs. dbctl generates every private key on the user's machine and sends
// Gatehouse only the public half (SPKI PEM), so a private key never crosses the network and
// Gatehouse never holds one. ECDSA P-256, which Gatehouse's CA certifies and which makes the TLS
// handshake's client signature a fraction of RSA's cost; generation is asynchronous so the native
// work never blocks the local proxy's event loop.
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface ClientKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

export async function generateClientKeyPair(): Promise<ClientKeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}
