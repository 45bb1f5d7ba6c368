// Two connected IpcPorts in one process, for the cluster layer's unit tests: a message sent on one
// arrives at the other on a later turn of the event loop, after a JSON round trip, as over Node's
// IPC channel (serialization: 'json'). close() makes further sends fail like a closed channel.
import { EventEmitter } from 'node:events';
import type { IpcPort } from '../../../src/cluster/ipc-channel.js';

export interface TestPort extends IpcPort {
  /** Messages this end has sent, as they went out. */
  readonly sent: unknown[];
}

export function portPair(): { a: TestPort; b: TestPort; close(): void } {
  const events = { a: new EventEmitter(), b: new EventEmitter() };
  let open = true;
  const end = (own: EventEmitter, other: EventEmitter): TestPort => {
    const sent: unknown[] = [];
    return {
      sent,
      send: (message, callback) => {
        if (!open) throw Object.assign(new Error('Channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' });
        sent.push(message);
        const copy: unknown = JSON.parse(JSON.stringify(message));
        setImmediate(() => {
          if (open) other.emit('message', copy);
          callback(null);
        });
      },
      on: (event, listener) => own.on(event, listener),
      off: (event, listener) => own.off(event, listener),
    };
  };
  return { a: end(events.a, events.b), b: end(events.b, events.a), close: () => (open = false) };
}
