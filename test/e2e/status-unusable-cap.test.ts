/**
 * A set whose history holds a flood of torn records: `status` names the first few and counts the
 * rest, so its `status` output, report file and summary stay within GitHub's limits whatever the
 * store holds; the fleet's status, read from that report file, keeps the count.
 *
 * Covers: src/core/status.ts, src/modes/status.ts, src/history/status-reports.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newBackupId } from '../../src/core/ids.js';
import { recordKey } from '../../src/core/layout.js';
import { UNUSABLE_SHOWN } from '../../src/core/status.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { runAction } from '../support/action.js';

const name = 'flooded';
const TORN = 60;
let work: string;
let storage: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'status-cap-'));
  storage = path.join(work, 'store');
  await mkdir(path.join(work, 'files'));
  await writeFile(path.join(work, 'files', 'a.txt'), 'hello\n');
  const made = await runAction({ source: 'files', name, storage, paths: 'files' }, { cwd: work });
  expect(made.code, made.stdout).toBe(0);
  const store = new DirectoryStore(storage);
  for (let i = 0; i < TORN; i++) {
    const id = newBackupId(new Date(Date.now() - 1000 * (i + 1)));
    await store.put(recordKey(name, id, 'restore-test'), '{"version": 1, "mode": "restore-te');
  }
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('lists the first few keys it did not count, counts them all, and the fleet keeps the count', async () => {
  const temp = path.join(work, 'temp');
  await mkdir(temp);
  const seen = await runAction({ mode: 'status', name, storage }, { runnerTemp: temp });
  expect(seen.code, seen.stdout).toBe(0);
  const [set] = (JSON.parse(seen.outputs.status!) as { sets: Record<string, unknown>[] }).sets;
  expect(set!.unusableCount).toBe(TORN);
  expect(set!.unusable).toHaveLength(UNUSABLE_SHOWN);
  expect(seen.stdout).toMatch(new RegExp(`::warning::${name}: ${TORN} not counted: torn record`));
  expect(seen.stdout).toContain(`and ${TORN - 3} more`);
  expect(seen.summary).toContain(`| ${name} | … | and ${TORN - UNUSABLE_SHOWN} more not listed |`);

  const reports = path.join(work, 'reports');
  await mkdir(reports);
  const reportFile = seen.outputs['report-file']!;
  await writeFile(path.join(reports, 'flooded.json'), await readFile(reportFile));
  const fleet = await runAction({
    mode: 'status',
    'status-reports': reports,
    sets: JSON.stringify([{ name, storage }]),
  });
  expect(fleet.code, fleet.stdout).toBe(0);
  const [read] = (JSON.parse(fleet.outputs.status!) as { sets: Record<string, unknown>[] }).sets;
  expect(read!.unusableCount).toBe(TORN);
  expect(read!.unusable).toHaveLength(UNUSABLE_SHOWN);
});
