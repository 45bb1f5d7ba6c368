// The one pino root logger of the daemon. Redaction is configured here, once, so that no child
// logger can print a password, token or key by accident; sessions log through children of it.
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/types.js';

/** Field names that hold secrets, in the spellings Gatehouse, node and the AWS SDK use. */
const SECRET_FIELDS = [
  'password', 'Password', 'DbPassword', 'secret', 'token', 'Token', 'sessionToken', 'SessionToken',
  'key', 'privateKey', 'private_key', 'keyPem', 'secretKey', 'secretAccessKey', 'SecretAccessKey',
  'dbPassword', 'WebIdentityToken', 'webIdentityToken',
];

/** Paths pino blanks out: each secret field at the top level and up to three levels down. */
export const REDACTED_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]);

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
