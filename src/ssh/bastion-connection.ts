// One multiplexed SSH connection to a bastion, shared by every session and cancel request to the
// databases behind it: each upstream connection is a direct-tcpip channel of it. It is opened by
// the first dial, with the bastion's host key checked against known_hosts, and when it drops the
// next dial opens a new one. Failures in a row push the next attempt back (see backoff.ts); dials
// that arrive meanwhile wait for it when it is due within their deadline, and are refused at once
// with the last failure otherwise. Dials waiting on a connection that fails, and sessions whose
// channel it carried, get an error that names the bastion and what happened.
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
// ssh2 is CommonJS without named exports Node's ESM loader can detect: take its default export.
import ssh2, { type Client, type ClientChannel } from 'ssh2';
import type { SshTunnelConfig } from '../config/types.js';
import { GatehouseError } from '../errors.js';
import { backoffDelayMs, DEFAULT_BASTION_BACKOFF, type BackoffPolicy } from './backoff.js';
import { parseKnownHosts, type KnownHostEntry } from './known-hosts.js';
import { describeSocketError } from '../proxy/socket-error-text.js';
import { classifyConnectError } from './connect-failures.js';
import { sshClientConfig, type HostKeySeen } from './ssh-client-config.js';
import { bastionError, bastionLabel, channelRefusedError, tunnelLostError, type BastionFailure } from './ssh-errors.js';
import { readSshPrivateKey } from './ssh-keys.js';

export interface ChannelRequest {
  readonly databaseName: string;
  /** The database's address as the bastion resolves and dials it. */
  readonly host: string;
  readonly port: number;
  /** The dial's deadline (connect_timeout): the SSH handshake must fit in it, and a longer backoff wait fails at once. */
  readonly timeoutMs: number;
}

export interface BastionStats {
  /** user@host:port */
  readonly bastion: string;
  readonly connected: boolean;
  /** SSH connections established so far. */
  readonly connections: number;
  readonly openChannels: number;
  readonly channelsOpened: number;
  /** Failed attempts (and short-lived connections) since the connection was last stable. */
  readonly failures: number;
}

export interface BastionOptions {
  readonly tunnel: SshTunnelConfig;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly backoff?: BackoffPolicy;
  /** A connection that lasted this long resets the backoff when it drops; a shorter one counts as a failure. */
  readonly stableAfterMs?: number;
}

/** A failure carried as an Error until each dial turns it into its own GatehouseError. */
class BastionFailureError extends Error {
  constructor(readonly failure: BastionFailure) {
    super(`SSH bastion failure: ${failure.kind}`);
  }
}

interface LiveConnection {
  readonly client: Client;
  readonly connectedAt: number;
  readonly channels: Set<ClientChannel>;
  /** The last error ssh2 reported on it: the reason it drops. */
  errorReason?: string;
  lost?: BastionFailure;
}

interface Attempt {
  readonly promise: Promise<LiveConnection>;
  client?: Client;
}

export class BastionConnection {
  private live: LiveConnection | undefined;
  private connecting: Attempt | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastFailure: BastionFailure | undefined;
  private closed = false;
  private connections = 0;
  private channelsOpened = 0;
  private readonly label: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: BastionOptions) {
    this.label = bastionLabel(options.tunnel);
    this.logger = options.logger.child({ bastion: this.label });
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** A channel to host:port through the bastion, connecting to the bastion first if needed. */
  async openChannel(request: ChannelRequest, signal: AbortSignal): Promise<Duplex> {
    const live = await this.connection(request, signal);
    return this.forward(live, request, signal);
  }

  stats(): BastionStats {
    return {
      bastion: this.label,
      connected: this.live !== undefined,
      connections: this.connections,
      openChannels: this.live?.channels.size ?? 0,
      channelsOpened: this.channelsOpened,
      failures: this.failures,
    };
  }

  /** Ends the SSH connection (and any being opened) for good; resolves once its socket is closed. */
  async close(): Promise<void> {
    this.closed = true;
    const clients = [this.connecting?.client, this.live?.client].filter((client): client is Client => client !== undefined);
    for (const channel of this.live?.channels ?? []) channel.destroy();
    await Promise.all(clients.map((client) => endClient(client)));
  }

  private async connection(request: ChannelRequest, signal: AbortSignal): Promise<LiveConnection> {
    if (this.closed) throw bastionError({ kind: 'closed' }, this.options.tunnel, request.databaseName);
    if (this.live !== undefined) return this.live;
    if (this.connecting === undefined) {
      const wait = this.retryAt - this.now();
      if (wait > 0) {
        if (wait > request.timeoutMs) throw this.backingOff(request, wait);
        await sleep(wait, undefined, { signal }).catch(() => {
          throw bastionError({ kind: 'timeout', timeoutMs: request.timeoutMs }, this.options.tunnel, request.databaseName);
        });
        // Another dial may have connected, or failed again, meanwhile.
        return this.connection(request, signal);
      }
      this.connecting = this.connect(request);
    }
    try {
      return await untilAborted(this.connecting.promise, signal);
    } catch (error) {
      if (error instanceof BastionFailureError) throw bastionError(error.failure, this.options.tunnel, request.databaseName);
      if (error === ABANDONED) throw bastionError({ kind: 'timeout', timeoutMs: request.timeoutMs }, this.options.tunnel, request.databaseName);
      throw error;
    }
  }

  /** Refused at once: the next attempt is due after this dial's deadline. */
  private backingOff(request: ChannelRequest, waitMs: number): GatehouseError {
    const last = bastionError(this.lastFailure ?? { kind: 'unreachable', reason: 'the last attempt failed' }, this.options.tunnel, request.databaseName);
    return new GatehouseError(last.code, `${last.message} (Gatehouse tries the bastion again in ${Math.ceil(waitMs / 1000)} s)`, {
      sqlState: last.sqlState,
      hint: last.hint,
    });
  }

  private connect(request: ChannelRequest): Attempt {
    const { tunnel } = this.options;
    const attempt: { promise?: Promise<LiveConnection>; client?: Client } = {};
    attempt.promise = new Promise<LiveConnection>((resolve, reject) => {
      let settled = false;
      const fail = (failure: BastionFailure) => {
        if (settled) return;
        settled = true;
        attempt.client?.end();
        this.recordFailure(failure);
        reject(new BastionFailureError(failure));
      };
      // A file Gatehouse cannot use is no reason to back off from the bastion: the next dial, after
      // the administrator fixed it, tries at once. Both are read at every attempt for that reason.
      const failHere = (error: GatehouseError) => {
        settled = true;
        this.logger.warn({ code: error.code }, `cannot connect to the SSH bastion: ${error.message}`);
        reject(error);
      };
      let knownHosts: KnownHostEntry[];
      let privateKey: string;
      try {
        knownHosts = parseKnownHosts(readFileSync(tunnel.known_hosts_file, 'utf8'));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
        return failHere(bastionError({ kind: 'known-hosts-file', reason }, tunnel, request.databaseName));
      }
      try {
        privateKey = readSshPrivateKey(tunnel.private_key_file, request.databaseName).text;
      } catch (error) {
        return failHere(error as GatehouseError);
      }
      const client = new ssh2.Client();
      attempt.client = client;
      let seen: HostKeySeen | undefined;
      // ssh2 emits 'error' at any time; an Emitter without a listener would throw it at the process.
      client.on('error', (error: Error & { level?: string; code?: string }) => {
        if (!settled) return fail(classifyConnectError(error, seen, request.timeoutMs));
        if (this.live?.client === client) this.live.errorReason = describeSocketError(error);
      });
      client.on('end', () => (settled ? this.dropped(client) : fail({ kind: 'unreachable', reason: 'the bastion closed the connection during the SSH handshake' })));
      client.on('close', () => (settled ? this.dropped(client) : fail({ kind: 'unreachable', reason: 'the bastion closed the connection during the SSH handshake' })));
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        if (this.closed) {
          client.end();
          reject(new BastionFailureError({ kind: 'closed' }));
          return;
        }
        resolve(this.established(client));
      });
      try {
        client.connect(sshClientConfig({ tunnel, knownHosts, privateKey, readyTimeoutMs: request.timeoutMs, onHostKey: (hostKey) => (seen = hostKey) }));
      } catch (error) {
        fail({ kind: 'handshake', reason: (error as Error).message });
      }
    });
    const settledAttempt = attempt as Attempt;
    const clear = () => {
      if (this.connecting === settledAttempt) this.connecting = undefined;
    };
    settledAttempt.promise.then(clear, clear);
    return settledAttempt;
  }

  private established(client: Client): LiveConnection {
    const live: LiveConnection = { client, connectedAt: this.now(), channels: new Set() };
    this.live = live;
    this.connections += 1;
    this.lastFailure = undefined;
    this.logger.info({ connections: this.connections }, 'SSH connection to the bastion established');
    return live;
  }

  private recordFailure(failure: BastionFailure): void {
    this.failures += 1;
    const retryInMs = backoffDelayMs(this.failures, this.random, this.options.backoff ?? DEFAULT_BASTION_BACKOFF);
    this.retryAt = this.now() + retryInMs;
    this.lastFailure = failure;
    if (failure.kind === 'host-key') {
      // A refused host key may be an attack on the path to the bastion: loud, with what was offered.
      this.logger.error(
        { known_hosts_file: this.options.tunnel.known_hosts_file, offered_key: `${failure.offeredType} ${failure.fingerprint}`, verdict: failure.verdict, failures: this.failures },
        `SSH bastion host key refused (${failure.verdict.kind})`,
      );
      return;
    }
    this.logger.warn({ failure, failures: this.failures, retry_in_ms: retryInMs }, 'cannot connect to the SSH bastion');
  }

  /** The connection went away: running sessions on it are told so, and the next dial reconnects. */
  private dropped(client: Client): void {
    const live = this.live;
    if (live === undefined || live.client !== client || live.lost !== undefined) return;
    const reason = live.errorReason ?? 'the bastion closed the connection';
    live.lost = { kind: 'lost', reason };
    this.live = undefined;
    client.end();
    if (this.closed) return;
    const uptimeMs = this.now() - live.connectedAt;
    this.failures = uptimeMs >= (this.options.stableAfterMs ?? 60_000) ? 0 : this.failures + 1;
    const retryInMs = backoffDelayMs(this.failures, this.random, this.options.backoff ?? DEFAULT_BASTION_BACKOFF);
    this.retryAt = this.now() + retryInMs;
    this.lastFailure = live.lost;
    this.logger.warn({ reason, open_channels: live.channels.size, uptime_ms: uptimeMs, retry_in_ms: retryInMs }, 'SSH connection to the bastion lost');
    // Before ssh2 ends the channels quietly: each session sees this error rather than a bare end of stream.
    const error = tunnelLostError(reason, this.options.tunnel);
    // (ssh2's Channel.destroy() takes no error, so the error is emitted on the channel first.)
    for (const channel of live.channels) {
      channel.emit('error', error);
      channel.destroy();
    }
  }

  private forward(live: LiveConnection, request: ChannelRequest, signal: AbortSignal): Promise<Duplex> {
    const { tunnel } = this.options;
    return new Promise((resolve, reject) => {
      let done = false;
      const settle = (error: Error | undefined, channel?: ClientChannel) => {
        signal.removeEventListener('abort', onAbort);
        if (done) {
          channel?.destroy();
          return;
        }
        done = true;
        if (error !== undefined) reject(error);
        else if (channel !== undefined) resolve(channel);
      };
      const onAbort = () => settle(bastionError({ kind: 'timeout', timeoutMs: request.timeoutMs }, tunnel, request.databaseName));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        // The originator address is only informational for the bastion (it appears in its log).
        live.client.forwardOut('127.0.0.1', 0, request.host, request.port, (error, channel) => {
          if (live.lost !== undefined) return settle(bastionError(live.lost, tunnel, request.databaseName), error === undefined ? channel : undefined);
          if (error !== undefined) {
            const refusal = error as Error & { reason?: number | string };
            return settle(channelRefusedError({ reason: refusal.reason, description: refusal.message.replace(/^\(SSH\) Channel open failure: /, '') }, tunnel, request.databaseName, request));
          }
          // Errors reach whoever reads the channel (the TLS socket); this listener only keeps a late one from the process.
          channel.on('error', () => undefined);
          if (!done) {
            live.channels.add(channel);
            channel.once('close', () => live.channels.delete(channel));
            this.channelsOpened += 1;
          }
          settle(undefined, channel);
        });
      } catch (error) {
        settle(bastionError({ kind: 'lost', reason: (error as Error).message }, tunnel, request.databaseName));
      }
    });
  }
}

const ABANDONED = new Error('the dial was abandoned');

/** The shared attempt goes on for other dials; this one stops waiting when its signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(ABANDONED);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(ABANDONED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/** end() says goodbye politely; a bastion that does not answer within a second is cut off. */
function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 1_000);
    timer.unref();
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}
