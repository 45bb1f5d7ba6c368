// BackendReader frames what the database sends during login. The stream below is a real login's
// worth of messages (SCRAM challenge, AuthenticationOk, ParameterStatus, BackendKeyData,
// ReadyForQuery), fed whole, split at every byte boundary, and byte by byte.
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ProtocolError } from '../../../src/errors.js';
import { authenticationOk, backendKeyData, noticeResponse, parameterStatus, readyForQuery } from '../../../src/protocol/backend-messages.js';
import { BackendReader, MAX_LOGIN_MESSAGE_BYTES, type BackendMessage } from '../../../src/protocol/backend-reader.js';

function typed(type: string, body: Buffer, length = body.length + 4): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeInt32BE(length, 1);
  return Buffer.concat([header, body]);
}

/** AuthenticationSASL offering SCRAM-SHA-256: code 10 and a NUL-terminated list of mechanisms. */
function authenticationSasl(): Buffer {
  const code = Buffer.alloc(4);
  code.writeInt32BE(10);
  return typed('R', Buffer.concat([code, Buffer.from('SCRAM-SHA-256\0\0')]));
}

const LOGIN = [
  authenticationSasl(),
  authenticationOk(),
  parameterStatus('server_version', '17.2'),
  parameterStatus('client_encoding', 'UTF8'),
  noticeResponse({ severity: 'NOTICE', sqlState: '00000', message: 'welcome' }),
  typed('n', Buffer.alloc(0)), // a message with an empty body
  backendKeyData(31337, Buffer.from([9, 8, 7, 6])),
  readyForQuery('I'),
];
const STREAM = Buffer.concat(LOGIN);

/** Pushes the chunks one after the other and takes every message as soon as it is complete. */
function readAll(chunks: Buffer[]): { messages: BackendMessage[]; reader: BackendReader } {
  const reader = new BackendReader();
  const messages: BackendMessage[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let message = reader.next(); message !== null; message = reader.next()) messages.push(message);
  }
  return { messages, reader };
}

function expectLogin(messages: BackendMessage[]): void {
  expect(messages).toHaveLength(LOGIN.length);
  messages.forEach((message, index) => {
    const raw = LOGIN[index]!;
    expect(message.type).toBe(raw[0]);
    expect(message.raw.equals(raw)).toBe(true);
    expect(message.body.equals(raw.subarray(5))).toBe(true);
  });
}

function caught(action: () => unknown): ProtocolError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('BackendReader framing', () => {
  it('reads every message of a login pushed in one chunk', () => {
    const { messages, reader } = readAll([STREAM]);
    expectLogin(messages);
    expect(messages[5]!.body).toHaveLength(0);
    expect(reader.rest()).toHaveLength(0);
  });

  it('reads the same messages when the stream is split at any byte boundary', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const { messages, reader } = readAll([STREAM.subarray(0, cut), STREAM.subarray(cut)]);
      expectLogin(messages);
      expect(reader.rest(), `split at ${cut}`).toHaveLength(0);
    }
  });

  it('reads the same messages when the stream is split at any two byte boundaries', () => {
    for (let first = 0; first <= STREAM.length; first += 5) {
      for (let second = first; second <= STREAM.length; second++) {
        expectLogin(readAll([STREAM.subarray(0, first), STREAM.subarray(first, second), STREAM.subarray(second)]).messages);
      }
    }
  });

  it('reads the same messages fed one byte at a time', () => {
    const bytes = Array.from({ length: STREAM.length }, (_, i) => STREAM.subarray(i, i + 1));
    expectLogin(readAll(bytes).messages);
  });

  it('returns null until a message is complete, the header included', () => {
    const reader = new BackendReader();
    const ready = readyForQuery('T');
    for (let i = 0; i < ready.length - 1; i++) {
      reader.push(ready.subarray(i, i + 1));
      expect(reader.next(), `after ${i + 1} bytes`).toBeNull();
    }
    reader.push(ready.subarray(ready.length - 1));
    expect(reader.next()!.raw.equals(ready)).toBe(true);
    expect(reader.next()).toBeNull();
  });

  it('hands out copies that later chunks and changes to the pushed buffer cannot alter', () => {
    const reader = new BackendReader();
    const chunk = Buffer.concat([parameterStatus('TimeZone', 'UTC'), readyForQuery('I')]);
    reader.push(chunk);
    const status = reader.next()!;
    chunk.fill(0x41);
    reader.push(Buffer.from(authenticationOk()));
    expect(status.raw.equals(parameterStatus('TimeZone', 'UTC'))).toBe(true);
    expect(status.body.toString('latin1')).toBe('TimeZone\0UTC\0');
  });

  it('returns the bytes after the last message read, once', () => {
    const reader = new BackendReader();
    const after = Buffer.from('D\0\0\0\x0b\0\x01'); // the start of a DataRow that followed ReadyForQuery
    reader.push(Buffer.concat([readyForQuery('I'), after]));
    expect(reader.next()!.type).toBe(0x5a);
    expect(reader.next()).toBeNull();
    expect(reader.rest().equals(after)).toBe(true);
    expect(reader.rest()).toHaveLength(0);
    expect(reader.next()).toBeNull();
  });

  it('returns whole unread messages from rest() too', () => {
    const reader = new BackendReader();
    reader.push(STREAM);
    expect(reader.next()!.type).toBe(0x52);
    expect(reader.rest().equals(STREAM.subarray(LOGIN[0]!.length))).toBe(true);
  });
});

describe('BackendReader length checks', () => {
  for (const length of [3, 0, -1, -0x80000000]) {
    it(`refuses a length of ${length} as soon as the header is there`, () => {
      const reader = new BackendReader();
      reader.push(typed('R', Buffer.alloc(0), length));
      const error = caught(() => reader.next());
      expect(error.message).toBe(`database sent a message with invalid length ${length}`);
      expect(error.code).toBe(ErrorCodes.PROTOCOL_VIOLATION);
      expect(error.sqlState).toBe('08P01');
    });
  }

  it('accepts the smallest length, 4', () => {
    const reader = new BackendReader();
    reader.push(typed('1', Buffer.alloc(0), 4));
    expect(reader.next()).toMatchObject({ type: 0x31 });
  });

  it(`refuses a message over MAX_LOGIN_MESSAGE_BYTES (${MAX_LOGIN_MESSAGE_BYTES}) before its body arrives`, () => {
    const reader = new BackendReader();
    reader.push(typed('S', Buffer.alloc(0), MAX_LOGIN_MESSAGE_BYTES + 1));
    const error = caught(() => reader.next());
    expect(error.message).toBe(`database sent a ${MAX_LOGIN_MESSAGE_BYTES + 1}-byte message during login (limit ${MAX_LOGIN_MESSAGE_BYTES})`);
    expect(error.code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
    expect(error.sqlState).toBe('08P01');
  });

  it('refuses the largest int32 length', () => {
    const reader = new BackendReader();
    reader.push(typed('S', Buffer.alloc(0), 0x7fffffff));
    expect(caught(() => reader.next()).code).toBe(ErrorCodes.MESSAGE_TOO_LARGE);
  });

  it('waits for a message of exactly MAX_LOGIN_MESSAGE_BYTES and reads it', () => {
    const reader = new BackendReader();
    const body = Buffer.alloc(MAX_LOGIN_MESSAGE_BYTES - 4, 0x61);
    const message = typed('N', body);
    reader.push(message.subarray(0, 5));
    expect(reader.next()).toBeNull();
    reader.push(message.subarray(5));
    const read = reader.next()!;
    expect(read.body).toHaveLength(MAX_LOGIN_MESSAGE_BYTES - 4);
    expect(read.raw).toHaveLength(MAX_LOGIN_MESSAGE_BYTES + 1);
  });

  it('checks the length of a header that arrives split', () => {
    const reader = new BackendReader();
    const bad = typed('R', Buffer.alloc(0), 2);
    for (let i = 0; i < 4; i++) {
      reader.push(bad.subarray(i, i + 1));
      expect(reader.next()).toBeNull();
    }
    reader.push(bad.subarray(4));
    expect(caught(() => reader.next()).message).toBe('database sent a message with invalid length 2');
  });
});
