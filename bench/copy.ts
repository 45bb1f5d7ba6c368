// COPY throughput through a target, with node-postgres and pg-copy-streams. COPY OUT reads
// pgbench_accounts (about 97 MB of text at scale 10) as many times as asked, on one connection;
// the database sends one CopyData message per row, the bulk a relay must move without parsing.
// COPY IN writes rows of the same shape into an unlogged table without indexes, in 64 KiB
// CopyData messages, so the database spends as little as it can and the path's cost shows.
// Connecting is not timed; the table is emptied (directly) before each COPY IN.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Target } from './load.js';
import { COPY_IN_TABLE } from './targets.js';

export interface CopyResult {
  readonly bytes: number;
  readonly seconds: number;
  /** Decimal megabytes per second. */
  readonly mbPerSecond: number;
}

const CHUNK_BYTES = 64 * 1024;

export async function copyOut(target: Target, passes: number): Promise<CopyResult> {
  return withClient(target, async (client) => {
    let bytes = 0;
    const started = performance.now();
    for (let pass = 0; pass < passes; pass++) {
      const counter = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          callback();
        },
      });
      await pipeline(client.query(copyTo('COPY pgbench_accounts TO STDOUT')), counter);
    }
    return result(bytes, started);
  });
}

export async function copyIn(target: Target, totalBytes: number): Promise<CopyResult> {
  const chunk = rowsChunk();
  const chunks = Math.max(1, Math.round(totalBytes / chunk.length));
  return withClient(target, async (client) => {
    const started = performance.now();
    const stream = client.query(copyFrom(`COPY ${COPY_IN_TABLE} FROM STDIN`));
    await pipeline(repeat(chunk, chunks), stream);
    return result(chunk.length * chunks, started);
  });
}

/** Whole rows shaped like pgbench_accounts' text form, about 100 bytes each, up to 64 KiB. */
function rowsChunk(): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let aid = 1; ; aid++) {
    const line = `${aid}\t${1 + (aid % 10)}\t0\t${'x'.repeat(84)}\n`;
    if (size + line.length > CHUNK_BYTES) break;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

async function* repeat(chunk: Buffer, times: number): AsyncGenerator<Buffer> {
  for (let index = 0; index < times; index++) yield chunk;
}

async function withClient<T>(target: Target, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(target.pgConfig);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function result(bytes: number, started: number): CopyResult {
  const seconds = (performance.now() - started) / 1000;
  return { bytes, seconds, mbPerSecond: bytes / 1e6 / seconds };
}
