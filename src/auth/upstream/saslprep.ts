// SASLprep (RFC 4013) of a SCRAM password, done exactly the way PostgreSQL's own pg_saslprep
// (src/common/saslprep.c) does it, because the server ran that function on the password when it
// stored the verifier and our salted password must match its one byte for byte. PostgreSQL's
// quirks, kept on purpose:
//   - a pure-ASCII password is used as it is, control characters included;
//   - the prohibited-character and bidi checks look at the mapped input, before normalization;
//   - an empty result counts as prohibited.
// When SASLprep rejects a password, libpq (and the server) fall back to the raw bytes; so do we,
// which is why this returns undefined rather than throwing.
import {
  L_CAT,
  MAPPED_TO_NOTHING,
  NON_ASCII_SPACE,
  PROHIBITED_OUTPUT,
  RAND_AL_CAT,
  UNASSIGNED,
  inTable,
} from './saslprep-tables.js';

/** With the u flag, a well-formed pair is one code point, so only lone surrogates match. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The SASLprep'd password, or undefined when SASLprep refuses it (use the password unchanged). */
export function saslprep(password: string): string | undefined {
  if (isAscii(password)) return password;
  // A lone surrogate has no UTF-8 form: PostgreSQL's "invalid UTF-8" case.
  if (LONE_SURROGATE.test(password)) return undefined;

  // 1. Map: non-ASCII spaces to U+0020, "commonly mapped to nothing" removed.
  const mapped: number[] = [];
  for (const character of password) {
    const code = character.codePointAt(0)!;
    if (inTable(code, NON_ASCII_SPACE)) mapped.push(0x20);
    else if (!inTable(code, MAPPED_TO_NOTHING)) mapped.push(code);
  }
  if (mapped.length === 0) return undefined;

  // 3. Prohibit, and unassigned code points (RFC 3454 section 7, stored strings).
  for (const code of mapped) {
    if (inTable(code, PROHIBITED_OUTPUT) || inTable(code, UNASSIGNED)) return undefined;
  }

  // 4. Bidi: a string with right-to-left characters must be all RTL-compatible and begin and end
  // with one.
  if (mapped.some((code) => inTable(code, RAND_AL_CAT))) {
    if (mapped.some((code) => inTable(code, L_CAT))) return undefined;
    if (!inTable(mapped[0]!, RAND_AL_CAT) || !inTable(mapped[mapped.length - 1]!, RAND_AL_CAT)) return undefined;
  }

  // 2. Normalize (NFKC). Done last as in PostgreSQL: the checks above saw the un-normalized text.
  let text = '';
  for (const code of mapped) text += String.fromCodePoint(code);
  return text.normalize('NFKC');
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
