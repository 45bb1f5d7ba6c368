// CIDR blocks (10.0.0.0/8, 2001:db8::/32, or a bare address for one host) and the question
// "is this peer inside one of them?", for proxy.proxy_protocol_trusted_cidrs. An IPv4-mapped IPv6
// peer (::ffff:10.1.2.3, what a socket on a dual-stack listener reports) matches IPv4 blocks, so
// listening on :: does not silently distrust every IPv4 load balancer.
import net from 'node:net';

interface Block {
  readonly version: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}

export class CidrError extends Error {}

/** Parses one block; throws CidrError with a message fit for a config error. */
export function parseCidr(text: string): Block {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const parsed = parseAddress(addressText);
  if (parsed === undefined) throw new CidrError(`${JSON.stringify(text)} is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32`);
  const bits = parsed.version === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      throw new CidrError(`${JSON.stringify(text)} has an invalid prefix length; an IPv${parsed.version} prefix is 0 to ${bits}`);
    }
    prefix = Number(prefixText);
  }
  const mask = maskFor(prefix, bits);
  if ((parsed.value & ~mask & ((1n << BigInt(bits)) - 1n)) !== 0n) {
    throw new CidrError(`${JSON.stringify(text)} has host bits set; did you mean ${formatNetwork(parsed.value & mask, parsed.version)}/${prefix}?`);
  }
  return { version: parsed.version, network: parsed.value & mask, prefix };
}

export class CidrMatcher {
  private readonly blocks: readonly Block[];

  constructor(cidrs: readonly string[]) {
    this.blocks = cidrs.map(parseCidr);
  }

  /** Whether `address` (as a socket's remoteAddress reports it) lies in one of the blocks. */
  contains(address: string | undefined): boolean {
    if (address === undefined) return false;
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    const candidates = [parsed];
    const mapped = ipv4Mapped(parsed);
    if (mapped !== undefined) candidates.push(mapped);
    return this.blocks.some((block) =>
      candidates.some((candidate) => {
        if (candidate.version !== block.version) return false;
        const mask = maskFor(block.prefix, block.version === 4 ? 32 : 128);
        return (candidate.value & mask) === block.network;
      }),
    );
  }
}

function parseAddress(text: string): { version: 4 | 6; value: bigint } | undefined {
  if (net.isIPv4(text)) {
    return { version: 4, value: text.split('.').reduce((sum, octet) => (sum << 8n) | BigInt(Number(octet)), 0n) };
  }
  // A zone id (fe80::1%eth0) names an interface, not part of the address.
  if (!net.isIPv6(text) || text.includes('%')) return undefined;
  const groups = expandIpv6(text);
  return { version: 6, value: groups.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n) };
}

function expandIpv6(text: string): number[] {
  let body = text;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (embedded !== null) {
    const octets = (embedded[1] as string).split('.').map(Number) as [number, number, number, number];
    body = `${body.slice(0, embedded.index)}${((octets[0] << 8) | octets[1]).toString(16)}:${((octets[2] << 8) | octets[3]).toString(16)}`;
  }
  const [head, tail] = body.includes('::') ? (body.split('::') as [string, string]) : [body, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  if (tail === undefined) return headGroups.map((group) => parseInt(group, 16));
  const tailGroups = tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) => parseInt(group, 16));
}

function ipv4Mapped(parsed: { version: 4 | 6; value: bigint }): { version: 4; value: bigint } | undefined {
  if (parsed.version !== 6 || parsed.value >> 32n !== 0xffffn) return undefined;
  return { version: 4, value: parsed.value & 0xffffffffn };
}

function maskFor(prefix: number, bits: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all << BigInt(bits - prefix)) & all;
}

function formatNetwork(value: bigint, version: 4 | 6): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}
