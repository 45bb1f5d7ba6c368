// A long statement (pg_sleep) cancelled the way clients cancel: a CancelRequest with the session's
// key on a new connection, in plaintext as psql sends it or inside TLS as libpq 17 does. The
// statement must fail with 57014 (query_canceled) and the session must answer its next query.
// Exactly one CancelRequest is sent, once PostgreSQL shows the statement running
// (backend-observer.ts says why), so it must take effect: a cancel that Gatehouse loses or
// delivers to the wrong backend shows as an error here, or as a 57014 in some other session.
import { sendCancel } from './cancel-request.js';
import type { OperationContext } from './operation-context.js';
import { firstValue } from './soak-client.js';

const SLEEP_SQL = 'SELECT pg_sleep(60)';
/** How long the statement may take to show up as running, and then to end once cancelled. */
const WAIT_MS = 30_000;

export async function cancel(context: OperationContext): Promise<void> {
  const { client, state, tally, gatehouse, observer } = context;
  const { random } = state;
  const sleeping = client.simple(SLEEP_SQL);
  // Settles either way; keeps an early rejection from counting as unhandled until awaited below.
  const ended = sleeping.then(
    () => 'finished' as const,
    (error: unknown) => error,
  );
  const running = await Promise.race([observer.waitUntilRunning(client.applicationName, SLEEP_SQL, WAIT_MS).then(() => 'running' as const), ended]);
  if (running !== 'running') throw running === 'finished' ? new Error(`${SLEEP_SQL} finished before it was cancelled`) : running;
  await delay(random.int(0, 200));
  const overTls = random.chance(0.5) ? { secureContext: gatehouse.secureContext, servername: gatehouse.servername } : undefined;
  tally.cancelsSent++;
  await sendCancel({ host: gatehouse.host, port: gatehouse.port, ...client.cancelKey }, overTls);
  const outcome = await Promise.race([ended, delay(WAIT_MS).then(() => 'timeout' as const)]);
  if (outcome === 'timeout') throw new Error(`${SLEEP_SQL} was still running ${WAIT_MS / 1000} s after its CancelRequest`);
  if (outcome === 'finished') throw new Error(`${SLEEP_SQL} finished although it was cancelled`);
  if ((outcome as { code?: unknown }).code !== '57014') throw outcome;
  const after = await client.simple('SELECT 1 AS one').catch(async (error: unknown) => {
    // PostgreSQL signals a cancelled backend twice, kill(pid, SIGINT) then kill(-pid, SIGINT) for
    // its process group (postmaster.c, signal_child). Descheduled between the two on a loaded
    // machine, the second can land after the first ended the statement and the next one began,
    // and cancel that too: PostgreSQL's own race, which a direct client meets alike. Only the
    // query right after, only once; the session must still answer the one after that.
    if ((error as { code?: unknown }).code !== '57014') throw error;
    tally.cancelsEchoed++;
    return client.simple('SELECT 1 AS one');
  });
  if (firstValue(after[0], 'one') !== 1) throw new Error('the session did not answer SELECT 1 after a cancel');
  tally.cancelsConfirmed++;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
