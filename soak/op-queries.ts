// Plain queries, both protocols, each checked against a value computed on the client side:
// simple Query messages (one statement or two in one message, text up to 40 kB so statements span
// TLS records) and extended-protocol ones (a named prepared statement reused on the connection,
// the unnamed statement, and a prepared statement returning many rows).
import type { OperationContext } from './operation-context.js';
import { firstValue, md5 } from './soak-client.js';

export async function simpleQuery(context: OperationContext): Promise<void> {
  const { client, state, tally } = context;
  const { random } = state;
  const n = random.int(-1_000_000, 1_000_000);
  const text = random.text(random.chance(0.05) ? random.int(2_000, 40_000) : random.int(0, 300));
  switch (random.int(0, 2)) {
    case 0: {
      const [result] = await client.simple(`SELECT ${n}::int AS n, '${text}'::text AS t, md5('${text}') AS h`);
      const row = result?.rows[0] as { n: number; t: string; h: string } | undefined;
      if (row?.n !== n || row.t !== text || row.h !== md5(text)) tally.mismatch('echo', `simple query: sent n=${n} and ${text.length} characters, got ${describeRow(row)}`);
      return;
    }
    case 1: {
      const results = await client.simple(`SELECT ${n}::int AS n; SELECT md5('${text}') AS h`, 2);
      if (firstValue(results[0], 'n') !== n || firstValue(results[1], 'h') !== md5(text)) tally.mismatch('echo', `two statements in one Query: sent n=${n}, got ${results.length} results`);
      return;
    }
    default: {
      const count = random.int(1, 5_000);
      const [result] = await client.simple(`SELECT count(*)::int AS n FROM generate_series(1, ${count})`);
      if (firstValue(result, 'n') !== count) tally.mismatch('echo', `count of generate_series(1, ${count}) came back as ${String(firstValue(result, 'n'))}`);
    }
  }
}

export async function extendedQuery(context: OperationContext): Promise<void> {
  const { client, state, tally } = context;
  const { random } = state;
  switch (random.int(0, 2)) {
    case 0: {
      const n = random.int(-1_000_000, 1_000_000);
      const text = random.text(random.chance(0.05) ? random.int(2_000, 40_000) : random.int(0, 300));
      const result = await client.extended('SELECT $1::int AS n, $2::text AS t, md5($2::text) AS h', [n, text], 'soak_echo');
      const row = result.rows[0] as { n: number; t: string; h: string } | undefined;
      if (row?.n !== n || row.t !== text || row.h !== md5(text)) tally.mismatch('echo', `prepared soak_echo: sent n=${n} and ${text.length} characters, got ${describeRow(row)}`);
      return;
    }
    case 1: {
      const left = random.text(random.int(0, 200));
      const right = random.text(random.int(0, 200));
      const result = await client.extended('SELECT $1::text || $2::text AS t, char_length($1::text || $2::text) AS len', [left, right]);
      const row = result.rows[0] as { t: string; len: number } | undefined;
      if (row?.t !== left + right || row.len !== [...(left + right)].length) tally.mismatch('echo', `unnamed statement: concatenation of ${left.length}+${right.length} characters came back different`);
      return;
    }
    default: {
      const count = random.int(1, 200);
      const salt = random.text(8);
      const result = await client.extended('SELECT g, md5(g::text || $2::text) AS h FROM generate_series(1, $1::int) g ORDER BY g', [count, salt], 'soak_series');
      const rows = result.rows as { g: number; h: string }[];
      const wrong = rows.length !== count || rows.some((row, index) => row.g !== index + 1 || row.h !== md5(`${index + 1}${salt}`));
      if (wrong) tally.mismatch('echo', `prepared soak_series: asked for ${count} rows, got ${rows.length} or different ones`);
    }
  }
}

function describeRow(row: Record<string, unknown> | undefined): string {
  if (row === undefined) return 'no row';
  return Object.entries(row)
    .map(([name, value]) => `${name}=${typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}… (${value.length} characters)` : JSON.stringify(value)}`)
    .join(', ');
}
