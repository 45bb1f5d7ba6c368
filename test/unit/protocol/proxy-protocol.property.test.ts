// Properties of the PROXY protocol parser beyond the examples: a decision (a header, a refusal,
// "not a header") once made never changes when more bytes arrive; the v2 length field is checked,
// at every hostile value, before anything is buffered toward it; every generated v1/v2 header is
// read back at every cut; and mutated headers are answered with ProxyProtocolError only.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_V1_HEADER_BYTES, MAX_V2_PAYLOAD_BYTES, parseProxyHeader, ProxyProtocolError, V2_FIXED_BYTES, type ProxyParseResult } from '../../../src/protocol/proxy-protocol.js';
import { asBuffer, everySplit, hostileLength, largestAllocation, mutate, mutation, outcome } from '../../support/wire-properties.js';

const isProxyError = (error: unknown) => error instanceof ProxyProtocolError;
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const octet = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 0, max: 65535 });

function v2(versionCommand: number, familyTransport: number, payload: Buffer, length = payload.length): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = versionCommand;
  fixed[1] = familyTransport;
  fixed.writeUInt16BE(length & 0xffff, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, payload]);
}

const header = fc.oneof(
  fc.tuple(fc.tuple(octet, octet, octet, octet), fc.tuple(octet, octet, octet, octet), port, port).map(([s, d, sp, dp]) => Buffer.from(`PROXY TCP4 ${s.join('.')} ${d.join('.')} ${sp} ${dp}\r\n`)),
  fc.tuple(fc.ipV6(), fc.ipV6(), port, port).map(([s, d, sp, dp]) => Buffer.from(`PROXY TCP6 ${s} ${d} ${sp} ${dp}\r\n`)),
  // The longest UNKNOWN line is 107 bytes: "PROXY UNKNOWN " (14), up to 91 more, CRLF.
  fc.stringMatching(/^[ -~]{0,91}$/).map((rest) => Buffer.from(`PROXY UNKNOWN${rest === '' ? '' : ` ${rest}`}`.slice(0, MAX_V1_HEADER_BYTES - 2) + '\r\n')),
  fc
    .tuple(fc.constantFrom(0x20, 0x21), fc.constantFrom(0x00, 0x11, 0x21, 0x31, 0x12, 0x22), fc.uint8Array({ minLength: 216, maxLength: 216 }), fc.uint8Array({ maxLength: 64 }))
    .map(([command, family, addresses, tlvs]) => {
      const needed = family === 0x11 || family === 0x12 ? 12 : family === 0x21 || family === 0x22 ? 36 : family === 0x31 ? 216 : 0;
      return v2(command, family, Buffer.concat([Buffer.from(addresses).subarray(0, needed), Buffer.from(tlvs)]));
    }),
);

/** What parseProxyHeader says about `buf`: its result or the message of its refusal. */
function decision(buf: Buffer): ProxyParseResult | { refused: string } {
  const result = outcome(() => parseProxyHeader(buf), isProxyError);
  return 'error' in result ? { refused: (result.error as Error).message } : result.value;
}

const needsMore = (result: ReturnType<typeof decision>) => 'kind' in result && result.kind === 'need-more';

describe('parseProxyHeader properties', () => {
  it('reads back every generated header at every cut, or refuses it the same way at every cut', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 16 }), (bytes, rest) => {
        const whole = decision(Buffer.concat([bytes, Buffer.from(rest)]));
        if ('kind' in whole && whole.kind === 'header') expect(whole.consumed).toBe(bytes.length);
        for (const pieces of everySplit(bytes).slice(0, bytes.length)) {
          // A reader holds pieces[0] and then the rest arrives: a decision on the prefix stands.
          const early = decision(pieces[0]!);
          if (needsMore(early)) continue;
          expect(early).toEqual(whole);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never changes a decision when more bytes arrive, for mutated and random input', () => {
    const input = fc.oneof(
      fc.tuple(header, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([bytes, changes]) => mutate(bytes, changes)),
      fc.uint8Array({ maxLength: 200 }).map(asBuffer),
    );
    fc.assert(
      fc.property(input, fc.nat(), fc.uint8Array({ maxLength: 40 }), (bytes, cut, extra) => {
        const prefix = bytes.subarray(0, cut % (bytes.length + 1));
        const early = decision(prefix);
        const later = decision(Buffer.concat([bytes, Buffer.from(extra)]));
        if (needsMore(early)) return;
        expect(later).toEqual(early);
      }),
      { numRuns: 1500 },
    );
  });

  it('checks a v2 length field at every hostile value before buffering toward it, allocating nothing from it', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x20, 0x21), fc.constantFrom(0x00, 0x11, 0x21, 0x31, 0x44), hostileLength(36, [12, 216, MAX_V2_PAYLOAD_BYTES, 0xffff]), fc.uint8Array({ maxLength: 64 }), (command, family, length, payload) => {
        const bytes = v2(command, family, Buffer.from(payload), length);
        let result: ReturnType<typeof decision> = { refused: 'not run' };
        const largest = largestAllocation(() => {
          result = decision(bytes);
        });
        expect(largest).toBeLessThanOrEqual(bytes.length);
        const announced = length & 0xffff;
        if (needsMore(result)) {
          // It waits only for bytes the header really announced, and never past the cap.
          expect(announced).toBeLessThanOrEqual(MAX_V2_PAYLOAD_BYTES);
          expect(bytes.length).toBeLessThan(V2_FIXED_BYTES + announced);
        }
        if (announced > MAX_V2_PAYLOAD_BYTES) expect(result).toHaveProperty('refused');
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a v1 IPv6 address with a scope zone, which net.isIPv6 alone would take', () => {
    expect(decision(Buffer.from('PROXY TCP6 fe80::1%eth0 ::1 51234 5432\r\n'))).toEqual({
      refused: 'invalid PROXY protocol v1 header: "fe80::1%eth0" is not an IPv6 address',
    });
  });

  it('only ever reports IP addresses a socket could have: dotted IPv4 and IPv6 without a zone', () => {
    const field = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('fe80::1%eth0', '::1%1', '1.2.3.4%x', '01.2.3.4', '::ffff:1.2.3.4', ''), fc.stringMatching(/^[0-9a-f:.%]{0,20}$/));
    fc.assert(
      fc.property(fc.constantFrom('TCP4', 'TCP6'), field, field, (protocol, source, destination) => {
        const result = decision(Buffer.from(`PROXY ${protocol} ${source} ${destination} 1 2\r\n`));
        if ('kind' in result && result.kind === 'header') {
          for (const address of [result.header.source?.address ?? '', result.header.destination?.address ?? '']) {
            expect(net.isIP(address)).toBe(protocol === 'TCP4' ? 4 : 6);
            expect(address).not.toContain('%');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
