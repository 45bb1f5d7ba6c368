// Properties of the upstream login against a hostile or broken database: whatever sequence of
// messages it sends (real login messages, lies about lengths, unknown types, mutated bytes), in
// whatever pieces, loginUpstream settles once the connection closes, and only ever with a session
// or a GatehouseError: every parser on the way (BackendReader, the authentication request, SCRAM,
// Redshift's digest, error fields) refuses with a typed error. The socket is an EventEmitter that
// records writes, as the TLS socket would be.
import { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LruSaltedPasswordCache } from '../../../src/auth/upstream/scram-sha-256.js';
import { GatehouseError } from '../../../src/errors.js';
import { authenticationOk, backendKeyData, errorResponse, negotiateProtocolVersion, noticeResponse, parameterStatus, readyForQuery } from '../../../src/protocol/backend-messages.js';
import { loginUpstream } from '../../../src/proxy/upstream-login.js';
import { cutPoints, hostileLength, mutate, mutation, splitAt } from '../../support/wire-properties.js';

class FakeTlsSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    return true;
  }
  pause(): this {
    return this;
  }
}

function authentication(code: number, ...rest: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), ...rest]);
  body.writeInt32BE(code, 0);
  const header = Buffer.from([0x52, 0, 0, 0, 0]);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function typed(type: number, body: Buffer, length = body.length + 4): Buffer {
  const header = Buffer.from([type, 0, 0, 0, 0]);
  header.writeInt32BE(length, 1);
  return Buffer.concat([header, body]);
}

const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
};
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));

/** One message a database could send during login, real or hostile. */
const serverMessage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constant(authenticationOk()),
  fc.constant(authentication(3)),
  bytes(4).map((salt) => authentication(5, salt)),
  fc.constantFrom('SCRAM-SHA-256\0\0', 'SCRAM-SHA-256-PLUS\0\0', 'OTHER\0\0', '\0').map((list) => authentication(10, Buffer.from(list))),
  fc.oneof(bytes(60), fc.constant(Buffer.from('r=AAAAAAAAAAAAAAAAAAAAAAAAxyz,s=AAAA,i=1'))).map((data) => authentication(11, data)),
  bytes(60).map((data) => authentication(12, data)),
  fc.tuple(fc.integer({ min: -1, max: 3 }), bytes(16), bytes(16), hostileLength(16)).map(([algorithm, salt, nonce, lie]) => authentication(13, int32(algorithm), int32(lie % 2 === 0 ? salt.length : lie), salt, int32(nonce.length), nonce)),
  fc.integer({ min: -3, max: 20 }).map((code) => authentication(code)),
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([name, value]) => parameterStatus(name, value)),
  fc.string({ maxLength: 20 }).map((message) => noticeResponse({ severity: 'NOTICE', sqlState: '00000', message })),
  fc.string({ maxLength: 20 }).map((message) => errorResponse({ severity: 'FATAL', sqlState: '28P01', message })),
  fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ minLength: 4, maxLength: 32 })).map(([pid, key]) => backendKeyData(pid, Buffer.from(key))),
  bytes(7).map((body) => typed(0x4b, body)),
  fc.constant(negotiateProtocolVersion(0, ['_pq_.x'])),
  fc.constantFrom<'I' | 'T' | 'E'>('I', 'T', 'E').map(readyForQuery),
  fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(20), hostileLength(24, [1024 * 1024])).map(([type, body, length]) => typed(type, body, length)),
);

describe('loginUpstream against a hostile database', () => {
  it('settles with a session or a GatehouseError for any messages, mutated or not, in any pieces', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(serverMessage, { minLength: 1, maxLength: 8 }),
        fc.array(mutation, { maxLength: 3 }),
        cutPoints(400),
        fc.constantFrom('secret', undefined),
        async (messages, changes, points, password) => {
          const socket = new FakeTlsSocket();
          const login = loginUpstream(socket as unknown as tls.TLSSocket, {
            databaseName: 'db',
            credentials: { user: 'gatehouse', password },
            dbName: 'app',
            parameters: new Map([['application_name', 'psql']]),
            saltedPasswords: new LruSaltedPasswordCache(4),
          }).then(
            (session) => ({ session }),
            (error: unknown) => ({ error }),
          );
          for (const chunk of splitAt(mutate(Buffer.concat(messages), changes), points)) socket.emit('data', chunk);
          socket.emit('close');
          const result = await login;
          if ('error' in result) expect(result.error).toBeInstanceOf(GatehouseError);
          else expect(result.session.readyForQuery[0]).toBe(0x5a);
          // The first thing written is always the StartupMessage.
          expect(socket.written[0]!.readInt32BE(4)).toBe(196608);
        },
      ),
      { numRuns: 400 },
    );
  });
});
