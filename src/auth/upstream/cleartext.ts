// Password authentication (AuthenticationCleartextPassword, code 3): the reply is a
// PasswordMessage carrying the password itself. Only safe because the upstream connection is TLS.
import { frontendMessage } from './frontend-message.js';
import { passwordBytes } from './password-bytes.js';

const NUL = Buffer.from([0]);

/** PasswordMessage ('p') with the password as a NUL-terminated string. */
export function cleartextPasswordMessage(password: string): Buffer {
  return frontendMessage('p', passwordBytes(password), NUL);
}
