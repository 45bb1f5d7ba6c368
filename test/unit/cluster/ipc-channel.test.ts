// IpcChannel: requests with ids and timeouts, one-way notices, errors that keep their code, SQLSTATE
// and hint across the channel, and a closed channel that fails what waits instead of hanging.
import { describe, expect, it } from 'vitest';
import { IpcChannel } from '../../../src/cluster/ipc-channel.js';
import { ErrorCodes, GatehouseError, SqlState } from '../../../src/errors.js';
import { portPair } from './port-pair.js';

function channels(timeoutMs?: number) {
  const ports = portPair();
  return { primary: new IpcChannel(ports.a, 'worker 1', timeoutMs), worker: new IpcChannel(ports.b, 'the primary', timeoutMs), ports };
}

describe('IpcChannel', () => {
  it('answers a request with what the handler returns, also when it returns a promise', async () => {
    const { primary, worker } = channels();
    worker.handle('double', (payload) => (payload as number) * 2);
    worker.handle('later', async (payload) => `later ${String(payload)}`);
    expect(await primary.request('double', 21)).toBe(42);
    expect(await primary.request('later', 'x')).toBe('later x');
  });

  it('keeps concurrent requests apart by id, whatever order the answers come in', async () => {
    const { primary, worker } = channels();
    worker.handle('echo-after', (payload) => new Promise((resolve) => setTimeout(() => resolve(payload), payload as number)));
    const answers = await Promise.all([primary.request('echo-after', 30), primary.request('echo-after', 1), primary.request('echo-after', 15)]);
    expect(answers).toEqual([30, 1, 15]);
  });

  it('works both ways over one pair of ports', async () => {
    const { primary, worker } = channels();
    primary.handle('who', () => 'primary');
    worker.handle('who', () => 'worker');
    expect(await worker.request('who')).toBe('primary');
    expect(await primary.request('who')).toBe('worker');
  });

  it('brings a GatehouseError back with its code, SQLSTATE and hint', async () => {
    const { primary, worker } = channels();
    worker.handle('kill', () => {
      throw new GatehouseError(ErrorCodes.UNKNOWN_SESSION, 'no session abc', { sqlState: SqlState.INVALID_AUTHORIZATION, hint: 'gatehouse sessions ls' });
    });
    const error = await primary.request('kill').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatehouseError);
    expect(error).toMatchObject({ code: ErrorCodes.UNKNOWN_SESSION, message: 'no session abc', sqlState: '28000', hint: 'gatehouse sessions ls' });
  });

  it('brings any other error back as its message', async () => {
    const { primary, worker } = channels();
    worker.handle('listen', () => {
      throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:5432');
    });
    await expect(primary.request('listen')).rejects.toThrow('listen EADDRINUSE: address already in use 127.0.0.1:5432');
  });

  it('refuses an operation nobody answers, naming it', async () => {
    const { primary } = channels();
    await expect(primary.request('nonsense')).rejects.toThrow('nothing answers nonsense here');
  });

  it('fails a request that gets no answer in time with GH_ERR_WORKER_UNAVAILABLE, and ignores the late answer', async () => {
    const { primary, worker } = channels();
    let answer: (value: string) => void = () => undefined;
    worker.handle('slow', () => new Promise<string>((resolve) => (answer = resolve)));
    const error = await primary.request('slow', undefined, 20).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCodes.WORKER_UNAVAILABLE, message: 'worker 1 did not answer slow within 20 ms' });
    answer('too late');
    // The channel still works after a late answer arrived for a forgotten id.
    worker.handle('quick', () => 'ok');
    expect(await primary.request('quick')).toBe('ok');
  });

  it('delivers notices to every listener of their op, and to no one else', async () => {
    const { primary, worker } = channels();
    const heard: string[] = [];
    worker.on('drain', (payload) => heard.push(`a:${JSON.stringify(payload)}`));
    worker.on('drain', (payload) => heard.push(`b:${JSON.stringify(payload)}`));
    worker.on('other', () => heard.push('other'));
    await new Promise<void>((resolve) => primary.notify('drain', { graceMs: 5 }, resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual(['a:{"graceMs":5}', 'b:{"graceMs":5}']);
  });

  it('leaves messages that are not its own alone', async () => {
    const { ports, worker } = channels();
    worker.handle('x', () => 'x');
    const before = ports.b.sent.length;
    ports.a.send({ type: 'prom-client:getMetricsReq', requestId: 1 }, () => undefined);
    ports.a.send('plain text', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(ports.b.sent.length).toBe(before);
  });

  it('fails every waiting request when closed, and refuses new ones', async () => {
    const { primary } = channels();
    const waiting = primary.request('never');
    primary.close();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.WORKER_UNAVAILABLE, message: 'worker 1 is gone' });
    await expect(primary.request('again')).rejects.toThrow('worker 1 is gone (asked for again)');
    expect(primary.isClosed).toBe(true);
    let sent = false;
    primary.notify('anything', undefined, () => (sent = true));
    expect(sent).toBe(true);
  });

  it('fails a request at once when the port throws (the IPC channel closed under it)', async () => {
    const { primary, ports } = channels();
    ports.close();
    await expect(primary.request('anything')).rejects.toThrow('could not ask worker 1 for anything: Channel closed');
  });
});
