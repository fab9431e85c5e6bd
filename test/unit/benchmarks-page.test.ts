/**
 * docs/benchmarks.md shows the tables of the committed results: this fails when they drift.
 *
 * Covers: docs/benchmarks.md, scripts/bench.js.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('docs/benchmarks.md holds the tables the bench renders from bench-results/latest.json (npm run bench -- --render --docs)', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['scripts/bench.js', '--render']);
  const page = await readFile('docs/benchmarks.md', 'utf8');
  expect(stdout).toContain('| target | goal | measured |');
  expect(page).toContain(`<!-- bench:start -->\n\n${stdout.trimEnd()}\n\n<!-- bench:end -->\n`);
});

it('README points to the benchmark page and holds no figure of its own: the tables and figures live only there', async () => {
  const readme = await readFile('README.md', 'utf8');
  expect(readme).toContain('[docs/benchmarks.md](docs/benchmarks.md)');
  expect(readme).not.toContain('<!-- bench:start -->');
  // A ratio from a benchmark round (1.70 × as long, 3.3× faster): the next round replaces them.
  expect(readme).not.toMatch(/\d\s?×/);
});
