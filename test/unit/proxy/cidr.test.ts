// CIDR blocks for proxy.proxy_protocol_trusted_cidrs: parsing with messages fit for a config
// error, and membership for IPv4, IPv6 and the IPv4-mapped addresses dual-stack sockets report.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CidrError, CidrMatcher, parseCidr } from '../../../src/proxy/cidr.js';

describe('parseCidr', () => {
  it('takes IPv4 and IPv6 blocks and single addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ version: 4, network: 0x0a000000n, prefix: 8 });
    expect(parseCidr('192.0.2.7')).toEqual({ version: 4, network: 0xc0000207n, prefix: 32 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ version: 4, network: 0n, prefix: 0 });
    expect(parseCidr('2001:db8::/32')).toEqual({ version: 6, network: 0x20010db8n << 96n, prefix: 32 });
    expect(parseCidr('::1')).toEqual({ version: 6, network: 1n, prefix: 128 });
    expect(parseCidr('::ffff:10.0.0.0/104').network).toBe((0xffffn << 32n) | 0x0a000000n);
  });

  it('refuses what is not a block, with a message saying what is wrong', () => {
    const message = (text: string) => {
      try {
        parseCidr(text);
      } catch (error) {
        expect(error).toBeInstanceOf(CidrError);
        return (error as Error).message;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(message('lb.internal')).toBe('"lb.internal" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32');
    expect(message('10.0.0/8')).toBe('"10.0.0/8" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32');
    expect(message('')).toBe('"" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32');
    expect(message('10.0.0.0/')).toBe('"10.0.0.0/" has an invalid prefix length; an IPv4 prefix is 0 to 32');
    expect(message('10.0.0.0/-1')).toBe('"10.0.0.0/-1" has an invalid prefix length; an IPv4 prefix is 0 to 32');
    expect(message('::/129')).toBe('"::/129" has an invalid prefix length; an IPv6 prefix is 0 to 128');
    expect(message('10.1.2.3/8')).toBe('"10.1.2.3/8" has host bits set; did you mean 10.0.0.0/8?');
    expect(message('2001:db8::1/32')).toBe('"2001:db8::1/32" has host bits set; did you mean 2001:db8::/32?');
    expect(message('fe80::1%eth0')).toBe('"fe80::1%eth0" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32');
  });
});

describe('CidrMatcher', () => {
  const matcher = new CidrMatcher(['10.0.0.0/16', '192.0.2.7', '2001:db8::/32']);

  it('matches addresses inside the blocks and nothing else', () => {
    expect(matcher.contains('10.0.0.1')).toBe(true);
    expect(matcher.contains('10.0.255.255')).toBe(true);
    expect(matcher.contains('10.1.0.0')).toBe(false);
    expect(matcher.contains('192.0.2.7')).toBe(true);
    expect(matcher.contains('192.0.2.8')).toBe(false);
    expect(matcher.contains('2001:db8:ffff::1')).toBe(true);
    expect(matcher.contains('2001:db9::1')).toBe(false);
    expect(matcher.contains(undefined)).toBe(false);
    expect(matcher.contains('not an address')).toBe(false);
  });

  it('matches an IPv4-mapped IPv6 peer against IPv4 blocks, but not an IPv4 peer against IPv6 blocks', () => {
    expect(matcher.contains('::ffff:10.0.3.4')).toBe(true);
    expect(matcher.contains('::ffff:10.9.3.4')).toBe(false);
    expect(new CidrMatcher(['::/0']).contains('10.0.0.1')).toBe(false);
    expect(new CidrMatcher(['0.0.0.0/0']).contains('::1')).toBe(false);
  });

  it('agrees with a string comparison of the leading bits for random IPv4 blocks', () => {
    const bits = (address: number[]) => address.map((octet) => octet.toString(2).padStart(8, '0')).join('');
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), fc.tuple(octet, octet, octet, octet), fc.integer({ min: 0, max: 32 }), (network, peer, prefix) => {
        const networkBits = bits(network).slice(0, prefix).padEnd(32, '0');
        const networkText = [0, 8, 16, 24].map((start) => parseInt(networkBits.slice(start, start + 8), 2)).join('.');
        const inside = bits(peer).startsWith(networkBits.slice(0, prefix));
        expect(new CidrMatcher([`${networkText}/${prefix}`]).contains(peer.join('.'))).toBe(inside);
      }),
    );
  });
});
