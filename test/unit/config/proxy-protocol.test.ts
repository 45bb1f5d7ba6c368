// proxy.proxy_protocol and proxy.proxy_protocol_trusted_cidrs: defaults, accepted values, and the
// exact message for each mistake (a bad mode, a bad CIDR, turning it on without trusted peers).
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function load(...proxyLines: string[]) {
  return parseConfig(['version: v1', 'proxy:', '  data_dir: /srv/data', ...proxyLines].join('\n'), 'conf/gatehouse.yaml', { cwd: '/srv' });
}

function problems(...proxyLines: string[]): string[] {
  try {
    load(...proxyLines);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('the config loaded, but it should not have');
}

describe('proxy.proxy_protocol', () => {
  it('is off with no trusted peers by default', () => {
    const { proxy } = load();
    expect(proxy.proxy_protocol).toBe('off');
    expect(proxy.proxy_protocol_trusted_cidrs).toEqual([]);
  });

  it('takes on and optional with IPv4, IPv6 and single-address blocks', () => {
    const on = load('  proxy_protocol: on', '  proxy_protocol_trusted_cidrs: [10.0.0.0/16, "2001:db8::/32", 192.0.2.7]');
    expect(on.proxy.proxy_protocol).toBe('on');
    expect(on.proxy.proxy_protocol_trusted_cidrs).toEqual(['10.0.0.0/16', '2001:db8::/32', '192.0.2.7']);
    expect(load('  proxy_protocol: optional', '  proxy_protocol_trusted_cidrs: ["::1"]').proxy.proxy_protocol).toBe('optional');
  });

  it('refuses a mode that is not off, on or optional', () => {
    expect(problems('  proxy_protocol: yes')).toEqual(['conf/gatehouse.yaml:4:19: proxy.proxy_protocol: must be one of off, on, optional, not "yes"']);
    expect(problems('  proxy_protocol: true')).toEqual(['conf/gatehouse.yaml:4:19: proxy.proxy_protocol: must be one of off, on, optional, not the value true']);
  });

  it('says which trusted CIDR is wrong and why', () => {
    expect(
      problems('  proxy_protocol: on', '  proxy_protocol_trusted_cidrs: [10.0.0.0/33, 10.0.0.1/8, lb.internal, "2001:db8::/129"]'),
    ).toEqual([
      'conf/gatehouse.yaml:5:34: proxy.proxy_protocol_trusted_cidrs[0]: "10.0.0.0/33" has an invalid prefix length; an IPv4 prefix is 0 to 32',
      'conf/gatehouse.yaml:5:47: proxy.proxy_protocol_trusted_cidrs[1]: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
      'conf/gatehouse.yaml:5:59: proxy.proxy_protocol_trusted_cidrs[2]: "lb.internal" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32',
      'conf/gatehouse.yaml:5:72: proxy.proxy_protocol_trusted_cidrs[3]: "2001:db8::/129" has an invalid prefix length; an IPv6 prefix is 0 to 128',
    ]);
  });

  it('needs trusted peers when it is on or optional', () => {
    expect(problems('  proxy_protocol: on')).toEqual([
      'conf/gatehouse.yaml:4:19: proxy.proxy_protocol: needs proxy.proxy_protocol_trusted_cidrs: list the address ranges of the load balancers in front of Gatehouse (e.g. [10.0.0.0/16]); headers from anyone else are refused',
    ]);
    expect(problems('  proxy_protocol: optional', '  proxy_protocol_trusted_cidrs: []')).toEqual([
      'conf/gatehouse.yaml:5:33: proxy.proxy_protocol_trusted_cidrs: must not be empty because proxy.proxy_protocol is optional: list the address ranges of the load balancers in front of Gatehouse (e.g. [10.0.0.0/16]); headers from anyone else are refused',
    ]);
  });
});
