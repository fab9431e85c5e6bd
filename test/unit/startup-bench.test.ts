/**
 * The single executable's startup bench (npm run bench -- --startup): its page holds the
 * committed results.
 *
 * Covers: docs/benchmarks.md, scripts/bench/startup.ts.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('docs/benchmarks.md holds the tables the startup bench renders from bench-results/startup.json', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    'scripts/bench.js',
    '--startup',
    '--render',
  ]);
  const page = await readFile('docs/benchmarks.md', 'utf8');
  expect(stdout).toMatch(/^\| --version \| \d+ ms \| \d+ ms \|/m);
  expect(stdout).toContain('| target | goal | measured | |');
  expect(page).toContain(`<!-- startup:start -->\n\n${stdout.trimEnd()}\n\n<!-- startup:end -->\n`);
});
