/**
 * The fleet's status: the status reports its runs left (the nightly workflow's status job keeps
 * its report as an artifact; the fleet's last job downloads them all into one folder). Every file
 * is read as hostile: at most REPORT_MAX_BYTES, JSON, a `status` report whose sets parse as
 * statuses. A set the fleet runs whose report is missing needs attention: its run never got as
 * far as its status job.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { isObject } from '../core/manifest.js';
import { parseSetStatus, type SetStatus } from '../core/status.js';
import type { StatusSource } from '../core/settings.js';

/** A status report of a few sets is kilobytes; a whole store's of thousands, a few megabytes. */
export const REPORT_MAX_BYTES = 8 << 20;

type Reports = Extract<StatusSource, { kind: 'reports' }>;

export async function readStatusReports(
  source: Reports,
): Promise<{ statuses: SetStatus[]; warnings: string[] }> {
  const warnings: string[] = [];
  const found = new Map<string, SetStatus>();
  for (const file of await reportFiles(source.folder)) {
    const sets = await setsOf(file).catch((error: unknown) => {
      warnings.push(`${file} was not read: ${errorMessage(error)}`);
      return [];
    });
    for (const set of sets) {
      if (!source.sets.includes(set.name)) {
        warnings.push(`${file} reports the set "${set.name}", which the fleet does not run`);
      } else if (found.has(set.name)) {
        found.set(set.name, twice(found.get(set.name)!, file));
      } else found.set(set.name, set);
    }
  }
  const statuses = source.sets.map((name) => found.get(name) ?? missing(name));
  return { statuses, warnings };
}

async function reportFiles(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return names
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => path.join(folder, name));
}

async function setsOf(file: string): Promise<SetStatus[]> {
  const { size, isFile } = await stat(file).then((s) => ({ size: s.size, isFile: s.isFile() }));
  if (!isFile) throw new Error('not a file');
  if (size > REPORT_MAX_BYTES) throw new Error(`larger than ${REPORT_MAX_BYTES} bytes`);
  let report: unknown;
  try {
    report = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error('not valid JSON');
  }
  const sets = isObject(report) && isObject(report.details) ? report.details.sets : undefined;
  if (!isObject(report) || report.mode !== 'status' || !Array.isArray(sets))
    throw new Error('not the report of a status run');
  const parsed = sets.map(parseSetStatus);
  if (parsed.some((set) => set === undefined)) throw new Error('a set in it is not a status');
  return parsed as SetStatus[];
}

function missing(name: string): SetStatus {
  return {
    name,
    ok: false,
    problems: [
      'no status report: its nightly run never reached its status job (a runner that did not start, a cancelled run?)',
    ],
    stores: [],
    sizeTrend: '',
    unusable: [],
    unusableCount: 0,
  };
}

function twice(status: SetStatus, file: string): SetStatus {
  return {
    ...status,
    ok: false,
    problems: [...status.problems, `a second status report for this set, in ${file}`],
  };
}
