// Prints the inputs and outputs tables of docs/inputs.md from action.yml, and README's short
// inputs table (its rows, each made anew); test/readme.test.ts fails when either drifts.
// Usage: node scripts/readme-tables.js [--write]   (--write updates both files between their markers)
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

export const INPUTS_PAGE = 'docs/inputs.md';

const cell = (text) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

const INPUTS_HEADER = ['| input | default | description |', '| --- | --- | --- |'];

function inputRows(action) {
  return Object.entries(action.inputs).map(
    ([name, input]) =>
      `| \`${name}\` | ${input.default ? `\`${cell(input.default)}\`` : ''} | ${cell(input.description)} |`,
  );
}

export function inputsTable(action) {
  return [...INPUTS_HEADER, ...inputRows(action)].join('\n');
}

export function outputsTable(action) {
  const rows = Object.entries(action.outputs).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`,
  );
  return ['| output | description |', '| --- | --- |', ...rows].join('\n');
}

/** `text` with what lies between `<!-- <marker>:start -->` and `<!-- <marker>:end -->` replaced. */
function between(text, marker, make) {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} … ${end} markers`);
  const inner = text.slice(from + start.length, to);
  return `${text.slice(0, from + start.length)}\n\n${make(inner)}\n\n${text.slice(to)}`;
}

/** docs/inputs.md with every input and output, between its `tables` markers, made anew. */
export function withTables(page, action) {
  return between(page, 'tables', () => `${inputsTable(action)}\n\n${outputsTable(action)}`);
}

/**
 * README.md with its short inputs table (between the `inputs` markers) made anew: the inputs it
 * names, in its order, each row as docs/inputs.md has it. A name action.yml lacks gets a row
 * saying so, which the drift test then reports.
 */
export function withShortInputs(readme, action) {
  const rows = inputRows(action);
  return between(readme, 'inputs', (inner) => {
    const names = [...inner.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    const picked = names.map(
      (name) =>
        rows.find((row) => row.startsWith(`| \`${name}\` |`)) ??
        `| \`${name}\` | | not an input of action.yml |`,
    );
    return [...INPUTS_HEADER, ...picked].join('\n');
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const action = parse(readFileSync('action.yml', 'utf8'));
  if (process.argv.includes('--write')) {
    writeFileSync(INPUTS_PAGE, withTables(readFileSync(INPUTS_PAGE, 'utf8'), action));
    writeFileSync('README.md', withShortInputs(readFileSync('README.md', 'utf8'), action));
  } else {
    console.log(`${inputsTable(action)}\n\n${outputsTable(action)}`);
  }
}
