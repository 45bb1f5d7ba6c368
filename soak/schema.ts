// The soak's tables, made before the sessions start, and the final check of what they hold,
// made after the sessions end over a direct connection (not through Gatehouse): every slot's
// committed rows must be exactly what the slot's client believes it committed, and no COPY batch
// may be left behind.
import type pg from 'pg';
import { rowsText, type SlotState } from './operation-context.js';
import { md5 } from './soak-client.js';
import type { Tally } from './tally.js';

export async function createSoakTables(client: pg.Client): Promise<void> {
  // Unlogged: the soak checks what reaches the database over the wire, not crash safety.
  await client.query(`
    CREATE UNLOGGED TABLE soak_rows (slot int NOT NULL, seq int NOT NULL, payload text NOT NULL, PRIMARY KEY (slot, seq));
    CREATE UNLOGGED TABLE soak_copy (slot int NOT NULL, batch int NOT NULL, line int NOT NULL, payload text NOT NULL);
    CREATE INDEX soak_copy_batch ON soak_copy (slot, batch);
  `);
}

/** Compares every slot's committed rows with the database; returns how many slots were checked. */
export async function checkFinalRows(client: pg.Client, slots: readonly SlotState[], tally: Tally): Promise<number> {
  const result = await client.query<{ slot: number; n: number; h: string }>(
    "SELECT slot, count(*)::int AS n, md5(string_agg(seq || ':' || payload, E'\\n' ORDER BY seq)) AS h FROM soak_rows GROUP BY slot",
  );
  const stored = new Map(result.rows.map((row) => [row.slot, row]));
  let checked = 0;
  for (const state of slots) {
    if (state.rowsUncertain) continue;
    checked++;
    const row = stored.get(state.slot);
    const count = row?.n ?? 0;
    const digest = row?.h ?? md5('');
    if (count !== state.rows.size || digest !== md5(rowsText(state.rows))) {
      tally.mismatch('ledger', `slot ${state.slot}: the database holds ${count} committed rows (md5 ${digest}), the client committed ${state.rows.size} (md5 ${md5(rowsText(state.rows))})`);
    }
  }
  const leftover = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM soak_copy');
  const left = leftover.rows[0]?.n ?? 0;
  if (left !== 0 && tally.errors === 0) tally.mismatch('ledger', `${left} COPY rows were left in soak_copy although every batch was deleted`);
  return checked;
}
