// libpq's connection service file ($PGSERVICEFILE or ~/.pg_service.conf): INI-like sections
// `[name]` of `key=value` lines, `#` comments. dbctl writes one section per database it logs in to
// so `psql "service=DB"` (and every libpq-based tool: pg_dump, psycopg, dbt's postgres adapter…)
// works without copying paths around. The file is the person's: dbctl touches only sections it
// wrote, recognised by a `# dbctl: <proxy>` line right under the header, and keeps every other
// line, comment and blank line exactly as it was. Writes are atomic and keep the file's mode.
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DbctlError } from './dbctl-error.js';
import { writeFileAtomically } from '../files/atomic-write.js';

const MARKER_PREFIX = '# dbctl: ';
const HEADER = /^\s*\[(.*)\]\s*$/;

export interface ServiceSection {
  name: string;
  /** Every line after the header, up to the next header, as written (comments and blank lines too). */
  lines: string[];
  header: string;
}

export interface ServiceFile {
  /** Lines before the first section. */
  preamble: string[];
  sections: ServiceSection[];
}

/** Where libpq looks for the per-user service file. */
export function serviceFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.PGSERVICEFILE;
  if (configured !== undefined && configured !== '') return configured;
  return join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.pg_service.conf');
}

export function parseServiceFile(text: string): ServiceFile {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const file: ServiceFile = { preamble: [], sections: [] };
  let current: string[] = file.preamble;
  for (const line of lines) {
    const header = HEADER.exec(line.replace(/\r$/, ''));
    if (header !== null) {
      const section: ServiceSection = { name: header[1] as string, header: line, lines: [] };
      file.sections.push(section);
      current = section.lines;
    } else {
      current.push(line);
    }
  }
  return file;
}

export function serializeServiceFile(file: ServiceFile): string {
  const lines = [...file.preamble];
  for (const section of file.sections) lines.push(section.header, ...section.lines);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The proxy a section was written for, or undefined when dbctl did not write it. */
export function sectionOwner(section: ServiceSection): string | undefined {
  const marker = section.lines.find((line) => line.startsWith(MARKER_PREFIX));
  return marker?.slice(MARKER_PREFIX.length).trim();
}

/** Names of the sections dbctl wrote for `proxy`. */
export function managedSectionNames(file: ServiceFile, proxy: string): string[] {
  return file.sections.filter((section) => sectionOwner(section) === proxy).map((section) => section.name);
}

/**
 * Adds or replaces the section `name` for `proxy`. Refuses to replace a section dbctl did not
 * write. Returns the proxy a replaced dbctl section pointed at, when it was another one.
 */
export function upsertManagedSection(
  file: ServiceFile,
  name: string,
  proxy: string,
  settings: ReadonlyArray<readonly [string, string]>,
  path = 'the service file',
): { file: ServiceFile; replacedOwner?: string } {
  const body = [`${MARKER_PREFIX}${proxy}`, `# written by "dbctl login ${name}"; "dbctl logout ${name}" removes it`];
  for (const [key, value] of settings) body.push(`${key}=${checkedValue(key, value)}`);
  const index = file.sections.findIndex((section) => section.name === name);
  if (index === -1) {
    const sections = file.sections.map(cloneSection);
    const preamble = [...file.preamble];
    // One blank line between the last thing in the file and the new section.
    const lastSection = sections[sections.length - 1];
    const previous = lastSection === undefined ? preamble : lastSection.lines;
    const lastLine = previous.length > 0 ? previous[previous.length - 1] : lastSection?.header;
    if (lastLine !== undefined && lastLine.trim() !== '') previous.push('');
    sections.push({ name, header: `[${name}]`, lines: body });
    return { file: { preamble, sections } };
  }
  const existing = file.sections[index] as ServiceSection;
  const owner = sectionOwner(existing);
  if (owner === undefined) {
    throw new DbctlError(`${path} already has a section [${name}] that dbctl did not write; dbctl leaves it alone`, {
      hint: `rename or remove that section yourself, or use the settings "dbctl config ${name}" prints instead of the service`,
    });
  }
  const sections = file.sections.map(cloneSection);
  // Keep the blank lines that separated the old section from the next one.
  sections[index] = { name, header: existing.header, lines: [...body, ...trailingBlankLines(existing.lines)] };
  return { file: { preamble: [...file.preamble], sections }, ...(owner === proxy ? {} : { replacedOwner: owner }) };
}

/** Removes the section `name` if dbctl wrote it for `proxy`; anything else stays. */
export function removeManagedSection(file: ServiceFile, name: string, proxy: string): { file: ServiceFile; removed: boolean } {
  const index = file.sections.findIndex((section) => section.name === name && sectionOwner(section) === proxy);
  if (index === -1) return { file, removed: false };
  const preamble = [...file.preamble];
  const sections = file.sections.map(cloneSection);
  sections.splice(index, 1);
  // Drop the blank separator dbctl added before the section when nothing follows any more.
  if (index === sections.length) {
    const previous = sections.length === 0 ? preamble : (sections[sections.length - 1] as ServiceSection).lines;
    while (previous.length > 0 && (previous[previous.length - 1] as string).trim() === '') previous.pop();
  }
  return { file: { preamble, sections }, removed: true };
}

/** The file at `path`, or an empty one when it does not exist. */
export function readServiceFile(path: string): ServiceFile {
  if (!existsSync(path)) return { preamble: [], sections: [] };
  try {
    return parseServiceFile(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DbctlError(`cannot read the service file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: 'set PGSERVICEFILE to a file you can read and write',
    });
  }
}

/** Writes atomically, keeping the mode an existing file had (0644 for a new one: it holds no secrets). */
export function writeServiceFile(path: string, file: ServiceFile): void {
  // A service file that is a symlink (dotfile managers do that) is written where it points, so the
  // rename does not replace the link with a plain file.
  const target = existsSync(path) ? realpathSync(path) : path;
  const mode = existsSync(target) ? statSync(target).mode & 0o777 : 0o644;
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileAtomically(target, serializeServiceFile(file), mode);
  } catch (error) {
    throw new DbctlError(`cannot write the service file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: 'set PGSERVICEFILE to a file you can write',
    });
  }
}

/** libpq reads a value to the end of the line with surrounding blanks trimmed, and knows no quoting. */
function checkedValue(key: string, value: string): string {
  if (/[\r\n\0]/.test(value) || value.trim() !== value || value === '') {
    throw new DbctlError(`cannot write ${key}=${JSON.stringify(value)} to a service file: libpq would not read it back as written`, {
      hint: 'set DBCTL_HOME to a path without line breaks or leading/trailing spaces',
    });
  }
  return value;
}

function trailingBlankLines(lines: readonly string[]): string[] {
  let start = lines.length;
  while (start > 0 && (lines[start - 1] as string).trim() === '') start -= 1;
  return lines.slice(start);
}

function cloneSection(section: ServiceSection): ServiceSection {
  return { name: section.name, header: section.header, lines: [...section.lines] };
}
