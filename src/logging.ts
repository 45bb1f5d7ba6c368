// The one pino root logger of the daemon. Redaction is configured here, once, so that no child
// logger can print a password, token or key by accident; sessions log through children of it.
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/types.js';

/** Paths pino blanks out wherever they appear in a log record (one and two levels deep). */
export const REDACTED_PATHS = [
  'password', 'secret', 'token', 'key', 'privateKey', 'private_key', 'keyPem', 'secretKey',
  '*.password', '*.secret', '*.token', '*.key', '*.privateKey', '*.private_key', '*.keyPem', '*.secretKey',
  '*.*.password', '*.*.token',
];

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
