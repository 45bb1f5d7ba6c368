// COPY both ways with checksums computed on both sides. COPY IN: rows generated here, sent in
// CopyData chunks cut at random byte offsets (inside rows and inside multi-byte characters), then
// PostgreSQL's md5 of what it stored compared with the client's md5 of what it meant to send.
// COPY OUT: a query's rows streamed out, their bytes hashed as they arrive, compared with
// PostgreSQL's md5 of the same rows rendered as COPY's text format.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OperationContext } from './operation-context.js';
import { firstValue, md5 } from './soak-client.js';

export async function copyIn(context: OperationContext): Promise<void> {
  const { client, state, tally } = context;
  const { random } = state;
  const batch = state.nextCopyBatch++;
  const count = random.chance(0.1) ? random.int(1_000, 5_000) : random.int(1, 300);
  const lines: string[] = [];
  const digestLines: string[] = [];
  for (let line = 1; line <= count; line++) {
    const payload = random.text(random.int(0, 120));
    lines.push(`${state.slot}\t${batch}\t${line}\t${payload}\n`);
    digestLines.push(`${line}:${payload}`);
  }
  const bytes = Buffer.from(lines.join(''), 'utf8');
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = random.int(1, random.chance(0.5) ? 512 : 32_768);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  const stream = client.copyIn('COPY soak_copy (slot, batch, line, payload) FROM STDIN');
  await pipeline(Readable.from(chunks), stream);
  tally.copyInBytes += bytes.length;
  if (stream.rowCount !== count) tally.mismatch('copy-in', `slot ${state.slot} batch ${batch}: sent ${count} rows, COPY reported ${stream.rowCount}`);
  const stored = await client.extended(
    "SELECT count(*)::int AS n, md5(string_agg(line || ':' || payload, E'\\n' ORDER BY line)) AS h FROM soak_copy WHERE slot = $1 AND batch = $2",
    [state.slot, batch],
    'soak_copy_digest',
  );
  const expected = md5(digestLines.join('\n'));
  if (firstValue(stored, 'n') !== count || firstValue(stored, 'h') !== expected) {
    tally.mismatch('copy-in', `slot ${state.slot} batch ${batch}: sent ${count} rows (md5 ${expected}), PostgreSQL stored ${String(firstValue(stored, 'n'))} (md5 ${String(firstValue(stored, 'h'))})`);
  }
  const deleted = await client.extended('DELETE FROM soak_copy WHERE slot = $1 AND batch = $2', [state.slot, batch], 'soak_copy_delete');
  if (deleted.rowCount !== count) tally.mismatch('copy-in', `slot ${state.slot} batch ${batch}: deleting the batch removed ${deleted.rowCount} of ${count} rows`);
}

export async function copyOut(context: OperationContext): Promise<void> {
  const { client, state, tally } = context;
  const { random } = state;
  const count = random.chance(0.1) ? random.int(5_000, 30_000) : random.int(1, 2_000);
  const salt = random.int(0, 1_000_000_000);
  const text = random.text(random.int(1, 8));
  const rows = `SELECT g, md5(g::text || '${salt}') AS h, repeat('${text}', g % 4) AS r FROM generate_series(1, ${count}) g`;
  const hash = createHash('md5');
  let received = 0;
  const stream = client.copyOut(`COPY (${rows} ORDER BY g) TO STDOUT`);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    received += chunk.length;
  }
  tally.copyOutBytes += received;
  const clientDigest = hash.digest('hex');
  // COPY's text format of these rows: no value needs escaping (the alphabet has no tab, newline or backslash).
  const [expected] = await client.simple(
    `SELECT md5(string_agg(g || E'\\t' || h || E'\\t' || r || E'\\n', '' ORDER BY g)) AS h, sum(octet_length(g || E'\\t' || h || E'\\t' || r || E'\\n'))::int AS bytes FROM (${rows}) AS copied`,
  );
  if (firstValue(expected, 'h') !== clientDigest || firstValue(expected, 'bytes') !== received) {
    tally.mismatch('copy-out', `${count} rows: received ${received} bytes (md5 ${clientDigest}), PostgreSQL's own rendering is ${String(firstValue(expected, 'bytes'))} bytes (md5 ${String(firstValue(expected, 'h'))})`);
  }
}
