/** The whole run as one record: what the summary, the `report` output and notifications are made from. */
import type { Table } from './modes/types.js';

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
  warnings: string[];
  details: Record<string, unknown>;
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
    for (const row of table.rows) lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
    lines.push('');
  }
  for (const warning of report.warnings) lines.push(`> ⚠️ ${escapeCell(warning)}`, '');
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
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
    const all = [table.header, ...table.rows];
    const widths = table.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
    for (const row of all)
      lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
  }
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
