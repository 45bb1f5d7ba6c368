// The fuzz cases. Each is generated from its own seeded generator (run seed + case number), opens
// one connection to Gatehouse and throws one of three kinds of input at it:
//   startup     PROXY headers and startup packets (SSLRequest, GSSENCRequest, CancelRequest,
//               StartupMessage), valid or mutated, in pieces, or random bytes;
//   tls         mutated ClientHellos and odd records, after SSLRequest or as direct TLS; real
//               handshakes (valid, foreign or no client certificate) followed by garbage under or
//               inside TLS; handshakes abandoned halfway;
//   post-login  a real login with the valid certificate, then mutated frontend messages (and now
//               and then a CancelRequest with the session's key, or garbage under TLS).
// A case never asserts on Gatehouse's answers: the run checks the daemon (crashes, log, sockets).
import type tls from 'node:tls';
import type { ClientKeyPair } from './environment.js';
import { FUZZ_DB_NAME, FUZZ_DB_USER } from './environment.js';
import { anyStartupPacket, cancelRequest, frontendMessages, fuzzStartupMessage, proxyHeader, sslRequest, startupMessage } from './messages.js';
import { chunk, mutate } from './mutate.js';
import { Prng } from './prng.js';
import { backendMessageTypes, Probe } from './probe.js';
import { oddRecords } from './tls-records.js';

export interface CaseTarget {
  readonly port: number;
  readonly hostCaPem: string;
  readonly client: ClientKeyPair;
  readonly foreign: ClientKeyPair;
  readonly clientHellos: readonly Buffer[];
}

export type CaseKind = 'startup' | 'tls' | 'post-login';
/** How the case ended: Gatehouse closed, went quiet, was still sending, or could not be reached. */
export type CaseEnding = 'closed' | 'quiet' | 'busy' | 'unreachable';

export interface CaseResult {
  readonly kind: CaseKind;
  readonly variant: string;
  readonly ending: CaseEnding;
  /** post-login only: whether the login reached ReadyForQuery. */
  readonly loggedIn?: boolean;
}

const TLS_RECORD = 0x16;

export async function runCase(seed: number, index: number, target: CaseTarget): Promise<CaseResult> {
  const rng = new Prng(seed, index);
  const kind = rng.weighted<CaseKind>([
    [45, 'startup'],
    [30, 'tls'],
    [25, 'post-login'],
  ]);
  let probe: Probe;
  try {
    probe = await Probe.open(target.port);
  } catch {
    return { kind, variant: 'connect', ending: 'unreachable' };
  }
  try {
    switch (kind) {
      case 'startup':
        return await startupCase(probe, rng);
      case 'tls':
        return await tlsCase(probe, rng, target);
      case 'post-login':
        return await postLoginCase(probe, rng, target);
    }
  } finally {
    await probe.close(rng).catch(() => probe.destroy());
    probe.destroy();
  }
}

async function startupCase(probe: Probe, rng: Prng): Promise<CaseResult> {
  const variant = rng.weighted([
    [6, 'packets'],
    [2, 'random'],
    [1, 'cut-and-leave'],
  ] as const);
  let stream: Buffer;
  if (variant === 'random') {
    stream = Buffer.concat([rng.chance(0.3) ? anyStartupPacket(rng) : Buffer.alloc(0), rng.bytes(rng.size(400))]);
  } else {
    const parts = [rng.chance(0.2) ? proxyHeader(rng) : Buffer.alloc(0)];
    const count = rng.int(1, 3);
    for (let i = 0; i < count; i++) parts.push(anyStartupPacket(rng));
    stream = Buffer.concat(parts);
    if (variant === 'cut-and-leave') stream = stream.subarray(0, rng.int(0, Math.max(0, stream.length - 1)));
    else if (rng.chance(0.75)) stream = mutate(stream, rng);
  }
  await probe.send(chunk(stream, rng), rng);
  const ending = variant === 'cut-and-leave' ? 'quiet' : await probe.inbox.settle(30, 1_500);
  return { kind: 'startup', variant, ending };
}

/** SSLRequest and 'S' (or nothing, for direct TLS), optionally after a PROXY header. */
async function negotiate(probe: Probe, rng: Prng, direct: boolean): Promise<boolean> {
  if (rng.chance(0.1)) await probe.send([proxyHeader(rng)], rng);
  if (direct) return true;
  await probe.send([sslRequest()], rng);
  const answered = await probe.inbox.waitFor(() => probe.inbox.length >= 1, 5_000);
  return answered && probe.inbox.bytes()[0] === 0x53;
}

async function tlsCase(probe: Probe, rng: Prng, target: CaseTarget): Promise<CaseResult> {
  const variant = rng.weighted([
    [4, 'client-hello'],
    [2, 'odd-records'],
    [4, 'handshake-then-garbage'],
    [1, 'handshake-abandoned'],
  ] as const);
  const direct = rng.chance(0.4);
  if (!(await negotiate(probe, rng, direct))) return { kind: 'tls', variant, ending: await probe.inbox.settle(30, 1_000) };

  if (variant === 'client-hello' || variant === 'odd-records') {
    let flight = variant === 'client-hello' ? rng.pick(target.clientHellos) : oddRecords(rng);
    if (variant === 'client-hello' && rng.chance(0.85)) flight = mutate(flight, rng, 3);
    // Direct TLS is recognized by its first byte; keep it most of the time so the hello reaches TLS.
    if (direct && flight.length > 0 && rng.chance(0.8)) flight[0] = TLS_RECORD;
    if (rng.chance(0.2)) flight = Buffer.concat([flight, rng.bytes(rng.size(100))]);
    await probe.send(chunk(flight, rng), rng, probe.raw);
    return { kind: 'tls', variant, ending: await probe.inbox.settle(50, 2_000) };
  }

  const certificate = rng.weighted<ClientKeyPair | undefined>([
    [5, target.client],
    [2, target.foreign],
    [2, undefined],
  ]);
  const options: tls.ConnectionOptions = {
    ca: target.hostCaPem,
    cert: certificate?.certPem,
    key: certificate?.keyPem,
    rejectUnauthorized: false,
    ALPNProtocols: direct ? (rng.chance(0.9) ? ['postgresql'] : ['http/1.1']) : rng.chance(0.3) ? ['postgresql'] : undefined,
    maxVersion: rng.chance(0.3) ? 'TLSv1.2' : undefined,
  };
  const handshake = probe.startTls(options);
  if (variant === 'handshake-abandoned') {
    await new Promise((resolve) => setTimeout(resolve, rng.int(0, 8)));
    return { kind: 'tls', variant, ending: 'quiet' };
  }
  if ((await handshake) !== 'secure') return { kind: 'tls', variant, ending: 'closed' };
  const secure = probe.secure!;
  switch (rng.int(0, 4)) {
    case 0:
      // Garbage under TLS: bytes that are not a TLS record, or a record cut short.
      await probe.send(chunk(rng.chance(0.5) ? rng.bytes(rng.size(300)) : oddRecords(rng), rng), rng, probe.raw);
      break;
    case 1:
      // Garbage inside TLS where the StartupMessage belongs.
      await probe.send(chunk(mutate(Buffer.concat([anyStartupPacket(rng), anyStartupPacket(rng)]), rng), rng), rng, secure);
      break;
    case 2:
      // A StartupMessage with other names: refused by RBAC, or a login the database refuses.
      await probe.send(chunk(fuzzStartupMessage(rng, rng.pick([FUZZ_DB_USER, 'postgres', 'nobody']), rng.pick([FUZZ_DB_NAME, 'template1', 'nope'])), rng), rng, secure);
      break;
    case 3: {
      // Client-initiated renegotiation (TLS 1.2 only), several times, then a StartupMessage.
      const times = rng.int(1, 5);
      for (let i = 0; i < times && secure.getProtocol() === 'TLSv1.2' && !probe.closed; i++) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2_000);
          const done = () => {
            clearTimeout(timer);
            resolve();
          };
          if (!secure.renegotiate({}, done)) done();
        });
      }
      await probe.send([fuzzStartupMessage(rng, FUZZ_DB_USER, FUZZ_DB_NAME)], rng, secure);
      break;
    }
    default:
      await probe.send([rng.bytes(rng.size(200))], rng, secure);
  }
  return { kind: 'tls', variant, ending: await probe.secureInbox.settle(60, 3_000) };
}

async function postLoginCase(probe: Probe, rng: Prng, target: CaseTarget): Promise<CaseResult> {
  const direct = rng.chance(0.3);
  if (!(await negotiate(probe, rng, direct))) return { kind: 'post-login', variant: 'negotiate', ending: 'closed', loggedIn: false };
  const state = await probe.startTls({
    ca: target.hostCaPem,
    cert: target.client.certPem,
    key: target.client.keyPem,
    ALPNProtocols: ['postgresql'],
  });
  if (state !== 'secure') return { kind: 'post-login', variant: 'handshake', ending: 'closed', loggedIn: false };
  const secure = probe.secure!;
  const parameters: [string, string][] = [
    ['user', FUZZ_DB_USER],
    ['database', FUZZ_DB_NAME],
  ];
  if (rng.chance(0.3)) parameters.push(['application_name', `fuzz-${rng.int(0, 999)}`]);
  let stream: Buffer = Buffer.concat(frontendMessages(rng));
  const mutated = rng.chance(0.7);
  if (mutated) stream = mutate(stream, rng);
  // Now and then the messages are pipelined behind the StartupMessage, before the login is done,
  // as a driver with pipelining does: Gatehouse must hold them through the upstream login.
  const pipelined = rng.chance(0.15);
  if (pipelined) {
    await probe.send(chunk(Buffer.concat([startupMessage(parameters), stream]), rng), rng, secure);
    return { kind: 'post-login', variant: mutated ? 'pipelined-mutated' : 'pipelined', ending: await probe.secureInbox.settle(150, 5_000) };
  }
  secure.write(startupMessage(parameters));
  const ready = await probe.secureInbox.waitFor(() => backendMessageTypes(probe.secureInbox.bytes()).includes(0x5a), 15_000);
  if (!ready) return { kind: 'post-login', variant: 'login', ending: probe.secureInbox.closed ? 'closed' : 'busy', loggedIn: false };

  const pieces = chunk(stream, rng);
  const garbageAt = rng.chance(0.08) ? rng.int(0, pieces.length) : -1;
  for (let i = 0; i < pieces.length; i++) {
    if (i === garbageAt) probe.raw.write(rng.bytes(rng.int(1, 64)));
    await probe.send([pieces[i]!], rng, secure);
  }
  if (rng.chance(0.1)) await cancel(target.port, probe.secureInbox.bytes(), rng);
  const ending = await probe.secureInbox.settle(80, 3_000);
  return { kind: 'post-login', variant: mutated ? 'mutated' : 'valid', ending, loggedIn: true };
}

/** psql's Ctrl+C: a CancelRequest with the session's BackendKeyData on a new plaintext connection. */
async function cancel(port: number, received: Buffer, rng: Prng): Promise<void> {
  let offset = 0;
  let key: { processId: number; secret: Buffer } | undefined;
  while (offset + 5 <= received.length) {
    const length = received.readInt32BE(offset + 1);
    if (received[offset] === 0x4b && length >= 12 && offset + 1 + length <= received.length) {
      key = { processId: received.readInt32BE(offset + 5), secret: received.subarray(offset + 9, offset + 1 + length) };
    }
    offset += 1 + length;
  }
  if (key === undefined) return;
  let request = cancelRequest(key.processId, key.secret);
  if (rng.chance(0.3)) request = mutate(request, rng, 2);
  const probe = await Probe.open(port).catch(() => undefined);
  if (probe === undefined) return;
  await probe.send(chunk(request, rng), rng);
  await probe.inbox.settle(20, 500);
  probe.destroy();
}
