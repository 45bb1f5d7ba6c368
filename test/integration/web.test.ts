// The HTTPS health endpoints on web_listen_addr, verified with the host CA like any client would.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

let gatehouse: TestGatehouse;

beforeAll(async () => {
  gatehouse = await startTestGatehouse('databases: []');
});

afterAll(async () => {
  await gatehouse?.stop();
});

function get(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host: '127.0.0.1', port: gatehouse.daemon.webAddress.port, path, method, ca: gatehouse.hostCaPem, servername: 'localhost' },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('health endpoints', () => {
  it('answers /healthz and /readyz over TLS with the proxy certificate', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
    expect(await get('/readyz')).toEqual({ status: 200, body: '{"status":"ready"}\n' });
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/healthz', 'POST')).status).toBe(405);
  });
});
