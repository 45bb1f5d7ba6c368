// Builds the StartupMessage Gatehouse sends upstream. pg-protocol's serializer appends
// client_encoding=UTF8 to every startup message, which would override the client's own choice;
// Gatehouse forwards the client's parameters as they were.
import { PROTOCOL_3_0 } from './constants.js';

export function startupMessage(parameters: ReadonlyMap<string, string>): Buffer {
  let length = 4 + 4 + 1;
  for (const [name, value] of parameters) length += Buffer.byteLength(name) + 1 + Buffer.byteLength(value) + 1;
  const message = Buffer.alloc(length);
  message.writeInt32BE(length, 0);
  message.writeInt32BE(PROTOCOL_3_0, 4);
  let offset = 8;
  for (const [name, value] of parameters) {
    offset += message.write(name, offset) + 1;
    offset += message.write(value, offset) + 1;
  }
  return message;
}

/** The 8-byte SSLRequest. */
export function sslRequest(): Buffer {
  const message = Buffer.alloc(8);
  message.writeInt32BE(8, 0);
  message.writeInt32BE(80877103, 4);
  return message;
}

/** A CancelRequest carrying a backend's process id and secret key. */
export function cancelRequest(processId: number, secretKey: Buffer): Buffer {
  const message = Buffer.alloc(12 + secretKey.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(80877102, 4);
  message.writeInt32BE(processId, 8);
  secretKey.copy(message, 12);
  return message;
}
