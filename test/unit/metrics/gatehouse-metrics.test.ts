// GatehouseMetrics as a scraper sees it: the Prometheus text of its own registry, read back into
// numbers. Sessions are plain objects whose byte counts the test moves, the way a relay's grow.
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConnectTimer } from '../../../src/metrics/connect-timer.js';
import { GatehouseMetrics } from '../../../src/metrics/gatehouse-metrics.js';
import { metricsRoute } from '../../../src/metrics/metrics-endpoint.js';
import { TextBody } from '../../../src/web/web-server.js';
import { PrometheusText } from '../../support/prometheus-text.js';

function liveBytes(): { bytesFromClient: number; bytesToClient: number } {
  return { bytesFromClient: 0, bytesToClient: 0 };
}

async function scrape(metrics: GatehouseMetrics): Promise<PrometheusText> {
  return new PrometheusText(await metrics.render());
}

function quiet(options: ConstructorParameters<typeof GatehouseMetrics>[0] = {}): GatehouseMetrics {
  return new GatehouseMetrics({ defaultMetrics: false, ...options });
}

describe('the registry', () => {
  it('is the daemon\'s own: two in one process never clash, and the global registry stays empty', async () => {
    const first = new GatehouseMetrics();
    const second = new GatehouseMetrics();
    first.certIssued('identity');
    expect((await scrape(first)).value('gatehouse_certs_issued_total')).toBe(1);
    expect((await scrape(second)).value('gatehouse_certs_issued_total')).toBeUndefined();
    expect(await globalRegistry.metrics()).not.toContain('gatehouse_');
  });

  it('includes Node\'s process metrics that the soak script reads', async () => {
    const text = await scrape(new GatehouseMetrics());
    for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) expect(text.has(name), name).toBe(true);
  });

  it('leaves them out when asked', async () => {
    expect((await scrape(quiet())).has('process_resident_memory_bytes')).toBe(false);
  });

  it('names the Prometheus text format as its content type', () => {
    expect(quiet().contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('describes every Gatehouse metric with its type', async () => {
    const metrics = quiet({ databases: () => ['main'] });
    metrics.sessionStarted('main', liveBytes(), metrics.connectTimer());
    metrics.sessionRefused('GH_ERR_ACCESS_DENIED', '28000', 'main');
    metrics.awsCall('GetClusterCredentials', 0.1, 'AccessDenied');
    metrics.certIssued('database');
    metrics.login(true);
    const text = await scrape(metrics);
    expect(Object.fromEntries(
      [
        'gatehouse_sessions_active',
        'gatehouse_sessions_started_total',
        'gatehouse_sessions_refused_total',
        'gatehouse_bytes_from_client_total',
        'gatehouse_bytes_to_client_total',
        'gatehouse_connect_duration_seconds',
        'gatehouse_aws_call_duration_seconds',
        'gatehouse_aws_call_errors_total',
        'gatehouse_certs_issued_total',
        'gatehouse_web_logins_total',
      ].map((name) => [name, text.describe(name).type]),
    )).toEqual({
      gatehouse_sessions_active: 'gauge',
      gatehouse_sessions_started_total: 'counter',
      gatehouse_sessions_refused_total: 'counter',
      gatehouse_bytes_from_client_total: 'counter',
      gatehouse_bytes_to_client_total: 'counter',
      gatehouse_connect_duration_seconds: 'histogram',
      gatehouse_aws_call_duration_seconds: 'histogram',
      gatehouse_aws_call_errors_total: 'counter',
      gatehouse_certs_issued_total: 'counter',
      gatehouse_web_logins_total: 'counter',
    });
  });
});

describe('sessions', () => {
  it('shows configured databases at 0 before any session', async () => {
    const text = await scrape(quiet({ databases: () => ['main', 'reports'] }));
    for (const database of ['main', 'reports']) {
      expect(text.value('gatehouse_sessions_active', { database })).toBe(0);
      expect(text.value('gatehouse_sessions_started_total', { database })).toBe(0);
      expect(text.value('gatehouse_bytes_from_client_total', { database })).toBe(0);
      expect(text.value('gatehouse_bytes_to_client_total', { database })).toBe(0);
    }
  });

  it('counts active and started sessions per database, and an ended one only as started', async () => {
    const metrics = quiet({ databases: () => ['main', 'reports'] });
    const endFirst = metrics.sessionStarted('main', liveBytes());
    metrics.sessionStarted('main', liveBytes());
    metrics.sessionStarted('reports', liveBytes());
    let text = await scrape(metrics);
    expect(text.value('gatehouse_sessions_active', { database: 'main' })).toBe(2);
    expect(text.value('gatehouse_sessions_active', { database: 'reports' })).toBe(1);
    expect(text.value('gatehouse_sessions_started_total', { database: 'main' })).toBe(2);

    endFirst();
    endFirst();
    text = await scrape(metrics);
    expect(text.value('gatehouse_sessions_active', { database: 'main' })).toBe(1);
    expect(text.value('gatehouse_sessions_started_total', { database: 'main' })).toBe(2);
  });

  it('keeps a database that left the config at 0 active once its sessions end', async () => {
    let databases = ['old'];
    const metrics = quiet({ databases: () => databases });
    const end = metrics.sessionStarted('old', liveBytes());
    databases = [];
    end();
    expect((await scrape(metrics)).value('gatehouse_sessions_active', { database: 'old' })).toBe(0);
  });

  it('reads live sessions\' bytes at every scrape, and keeps an ended session\'s final count', async () => {
    const metrics = quiet({ databases: () => ['main'] });
    const first = liveBytes();
    const second = liveBytes();
    const endFirst = metrics.sessionStarted('main', first);
    metrics.sessionStarted('main', second);
    first.bytesFromClient = 100;
    first.bytesToClient = 1000;
    second.bytesFromClient = 5;
    let text = await scrape(metrics);
    expect(text.value('gatehouse_bytes_from_client_total', { database: 'main' })).toBe(105);
    expect(text.value('gatehouse_bytes_to_client_total', { database: 'main' })).toBe(1000);

    first.bytesToClient = 1500;
    endFirst();
    // What a finished session reports afterwards no longer counts.
    first.bytesToClient = 999_999;
    second.bytesToClient = 20;
    text = await scrape(metrics);
    expect(text.value('gatehouse_bytes_from_client_total', { database: 'main' })).toBe(105);
    expect(text.value('gatehouse_bytes_to_client_total', { database: 'main' })).toBe(1520);
  });

  it('counts refusals by code, SQLSTATE and database, "" when the database is unknown', async () => {
    const metrics = quiet();
    metrics.sessionRefused('GH_ERR_ACCESS_DENIED', '28000', 'main');
    metrics.sessionRefused('GH_ERR_ACCESS_DENIED', '28000', 'main');
    metrics.sessionRefused('GH_ERR_TLS_REQUIRED', '28000');
    const text = await scrape(metrics);
    expect(text.value('gatehouse_sessions_refused_total', { code: 'GH_ERR_ACCESS_DENIED', sqlstate: '28000', database: 'main' })).toBe(2);
    expect(text.value('gatehouse_sessions_refused_total', { code: 'GH_ERR_TLS_REQUIRED', sqlstate: '28000', database: '' })).toBe(1);
    expect(text.value('gatehouse_sessions_refused_total')).toBe(3);
  });
});

describe('connect timings', () => {
  it('records each lap and the total of a session that became ready, in seconds', async () => {
    let clock = 1_000;
    const metrics = quiet({ now: () => clock });
    const timer = metrics.connectTimer();
    clock += 4;
    timer.lap('credentials');
    clock += 2;
    timer.lap('dial');
    clock += 10;
    timer.lap('tls');
    clock += 30;
    timer.lap('auth');
    clock += 1;
    metrics.sessionStarted('main', liveBytes(), timer);
    const text = await scrape(metrics);
    const sum = (phase: string) => text.value('gatehouse_connect_duration_seconds_sum', { database: 'main', phase });
    expect(sum('credentials')).toBeCloseTo(0.004);
    expect(sum('dial')).toBeCloseTo(0.002);
    expect(sum('tls')).toBeCloseTo(0.01);
    expect(sum('auth')).toBeCloseTo(0.03);
    expect(sum('total')).toBeCloseTo(0.047);
    for (const phase of ['credentials', 'dial', 'tls', 'auth', 'total']) {
      expect(text.value('gatehouse_connect_duration_seconds_count', { database: 'main', phase })).toBe(1);
    }
    expect(text.value('gatehouse_connect_duration_seconds_bucket', { database: 'main', phase: 'auth', le: '0.025' })).toBe(0);
    expect(text.value('gatehouse_connect_duration_seconds_bucket', { database: 'main', phase: 'auth', le: '0.05' })).toBe(1);
  });

  it('records nothing for a session without a timer, and a timer never used records nothing', async () => {
    const metrics = quiet();
    metrics.connectTimer().lap('dial');
    metrics.sessionStarted('main', liveBytes());
    expect((await scrape(metrics)).has('gatehouse_connect_duration_seconds_count')).toBe(false);
  });

  it('a ConnectTimer measures from its creation', () => {
    let clock = 50;
    const timer = new ConnectTimer(() => clock);
    clock = 75;
    timer.lap('dial');
    clock = 100;
    expect(timer.laps).toEqual([{ phase: 'dial', seconds: 0.025 }]);
    expect(timer.elapsedSeconds()).toBe(0.05);
  });
});

describe('AWS calls, certificates and logins', () => {
  it('times AWS calls by operation and outcome and counts errors by AWS error name', async () => {
    const metrics = quiet();
    metrics.awsCall('GetClusterCredentials', 0.2);
    metrics.awsCall('GetClusterCredentials', 0.3, 'AccessDenied');
    metrics.awsCall('AssumeRole', 1.5, 'AccessDenied');
    const text = await scrape(metrics);
    expect(text.value('gatehouse_aws_call_duration_seconds_count', { operation: 'GetClusterCredentials', outcome: 'ok' })).toBe(1);
    expect(text.value('gatehouse_aws_call_duration_seconds_sum', { operation: 'GetClusterCredentials', outcome: 'error' })).toBeCloseTo(0.3);
    expect(text.value('gatehouse_aws_call_errors_total', { operation: 'GetClusterCredentials', error: 'AccessDenied' })).toBe(1);
    expect(text.value('gatehouse_aws_call_errors_total', { operation: 'AssumeRole', error: 'AccessDenied' })).toBe(1);
    expect(text.value('gatehouse_aws_call_errors_total')).toBe(2);
  });

  it('counts certificates by kind and logins by outcome and code', async () => {
    const metrics = quiet();
    metrics.certIssued('identity');
    metrics.certIssued('database');
    metrics.certIssued('database');
    metrics.login(true);
    metrics.login(false, 'GH_ERR_LOGIN_FAILED');
    metrics.login(false, 'GH_ERR_TOTP_REQUIRED');
    metrics.login(false, 'GH_ERR_LOGIN_FAILED');
    const text = await scrape(metrics);
    expect(text.value('gatehouse_certs_issued_total', { kind: 'identity' })).toBe(1);
    expect(text.value('gatehouse_certs_issued_total', { kind: 'database' })).toBe(2);
    expect(text.value('gatehouse_web_logins_total', { outcome: 'success' })).toBe(1);
    expect(text.value('gatehouse_web_logins_total', { outcome: 'failure', code: 'GH_ERR_LOGIN_FAILED' })).toBe(2);
    expect(text.value('gatehouse_web_logins_total', { outcome: 'failure' })).toBe(3);
  });
});

describe('summary()', () => {
  it('gives plain totals for gatehouse status', () => {
    const metrics = quiet({ databases: () => ['main'] });
    const bytes = liveBytes();
    const end = metrics.sessionStarted('main', bytes);
    const ended = liveBytes();
    metrics.sessionStarted('reports', ended)();
    ended.bytesFromClient = 7; // after its end: not counted
    bytes.bytesFromClient = 10;
    bytes.bytesToClient = 20;
    metrics.sessionRefused('GH_ERR_ACCESS_DENIED', '28000');
    metrics.certIssued('identity');
    metrics.certIssued('database');
    expect(metrics.summary()).toEqual({
      sessions_active: 1,
      sessions_started: 2,
      sessions_refused: 1,
      bytes_from_client: 10,
      bytes_to_client: 20,
      certs_issued: 2,
    });
    end();
    expect(metrics.summary()).toMatchObject({ sessions_active: 0, bytes_from_client: 10, bytes_to_client: 20 });
  });
});

describe('GET /metrics', () => {
  it('is a route without authentication that answers the registry as text', async () => {
    const metrics = quiet();
    metrics.certIssued('identity');
    const route = metricsRoute(metrics);
    expect(route).toMatchObject({ method: 'GET', path: '/metrics', auth: 'none' });
    const reply = await route.handle({ id: 'r', clientAddress: '127.0.0.1', clientEndpoint: '127.0.0.1:1', body: {}, caller: undefined });
    expect(reply.status).toBe(200);
    expect(reply.body).toBeInstanceOf(TextBody);
    const body = reply.body as TextBody;
    expect(body.contentType).toBe(metrics.contentType);
    expect(new PrometheusText(body.text).value('gatehouse_certs_issued_total', { kind: 'identity' })).toBe(1);
  });
});
