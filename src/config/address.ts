// host:port addresses as written in gatehouse.yaml (listen addresses, database uris, public_addr).
// The proxy listens and dials with what this returns, so the config check and the runtime read an
// address the same way. IPv6 literals go in brackets, as in URLs: [::1]:5432.
import { isIP } from 'node:net';

export interface HostPort {
  /** A host name or an IP address; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

// RFC 1123 host names, plus '_' which Docker and Kubernetes service names use.
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;

/**
 * Splits "host:port" (or "[v6]:port") into its parts. When `defaultPort` is given the port may be left
 * out. Throws an Error whose message quotes the value and says what is wrong, e.g.
 * `"0.0.0.0:99999" is not a valid host:port (port must be 0-65535)`.
 */
export function parseHostPort(value: string, defaultPort?: number): HostPort {
  function fail(reason: string): never {
    throw new Error(`${JSON.stringify(value)} is not a valid host:port (${reason})`);
  }
  if (value.length === 0) fail('it is empty');
  if (value.includes('://')) fail('write it without a scheme, e.g. db.internal:5432');
  if (/[\s/@?#]/.test(value)) fail('it may hold only a host and a port');

  let host: string;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) fail('the "]" closing the IPv6 address is missing');
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail('expected ":port" after the "]"');
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) fail(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colons = value.split(':').length - 1;
    if (colons > 1) fail('put an IPv6 address in brackets, e.g. [::1]:5432');
    const colon = value.indexOf(':');
    host = colon < 0 ? value : value.slice(0, colon);
    portText = colon < 0 ? undefined : value.slice(colon + 1);
    if (host === '') fail('the host is missing');
    if (isIP(host) === 0 && !isHostName(host)) fail(`${JSON.stringify(host)} is not a host name or IP address`);
  }

  if (portText === undefined) {
    if (defaultPort === undefined) fail('the port is missing');
    return { host, port: defaultPort };
  }
  if (portText === '') fail('the port is missing');
  if (!/^\d+$/.test(portText)) fail(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port > 65535) fail('port must be 0-65535');
  return { host, port };
}

function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  // An all-numeric dotted name that isIP rejected is a malformed IPv4 address, not a host name.
  if (/^[\d.]+$/.test(name)) return false;
  return name.split('.').every((label) => HOST_LABEL.test(label));
}
