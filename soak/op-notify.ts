// NOTIFY from this session to another soak session that LISTENs: the payload is registered in
// the ledger before it is sent, and the listener crosses it off when it arrives (soak-session.ts).
// Sent both as a simple NOTIFY statement and as pg_notify() through the extended protocol.
import { channelFor } from './notifications.js';
import type { OperationContext } from './operation-context.js';

export async function notify(context: OperationContext): Promise<void> {
  const { client, state, tally, ledger } = context;
  const { random } = state;
  const target = ledger.pickTarget(state.slot, () => random.next());
  if (target === undefined) return;
  // Unique per sender and operation, so a duplicate delivery shows as a payload nobody is owed.
  const payload = `${state.slot}:${tally.notificationsSent}:${random.int(0, 1e9)}:${random.text(random.int(0, 200))}`;
  if (!ledger.expect(target, payload)) return;
  try {
    if (random.chance(0.5)) await client.simple(`NOTIFY ${channelFor(target)}, '${payload}'`);
    else await client.extended('SELECT pg_notify($1, $2)', [channelFor(target), payload]);
  } catch (error) {
    ledger.withdraw(target, payload);
    throw error;
  }
  tally.notificationsSent++;
}
