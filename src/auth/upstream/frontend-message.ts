// Frames the replies the upstream authentication methods send: a type byte, an int32 length that
// counts itself but not the type byte, then the body. Kept here so each method module returns
// complete messages the session can write to the socket as they are.

/** A complete frontend message of `type` (one ASCII character) with `parts` as its body. */
export function frontendMessage(type: string, ...parts: Buffer[]): Buffer {
  let bodyLength = 0;
  for (const part of parts) bodyLength += part.length;
  const message = Buffer.alloc(5 + bodyLength);
  message.write(type, 0, 1, 'latin1');
  message.writeInt32BE(4 + bodyLength, 1);
  let offset = 5;
  for (const part of parts) offset += part.copy(message, offset);
  return message;
}

/** A big-endian int32, as the protocol writes lengths. */
export function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value, 0);
  return buffer;
}

/** A string's UTF-8 bytes followed by the NUL that ends a protocol String. */
export function cString(value: string): Buffer {
  return Buffer.from(`${value}\0`, 'utf8');
}
