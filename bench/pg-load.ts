// The fallback load generator for machines without pgbench: the same select-only and TPC-B-like
// transactions, written with node-postgres in this process. Its figures are lower than pgbench's
// (one JavaScript thread drives every client), but all targets are driven the same way, so the
// ratios to direct still compare like with like.
import pg from 'pg';
import type { LoadGenerator, LoadResult, LoadSpec, Target } from './load.js';

const ACCOUNTS_PER_BRANCH = 100_000;
const TELLERS_PER_BRANCH = 10;

export function pgLoadGenerator(): LoadGenerator {
  let scale = 1;
  return {
    name: 'node-postgres load generator (bench/pg-load.ts)',
    async initialise(direct, wantedScale) {
      scale = wantedScale;
      const client = new pg.Client(direct.pgConfig);
      await client.connect();
      try {
        for (const statement of initialisationSql(scale)) await client.query(statement);
      } finally {
        await client.end();
      }
    },
    run: (target, spec) => runLoad(target, spec, scale),
  };
}

/** What pgbench -i -I dtGvp does: drop, create, generate server-side, vacuum, primary keys. */
function initialisationSql(scale: number): string[] {
  return [
    'DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers',
    'CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))',
    'CREATE TABLE pgbench_tellers (tid int NOT NULL, bid int, tbalance int, filler char(84)) WITH (fillfactor = 100)',
    'CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84)) WITH (fillfactor = 100)',
    'CREATE TABLE pgbench_branches (bid int NOT NULL, bbalance int, filler char(88)) WITH (fillfactor = 100)',
    `INSERT INTO pgbench_branches (bid, bbalance) SELECT bid, 0 FROM generate_series(1, ${scale}) AS bid`,
    `INSERT INTO pgbench_tellers (tid, bid, tbalance) SELECT tid, (tid - 1) / ${TELLERS_PER_BRANCH} + 1, 0 FROM generate_series(1, ${scale * TELLERS_PER_BRANCH}) AS tid`,
    `INSERT INTO pgbench_accounts (aid, bid, abalance, filler) SELECT aid, (aid - 1) / ${ACCOUNTS_PER_BRANCH} + 1, 0, '' FROM generate_series(1, ${scale * ACCOUNTS_PER_BRANCH}) AS aid`,
    'VACUUM ANALYZE pgbench_branches, pgbench_tellers, pgbench_accounts, pgbench_history',
    'ALTER TABLE pgbench_branches ADD PRIMARY KEY (bid)',
    'ALTER TABLE pgbench_tellers ADD PRIMARY KEY (tid)',
    'ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)',
  ];
}

async function runLoad(target: Target, spec: LoadSpec, scale: number): Promise<LoadResult> {
  const deadline = performance.now() + spec.durationS * 1000;
  let transactions = 0;
  let failed = 0;
  let busyMs = 0;
  const worker = async () => {
    let client: pg.Client | undefined;
    try {
      while (performance.now() < deadline) {
        const started = performance.now();
        if (client === undefined) {
          client = new pg.Client(target.pgConfig);
          await client.connect();
        }
        try {
          await transaction(client, spec, scale);
          transactions++;
        } catch {
          failed++;
          await client.query('ROLLBACK').catch(() => undefined);
        }
        if (spec.reconnect) {
          await client.end();
          client = undefined;
        }
        busyMs += performance.now() - started;
      }
    } finally {
      await client?.end();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.clients }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  return { tps: transactions / elapsedS, transactions, failed, latencyMs: transactions === 0 ? undefined : (busyMs / transactions) };
}

async function transaction(client: pg.Client, spec: LoadSpec, scale: number): Promise<void> {
  const aid = 1 + Math.floor(Math.random() * scale * ACCOUNTS_PER_BRANCH);
  const prepared = spec.protocol === 'prepared';
  const query = (name: string, text: string, values: number[]) =>
    prepared ? client.query({ name, text, values }) : client.query(text.replace(/\$(\d)/g, (_, index: string) => String(values[Number(index) - 1])));
  if (spec.kind === 'select') {
    await query('select', 'SELECT abalance FROM pgbench_accounts WHERE aid = $1', [aid]);
    return;
  }
  const bid = 1 + Math.floor(Math.random() * scale);
  const tid = 1 + Math.floor(Math.random() * scale * TELLERS_PER_BRANCH);
  const delta = Math.floor(Math.random() * 10_001) - 5_000;
  await client.query('BEGIN');
  await query('account', 'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2', [delta, aid]);
  await query('balance', 'SELECT abalance FROM pgbench_accounts WHERE aid = $1', [aid]);
  await query('teller', 'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2', [delta, tid]);
  await query('branch', 'UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2', [delta, bid]);
  await query('history', 'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)', [tid, bid, aid, delta]);
  await client.query('END');
}
