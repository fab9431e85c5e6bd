/**
 * docs/inputs.md's inputs and outputs tables, and README's short inputs table, are action.yml's:
 * this fails when they drift.
 *
 * Covers: README.md, docs/inputs.md, scripts/readme-tables.js.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { expect, it } from 'vitest';
import { INPUTS_PAGE, withShortInputs, withTables } from '../scripts/readme-tables.js';

const action: unknown = parse(await readFile('action.yml', 'utf8'));

it('docs/inputs.md documents exactly the inputs and outputs of action.yml (npm run readme regenerates them)', async () => {
  const page = await readFile(INPUTS_PAGE, 'utf8');
  expect(page).toContain('<!-- tables:start -->');
  expect(page).toBe(withTables(page, action));
});

it("README's short inputs table shows inputs of action.yml as docs/inputs.md does, and links there", async () => {
  const readme = await readFile('README.md', 'utf8');
  expect(readme).toContain('[docs/inputs.md](docs/inputs.md)');
  expect(readme).toMatch(/<!-- inputs:start -->\n\n[^]*\| `storage` \|[^]*<!-- inputs:end -->/);
  expect(readme).toBe(withShortInputs(readme, action));
});

it('README gives the two quick-start commands', async () => {
  const readme = await readFile('README.md', 'utf8');
  expect(readme).toContain('npm ci && npm run demo');
  expect(readme).toContain('\nnpm test\n');
});
