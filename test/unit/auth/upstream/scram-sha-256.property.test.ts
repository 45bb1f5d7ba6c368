// Properties of the SCRAM-SHA-256 client against a server played by the test (RFC 5802 written
// out with node:crypto): for any password, salt, iteration count and server nonce the exchange
// completes; any change to the server's final message fails it; and mutated server-first and
// server-final messages raise nothing but GatehouseError (GH_ERR_UPSTREAM_AUTH), leaving the
// exchange failed for good.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_SCRAM_ITERATIONS, ScramSha256Client } from '../../../../src/auth/upstream/scram-sha-256.js';
import { ErrorCodes, GatehouseError } from '../../../../src/errors.js';
import { mutate, mutation, outcome } from '../../../support/wire-properties.js';
import { unframe } from './frontend-message-helpers.js';

const isUpstreamAuthError = (error: unknown) => error instanceof GatehouseError && error.code === ErrorCodes.UPSTREAM_AUTH;

/** The server's side: given the client's first message, a server-first; given its final, the signature. */
function playServer(password: string, salt: Buffer, iterations: number, nonceSuffix: string) {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data, 'latin1').digest();
  return {
    first(initialResponse: Buffer): { clientFirstBare: string; serverFirst: string } {
      const body = unframe(initialResponse).body;
      const clientFirst = body.subarray(18).toString('latin1');
      const clientFirstBare = clientFirst.slice('n,,'.length);
      const clientNonce = clientFirstBare.slice('n=,r='.length);
      return { clientFirstBare, serverFirst: `r=${clientNonce}${nonceSuffix},s=${salt.toString('base64')},i=${iterations}` };
    },
    final(clientFirstBare: string, serverFirst: string, response: Buffer): string {
      const text = unframe(response).body.toString('latin1');
      const withoutProof = text.slice(0, text.lastIndexOf(',p='));
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      // The server checks the proof: ClientKey recovered from it must hash to StoredKey.
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.from(text.slice(text.lastIndexOf(',p=') + 3), 'base64');
      const recovered = Buffer.from(proof.map((byte, i) => byte ^ signature[i]!));
      expect(createHash('sha256').update(recovered).digest()).toEqual(storedKey);
      return `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`;
    },
  };
}

/** ASCII passwords: SASLprep leaves them as they are, so the server's key is the plain bytes. */
const password = fc.string({ minLength: 1, maxLength: 24 }).filter((text) => !text.includes('\0'));
const salt = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((bytes) => Buffer.from(bytes));
const iterations = fc.integer({ min: 1, max: 16 });
/** Printable, no comma: what may follow the client's nonce in r=. */
const nonceSuffix = fc.stringMatching(/^[!-+\--~]{1,24}$/);

describe('ScramSha256Client against a server played by the test', () => {
  it('completes the exchange for any password, salt, iteration count and server nonce', () => {
    fc.assert(
      fc.property(password, salt, iterations, nonceSuffix, (pw, s, i, suffix) => {
        const server = playServer(pw, s, i, suffix);
        const client = new ScramSha256Client(pw);
        const { clientFirstBare, serverFirst } = server.first(client.start(['SCRAM-SHA-256']));
        const response = client.continue(Buffer.from(serverFirst, 'latin1'));
        client.finish(Buffer.from(server.final(clientFirstBare, serverFirst, response), 'latin1'));
        expect(client.completed).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('fails the exchange, with a GatehouseError only, for any change to the server-final-message', () => {
    fc.assert(
      fc.property(password, salt, iterations, nonceSuffix, fc.array(mutation, { minLength: 1, maxLength: 3 }), (pw, s, i, suffix, changes) => {
        const server = playServer(pw, s, i, suffix);
        const client = new ScramSha256Client(pw);
        const { clientFirstBare, serverFirst } = server.first(client.start(['SCRAM-SHA-256']));
        const response = client.continue(Buffer.from(serverFirst, 'latin1'));
        const final = Buffer.from(server.final(clientFirstBare, serverFirst, response), 'latin1');
        const changed = mutate(final, changes);
        fc.pre(!changed.equals(final));
        const result = outcome(() => client.finish(changed), isUpstreamAuthError);
        expect(result).toHaveProperty('error');
        expect(client.completed).toBe(false);
        // A failed exchange stays failed, even for the right signature.
        expect(outcome(() => client.finish(final), isUpstreamAuthError)).toHaveProperty('error');
      }),
      { numRuns: 150 },
    );
  });

  it('answers a mutated server-first-message with a response or a GatehouseError, and fails for good after an error', () => {
    fc.assert(
      fc.property(password, salt, iterations, nonceSuffix, fc.array(mutation, { minLength: 1, maxLength: 4 }), (pw, s, i, suffix, changes) => {
        const server = playServer(pw, s, i, suffix);
        const client = new ScramSha256Client(pw);
        const { serverFirst } = server.first(client.start(['SCRAM-SHA-256']));
        const changed = mutate(Buffer.from(serverFirst, 'latin1'), changes);
        // Byte mutations of "i=<1..16>" can add at most a few digits: the work stays small.
        const result = outcome(() => client.continue(changed), isUpstreamAuthError);
        if ('value' in result) expect(unframe(result.value).type).toBe('p');
        else expect(outcome(() => client.continue(Buffer.from(serverFirst, 'latin1')), isUpstreamAuthError)).toHaveProperty('error');
      }),
      { numRuns: 500 },
    );
  });

  it('refuses iteration counts that are not whole numbers from 1 to the cap', () => {
    const count = fc.oneof(
      fc.constantFrom('0', '-1', '', ' 1', '1 ', '+1', '1e3', '0x10', '01', `${MAX_SCRAM_ITERATIONS + 1}`, '99999999', '2147483648', '4294967297', '9'.repeat(400)),
      fc.stringMatching(/^[^,]{0,12}$/),
    );
    fc.assert(
      fc.property(count, (i) => {
        // Valid counts are the completing property's job (a large one costs seconds of PBKDF2).
        fc.pre(!(/^[1-9][0-9]{0,7}$/.test(i) && Number(i) <= MAX_SCRAM_ITERATIONS));
        const client = new ScramSha256Client('pencil');
        const initial = unframe(client.start(['SCRAM-SHA-256'])).body.subarray(18).toString('latin1');
        const nonce = initial.slice('n,,n=,r='.length);
        const result = outcome(() => client.continue(Buffer.from(`r=${nonce}x,s=AAAA,i=${i}`, 'latin1')), isUpstreamAuthError);
        expect(result).toHaveProperty('error');
      }),
      { numRuns: 300 },
    );
  });
});
