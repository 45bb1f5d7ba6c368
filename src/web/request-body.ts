// Reads a web API request body: JSON only, at most 64 KiB. The cap is checked against
// Content-Length before anything is read and against the bytes as they arrive (a chunked body
// has no length), so no client can make Gatehouse buffer more than the cap.
//
// A body over the cap is refused at once, but the rest of it is read and thrown away rather than
// the connection being closed: closing a socket with unread bytes makes the kernel send a reset,
// and the client would then lose the 413 that says what went wrong. The server's request timeout
// bounds how long a client can keep sending.
import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from '../errors.js';
import { ApiError, badRequest } from './api-errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_HINT = 'send a JSON object with the header "content-type: application/json"';

export async function readJsonBody(request: IncomingMessage, maxBytes: number = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json') {
    throw badRequest(`the request body must be JSON, not ${mediaType === '' ? 'a body without a content type' : JSON.stringify(mediaType)}`, JSON_HINT);
  }
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readAtMost(request, maxBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // V8's JSON.parse message quotes the input around the problem, and the input may hold a password:
    // it goes nowhere, not even back to the client (proxies log error bodies).
    throw badRequest('the request body is not valid JSON (or not UTF-8)', JSON_HINT);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('the request body must be a JSON object', JSON_HINT);
  return parsed as Record<string, unknown>;
}

/** The whole body, or a 413 as soon as it passes `maxBytes` (later chunks are discarded as they come). */
function readAtMost(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > maxBytes) {
        refused = true;
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => {
      if (!refused) resolve(Buffer.concat(chunks));
    });
    request.once('error', (error) => {
      if (!refused) reject(error);
    });
  });
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, ErrorCodes.BODY_TOO_LARGE, `the request body is larger than ${maxBytes} bytes`, {
    hint: 'Gatehouse requests are small JSON objects; check what is being sent',
  });
}
