/**
 * The figures a mode's report gives (its outputs and details), read back for the metrics and the
 * history records. Pure. A report is checked as strictly as anything read from a store.
 */
import { manifestRowCounts, parseManifest, type AnyManifest } from './manifest.js';

/** What both a run's report and a mode's (partial) result hold. */
export interface ReportFields {
  outputs?: Record<string, string | number>;
  details?: Record<string, unknown>;
}

/** A numeric output, when the report has one. */
export function outputNumber(report: ReportFields, name: string): number | undefined {
  const value = report.outputs?.[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The manifest the report carries, checked as strictly as one read from a store. */
export function reportManifest(report: ReportFields, name?: string): AnyManifest | undefined {
  const manifest = report.details?.manifest;
  if (manifest === undefined) return undefined;
  try {
    return parseManifest(JSON.stringify(manifest), 'the run report', name);
  } catch {
    return undefined;
  }
}

/** Tables and rows every database of the backup recorded; none when no count was taken. */
export function rowTotals(
  manifest: AnyManifest | undefined,
): { tables: number; rows: number } | undefined {
  if (!manifest) return undefined;
  const counted = manifestRowCounts(manifest).filter((counts) => counts !== undefined);
  if (counted.length === 0) return undefined;
  const values = counted.flatMap((counts) => Object.values(counts));
  return { tables: values.length, rows: values.reduce((sum, rows) => sum + rows, 0) };
}

/** The checks' verdicts: one database's (`checks`) or each database's of a server backup. */
export function checkVerdicts(
  report: ReportFields,
): { passed: number; failed: number } | undefined {
  const { checks, databases } = report.details ?? {};
  const lists = [checks, ...(Array.isArray(databases) ? databases : []).map(checksOf)];
  const present = lists.filter((list): list is unknown[] => Array.isArray(list));
  if (present.length === 0) return undefined;
  const verdicts = present.flat().map((check) => (isRecord(check) ? check.passed : undefined));
  return {
    passed: verdicts.filter((passed) => passed === true).length,
    failed: verdicts.filter((passed) => passed === false).length,
  };
}

function checksOf(database: unknown): unknown {
  return isRecord(database) ? database.checks : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
