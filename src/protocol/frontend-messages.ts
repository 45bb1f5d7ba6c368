// Decodes the audited client messages (Query, Parse, Bind, Execute, Close, FunctionCall,
// Terminate) into what the audit log records. A frame may hold only the head of a long message
// (see FrontendFramer): then whatever is whole is decoded and the cut is marked with '…', and a
// well-formed prefix never throws. A complete body that does not follow the message format
// throws ProtocolError.
import { ProtocolError } from '../errors.js';
import { BodyReader, completeUtf8End } from './body-reader.js';
import { FrontendMessageType, describeMessageType } from './constants.js';
import type { AuditedFrame } from './frontend-framer.js';

export type AuditedMessage =
  | { type: 'query'; sql: string }
  | { type: 'parse'; statement: string; sql: string; parameterTypeOids: number[] }
  /** Text-format values as UTF-8, binary-format values as '\x' + hex, each cut at maxParameterBytes. */
  | { type: 'bind'; portal: string; statement: string; parameters: (string | null)[] }
  | { type: 'execute'; portal: string; maxRows: number }
  | { type: 'close'; target: 'statement' | 'portal'; name: string }
  | { type: 'function-call'; functionOid: number; arguments: (string | null)[] }
  | { type: 'terminate' };

export interface DecodeOptions {
  /** How many bytes of one parameter value are shown (default 1 KiB); binary values show half as many. */
  maxParameterBytes?: number;
}

/** Marks where a value or a list was cut. */
export const TRUNCATION_MARKER = '…';
export const DEFAULT_MAX_PARAMETER_BYTES = 1024;

const TEXT_FORMAT = 0;
const BINARY_FORMAT = 1;
const NULL_LENGTH = -1;

export function decodeAuditedFrame(frame: AuditedFrame, options: DecodeOptions = {}): AuditedMessage {
  const decoder = new FrameDecoder(frame, options.maxParameterBytes ?? DEFAULT_MAX_PARAMETER_BYTES);
  switch (frame.type) {
    case FrontendMessageType.QUERY:
      return decoder.query();
    case FrontendMessageType.PARSE:
      return decoder.parse();
    case FrontendMessageType.BIND:
      return decoder.bind();
    case FrontendMessageType.EXECUTE:
      return decoder.execute();
    case FrontendMessageType.CLOSE:
      return decoder.close();
    case FrontendMessageType.FUNCTION_CALL:
      return decoder.functionCall();
    case FrontendMessageType.TERMINATE:
      decoder.end();
      return { type: 'terminate' };
    default:
      throw new ProtocolError(`a ${describeMessageType(frame.type)} message is not one of the audited message types`);
  }
}

/** Reading one frame: each method returns as much of its message as the body holds. */
class FrameDecoder {
  private readonly reader: BodyReader;
  private readonly truncated: boolean;
  private readonly name: string;

  constructor(frame: AuditedFrame, private readonly maxParameterBytes: number) {
    this.reader = new BodyReader(frame.body);
    this.truncated = frame.truncated;
    this.name = describeMessageType(frame.type);
  }

  query(): AuditedMessage {
    const sql = this.cstring('query string');
    if (!sql.cut) this.end();
    return { type: 'query', sql: sql.value };
  }

  parse(): AuditedMessage {
    const message = { type: 'parse' as const, statement: '', sql: '', parameterTypeOids: [] as number[] };
    const statement = this.cstring('statement name');
    message.statement = statement.value;
    if (statement.cut) return message;
    const sql = this.cstring('query string');
    message.sql = sql.value;
    if (sql.cut) return message;
    const count = this.reader.uint16();
    if (count === undefined) return this.cut(message, 'parameter type count');
    for (let i = 0; i < count; i++) {
      const oid = this.reader.uint32();
      if (oid === undefined) return this.cut(message, 'parameter types');
      message.parameterTypeOids.push(oid);
    }
    this.end();
    return message;
  }

  bind(): AuditedMessage {
    const message = { type: 'bind' as const, portal: '', statement: '', parameters: [] as (string | null)[] };
    const portal = this.cstring('portal name');
    message.portal = portal.value;
    if (portal.cut) return this.markCut(message, message.parameters);
    const statement = this.cstring('statement name');
    message.statement = statement.value;
    if (statement.cut) return this.markCut(message, message.parameters);
    if (!this.values(message.parameters, 'parameter')) return message;
    const resultFormats = this.reader.uint16();
    if (resultFormats === undefined) return this.cut(message, 'result format count');
    for (let i = 0; i < resultFormats; i++) {
      const format = this.reader.int16();
      if (format === undefined) return this.cut(message, 'result format codes');
      this.checkFormat(format, 'result');
    }
    this.end();
    return message;
  }

  execute(): AuditedMessage {
    const portal = this.cstring('portal name');
    if (portal.cut) return { type: 'execute', portal: portal.value, maxRows: 0 };
    // pg and libpq write the row limit unsigned; 0 means no limit.
    const maxRows = this.reader.uint32();
    if (maxRows === undefined) return this.cut({ type: 'execute', portal: portal.value, maxRows: 0 }, 'row limit');
    this.end();
    return { type: 'execute', portal: portal.value, maxRows };
  }

  close(): AuditedMessage {
    const target = this.reader.uint8();
    if (target === undefined) return this.cut({ type: 'close', target: 'statement', name: '' }, 'close target');
    if (target !== 0x53 /* S */ && target !== 0x50 /* P */) {
      throw this.malformed(`its target is ${describeMessageType(target)}; it must be 'S' (statement) or 'P' (portal)`);
    }
    const name = this.cstring('name');
    const message = { type: 'close' as const, target: target === 0x53 ? ('statement' as const) : ('portal' as const), name: name.value };
    if (!name.cut) this.end();
    return message;
  }

  functionCall(): AuditedMessage {
    const message = { type: 'function-call' as const, functionOid: 0, arguments: [] as (string | null)[] };
    const oid = this.reader.uint32();
    if (oid === undefined) return this.markCut(this.cut(message, 'function OID'), message.arguments);
    message.functionOid = oid;
    if (!this.values(message.arguments, 'argument')) return message;
    const resultFormat = this.reader.int16();
    if (resultFormat === undefined) return this.cut(message, 'result format code');
    this.checkFormat(resultFormat, 'result');
    this.end();
    return message;
  }

  /** Throws unless the whole body has been read (a truncated body may stop anywhere). */
  end(): void {
    if (!this.reader.atEnd && !this.truncated) {
      throw this.malformed(`${this.reader.remaining} bytes follow its last field`);
    }
  }

  /**
   * Format codes, count and values of Bind parameters or FunctionCall arguments, rendered into
   * `out`. Returns false when the body was cut inside them; `out` then ends with the marker.
   */
  private values(out: (string | null)[], what: string): boolean {
    const formatCount = this.reader.uint16();
    if (formatCount === undefined) return this.valuesCut(out, `${what} format count`);
    const formats: number[] = [];
    for (let i = 0; i < formatCount; i++) {
      const format = this.reader.int16();
      if (format === undefined) return this.valuesCut(out, `${what} format codes`);
      formats.push(this.checkFormat(format, what));
    }
    const count = this.reader.uint16();
    if (count === undefined) return this.valuesCut(out, `${what} count`);
    // No codes: all text. One code: it applies to every value. Otherwise one code per value.
    if (formatCount > 1 && formatCount !== count) {
      throw this.malformed(`it has ${formatCount} ${what} format codes for ${count} ${what}s`);
    }
    for (let i = 0; i < count; i++) {
      const format = formatCount === 0 ? TEXT_FORMAT : formats[formatCount === 1 ? 0 : i]!;
      const length = this.reader.int32();
      if (length === undefined) return this.valuesCut(out, `${what} length`);
      if (length === NULL_LENGTH) {
        out.push(null);
        continue;
      }
      if (length < 0) throw this.malformed(`${what} ${i + 1} has length ${length}`);
      const bytes = this.reader.bytes(length);
      if (bytes === undefined) {
        const partial = this.reader.rest();
        if (!this.truncated) throw this.malformed(`${what} ${i + 1} is ${length} bytes, but only ${partial.length} are left`);
        out.push(partial.length === 0 ? TRUNCATION_MARKER : this.render(partial, format, true));
        return false;
      }
      out.push(this.render(bytes, format, false));
    }
    return true;
  }

  private valuesCut(out: (string | null)[], field: string): false {
    this.cut(undefined, field);
    out.push(TRUNCATION_MARKER);
    return false;
  }

  /** A value as the audit log shows it, cut at maxParameterBytes and marked when cut anywhere. */
  private render(bytes: Buffer, format: number, cut: boolean): string {
    if (format === BINARY_FORMAT) {
      const shown = Math.min(bytes.length, Math.floor(this.maxParameterBytes / 2));
      const marker = cut || shown < bytes.length ? TRUNCATION_MARKER : '';
      return `\\x${bytes.toString('hex', 0, shown)}${marker}`;
    }
    if (bytes.length <= this.maxParameterBytes && !cut) return bytes.toString('utf8');
    const end = completeUtf8End(bytes, 0, Math.min(bytes.length, this.maxParameterBytes));
    return `${bytes.toString('utf8', 0, end)}${TRUNCATION_MARKER}`;
  }

  private checkFormat(format: number, what: string): number {
    if (format !== TEXT_FORMAT && format !== BINARY_FORMAT) {
      throw this.malformed(`it has ${what} format code ${format}; only 0 (text) and 1 (binary) exist`);
    }
    return format;
  }

  /** A NUL-terminated string; in a truncated body, a string the cut ended is returned marked. */
  private cstring(field: string): { value: string; cut: boolean } {
    const value = this.reader.cstring();
    if (value !== undefined) return { value, cut: false };
    if (!this.truncated) throw this.malformed(`its ${field} is not NUL-terminated`);
    return { value: `${this.reader.restAsTextPrefix()}${TRUNCATION_MARKER}`, cut: true };
  }

  /** The body ended before `field`: fine when the frame was truncated, malformed otherwise. */
  private cut<T>(message: T, field: string): T {
    if (!this.truncated) throw this.malformed(`it ends before its ${field}`);
    return message;
  }

  /** Marks a value list that the cut left unread. */
  private markCut<T>(message: T, list: (string | null)[]): T {
    list.push(TRUNCATION_MARKER);
    return message;
  }

  private malformed(problem: string): ProtocolError {
    return new ProtocolError(`malformed ${this.name} message from client: ${problem}`);
  }
}
