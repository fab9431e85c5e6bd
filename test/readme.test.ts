/** README's inputs and outputs tables are action.yml's: this fails when they drift. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { expect, it } from 'vitest';
import { withTables } from '../scripts/readme-tables.js';

it('README documents exactly the inputs and outputs of action.yml (npm run readme regenerates them)', async () => {
  const readme = await readFile('README.md', 'utf8');
  const action: unknown = parse(await readFile('action.yml', 'utf8'));
  expect(readme).toContain('<!-- tables:start -->');
  expect(readme).toBe(withTables(readme, action));
});

it('README gives the two quick-start commands', async () => {
  const readme = await readFile('README.md', 'utf8');
  expect(readme).toContain('npm ci && npm run demo');
  expect(readme).toContain('\nnpm test\n');
});
