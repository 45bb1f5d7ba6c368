// A transaction whose outcome is checked on both sides: inserts, an update and a delete of this
// slot's rows in soak_rows, a digest of the slot's rows compared inside the transaction with what
// the client expects, then COMMIT or ROLLBACK, and the digest compared again afterwards: committed
// changes must all be there, rolled-back ones must all be gone.
import type { OperationContext } from './operation-context.js';
import { rowsText } from './operation-context.js';
import { firstValue, md5 } from './soak-client.js';

const DIGEST_SQL = "SELECT count(*)::int AS n, md5(coalesce(string_agg(seq || ':' || payload, E'\\n' ORDER BY seq), '')) AS h FROM soak_rows WHERE slot = $1";

export async function transaction(context: OperationContext): Promise<void> {
  const { client, state, tally } = context;
  const { random } = state;
  const pending = new Map(state.rows);
  await client.simple(random.chance(0.5) ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ');
  let finished = false;
  try {
    const inserts = random.int(1, 4);
    for (let i = 0; i < inserts; i++) {
      const seq = state.nextSeq++;
      const payload = random.text(random.int(0, 200));
      await client.extended('INSERT INTO soak_rows (slot, seq, payload) VALUES ($1, $2, $3)', [state.slot, seq, payload], 'soak_insert');
      pending.set(seq, payload);
    }
    const existing = [...state.rows.keys()];
    if (existing.length > 0 && random.chance(0.5)) {
      const seq = existing[random.int(0, existing.length - 1)] as number;
      const payload = random.text(random.int(0, 200));
      const updated = await client.extended('UPDATE soak_rows SET payload = $3 WHERE slot = $1 AND seq = $2', [state.slot, seq, payload], 'soak_update');
      if (updated.rowCount !== 1) tally.mismatch('transaction', `slot ${state.slot}: UPDATE of committed row ${seq} touched ${updated.rowCount} rows`);
      pending.set(seq, payload);
    }
    if (existing.length > 0 && random.chance(0.3)) {
      const seq = existing[random.int(0, existing.length - 1)] as number;
      const deleted = await client.extended('DELETE FROM soak_rows WHERE slot = $1 AND seq = $2', [state.slot, seq], 'soak_delete');
      // The update above may have picked the same row; either way it is there once until now.
      if (deleted.rowCount !== 1) tally.mismatch('transaction', `slot ${state.slot}: DELETE of committed row ${seq} touched ${deleted.rowCount} rows`);
      pending.delete(seq);
    }
    await expectDigest(context, pending, 'inside the transaction');
    const commit = random.chance(0.7);
    finished = true;
    try {
      await client.simple(commit ? 'COMMIT' : 'ROLLBACK');
    } catch (error) {
      // Whether a COMMIT whose answer was lost took effect is unknown: stop holding this slot to it.
      if (commit) state.rowsUncertain = true;
      throw error;
    }
    if (commit) {
      state.rows.clear();
      for (const [seq, payload] of pending) state.rows.set(seq, payload);
      tally.transactionsCommitted++;
    } else {
      tally.transactionsRolledBack++;
    }
    await expectDigest(context, state.rows, commit ? 'after COMMIT' : 'after ROLLBACK');
  } finally {
    if (!finished) await client.simple('ROLLBACK').catch(() => undefined);
  }
}

async function expectDigest(context: OperationContext, rows: ReadonlyMap<number, string>, when: string): Promise<void> {
  const result = await context.client.extended(DIGEST_SQL, [context.state.slot], 'soak_digest');
  const count = firstValue(result, 'n');
  const digest = firstValue(result, 'h');
  if (count !== rows.size || digest !== md5(rowsText(rows))) {
    context.tally.mismatch('transaction', `slot ${context.state.slot} ${when}: the database has ${String(count)} rows (md5 ${String(digest)}), the client expects ${rows.size} (md5 ${md5(rowsText(rows))})`);
  }
}
