// Prints the inputs and outputs tables of docs/inputs.md from action.yml; test/unit/readme.test.ts
// fails when they drift. The README itself holds no generated table.
// Usage: node scripts/readme-tables.js [--write]   (--write updates docs/inputs.md between its markers)
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

export const INPUTS_PAGE = 'docs/inputs.md';

const cell = (text) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

export function inputsTable(action) {
  const rows = Object.entries(action.inputs).map(
    ([name, input]) =>
      `| \`${name}\` | ${input.default ? `\`${cell(input.default)}\`` : ''} | ${cell(input.description)} |`,
  );
  return ['| input | default | description |', '| --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(action) {
  const rows = Object.entries(action.outputs).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`,
  );
  return ['| output | description |', '| --- | --- |', ...rows].join('\n');
}

/** docs/inputs.md with every input and output, between its `tables` markers, made anew. */
export function withTables(page, action) {
  const start = '<!-- tables:start -->';
  const end = '<!-- tables:end -->';
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} … ${end} markers`);
  const tables = `${inputsTable(action)}\n\n${outputsTable(action)}`;
  return `${page.slice(0, from + start.length)}\n\n${tables}\n\n${page.slice(to)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const action = parse(readFileSync('action.yml', 'utf8'));
  if (process.argv.includes('--write')) {
    writeFileSync(INPUTS_PAGE, withTables(readFileSync(INPUTS_PAGE, 'utf8'), action));
  } else {
    console.log(`${inputsTable(action)}\n\n${outputsTable(action)}`);
  }
}
