/**
 * The restore-test `checks` and `checks-file` inputs, in one grammar for every kind (the backup's
 * kind is known only once its manifest is read; each kind then refuses the forms it cannot run):
 * `schema.table >= N` or a boolean SQL query (PostgreSQL), `keys >= N` or `exists KEY` (Redis),
 * each after an optional `database:` prefix.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { AnyCheck, Check, KeyCheck } from '../core/settings.js';
import { valueLines, type Inputs } from './reader.js';

const COUNT_CHECK = /^((?:[A-Za-z_][\w$]*\.)?[A-Za-z_][\w$]*)\s*(>=|<=|==|=|>|<)\s*(\d+)$/;
const SQL_CHECK = /^(select|with|values)\b/i;
/** A Redis key that must exist: the rest of the line, or a JSON string for any other bytes. */
const EXISTS_CHECK = /^exists\s+(\S.*)$/is;

/** `crm: …` (a name without spaces or quotes) or `"Crm: x": …` (quoted, `""` for a quote). */
const DATABASE_PREFIX = /^(?:"((?:[^"]|"")+)"|([^\s"]+?)):\s+(\S.*)$/s;

/**
 * Parses one check line, or returns undefined when it is neither form. A check of a server backup
 * may name its database first; SQL never starts with a word and a colon, so the forms cannot mix.
 */
export function parseCheck(line: string): AnyCheck | undefined {
  const prefixed = DATABASE_PREFIX.exec(line);
  if (prefixed) {
    const [, quoted, bare, rest = ''] = prefixed;
    const check = parseBareCheck(rest);
    const database = quoted?.replace(/""/g, '"') ?? bare;
    if (check && database !== undefined) return { ...check, text: line, database };
  }
  return parseBareCheck(line);
}

function parseBareCheck(line: string): Check | KeyCheck | undefined {
  const count = COUNT_CHECK.exec(line);
  if (count) {
    const [, table = '', operator = '', value = ''] = count;
    return {
      kind: 'count',
      text: line,
      table: table.includes('.') ? table : `public.${table}`,
      operator: (operator === '==' ? '=' : operator) as '>=' | '>' | '=' | '<=' | '<',
      value: Number(value),
    };
  }
  if (SQL_CHECK.test(line)) return { kind: 'sql', text: line, sql: line.replace(/;\s*$/, '') };
  const key = EXISTS_CHECK.exec(line)?.[1];
  return key === undefined ? undefined : keyCheck(line, key.trimEnd());
}

function keyCheck(text: string, key: string): KeyCheck | undefined {
  if (!key.startsWith('"')) return { kind: 'exists', text, key };
  try {
    const parsed: unknown = JSON.parse(key);
    return typeof parsed === 'string' ? { kind: 'exists', text, key: parsed } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every check, from the `checks` input and then the file. A line that is neither form is named by
 * its place only (input, file, line number), never echoed: the file may be anything (a `.env`
 * with a database URL, /etc/shadow), and it is read before any secret in it could be masked.
 */
export async function readChecks(inputs: Inputs, cwd: string): Promise<AnyCheck[]> {
  const lines = [
    ...numberedLines(inputs.text('checks')).map((line) => ({ ...line, input: 'checks' })),
    ...(await readChecksFile(inputs, cwd)),
  ];
  return lines.map(({ input, where, text }) => {
    const check = parseCheck(text);
    if (!check) {
      throw new InputError(
        input,
        `${where} is not a check: give "schema.table >= N" or a SQL query (SELECT …) returning one boolean (PostgreSQL), or "dbN: keys >= N" or "dbN: exists KEY" (Redis)`,
      );
    }
    return check;
  });
}

/** The lines that hold a check (not blank, not a `#` comment), each with its line number. */
function numberedLines(text: string): { where: string; text: string }[] {
  return valueLines(text).map(({ number, text: line }) => ({
    where: `line ${number}`,
    text: line,
  }));
}

async function readChecksFile(inputs: Inputs, cwd: string) {
  const file = inputs.optional('checks-file');
  if (file === undefined) return [];
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch {
    throw new InputError(
      'checks-file',
      `"${file}" cannot be read; give the path of a file with one check per line`,
    );
  }
  return numberedLines(text).map(({ where, text: line }) => ({
    input: 'checks-file',
    where: `${where} of "${file}"`,
    text: line,
  }));
}
