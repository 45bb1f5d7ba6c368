// Delivers a client's cancel to the database backend behind its session. The CancelRequest goes
// over TLS, verified like the session's own connection, so the real key never crosses the
// network in the clear.
import type { Logger } from 'pino';
import { cancelRequest } from '../protocol/startup-message.js';
import type { CancelTarget } from './cancel-keys.js';
import type { UpstreamDialer } from './upstream-connector.js';

export class CancelForwarder {
  constructor(
    private readonly dialer: UpstreamDialer,
    private readonly timeoutMs: () => number,
    private readonly logger: Logger,
  ) {}

  async forward(target: CancelTarget): Promise<void> {
    try {
      const socket = await this.dialer.connect(
        { databaseName: target.databaseName, target: target.target, timeoutMs: this.timeoutMs() },
        AbortSignal.timeout(this.timeoutMs()),
      );
      socket.on('error', () => undefined);
      socket.end(cancelRequest(target.processId, target.secretKey));
      socket.resume();
      setTimeout(() => socket.destroy(), this.timeoutMs()).unref();
    } catch (error) {
      this.logger.warn({ database: target.databaseName, err: error }, 'could not forward a cancel request');
    }
  }
}
