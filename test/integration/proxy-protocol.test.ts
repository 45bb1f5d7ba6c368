// The PROXY protocol behind a load balancer, end to end: a small relay in this test plays the
// load balancer (it prepends a v1 or v2 header and pipes the rest), real clients connect through
// it with TLS all the way to Gatehouse, and a real PostgreSQL answers. The audit trail shows the
// address the header claims; `on` refuses a connection without a header; a header from a peer
// outside the trusted CIDRs is refused; `optional` takes connections with and without one.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { parseErrorFields } from '../../src/protocol/error-fields.js';
import { startTestGatehouse, type AuditEvent, type ClientCertificate, type TestGatehouse } from '../support/gatehouse.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

let db: TestPostgres;
/** proxy_protocol: on, trusting 127.0.0.1 only. */
let required: TestGatehouse;
/** proxy_protocol: optional, trusting 127.0.0.1 only. */
let optional: TestGatehouse;
const relays: net.Server[] = [];

function gatehouseYaml(): string {
  return `
databases:
  - name: main
    uri: 127.0.0.1:${db.port}
    labels: { env: dev }
    tls: { mode: verify-full, ca_file: ${db.caFile}, server_name: localhost }
    auth: { password_env: GH_TEST_PROXY_PROTOCOL_PASSWORD }
roles:
  - name: access
    allow: { db_labels: { env: [dev] }, db_users: [postgres], db_names: [postgres] }
users:
  - name: alice
    roles: [access]
`;
}

beforeAll(async () => {
  db = await startTestPostgres();
  process.env.GH_TEST_PROXY_PROTOCOL_PASSWORD = db.superuserPassword;
  required = await startTestGatehouse(gatehouseYaml(), '  proxy_protocol: on\n  proxy_protocol_trusted_cidrs: [127.0.0.1/32]');
  optional = await startTestGatehouse(gatehouseYaml(), '  proxy_protocol: optional\n  proxy_protocol_trusted_cidrs: [127.0.0.1/32]');
});

afterAll(async () => {
  for (const relay of relays) relay.close();
  await required?.stop();
  await optional?.stop();
  await db?.stop();
});

function v1Header(address: string, port: number): Buffer {
  return Buffer.from(`PROXY ${net.isIPv6(address) ? 'TCP6' : 'TCP4'} ${address} ${net.isIPv6(address) ? '::1' : '127.0.0.1'} ${port} 5432\r\n`);
}

/** A v2 PROXY header for TCP over IPv6, with an AWS-style TLV the parser must skip. */
function v2Ipv6Header(address: string, port: number): Buffer {
  const addresses = Buffer.alloc(36);
  const groups = new net.SocketAddress({ address, family: 'ipv6' }).address;
  expandIpv6(groups).copy(addresses, 0);
  expandIpv6('::1').copy(addresses, 16);
  addresses.writeUInt16BE(port, 32);
  addresses.writeUInt16BE(5432, 34);
  const tlv = Buffer.concat([Buffer.from([0xea, 0x00, 0x0a, 0x01]), Buffer.from('vpce-1234')]);
  const fixed = Buffer.from([0x21, 0x21, 0, 0]);
  fixed.writeUInt16BE(addresses.length + tlv.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, addresses, tlv]);
}

function expandIpv6(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

/** The load balancer: accepts on a loopback port, prepends `header` and pipes both ways to `target`. */
async function startRelay(target: TestGatehouse, header: Buffer, localAddress = '127.0.0.1'): Promise<number> {
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target.port, localAddress });
    upstream.write(header);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  relays.push(relay);
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return (relay.address() as net.AddressInfo).port;
}

function clientThrough(gatehouse: TestGatehouse, certificate: ClientCertificate, port: number): pg.Client {
  return new pg.Client({ ...gatehouse.clientConfig(certificate, 'postgres', 'postgres'), port });
}

async function queryThrough(gatehouse: TestGatehouse, port: number): Promise<number> {
  const client = clientThrough(gatehouse, gatehouse.issue('alice', { database: 'main' }), port);
  await client.connect();
  try {
    return (await client.query<{ answer: number }>('SELECT 6 * 7 AS answer')).rows[0]!.answer;
  } finally {
    await client.end();
  }
}

async function eventually(gatehouse: TestGatehouse, matches: (event: AuditEvent) => boolean): Promise<AuditEvent> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const found = gatehouse.auditEvents.find(matches);
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no matching audit event among ${JSON.stringify(gatehouse.auditEvents)}`);
}

/** Connects to `port` (optionally from `localAddress`), sends `bytes`, returns all the answer until close. */
function exchange(port: number, bytes: Buffer, localAddress = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => socket.write(bytes));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

function errorFieldsOf(answer: Buffer): Map<string, string> {
  expect(String.fromCharCode(answer[0]!)).toBe('E');
  return parseErrorFields(answer.subarray(5, 1 + answer.readInt32BE(1)));
}

describe('PROXY protocol', () => {
  it('records the address from a v1 header in the audit trail, with TLS end to end', async () => {
    const port = await startRelay(required, v1Header('203.0.113.50', 41000));
    expect(await queryThrough(required, port)).toBe(42);
    const started = await eventually(required, (event) => event.event === 'session.start' && event.client_addr === '203.0.113.50:41000');
    expect(started).toMatchObject({ success: true, user: 'alice', database: 'main' });
    await eventually(required, (event) => event.event === 'session.end' && event.client_addr === '203.0.113.50:41000');
  });

  it('records the IPv6 address from a v2 header with TLVs', async () => {
    const port = await startRelay(required, v2Ipv6Header('2001:db8::50', 41001));
    expect(await queryThrough(required, port)).toBe(42);
    await eventually(required, (event) => event.event === 'session.start' && event.success === true && event.client_addr === '2001:db8::50:41001');
  });

  it('with proxy_protocol on, refuses a connection without a header, saying why', async () => {
    const fields = errorFieldsOf(await exchange(required.port, SSL_REQUEST));
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toBe(
      'this Gatehouse listener requires a PROXY protocol header (proxy.proxy_protocol: on), and the connection did not start with one',
    );
    expect(fields.get('H')).toContain('Connect through the load balancer');
    await eventually(required, (event) => event.event === 'session.start' && event.success === false && event.code === 'GH_ERR_PROXY_PROTOCOL');
    // A real client sees the refusal too rather than a hang.
    await expect(queryThrough(required, required.port)).rejects.toThrow();
  });

  it('refuses a malformed header', async () => {
    const fields = errorFieldsOf(await exchange(required.port, Buffer.concat([Buffer.from('PROXY TCP4 999.0.0.1 127.0.0.1 1 2\r\n'), SSL_REQUEST])));
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toBe('invalid PROXY protocol v1 header: "999.0.0.1" is not an IPv4 address');
  });

  it('refuses a header from a peer outside proxy_protocol_trusted_cidrs, and logs it', async () => {
    const answer = await exchange(optional.port, Buffer.concat([v1Header('203.0.113.66', 1234), SSL_REQUEST]), '127.0.0.2');
    const fields = errorFieldsOf(answer);
    expect(fields.get('C')).toBe('08P01');
    expect(fields.get('M')).toMatch(/^a PROXY protocol header came from 127\.0\.0\.2:\d+, which is not in proxy\.proxy_protocol_trusted_cidrs;/);
    const denied = await eventually(optional, (event) => event.event === 'session.start' && event.code === 'GH_ERR_PROXY_PROTOCOL_UNTRUSTED');
    // The claim is not believed anywhere: the audit event names the peer that made it.
    expect(denied.client_addr).toMatch(/^127\.0\.0\.2:/);
    expect(optional.logLines.join('')).toContain('PROXY protocol header from an untrusted peer refused');

    const relayed = await startRelay(optional, v1Header('203.0.113.67', 1235), '127.0.0.2');
    await expect(queryThrough(optional, relayed)).rejects.toThrow();
    expect(optional.auditEvents.some((event) => event.client_addr === '203.0.113.67:1235')).toBe(false);
  });

  it('with proxy_protocol optional, takes connections with and without a header', async () => {
    const port = await startRelay(optional, v1Header('198.51.100.9', 50000));
    expect(await queryThrough(optional, port)).toBe(42);
    await eventually(optional, (event) => event.event === 'session.start' && event.success === true && event.client_addr === '198.51.100.9:50000');
    // Directly: without a header the socket's own address is the client's.
    expect(await queryThrough(optional, optional.port)).toBe(42);
    await eventually(optional, (event) => event.event === 'session.start' && event.success === true && String(event.client_addr).startsWith('127.0.0.1:'));
  });

  it('takes a v2 LOCAL header (a load balancer health check) as the socket\'s own address', async () => {
    const local = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
    const port = await startRelay(required, local);
    const before = required.auditEvents.length;
    expect(await queryThrough(required, port)).toBe(42);
    const started = await eventually(required, (event) => required.auditEvents.indexOf(event) >= before && event.event === 'session.start' && event.success === true);
    expect(started.client_addr).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
