// Found by the network fuzzer: once the relay has ended a session (here for a protocol violation)
// the client's socket stays readable until Gatehouse destroys it, and what the client sent in that
// time was still framed and audited as queries after the session's end (and written to a database
// connection already ended). After the end nothing from the client may be audited or forwarded.
import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import type { AuditedFrame } from '../../../src/protocol/frontend-framer.js';
import { Relay } from '../../../src/proxy/relay.js';
import { FakeSocket } from '../../support/fake-relay-socket.js';

function badLength(): Buffer {
  const header = Buffer.alloc(5);
  header[0] = 0x51; // 'Q'
  header.writeInt32BE(2, 1); // shorter than the length field itself
  return header;
}

describe('Relay after it has finished', () => {
  it('neither audits nor forwards what the client sends after a protocol violation ended the session', async () => {
    const client = new FakeSocket();
    const server = new FakeSocket();
    const frames: AuditedFrame[] = [];
    const relay = new Relay(client as unknown as tls.TLSSocket, server as unknown as tls.TLSSocket, (frame) => frames.push(frame));
    const result = relay.run(Buffer.alloc(0), Buffer.alloc(0));
    client.emit('data', serialize.query('SELECT 1'));
    client.emit('data', badLength());
    const ended = await result;
    expect(ended.sqlState).toBe('08P01');
    expect(frames.map((frame) => frame.body.toString())).toEqual(['SELECT 1\0']);
    expect(client.ended).toBe(true);
    const forwarded = server.written.length;

    // The client's socket is still readable until Gatehouse destroys it.
    client.emit('data', serialize.query('SELECT 2'));
    client.emit('data', Buffer.concat([serialize.parse({ text: 'SELECT 3' }), serialize.sync()]));
    expect(frames).toHaveLength(1);
    expect(server.written).toHaveLength(forwarded);
    // No second ErrorResponse either: the one that ended the session was the last word.
    expect(client.written.filter((chunk) => chunk[0] === 0x45)).toHaveLength(1);
  });

  it('neither audits nor forwards what the client sends after the database closed the connection', async () => {
    const client = new FakeSocket();
    const server = new FakeSocket();
    const frames: AuditedFrame[] = [];
    const relay = new Relay(client as unknown as tls.TLSSocket, server as unknown as tls.TLSSocket, (frame) => frames.push(frame));
    const result = relay.run(Buffer.alloc(0), Buffer.alloc(0));
    server.emit('end');
    expect((await result).reason).toBe('the database closed the connection');
    client.emit('data', serialize.query('DROP TABLE audit_me'));
    expect(frames).toEqual([]);
    expect(server.written).toEqual([]);
  });
});
