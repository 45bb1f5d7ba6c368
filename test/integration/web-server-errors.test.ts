// A route that fails unexpectedly: the client gets 500 GH_ERR_INTERNAL with a request id at once,
// for a POST (whose request Node has destroyed by then, once its body was read) as for a GET, and
// the log has the error under that id. A POST used to get no answer at all.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAuthorities, loadAuthorities } from '../../src/ca/authority-store.js';
import { WebServer } from '../../src/web/web-server.js';
import { CaptureStream } from '../support/capture-stream.js';
import { makeTempDir } from '../support/temp-dir.js';

const temp = makeTempDir('web-errors');
const log = new CaptureStream();
let server: WebServer;
let address: AddressInfo;
let hostCaPem: string;

beforeAll(async () => {
  initAuthorities(join(temp.path, 'certs'), 'localhost');
  const authorities = loadAuthorities(join(temp.path, 'certs'));
  hostCaPem = authorities.hostCa.certPem;
  const fail = (): never => {
    throw new Error('the disk caught fire');
  };
  server = new WebServer({
    certPem: authorities.proxyServer.certPem,
    keyPem: authorities.proxyServer.keyPem,
    userCaPem: authorities.userCa.certPem,
    isReady: () => true,
    config: () => {
      throw new Error('not asked for routes without auth');
    },
    routes: [
      { method: 'POST', path: '/v1/broken', auth: 'none', handle: fail },
      { method: 'GET', path: '/v1/broken', auth: 'none', handle: fail },
    ],
    logger: pino({ level: 'debug' }, log),
  });
  address = await server.listen('127.0.0.1', 0);
});

afterAll(async () => {
  await server?.close();
  temp.remove();
});

function request(method: 'GET' | 'POST'): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = https.request(
      { host: '127.0.0.1', port: address.port, path: '/v1/broken', method, ca: hostCaPem, servername: 'localhost', timeout: 5_000, headers: { 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer to ${method} within 5 s`)));
    outgoing.on('error', reject);
    outgoing.end(method === 'POST' ? '{"user":"alice"}' : undefined);
  });
}

describe('a route that fails unexpectedly', () => {
  it.each(['POST', 'GET'] as const)('answers a %s with 500 and the request id, and logs the error under it', async (method) => {
    const { status, body } = await request(method);
    expect(status).toBe(500);
    const error = body.error as { code: string; message: string };
    expect(error.code).toBe('GH_ERR_INTERNAL');
    const requestId = /request ([0-9a-f-]{36})/.exec(error.message)?.[1];
    expect(requestId).toBeDefined();
    const logged = log.lines().find((line) => line.request_id === requestId);
    expect(logged).toMatchObject({ level: 50, msg: 'web request failed unexpectedly', err: { message: 'the disk caught fire' } });
  });
});
