// A bastion that keeps failing is tried once per backoff step, however many dials arrive (never a
// tight loop); dials that arrive together share one attempt; a dial due after its deadline is
// refused at once with the last failure and when the next attempt comes. The "bastion" is a real
// TCP server on loopback that counts connections and never speaks SSH; the clock is injected.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SshTunnelConfig } from '../../src/config/types.js';
import { GatehouseError } from '../../src/errors.js';
import { BastionConnection, type ChannelRequest } from '../../src/ssh/bastion-connection.js';
import { ensureSshKeyPair } from '../../src/ssh/ssh-keys.js';
import { refusal } from '../support/refusal.js';
import { makeTempDir } from '../support/temp-dir.js';

let temp: { path: string; remove: () => void };
let server: net.Server;
let accepted = 0;
/** What the server does with each connection: hang up at once, or say nothing until the client gives up. */
let behaviour: 'hang-up' | 'silent' = 'hang-up';
const held: net.Socket[] = [];
let tunnel: SshTunnelConfig;

beforeAll(async () => {
  temp = makeTempDir('ssh-backoff');
  server = net.createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    if (behaviour === 'hang-up') socket.destroy();
    else held.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const privateKeyFile = join(temp.path, 'key');
  ensureSshKeyPair(privateKeyFile, 'db');
  const knownHostsFile = join(temp.path, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${ensureSshKeyPair(privateKeyFile, 'db').publicKeyLine}\n`);
  tunnel = { host: '127.0.0.1', port, user: 'gatehouse', private_key_file: privateKeyFile, known_hosts_file: knownHostsFile, keepalive_interval_ms: 30_000, keepalive_count_max: 10 };
});

afterEach(() => {
  for (const socket of held.splice(0)) socket.destroy();
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  temp.remove();
});

const request: ChannelRequest = { databaseName: 'db', host: 'db.internal', port: 5432, timeoutMs: 2_000 };
const open = (bastion: BastionConnection, signal = new AbortController().signal) => bastion.openChannel(request, signal);

describe('a failing bastion', () => {
  it('is tried once per backoff step, however many dials arrive meanwhile', async () => {
    behaviour = 'hang-up';
    accepted = 0;
    const clock = { now: 1_000_000 };
    const bastion = new BastionConnection({
      tunnel,
      logger: pino({ level: 'silent' }),
      now: () => clock.now,
      random: () => 0.999_999,
      backoff: { baseMs: 60_000, capMs: 600_000 },
    });
    const first = await refusal(open(bastion));
    expect(first.sqlState).toBe('08001');
    expect(first.message).toContain('bastion gatehouse@127.0.0.1');
    expect(accepted).toBe(1);

    // The next attempt is due in 60 s, past every dial's 2 s deadline: each is refused at once.
    const refusals = await Promise.all(Array.from({ length: 20 }, () => refusal(open(bastion))));
    for (const error of refusals) {
      expect(error.code).toBe(first.code);
      expect(error.message).toBe(`${first.message} (Gatehouse tries the bastion again in 60 s)`);
    }
    expect(accepted).toBe(1);

    clock.now += 60_000;
    await refusal(open(bastion));
    expect(accepted).toBe(2);
    // Two failures in a row: the next step is twice as long.
    clock.now += 60_000;
    expect((await refusal(open(bastion))).message).toContain('(Gatehouse tries the bastion again in 60 s)');
    expect(accepted).toBe(2);
    expect(bastion.stats()).toMatchObject({ connected: false, connections: 0, failures: 2 });
    await bastion.close();
  });

  it('lets dials that arrive together share one attempt, and each gets its failure', async () => {
    behaviour = 'silent';
    accepted = 0;
    const bastion = new BastionConnection({ tunnel, logger: pino({ level: 'silent' }) });
    const quick: ChannelRequest = { ...request, timeoutMs: 500 };
    const errors = await Promise.all(
      ['a', 'b', 'c', 'd'].map((databaseName) => refusal(bastion.openChannel({ ...quick, databaseName }, new AbortController().signal))),
    );
    expect(accepted).toBe(1);
    expect(errors.map((error) => error.message)).toEqual(
      ['a', 'b', 'c', 'd'].map(
        (databaseName) => `cannot reach database "${databaseName}": its SSH bastion gatehouse@127.0.0.1:${tunnel.port} did not complete the SSH handshake and login within 500 ms`,
      ),
    );
    await bastion.close();
  });

  it('stops waiting when the dial is abandoned, without ending the attempt for others', async () => {
    behaviour = 'silent';
    accepted = 0;
    const bastion = new BastionConnection({ tunnel, logger: pino({ level: 'silent' }) });
    const abandon = new AbortController();
    const abandoned = open(bastion, abandon.signal);
    const other = open(bastion);
    await expect.poll(() => accepted).toBe(1);
    abandon.abort();
    expect(await abandoned.catch((error: unknown) => error)).toBeInstanceOf(GatehouseError);
    // The other dial still waits on the same attempt, which fails only at its deadline.
    const error = await refusal(other);
    expect(error.message).toContain('did not complete the SSH handshake and login within 2000 ms');
    expect(accepted).toBe(1);
    await bastion.close();
  });

  it('refuses every dial once closed', async () => {
    const bastion = new BastionConnection({ tunnel, logger: pino({ level: 'silent' }) });
    await bastion.close();
    expect(await refusal(open(bastion))).toMatchObject({ code: 'GH_ERR_SHUTTING_DOWN', sqlState: '57P01' });
  });
});

describe('files the bastion connection needs', () => {
  it('a missing known_hosts_file is refused before any connection, saying how to make it', async () => {
    accepted = 0;
    const missing = join(temp.path, 'no-such-known-hosts');
    const bastion = new BastionConnection({ tunnel: { ...tunnel, known_hosts_file: missing }, logger: pino({ level: 'silent' }) });
    const error = await refusal(open(bastion));
    expect(error).toMatchObject({ code: 'GH_ERR_SSH_HOST_KEY', sqlState: '08001' });
    expect(error.message).toContain(`known_hosts_file ${missing} does not exist`);
    expect(error.hint).toContain(`ssh-keyscan -p ${tunnel.port} 127.0.0.1 > ${missing}`);
    expect(accepted).toBe(0);
  });

  it('a missing key is refused before any connection, naming the command that makes it; once made, the next dial goes ahead at once', async () => {
    behaviour = 'hang-up';
    accepted = 0;
    const keyFile = join(temp.path, 'nokey');
    const bastion = new BastionConnection({ tunnel: { ...tunnel, private_key_file: keyFile }, logger: pino({ level: 'silent' }) });
    const error = await refusal(open(bastion));
    expect(error).toMatchObject({ code: 'GH_ERR_SSH_AUTH', sqlState: '08001' });
    expect(error.hint).toContain('gatehouse ssh-key show db');
    expect(accepted).toBe(0);
    // A local file problem is no reason to back off from the bastion.
    ensureSshKeyPair(keyFile, 'db');
    expect((await refusal(open(bastion))).message).not.toContain('tries the bastion again');
    expect(accepted).toBe(1);
  });
});
