// Reads the body of an ErrorResponse or NoticeResponse: a list of (one-byte field code, NUL-
// terminated string) pairs closed by a zero byte. Gatehouse reads upstream errors during login
// with it, and its tests check its own errorResponse builder against it, without pulling in a
// client library's parser.
import { ProtocolError } from '../errors.js';

/** Field codes, from the protocol's "Error and Notice Message Fields" table. */
export const ErrorField = {
  SEVERITY: 'S',
  SEVERITY_NONLOCALIZED: 'V',
  SQLSTATE: 'C',
  MESSAGE: 'M',
  DETAIL: 'D',
  HINT: 'H',
  POSITION: 'P',
  INTERNAL_POSITION: 'p',
  INTERNAL_QUERY: 'q',
  WHERE: 'W',
  SCHEMA: 's',
  TABLE: 't',
  COLUMN: 'c',
  DATA_TYPE: 'd',
  CONSTRAINT: 'n',
  FILE: 'F',
  LINE: 'L',
  ROUTINE: 'R',
} as const;

export interface ErrorNotice {
  severity: string;
  /** The V field (never localized); absent from servers older than PostgreSQL 9.6. */
  severityNonLocalized?: string;
  sqlState: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  /** Every field as sent, including codes not listed above. */
  fields: Map<string, string>;
}

/**
 * Every field of an ErrorResponse/NoticeResponse body, by code. A code that appears twice keeps
 * its last value, as libpq does. Throws ProtocolError when a value or the list is not terminated
 * or bytes follow the terminator.
 */
export function parseErrorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  for (;;) {
    if (offset >= body.length) throw new ProtocolError('malformed error/notice message: the field list does not end with a zero byte');
    const code = body[offset]!;
    if (code === 0) break;
    const end = body.indexOf(0, offset + 1);
    if (end === -1) {
      throw new ProtocolError(`malformed error/notice message: field '${String.fromCharCode(code)}' is not NUL-terminated`);
    }
    fields.set(String.fromCharCode(code), body.toString('utf8', offset + 1, end));
    offset = end + 1;
  }
  if (offset !== body.length - 1) {
    throw new ProtocolError(`malformed error/notice message: ${body.length - 1 - offset} bytes follow the end of the field list`);
  }
  return fields;
}

/** The fields of an ErrorResponse/NoticeResponse body, typed; S, C and M are always present. */
export function parseErrorNotice(body: Buffer): ErrorNotice {
  const fields = parseErrorFields(body);
  const required = (code: string, name: string): string => {
    const value = fields.get(code);
    if (value === undefined) throw new ProtocolError(`malformed error/notice message: the ${name} field ('${code}') is missing`);
    return value;
  };
  return {
    severity: required(ErrorField.SEVERITY, 'severity'),
    severityNonLocalized: fields.get(ErrorField.SEVERITY_NONLOCALIZED),
    sqlState: required(ErrorField.SQLSTATE, 'SQLSTATE'),
    message: required(ErrorField.MESSAGE, 'message'),
    detail: fields.get(ErrorField.DETAIL),
    hint: fields.get(ErrorField.HINT),
    position: fields.get(ErrorField.POSITION),
    where: fields.get(ErrorField.WHERE),
    schema: fields.get(ErrorField.SCHEMA),
    table: fields.get(ErrorField.TABLE),
    column: fields.get(ErrorField.COLUMN),
    dataType: fields.get(ErrorField.DATA_TYPE),
    constraint: fields.get(ErrorField.CONSTRAINT),
    fields,
  };
}
