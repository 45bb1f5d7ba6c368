import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/web/api-errors.js';
import { readJsonBody } from '../../../src/web/request-body.js';

/** A request body stream with headers, as node:http hands it over. */
function request(chunks: Array<string | Buffer>, headers: Record<string, string> = { 'content-type': 'application/json' }): IncomingMessage {
  const stream = Readable.from(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk)));
  return Object.assign(stream, { headers }) as unknown as IncomingMessage;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('readJsonBody', () => {
  it('parses a JSON object sent in pieces, with or without a charset', async () => {
    expect(await readJsonBody(request(['{"user":', '"zoë"}']))).toEqual({ user: 'zoë' });
    expect(await readJsonBody(request(['{}'], { 'content-type': 'Application/JSON; charset=utf-8' }))).toEqual({});
  });

  it('refuses another content type, saying which header to send', async () => {
    const error = await refusal(readJsonBody(request(['{}'], { 'content-type': 'text/plain' })));
    expect(error.message).toBe('the request body must be JSON, not "text/plain"');
    expect(error.hint).toBe('send a JSON object with the header "content-type: application/json"');
    expect((await refusal(readJsonBody(request(['{}'], {})))).message).toBe('the request body must be JSON, not a body without a content type');
  });

  it('refuses malformed JSON and invalid UTF-8 without echoing the input', async () => {
    const error = await refusal(readJsonBody(request(['{"password": hunter2}'])));
    expect(error.status).toBe(400);
    expect(error.message).toBe('the request body is not valid JSON (or not UTF-8)');
    expect(JSON.stringify(error.body())).not.toContain('hunter2');
    expect((await refusal(readJsonBody(request([Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])])))).code).toBe('GH_ERR_BAD_REQUEST');
    expect((await refusal(readJsonBody(request([''])))).code).toBe('GH_ERR_BAD_REQUEST');
  });

  it('refuses JSON that is not an object', async () => {
    for (const text of ['[]', '"text"', '42', 'null']) expect((await refusal(readJsonBody(request([text])))).message).toBe('the request body must be a JSON object');
  });

  it('refuses a body over the cap, by its declared length or as it arrives', async () => {
    const declared = await refusal(readJsonBody(request(['{}'], { 'content-type': 'application/json', 'content-length': '65537' })));
    expect(declared.status).toBe(413);
    expect(declared.code).toBe('GH_ERR_BODY_TOO_LARGE');
    expect(declared.message).toBe('the request body is larger than 65536 bytes');
    const streamed = await refusal(readJsonBody(request(['{"a":"', 'x'.repeat(40), '"}']), 32));
    expect(streamed.message).toBe('the request body is larger than 32 bytes');
    expect(await readJsonBody(request(['{"a":"', 'x'.repeat(20), '"}']), 32)).toEqual({ a: 'x'.repeat(20) });
  });
});
