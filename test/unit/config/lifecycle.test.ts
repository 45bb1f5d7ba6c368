// The lifecycle keys of gatehouse.yaml: shutdown grace, connection limits, idle timeout, expired
// certificates and TCP keepalive, proxy-wide and per role: defaults, parsing and refusals.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function load(...lines: string[]) {
  return parseConfig(['version: v1', ...lines].join('\n'), 'conf/gatehouse.yaml', { cwd: '/srv' });
}

function problems(...lines: string[]): string[] {
  try {
    load(...lines);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('the config loaded, but it should not have');
}

describe('proxy lifecycle keys', () => {
  it('defaults: 30 s grace, 10000 connections, no idle timeout, expired certificates disconnected, 60 s keepalive', () => {
    const { proxy } = load();
    expect(proxy.shutdown_grace_ms).toBe(30_000);
    expect(proxy.max_connections).toBe(10_000);
    expect(proxy.client_idle_timeout_ms).toBe(0);
    expect(proxy.disconnect_expired_cert).toBe(true);
    expect(proxy.tcp_keepalive_ms).toBe(60_000);
  });

  it('reads durations, 0 meaning off, and the limit and flag as written', () => {
    const { proxy } = load('proxy:', '  shutdown_grace: 0', '  max_connections: 5', '  client_idle_timeout: 15m', '  disconnect_expired_cert: false', '  tcp_keepalive: 0');
    expect(proxy).toMatchObject({ shutdown_grace_ms: 0, max_connections: 5, client_idle_timeout_ms: 900_000, disconnect_expired_cert: false, tcp_keepalive_ms: 0 });
  });

  it('refuses a bad limit, a duration without unit and a non-boolean flag, at their positions', () => {
    expect(problems('proxy:', '  max_connections: 0', '  client_idle_timeout: 30', '  disconnect_expired_cert: "yes"', '  tcp_keepalive: 25h', '  shutdown_grace: -1s')).toEqual([
      'conf/gatehouse.yaml:3:20: proxy.max_connections: must be a whole number from 1 to 1000000',
      'conf/gatehouse.yaml:4:24: proxy.client_idle_timeout: must be a duration such as 10s, 30m, 8h or 1h30m, not the number 30',
      'conf/gatehouse.yaml:5:28: proxy.disconnect_expired_cert: must be true or false, not "yes"',
      'conf/gatehouse.yaml:6:18: proxy.tcp_keepalive: "25h" is out of range: it must be from 0s to 24h',
      'conf/gatehouse.yaml:7:19: proxy.shutdown_grace: "-1s" is negative; durations must be 0 or longer',
    ]);
  });
});

describe('role lifecycle options', () => {
  it('are absent unless set, and read when set', () => {
    const config = load(
      'roles:',
      '  - name: plain',
      '  - name: limited',
      '    options: { max_connections: 3, client_idle_timeout: 10m }',
    );
    expect(config.roles[0]?.options).toEqual({ max_session_ttl_ms: 12 * 3_600_000 });
    expect(config.roles[1]?.options).toEqual({ max_session_ttl_ms: 12 * 3_600_000, max_connections: 3, client_idle_timeout_ms: 600_000 });
  });

  it('refuses a fractional limit', () => {
    expect(problems('roles:', '  - name: r', '    options: { max_connections: 2.5 }')).toEqual([
      'conf/gatehouse.yaml:4:33: roles[0].options.max_connections: must be a whole number from 1 to 1000000',
    ]);
  });
});
