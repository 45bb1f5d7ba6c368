// The untyped packets Gatehouse sends to a database: StartupMessage, SSLRequest and CancelRequest.
// Each is read back with Gatehouse's own startup packet reader, which follows PostgreSQL's rules,
// and checked against the protocol's byte layout.
import { describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import { readStartupPacket, type StartupPacket } from '../../../src/protocol/startup.js';
import { cancelRequest, sslRequest, startupMessage } from '../../../src/protocol/startup-message.js';

function readWhole(bytes: Buffer): StartupPacket {
  const result = readStartupPacket(bytes);
  expect(result).not.toBeNull();
  expect(result!.consumed).toBe(bytes.length);
  return result!.packet;
}

/** readStartupPacket waits for more on every proper prefix and reads the whole packet at the end. */
function expectOnlyWhole(bytes: Buffer): void {
  for (let cut = 0; cut < bytes.length; cut++) {
    expect(readStartupPacket(bytes.subarray(0, cut)), `prefix of ${cut} bytes`).toBeNull();
  }
  expect(readStartupPacket(bytes)!.consumed).toBe(bytes.length);
}

describe('startupMessage', () => {
  it('round-trips the parameters, in order, through readStartupPacket', () => {
    const parameters = new Map([
      ['user', 'app_reader'],
      ['database', 'app'],
      ['application_name', 'psql'],
      ['options', '-c search_path=public'],
    ]);
    const packet = readWhole(startupMessage(parameters));
    expect(packet).toEqual({ kind: 'startup', majorVersion: 3, minorVersion: 0, parameters });
    if (packet.kind !== 'startup') throw new Error('not a startup packet');
    expect([...packet.parameters.keys()]).toEqual(['user', 'database', 'application_name', 'options']);
  });

  it('adds nothing: no client_encoding of its own, unlike pg-protocol', () => {
    const parameters = new Map([
      ['user', 'u'],
      ['database', 'd'],
      ['client_encoding', 'LATIN1'],
    ]);
    const packet = readWhole(startupMessage(parameters));
    expect(packet).toEqual({ kind: 'startup', majorVersion: 3, minorVersion: 0, parameters });
    // pg-protocol's serializer would have sent client_encoding twice, the second one UTF8.
    const fromPg = serialize.startup({ user: 'u', database: 'd' });
    expect(fromPg.toString('latin1')).toContain('client_encoding\0UTF8');
    expect(startupMessage(new Map([['user', 'u'], ['database', 'd']])).toString('latin1')).not.toContain('client_encoding');
  });

  it('lays out length, protocol 3.0 and the NUL-terminated pairs as the protocol says', () => {
    const bytes = startupMessage(new Map([['user', 'bob']]));
    expect(bytes.toString('hex')).toBe(
      Buffer.concat([Buffer.from([0, 0, 0, 18, 0, 3, 0, 0]), Buffer.from('user\0bob\0\0', 'latin1')]).toString('hex'),
    );
  });

  it('counts the length in bytes, not characters, for UTF-8 values', () => {
    const parameters = new Map([
      ['user', 'jürgen'],
      ['application_name', 'réplica ✓ 🐘'],
    ]);
    const bytes = startupMessage(parameters);
    expect(bytes.readInt32BE(0)).toBe(bytes.length);
    expect(bytes.at(-1)).toBe(0);
    expect(readWhole(bytes)).toMatchObject({ kind: 'startup', parameters });
  });

  it('writes an empty parameter list as the 9-byte minimum', () => {
    const bytes = startupMessage(new Map());
    expect(bytes).toHaveLength(9);
    expect(readWhole(bytes)).toEqual({ kind: 'startup', majorVersion: 3, minorVersion: 0, parameters: new Map() });
  });

  it('keeps empty values', () => {
    const parameters = new Map([
      ['user', 'u'],
      ['options', ''],
    ]);
    expect(readWhole(startupMessage(parameters))).toMatchObject({ parameters });
  });

  it('is read only once every byte is there, wherever the stream is cut', () => {
    expectOnlyWhole(
      startupMessage(
        new Map([
          ['user', 'app_reader'],
          ['database', 'app'],
        ]),
      ),
    );
  });

  it('is followed correctly by the next packet in the same buffer', () => {
    const first = startupMessage(new Map([['user', 'a']]));
    const both = Buffer.concat([first, sslRequest()]);
    const result = readStartupPacket(both)!;
    expect(result.consumed).toBe(first.length);
    expect(readStartupPacket(both.subarray(result.consumed))!.packet).toEqual({ kind: 'ssl-request' });
  });
});

describe('sslRequest', () => {
  it('is the 8-byte SSLRequest, byte for byte what pg sends', () => {
    expect(sslRequest().equals(Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f]))).toBe(true);
    expect(sslRequest().equals(serialize.requestSsl())).toBe(true);
    expect(readWhole(sslRequest())).toEqual({ kind: 'ssl-request' });
  });
});

describe('cancelRequest', () => {
  it('round-trips a protocol 3.0 key (4 bytes) through readStartupPacket', () => {
    const key = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const bytes = cancelRequest(123456, key);
    expect(bytes).toHaveLength(16);
    expect(readWhole(bytes)).toEqual({ kind: 'cancel-request', processId: 123456, secretKey: key });
  });

  it('is byte for byte the CancelRequest pg sends', () => {
    const key = Buffer.alloc(4);
    key.writeInt32BE(-559038737); // 0xdeadbeef as pg holds it: a signed int32
    expect(cancelRequest(4242, key).equals(serialize.cancel(4242, -559038737))).toBe(true);
  });

  it('round-trips the largest process id and a protocol 3.2 key (up to 256 bytes)', () => {
    const key = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const bytes = cancelRequest(0x7fffffff, key);
    expect(bytes).toHaveLength(12 + 256);
    expect(readWhole(bytes)).toEqual({ kind: 'cancel-request', processId: 0x7fffffff, secretKey: key });
  });

  it('is read only once every byte is there, wherever the stream is cut', () => {
    expectOnlyWhole(cancelRequest(77, Buffer.from([1, 2, 3, 4])));
  });

  it('copies the key: changing the buffer passed in afterwards does not change the packet', () => {
    const key = Buffer.from([1, 2, 3, 4]);
    const bytes = cancelRequest(1, key);
    key.fill(0);
    expect(bytes.subarray(12).equals(Buffer.from([1, 2, 3, 4]))).toBe(true);
  });
});
