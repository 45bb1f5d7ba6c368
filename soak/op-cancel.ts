// A long statement (pg_sleep) cancelled the way clients cancel: a CancelRequest with the session's
// key on a new connection, in plaintext as psql sends it or inside TLS as libpq 17 does. The
// statement must fail with 57014 (query_canceled) and the session must answer its next query.
// A cancel that reaches the backend before the statement starts is ignored by PostgreSQL, so an
// unanswered cancel is repeated, but only while the statement is still running: a late one could
// otherwise cancel the next statement instead.
import { sendCancel } from './cancel-request.js';
import type { OperationContext } from './operation-context.js';
import { firstValue } from './soak-client.js';

const RETRY_AFTER_MS = 2_000;
const MAX_CANCELS = 10;

export async function cancel(context: OperationContext): Promise<void> {
  const { client, state, tally, gatehouse } = context;
  const { random } = state;
  let settled = false;
  const sleeping = client.simple('SELECT pg_sleep(60)').finally(() => (settled = true));
  // Settles either way; also keeps an early rejection from counting as unhandled until awaited below.
  const ended = sleeping.then(
    () => undefined,
    () => undefined,
  );
  const overTls = random.chance(0.5) ? { secureContext: gatehouse.secureContext, servername: gatehouse.servername } : undefined;
  await delay(random.int(20, 300));
  for (let attempt = 0; !settled && attempt < MAX_CANCELS; attempt++) {
    tally.cancelsSent++;
    await sendCancel({ host: gatehouse.host, port: gatehouse.port, ...client.cancelKey }, overTls);
    await Promise.race([ended, delay(RETRY_AFTER_MS)]);
  }
  let outcome: unknown;
  try {
    await sleeping;
  } catch (error) {
    outcome = error;
  }
  const code = (outcome as { code?: unknown } | undefined)?.code;
  if (outcome === undefined) throw new Error('pg_sleep(60) finished although it was cancelled');
  if (code !== '57014') throw outcome;
  const [after] = await client.simple('SELECT 1 AS one');
  if (firstValue(after, 'one') !== 1) throw new Error('the session did not answer SELECT 1 after a cancel');
  tally.cancelsConfirmed++;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
