// The JSON text of the per-session audit lines (session.start, session.query, session.end), built
// by hand rather than through pino. A query line is written for every statement a client runs, so
// it is on the relay's hot path: through a pino child logger it cost about 7 µs of CPU per query
// (a fifth of a bare TLS relay's whole cost), mostly pino's per-key serialization and a fresh
// ISO-8601 timestamp formatted per line. Here the session's context is serialized once, a string
// that needs no escaping (most SQL) is quoted without JSON.stringify, and the timestamp is
// formatted once a second, with the milliseconds appended. The lines are what pino wrote before (the same keys in
// the same order, the same escaping, undefined fields left out), so SIEM pipelines see no change;
// the one difference, an unpaired UTF-16 surrogate escaped as JSON.stringify does rather than
// written raw, cannot come from a client (decoded bytes never hold one).
import type { SessionContext } from './events.js';

/**
 * The audit stream's ISO-8601 UTC timestamp. Date#toISOString costs about a microsecond (V8
 * formats it with printf), and at a few thousand queries a second most lines fall in a new
 * millisecond; so the text up to the seconds is formatted once a second and the milliseconds
 * appended, and a millisecond's text is reused by every line that shares it.
 */
export class AuditClock {
  private lastMs = Number.NaN;
  private lastText = '';
  private secondStart = Number.NaN;
  /** "2026-11-21T23:17:02." for the second that starts at secondStart. */
  private secondPrefix = '';

  constructor(private readonly now: () => number = Date.now) {}

  iso(): string {
    const ms = this.now();
    if (ms === this.lastMs) return this.lastText;
    const millis = ((ms % 1000) + 1000) % 1000;
    const second = ms - millis;
    if (second !== this.secondStart) {
      this.secondStart = second;
      this.secondPrefix = new Date(second).toISOString().slice(0, 20);
    }
    this.lastMs = ms;
    this.lastText = `${this.secondPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
    return this.lastText;
  }
}

/**
 * A session's context as the JSON members it contributes to each of its lines
 * (`"session_id":"…","user":"…",…`), serialized once when the session starts: later changes to
 * the object do not reach its lines, as with a pino child logger's bindings.
 */
export function contextMembers(context: SessionContext): string {
  return members(context);
}

/**
 * One audit line, newline included: `{"stream":"audit","time":…,<context>,<record>,"event":…}`,
 * the order pino used (its level formatter's marker, the time, the child's bindings, the record,
 * the message key).
 */
export function auditLine(time: string, context: string, record: object, event: string): string {
  const fields = members(record);
  return `{"stream":"audit","time":"${time}"${context === '' ? '' : `,${context}`}${fields === '' ? '' : `,${fields}`},"event":${jsonString(event)}}\n`;
}

/**
 * An object's JSON members without the braces ('' when it has nothing to write), as JSON.stringify
 * would write them: undefined fields left out, non-finite numbers as null. Strings without a
 * character JSON must escape (the common case: SQL text, names, addresses) are quoted as they are,
 * which is several times cheaper than JSON.stringify of the whole record.
 */
function members(record: object): string {
  let text = '';
  for (const key in record) {
    const value: unknown = (record as Record<string, unknown>)[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    text += `${text === '' ? '' : ','}${jsonString(key)}:${jsonValue(value)}`;
  }
  return text;
}

function jsonValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let text = '';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          // JSON.stringify writes null for what it cannot represent inside an array.
          const json = item === undefined || typeof item === 'function' || typeof item === 'symbol' ? 'null' : jsonValue(item);
          text += i === 0 ? json : `,${json}`;
        }
        return `[${text}]`;
      }
      return JSON.stringify(value) ?? 'null';
  }
}

function jsonString(value: string): string {
  return needsEscaping(value) ? JSON.stringify(value) : `"${value}"`;
}

/** A quote, a backslash, a control character, or a UTF-16 surrogate (which JSON.stringify escapes when unpaired). */
function needsEscaping(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return true;
  }
  return false;
}
