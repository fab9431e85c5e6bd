/**
 * The compression levels bench (npm run bench -- --levels): its page holds the committed results,
 * the product's default zstd level is the one those results chose, and its JSON and text heavy
 * database is text of a real language's entropy, not repeated filler that flatters compressors.
 *
 * Covers: docs/benchmarks.md, scripts/bench/levels.ts, scripts/bench/documents.ts,
 * src/pipeline/compress.ts.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { documentRows, seeded, Writer } from '../../scripts/bench/documents.js';
import { fastestWithinSize, type Measured } from '../../scripts/bench/level-choice.js';
import { levelOf } from '../../src/pipeline/compress.js';

const report = async () =>
  JSON.parse(await readFile('bench-results/levels.json', 'utf8')) as { databases: Measured };

describe('the compression levels bench', () => {
  it('docs/benchmarks.md holds the tables it renders from bench-results/levels.json', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      'scripts/bench.js',
      '--levels',
      '--render',
    ]);
    const page = await readFile('docs/benchmarks.md', 'utf8');
    expect(stdout).toMatch(/^\| bench \(\d+ MB\) \| peers: pg_dump -Fc \| [\d.]+ s \|/m);
    expect(page).toContain(`<!-- levels:start -->\n\n${stdout.trimEnd()}\n\n<!-- levels:end -->\n`);
  });

  it('the default zstd level is the fastest the committed run found no larger than peers’ on every database', async () => {
    const { databases } = await report();
    expect(databases.map((d) => d.name)).toEqual(
      expect.arrayContaining(['bench', 'documents', 'packed']),
    );
    expect(String(levelOf('zstd'))).toBe(
      fastestWithinSize(databases, Object.keys(databases[0]?.levels ?? {}))?.level,
    );
  });

  it('chooses among the levels no larger than peers’ the one with the best mean speed-up', () => {
    const db = (name: string, levels: Record<string, [number, number]>) => ({
      name,
      sizeMb: 1,
      peers: { seconds: 10, bytes: 100 },
      levels: Object.fromEntries(
        Object.entries(levels).map(([k, [seconds, bytes]]) => [k, { seconds, bytes }]),
      ),
    });
    const databases = [
      db('bench', { '1': [1, 99], '2': [2, 98], '3': [3, 97] }),
      db('documents', { '1': [1, 120], '2': [2, 100], '3': [4, 95] }),
    ];
    // Level 1 is fastest but larger than peers' on one; 2 is faster than 3 and within on both.
    expect(fastestWithinSize(databases, ['1', '2', '3'])).toEqual({ level: '2', speedUp: 5 });
    databases[1]!.levels['2'] = { seconds: 2, bytes: 101 };
    expect(fastestWithinSize(databases, ['1', '2', '3'])?.level).toBe('3');
  });

  it('makes documents whose text gzip -6 cannot shrink below a third, as with real text', () => {
    const rows = [...documentRows(new Writer(seeded(7)), 1, 3000, Date.UTC(2026, 0, 1))].join('');
    expect(rows.length).toBeGreaterThan(2_000_000);
    // Repeated filler shrinks to a tenth or less; English prose to about 36% under gzip -6.
    expect(gzipSync(rows, { level: 6 }).length / rows.length).toBeGreaterThan(0.33);
    const words = new Set(rows.match(/\b[a-z]+\b/g));
    expect(words.size).toBeGreaterThan(10_000);
  });
});
