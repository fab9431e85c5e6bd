// Prints README's inputs and outputs tables from action.yml (test/readme.test.ts fails when they drift).
// Usage: node scripts/readme-tables.js [--write]   (--write updates README.md between its markers)
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

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

/** README.md with the tables between `<!-- tables:start -->` and `<!-- tables:end -->` made anew. */
export function withTables(readme, action) {
  const start = '<!-- tables:start -->';
  const end = '<!-- tables:end -->';
  const before = readme.slice(0, readme.indexOf(start) + start.length);
  const after = readme.slice(readme.indexOf(end));
  return `${before}\n\n${inputsTable(action)}\n\n${outputsTable(action)}\n\n${after}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const action = parse(readFileSync('action.yml', 'utf8'));
  if (process.argv.includes('--write')) {
    writeFileSync('README.md', withTables(readFileSync('README.md', 'utf8'), action));
  } else {
    console.log(`${inputsTable(action)}\n\n${outputsTable(action)}`);
  }
}
