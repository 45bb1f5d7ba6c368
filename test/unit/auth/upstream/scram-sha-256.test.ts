import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LruSaltedPasswordCache,
  MAX_SCRAM_ITERATIONS,
  ScramSha256Client,
  scramProof,
  type SaltedPasswordCache,
} from '../../../../src/auth/upstream/scram-sha-256.js';
import { ErrorCodes, SqlState } from '../../../../src/errors.js';
import { gatehouseError, onlyGatehouseErrors, unframe } from './frontend-message-helpers.js';

// RFC 7677 section 3.
const RFC = {
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  withoutProof: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  proof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const rfcNonce = () => Buffer.from(RFC.clientNonce, 'base64');

/** RFC 5802's definitions, written out again for the test. */
function expectedProof(password: string, salt: Buffer, iterations: number, authMessage: string) {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const signature = createHmac('sha256', storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return { proof: proof.toString('base64'), serverSignature: createHmac('sha256', serverKey).update(authMessage).digest('base64') };
}

function started(password = RFC.password, options: { cache?: SaltedPasswordCache } = {}): ScramSha256Client {
  const client = new ScramSha256Client(password, { ...options, nonce: rfcNonce() });
  client.start(['SCRAM-SHA-256']);
  return client;
}

function continued(): { client: ScramSha256Client; signature: string } {
  const client = started();
  client.continue(Buffer.from(RFC.serverFirst));
  const authMessage = `n=,r=${RFC.clientNonce},${RFC.serverFirst},${RFC.withoutProof}`;
  return { client, signature: expectedProof(RFC.password, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096, authMessage).serverSignature };
}

describe('SCRAM-SHA-256 computations', () => {
  it('reproduces the RFC 7677 test vector', () => {
    const salted = pbkdf2Sync('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096, 32, 'sha256');
    const authMessage = `n=user,r=${RFC.clientNonce},${RFC.serverFirst},${RFC.withoutProof}`;
    const { clientProof, serverSignature } = scramProof(salted, authMessage);
    expect(clientProof.toString('base64')).toBe(RFC.proof);
    expect(serverSignature.toString('base64')).toBe(RFC.serverSignature);
  });
});

describe('ScramSha256Client', () => {
  it('starts with SASLInitialResponse: mechanism, then "n,,n=,r=<nonce>" with an empty user name', () => {
    const message = new ScramSha256Client('pencil', { nonce: rfcNonce() }).start(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    const { type, body } = unframe(message);
    expect(type).toBe('p');
    expect(body.subarray(0, 14).toString('latin1')).toBe('SCRAM-SHA-256\0');
    const clientFirst = `n,,n=,r=${RFC.clientNonce}`;
    expect(body.readInt32BE(14)).toBe(clientFirst.length);
    expect(body.subarray(18).toString('latin1')).toBe(clientFirst);
  });

  it('answers the RFC 7677 server-first with the proof for the bytes it sent (n= rather than n=user)', () => {
    const client = started();
    const { type, body } = unframe(client.continue(Buffer.from(RFC.serverFirst)));
    expect(type).toBe('p');
    const authMessage = `n=,r=${RFC.clientNonce},${RFC.serverFirst},${RFC.withoutProof}`;
    const expected = expectedProof('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096, authMessage);
    expect(body.toString('latin1')).toBe(`${RFC.withoutProof},p=${expected.proof}`);
    // The RFC's own signature was made over "n=user": it must not verify our exchange.
    expect(() => client.finish(Buffer.from(`v=${RFC.serverSignature}`))).toThrow(/signature/);
  });

  it('accepts the server signature over the exchange it took part in', () => {
    const { client, signature } = continued();
    expect(client.completed).toBe(false);
    client.finish(Buffer.from(`v=${signature}`));
    expect(client.completed).toBe(true);
  });

  it('makes a random 18-byte nonce by default, different every login', () => {
    const nonces = [0, 1].map(() => {
      const { body } = unframe(new ScramSha256Client('pencil').start(['SCRAM-SHA-256']));
      return /r=(.*)$/.exec(body.subarray(18).toString('latin1'))![1]!;
    });
    expect(Buffer.from(nonces[0]!, 'base64')).toHaveLength(18);
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  // Exchanges recorded against PostgreSQL 17.10 with a fixed client nonce; the server accepted
  // each client-final-message and answered with this server-final-message.
  it.each([
    {
      name: 'ASCII password',
      password: 'pencil',
      nonce: 'rOprNGfwEbeRWgbNEkqO',
      serverFirst: 'r=rOprNGfwEbeRWgbNEkqO86IG8cveytyGSZWq94RI2Goy,s=iqcKI0nRBVJSE3d4lR5CzQ==,i=4096',
      clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO86IG8cveytyGSZWq94RI2Goy,p=QQuy9PtKlZRGO2uor5MEODvqHbik0eW/YZ4zbfFakFI=',
      serverFinal: 'v=ntvOD7CkoGmVKHE6PtOrlV+bZiM79MmbEpW9mk4ThsU=',
    },
    {
      name: 'password SASLprep changes (NFKC, soft hyphen)',
      password: 'pässwörd ＡＢＣ\u00ad',
      nonce: 'GatehouseTestNonce01',
      serverFirst: 'r=GatehouseTestNonce013FsAh1Nk4UbBzRU48nrmOKZi,s=owA4NcX571mWrPlDE/xyzg==,i=4096',
      clientFinal: 'c=biws,r=GatehouseTestNonce013FsAh1Nk4UbBzRU48nrmOKZi,p=joIbLSImE0OsSaxiWz1aKJEtm6ozgMItoEp8jeCti2A=',
      serverFinal: 'v=xN6Dk0Fgxh1wBDgxyviCcnwcafHNnzlFQpDb1q6uqEI=',
    },
    {
      name: 'password SASLprep refuses (bidi), used raw',
      password: '\u0627\u0031',
      nonce: 'GatehouseTestNonce02',
      serverFirst: 'r=GatehouseTestNonce02vaGz7FNDoOKGKe3Gff0ZKpq5,s=bqYvDLvTDrt6ZluaI+/7Sg==,i=4096',
      clientFinal: 'c=biws,r=GatehouseTestNonce02vaGz7FNDoOKGKe3Gff0ZKpq5,p=4evRrFYIZyqOIh3BDS60PuH7BHzTO2nK7eypdSbpTqM=',
      serverFinal: 'v=OCA0+yAmCnMkLG0YjT0NHlT8+GZY0eYz95aX9g3wLdg=',
    },
  ])('replays a PostgreSQL 17 login: $name', ({ password, nonce, serverFirst, clientFinal, serverFinal }) => {
    const client = new ScramSha256Client(password, { nonce: Buffer.from(nonce, 'base64') });
    client.start(['SCRAM-SHA-256']);
    expect(unframe(client.continue(Buffer.from(serverFirst))).body.toString('latin1')).toBe(clientFinal);
    client.finish(Buffer.from(serverFinal));
    expect(client.completed).toBe(true);
  });

  it('SASLprep\'s the password: "I<soft hyphen>X" proves the same as "IX"', () => {
    const proofFor = (password: string) => unframe(started(password).continue(Buffer.from(RFC.serverFirst))).body.toString('latin1');
    expect(proofFor('I\u00adX')).toBe(proofFor('IX'));
    expect(proofFor('I\u00adX')).not.toBe(proofFor('I\u00adx'));
  });

  it('refuses a password with a NUL before sending anything', () => {
    expect(gatehouseError(() => new ScramSha256Client('a\0b')).message).toMatch(/NUL/);
  });

  describe('mechanism negotiation', () => {
    it.each([[['SCRAM-SHA-256-PLUS']], [['OAUTHBEARER', 'SCRAM-SHA-1']], [[]]])('refuses %j, naming what was offered', (mechanisms) => {
      const error = gatehouseError(() => new ScramSha256Client('pencil').start(mechanisms));
      expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
      expect(error.sqlState).toBe(SqlState.FEATURE_NOT_SUPPORTED);
      for (const mechanism of mechanisms) expect(error.message).toContain(mechanism);
      expect(error.message).toContain('SCRAM-SHA-256');
    });
  });

  describe('the salted-password cache', () => {
    class CountingCache implements SaltedPasswordCache {
      readonly inner = new LruSaltedPasswordCache();
      readonly keys: string[] = [];
      hits = 0;
      sets = 0;
      get(key: string) {
        this.keys.push(key);
        const value = this.inner.get(key);
        if (value !== undefined) this.hits++;
        return value;
      }
      set(key: string, value: Buffer) {
        this.sets++;
        this.inner.set(key, value);
      }
    }

    it('is hit on the second login with the same password, salt and iterations, with the same result', () => {
      const cache = new CountingCache();
      const first = started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst));
      expect([cache.hits, cache.sets]).toEqual([0, 1]);
      const second = started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst));
      expect([cache.hits, cache.sets]).toEqual([1, 1]);
      expect(second).toEqual(first);
    });

    it('misses when the salt, the iteration count or the password differ', () => {
      const cache = new CountingCache();
      started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst));
      started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst.replace('s=W22ZaJ0SNY7soEsUEjb6gQ==', 's=AAAAAAAAAAAAAAAAAAAAAA==')));
      started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst.replace('i=4096', 'i=4097')));
      started('pen', { cache }).continue(Buffer.from(RFC.serverFirst));
      expect(cache.hits).toBe(0);
      expect(new Set(cache.keys).size).toBe(4);
    });

    it('keys on a hash of the password, never the password itself', () => {
      const cache = new CountingCache();
      started('correct horse battery staple', { cache }).continue(Buffer.from(RFC.serverFirst));
      const key = cache.keys[0]!;
      expect(key).not.toContain('correct horse');
      expect(key).toContain(createHash('sha256').update('correct horse battery staple').digest('base64'));
      expect(key).toContain('W22ZaJ0SNY7soEsUEjb6gQ==');
      expect(key).toContain('4096');
    });

    it('really uses what the cache holds', () => {
      const honest = started('pencil').continue(Buffer.from(RFC.serverFirst));
      const cache = new CountingCache();
      started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst));
      const key = cache.keys[0]!;
      cache.inner.set(key, Buffer.alloc(32, 7));
      expect(started('pencil', { cache }).continue(Buffer.from(RFC.serverFirst))).not.toEqual(honest);
    });
  });

  describe('server-first-message validation', () => {
    const nonce = `${RFC.clientNonce}abc`;
    it.each([
      ['empty', ''],
      ['nonce not extending ours', 'r=XOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'],
      ['nonce with no server part', `r=${RFC.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
      ['salt not base64', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096`],
      ['salt with stray characters', `r=${nonce},s=W22Z*aJ0SNY7soEsUEjb6gQ==,i=4096`],
      ['salt not canonical base64', `r=${nonce},s=QR==,i=4096`],
      ['empty salt', `r=${nonce},s=,i=4096`],
      ['iteration count 0', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`],
      ['negative iteration count', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1`],
      ['iteration count above the cap', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${MAX_SCRAM_ITERATIONS + 1}`],
      ['huge iteration count', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999`],
      ['fractional iteration count', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096.5`],
      ['iteration count with a leading zero', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096`],
      ['iteration count not a number', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=many`],
      ['attributes out of order', `s=W22ZaJ0SNY7soEsUEjb6gQ==,r=${nonce},i=4096`],
      ['an extra attribute', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1`],
      ['a missing attribute', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==`],
      ['a mandatory extension', `m=ext,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
      ['a space', `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096 `],
      ['a non-ASCII byte', `r=${nonce}é,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
    ])('refuses %s', (_what, serverFirst) => {
      const client = started();
      const error = gatehouseError(() => client.continue(Buffer.from(serverFirst, 'utf8')));
      expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
      expect(error.sqlState).toBe(SqlState.PROTOCOL_VIOLATION);
      expect(error.message).toMatch(/SCRAM server-first-message/);
    });

    it('accepts the iteration cap itself (checked without running it)', () => {
      const cache: SaltedPasswordCache = { get: () => Buffer.alloc(32), set: () => undefined };
      expect(() => started('pencil', { cache }).continue(Buffer.from(`r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${MAX_SCRAM_ITERATIONS}`))).not.toThrow();
    });
  });

  describe('server-final-message validation', () => {
    it('turns an e= attribute into a clear error', () => {
      const { client } = continued();
      const error = gatehouseError(() => client.finish(Buffer.from('e=invalid-proof')));
      expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
      expect(error.message).toMatch(/rejected the SCRAM-SHA-256 login: invalid-proof/);
      expect(client.completed).toBe(false);
    });

    it.each([
      ['a signature of the wrong length', () => 'v=AAAA'],
      ['a wrong signature of the right length', () => `v=${Buffer.alloc(32).toString('base64')}`],
    ])('refuses %s as a signature mismatch', (_what, final) => {
      const { client } = continued();
      expect(gatehouseError(() => client.finish(Buffer.from(final()))).message).toMatch(/server signature mismatch/);
    });

    it.each([
      ['empty', () => ''],
      ['no v=', (s: string) => `w=${s}`],
      ['an extra attribute', (s: string) => `v=${s},x=1`],
      ['invalid base64', (s: string) => `v=${s.slice(1)}`],
      ['a NUL', (s: string) => `v=${s}\0`],
    ])('refuses a server-final-message with %s', (_what, final) => {
      const { client, signature } = continued();
      const error = gatehouseError(() => client.finish(Buffer.from(final(signature))));
      expect(error.sqlState).toBe(SqlState.PROTOCOL_VIOLATION);
    });
  });

  describe('message order', () => {
    it('refuses SASLContinue before start', () => {
      expect(gatehouseError(() => new ScramSha256Client('pencil').continue(Buffer.from(RFC.serverFirst))).sqlState).toBe(SqlState.PROTOCOL_VIOLATION);
    });

    it('refuses SASLFinal before SASLContinue', () => {
      expect(gatehouseError(() => started().finish(Buffer.from('v=AAAA'))).message).toMatch(/out of order/);
    });

    it('refuses a second start, a second SASLContinue and a second SASLFinal', () => {
      expect(gatehouseError(() => started().start(['SCRAM-SHA-256'])).message).toMatch(/out of order/);
      expect(gatehouseError(() => continued().client.continue(Buffer.from(RFC.serverFirst))).message).toMatch(/out of order/);
      const { client, signature } = continued();
      client.finish(Buffer.from(`v=${signature}`));
      expect(gatehouseError(() => client.finish(Buffer.from(`v=${signature}`))).message).toMatch(/out of order/);
    });

    it('stays failed after an error: a corrected message is not accepted', () => {
      const client = started();
      gatehouseError(() => client.continue(Buffer.from('r=wrong,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')));
      expect(gatehouseError(() => client.continue(Buffer.from(RFC.serverFirst))).message).toMatch(/out of order/);
      expect(client.completed).toBe(false);
    });
  });

  describe('fuzzing', () => {
    it('random server-first-messages raise only GatehouseErrors', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          onlyGatehouseErrors(() => started().continue(Buffer.from(bytes)));
        }),
      );
    });

    it('near-valid server-first-messages raise only GatehouseErrors', () => {
      const attribute = fc.oneof(
        fc.constant(`r=${RFC.clientNonce}xyz`),
        fc.string().map((s) => `r=${RFC.clientNonce}${s}`),
        fc.base64String().map((s) => `s=${s}`),
        fc.constantFrom('i=1', 'i=0', 'i=-5', 'i=', 'i=1e3', 'i=0x10', 'i=4096', 'i= 7'),
        fc.string(),
      );
      fc.assert(
        fc.property(fc.array(attribute, { maxLength: 5 }), (attributes) => {
          onlyGatehouseErrors(() => started().continue(Buffer.from(attributes.join(','))));
        }),
      );
    });

    it('random server-final-messages raise only GatehouseErrors and never complete the login', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
          const { client } = continued();
          onlyGatehouseErrors(() => client.finish(Buffer.from(bytes)));
          expect(client.completed).toBe(false);
        }),
        { numRuns: 50 },
      );
    });
  });
});
