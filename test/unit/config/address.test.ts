import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../../src/config/address.js';

describe('parseHostPort', () => {
  it.each([
    ['0.0.0.0:5432', undefined, { host: '0.0.0.0', port: 5432 }],
    ['127.0.0.1:0', undefined, { host: '127.0.0.1', port: 0 }],
    ['localhost:65535', undefined, { host: 'localhost', port: 65535 }],
    ['db.internal.example.com:6543', undefined, { host: 'db.internal.example.com', port: 6543 }],
    ['pg_primary:5432', undefined, { host: 'pg_primary', port: 5432 }],
    ['[::1]:5432', undefined, { host: '::1', port: 5432 }],
    ['[2001:db8::1]:15432', undefined, { host: '2001:db8::1', port: 15432 }],
    ['db.internal', 5432, { host: 'db.internal', port: 5432 }],
    ['[::1]', 5432, { host: '::1', port: 5432 }],
    ['10.0.0.7', 5432, { host: '10.0.0.7', port: 5432 }],
    ['localhost', 0, { host: 'localhost', port: 0 }],
  ])('reads %s (default port %s)', (value, defaultPort, expected) => {
    expect(parseHostPort(value, defaultPort)).toEqual(expected);
  });

  it.each([
    ['0.0.0.0:99999', undefined, '"0.0.0.0:99999" is not a valid host:port (port must be 0-65535)'],
    ['0.0.0.0:65536', undefined, '"0.0.0.0:65536" is not a valid host:port (port must be 0-65535)'],
    ['localhost', undefined, '"localhost" is not a valid host:port (the port is missing)'],
    ['localhost:', 5432, '"localhost:" is not a valid host:port (the port is missing)'],
    [':5432', undefined, '":5432" is not a valid host:port (the host is missing)'],
    ['', undefined, '"" is not a valid host:port (it is empty)'],
    ['db:abc', undefined, '"db:abc" is not a valid host:port (port "abc" is not a number)'],
    ['db:-1', undefined, '"db:-1" is not a valid host:port (port "-1" is not a number)'],
    ['::1:5432', undefined, '"::1:5432" is not a valid host:port (put an IPv6 address in brackets, e.g. [::1]:5432)'],
    ['[::1:5432', undefined, '"[::1:5432" is not a valid host:port (the "]" closing the IPv6 address is missing)'],
    ['[::1]5432', undefined, '"[::1]5432" is not a valid host:port (expected ":port" after the "]")'],
    ['[db.local]:5432', undefined, '"[db.local]:5432" is not a valid host:port ("db.local" is not an IPv6 address)'],
    ['postgres://db:5432', undefined, '"postgres://db:5432" is not a valid host:port (write it without a scheme, e.g. db.internal:5432)'],
    ['db host:5432', undefined, '"db host:5432" is not a valid host:port (it may hold only a host and a port)'],
    ['user@db:5432', undefined, '"user@db:5432" is not a valid host:port (it may hold only a host and a port)'],
    ['-db:5432', undefined, '"-db:5432" is not a valid host:port ("-db" is not a host name or IP address)'],
    ['999.1.1.1:5432', undefined, '"999.1.1.1:5432" is not a valid host:port ("999.1.1.1" is not a host name or IP address)'],
    ['a..b:5432', undefined, '"a..b:5432" is not a valid host:port ("a..b" is not a host name or IP address)'],
  ])('rejects %j', (value, defaultPort, message) => {
    expect(() => parseHostPort(value, defaultPort)).toThrow(new Error(message));
  });
});
