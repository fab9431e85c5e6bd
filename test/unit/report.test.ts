/**
 * The `report` output and the job summary stay within GitHub's limits whatever the size of the
 * database: a report of 20,000 tables is cut to fit, says so, and names the file with the whole.
 *
 * A cell shows what it holds as text, whatever a run read from outside.
 *
 * Covers: src/core/report.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  REPORT_OUTPUT_LIMIT,
  reportJson,
  summaryMarkdown,
  type RunReport,
  type Truncated,
} from '../../src/core/report.js';

function reportOf(tables: number): RunReport {
  const names = Array.from({ length: tables }, (_, i) => `public.table_number_${i}`);
  return {
    mode: 'restore-test',
    name: 'shop',
    ok: true,
    headline: `Restored ${tables} tables`,
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:10:00.000Z',
    outputs: { 'restored-tables': tables, 'restore-seconds': 600 },
    facts: [['Tables', String(tables)]],
    tables: [
      {
        title: 'Row counts',
        header: ['table', 'backup', 'restored'],
        rows: names.map((name, i) => [name, String(i), String(i)]),
      },
    ],
    warnings: [],
    details: {
      manifest: {
        id: '20261201T000000Z-abcdef',
        rowCounts: Object.fromEntries(names.map((n) => [n, 1])),
      },
    },
  };
}

describe('the report output', () => {
  it('is the whole report when it fits', () => {
    const report = reportOf(100);
    expect(JSON.parse(reportJson(report, '/tmp/r.json'))).toEqual(report);
  });

  it('of 20,000 tables is cut to the limit, keeps what says how the run went, and names the file', () => {
    const report = reportOf(20_000);
    expect(JSON.stringify(report).length).toBeGreaterThan(1_000_000);
    const json = reportJson(report, '/runner/temp/report.json');
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(REPORT_OUTPUT_LIMIT);
    const cut = JSON.parse(json) as RunReport & { truncated: Truncated };
    expect(cut).toMatchObject({
      mode: 'restore-test',
      name: 'shop',
      ok: true,
      headline: 'Restored 20000 tables',
      outputs: report.outputs,
      facts: report.facts,
    });
    expect(cut.tables[0]?.rows.slice(0, 3)).toEqual(report.tables[0]?.rows.slice(0, 3));
    const { manifest } = cut.details as { manifest: { id: string } };
    expect(manifest.id).toBe('20261201T000000Z-abcdef');
    expect(cut.truncated.reportFile).toBe('/runner/temp/report.json');
    const kept = cut.truncated.keptItems;
    expect(cut.truncated.omitted).toBe(2 * (20_000 - kept));
  });

  it('with an error message larger than the limit keeps the run’s outcome', () => {
    const report = { ...reportOf(1), ok: false, error: 'x'.repeat(2 * REPORT_OUTPUT_LIMIT) };
    const cut = JSON.parse(reportJson(report)) as RunReport;
    expect(cut.ok).toBe(false);
    expect(cut.error).toMatch(/^x{1000}$/);
  });
});

describe('the job summary', () => {
  it('of 20,000 tables stays far below GitHub’s 1 MiB, and says where the rest is', () => {
    const report = reportOf(20_000);
    report.warnings = Array.from({ length: 20_000 }, (_, i) => `warning ${i}`);
    const markdown = summaryMarkdown(report);
    expect(Buffer.byteLength(markdown)).toBeLessThan(256 * 1024);
    expect(markdown).toContain('| public.table_number_0 | 0 | 0 |');
    expect(markdown).toContain('… and 19500 more rows, in the report file (`report-file` output)');
    expect(markdown).toContain('… and 19500 more warnings');
  });

  it('shows what a cell holds as text: no HTML, no cell or table ended by a pipe or a line break', () => {
    const hostile = 'boom | x </td><script>alert(1)</script>\n<img src=x onerror=alert(1)> # h';
    const report = { ...reportOf(1), ok: false, error: hostile };
    report.facts = [['Last restore-test', hostile]];
    report.tables[0]!.rows = [[hostile, '1', '1']];
    report.warnings = [hostile];
    const markdown = summaryMarkdown(report);
    expect(markdown).not.toMatch(/<(script|img|\/td)/);
    const shown =
      'boom \\| x &lt;/td>&lt;script>alert(1)&lt;/script> &lt;img src=x onerror=alert(1)> # h';
    expect(markdown).toContain(`**Failed:** ${shown}\n`);
    expect(markdown).toContain(`| Last restore-test | ${shown} |\n`);
    expect(markdown).toContain(`| ${shown} | 1 | 1 |\n`);
    expect(markdown).toContain(`> ⚠️ ${shown}\n`);
  });
});
