/** The whole run as one record: what the summary, the `report` output and notifications are made from. */
import { mermaidChart, sparkline, type Chart } from './chart.js';
import { printableName } from './database-names.js';
import type { Table } from './types.js';

export interface RunReport {
  mode: string;
  name?: string;
  ok: boolean;
  /** One line: what happened, or why the run failed. */
  headline: string;
  error?: string;
  startedAt: string;
  finishedAt: string;
  outputs: Record<string, string | number>;
  facts: [string, string][];
  tables: Table[];
  charts?: Chart[];
  warnings: string[];
  details: Record<string, unknown>;
  /** A success told where failures are (a healed night): see ModeResult. */
  notice?: boolean;
}

/**
 * The most the `report` output holds. GitHub refuses an output over 1 MB, and counts every output
 * of a job against 1 MB too: a quarter leaves room for the other outputs and another step's report.
 */
export const REPORT_OUTPUT_LIMIT = 256 * 1024;

/**
 * Where a report that was cut is described: its lists and maps keep their first `keptItems`
 * entries, and `reportFile` (when the edge wrote one) holds the whole.
 */
export interface Truncated {
  limit: number;
  keptItems: number;
  /** How many entries were left out, all lists and maps together. */
  omitted: number;
  reportFile?: string;
}

/**
 * The report as JSON within `limit` bytes: whole when it fits. Else every list and map in it
 * (a table's rows, the manifest's row counts, a comparison's tables) keeps its first entries,
 * as many as fit, and `truncated` says so and names the file that holds the whole report. The
 * size grows with the tables of a database (about 85 bytes each), so an unbounded report of a
 * database with ~12,000 tables would fail the step that sets it.
 */
export function reportJson(
  report: RunReport,
  reportFile?: string,
  limit = REPORT_OUTPUT_LIMIT,
): string {
  const whole = JSON.stringify(report);
  if (Buffer.byteLength(whole) <= limit) return whole;
  // No fewer than 50: the records in a report (a manifest, the outputs) have fewer keys than that,
  // so only the lists and maps that grow with the database are cut.
  for (const keptItems of [100, 50]) {
    const counter = { omitted: 0 };
    const cut = trimmed(report, keptItems, counter) as object;
    const truncated: Truncated = {
      limit,
      keptItems,
      omitted: counter.omitted,
      ...(reportFile ? { reportFile } : {}),
    };
    const json = JSON.stringify({ ...cut, truncated });
    if (Buffer.byteLength(json) <= limit) return json;
  }
  // Long texts are left (a huge error message, many warnings): the fields that say how it went.
  const { mode, name, ok, headline, error, startedAt, finishedAt } = report;
  const keep = (text: string | undefined) => text?.slice(0, 1000);
  const truncated = { limit, keptItems: 0, ...(reportFile ? { reportFile } : {}) };
  return JSON.stringify({
    mode,
    name,
    ok,
    headline: keep(headline),
    error: keep(error),
    startedAt,
    finishedAt,
    truncated,
  });
}

/** `value` with each array and object cut to its first `items` entries, at every depth. */
function trimmed(value: unknown, items: number, counter: { omitted: number }): unknown {
  if (value === null || typeof value !== 'object') return value;
  const entries = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
  counter.omitted += Math.max(entries.length - items, 0);
  const kept = entries.slice(0, items).map(([key, item]) => [key, trimmed(item, items, counter)]);
  return Array.isArray(value) ? kept.map(([, item]) => item) : Object.fromEntries(kept);
}

/** Replaces every secret (and its URL-encoded form) in text that leaves the process. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const forms = [...new Set(secrets.flatMap((secret) => [secret, encodeURIComponent(secret)]))]
    .filter((form) => form.length >= 3)
    .sort((a, b) => b.length - a.length);
  return (text) => forms.reduce((out, form) => out.split(form).join('***'), text);
}

/** Markdown for the job summary: a title line, the facts, then each table. */
export function summaryMarkdown(report: RunReport): string {
  const status = report.ok ? '✅' : '❌';
  const lines = [
    `### ${status} backup-action ${report.mode}${report.name ? `: ${report.name}` : ''}`,
    '',
  ];
  lines.push(
    report.ok ? report.headline : `**Failed:** ${escapeCell(report.error ?? report.headline)}`,
    '',
  );
  if (report.facts.length > 0) {
    lines.push('| | |', '| --- | --- |');
    for (const [label, value] of report.facts)
      lines.push(`| ${escapeCell(label)} | ${escapeCell(value)} |`);
    lines.push('');
  }
  for (const table of report.tables) {
    lines.push(`#### ${table.title}`, '', `| ${table.header.map(escapeCell).join(' | ')} |`);
    lines.push(`| ${table.header.map(() => '---').join(' | ')} |`);
    for (const row of table.rows.slice(0, SUMMARY_ROWS))
      lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
    lines.push('', ...notShown(table.rows.length, 'rows'));
  }
  for (const chart of report.charts ?? [])
    lines.push(`#### ${chart.title}`, '', '```mermaid', mermaidChart(chart), '```', '');
  for (const warning of report.warnings.slice(0, SUMMARY_ROWS))
    lines.push(`> ⚠️ ${escapeCell(warning)}`, '');
  lines.push(...notShown(report.warnings.length, 'warnings'));
  return lines.join('\n');
}

/**
 * Rows a table shows in the job summary, and warnings: GitHub refuses a step's summary over
 * 1 MiB, and a database's tables could make one larger. The `report-file` output has them all.
 */
const SUMMARY_ROWS = 500;

function notShown(count: number, what: string): string[] {
  if (count <= SUMMARY_ROWS) return [];
  return [
    `… and ${count - SUMMARY_ROWS} more ${what}, in the report file (\`report-file\` output)`,
    '',
  ];
}

/**
 * A cell as text, whatever it holds: a pipe or a line break would end the cell or the table, and
 * a `<` would open HTML (an image, a link, a hidden block) from what a run read from outside, such
 * as a problem kept in a history record.
 */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/</g, '&lt;');
}

/** Plain text for the command line: aligned facts and tables. */
export function summaryText(report: RunReport): string {
  const lines = [
    `${report.ok ? 'OK' : 'FAILED'} backup-action ${report.mode}${report.name ? ` ${report.name}` : ''}`,
  ];
  const width = Math.max(0, ...report.facts.map(([label]) => label.length));
  for (const [label, value] of report.facts) lines.push(`  ${label.padEnd(width)}  ${value}`);
  for (const table of report.tables) {
    lines.push('', `  ${table.title}`);
    // A cell may be a name read from a backup (a table, a database): shown printable.
    const all = [table.header, ...table.rows.map((row) => row.map(printableName))];
    const widths = table.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
    for (const row of all)
      lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
  }
  if (report.charts?.length) lines.push('');
  for (const chart of report.charts ?? [])
    lines.push(`  ${chart.title} (${chart.unit}): ${sparkline(chart.values)}`);
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
