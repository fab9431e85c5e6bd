/** The restore-test `checks` and `checks-file` inputs: `schema.table >= N` or a boolean SQL query. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Check } from '../settings.js';
import type { Inputs } from './reader.js';

const COUNT_CHECK = /^((?:[A-Za-z_][\w$]*\.)?[A-Za-z_][\w$]*)\s*(>=|<=|==|=|>|<)\s*(\d+)$/;
const SQL_CHECK = /^(select|with|values)\b/i;

/** Parses one check line, or returns undefined when it is neither form. */
export function parseCheck(line: string): Check | undefined {
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
  return undefined;
}

export async function readChecks(inputs: Inputs, cwd: string): Promise<Check[]> {
  const fromFile = await readChecksFile(inputs, cwd);
  const lines = [...inputs.lines('checks').map((line) => ['checks', line] as const), ...fromFile];
  return lines.map(([input, line], index) => {
    const check = parseCheck(line);
    if (!check) {
      throw new InputError(
        input,
        `check ${index + 1} ("${line.slice(0, 60)}") is neither "schema.table >= N" nor a SQL query (SELECT …) returning one boolean`,
      );
    }
    return check;
  });
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
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => ['checks-file', line] as const);
}
