/**
 * The copy bench (npm run bench -- --copy): its page holds the committed results, which are of a
 * 1 GB object and judge the goals of issue 30 (time within 1.2 × a bare GetObject → PutObject
 * measured in the same run, peak memory under 150 MB) on their own numbers.
 *
 * Covers: docs/benchmarks.md, scripts/bench/copy.ts, scripts/bench/copy-baseline.ts.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

interface CopyReport {
  objectMb: number;
  timeRatio: number;
  baseline: { seconds: number };
  copy: { seconds: number };
  targets: { what: string; measured: string; met: boolean }[];
}

describe('the copy bench', () => {
  it('docs/benchmarks.md holds the tables it renders from bench-results/copy.json', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      'scripts/bench.js',
      '--copy',
      '--render',
    ]);
    const page = await readFile('docs/benchmarks.md', 'utf8');
    expect(stdout).toMatch(/^\| a bare GetObject → PutObject stream \(same SDK\) \| [\d.]+ s \|/m);
    expect(page).toContain(`<!-- copy:start -->\n\n${stdout.trimEnd()}\n\n<!-- copy:end -->\n`);
  });

  it('the committed run copied 1 GB, and judged the goals on its own numbers', async () => {
    const report = JSON.parse(await readFile('bench-results/copy.json', 'utf8')) as CopyReport;
    expect(report.objectMb).toBeGreaterThanOrEqual(1024);
    // The ratio is of the two medians of this run; each goal is met exactly when its number is.
    expect(report.timeRatio).toBeCloseTo(report.copy.seconds / report.baseline.seconds, 6);
    const peakMb = Number(/^(\d+) MB$/.exec(report.targets[1]?.measured ?? '')?.[1]);
    expect(report.targets.map((t) => [t.what, t.met])).toEqual([
      [`copy time of a ${report.objectMb} MB backup`, report.timeRatio <= 1.2],
      ['peak memory of that copy (the highest round)', peakMb < 150],
    ]);
  });
});
