// Bulk data from the database (COPY OUT, a large result) leaves towards the client in batches: the
// chunks that arrive in one turn of the event loop are corked together and uncorked once that
// turn's I/O is done, so they cost one TLS write and one system call. A query's small answer is
// written at once; nothing is ever left corked.
import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../../src/proxy/relay.js';
import { FakeSocket } from '../../support/fake-relay-socket.js';

function relay(): { client: FakeSocket; server: FakeSocket } {
  const client = new FakeSocket();
  const server = new FakeSocket();
  void new Relay(client as unknown as tls.TLSSocket, server as unknown as tls.TLSSocket, () => undefined).run(Buffer.alloc(0), Buffer.alloc(0));
  return { client, server };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('Relay, database to client', () => {
  it('writes a small answer at once, uncorked', () => {
    const { client, server } = relay();
    server.emit('data', Buffer.from('Z\0\0\0\x05I'));
    expect(client.written).toHaveLength(1);
    expect(client.corked).toBe(0);
  });

  it('sends the bulk chunks of one turn together, and uncorks before the next', async () => {
    const { client, server } = relay();
    const chunks = [Buffer.alloc(16_384, 1), Buffer.alloc(16_384, 2), Buffer.alloc(100, 3)];
    for (const chunk of chunks) server.emit('data', chunk);
    expect(client.corked).toBe(1);
    expect(client.written).toEqual(chunks);
    await nextTurn();
    expect(client.corked).toBe(0);
    expect(client.batches).toEqual([3]);
    server.emit('data', Buffer.alloc(8_192, 4));
    await nextTurn();
    expect(client.batches).toEqual([3, 1]);
    expect(client.corked).toBe(0);
  });
});
