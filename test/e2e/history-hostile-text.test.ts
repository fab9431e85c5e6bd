/**
 * What a history record says reaches people as text, never as markup or terminal control: a set
 * of files backed up and restore-tested by the bundle into a directory store, then records put
 * there by hand. A failed run's one-line problem holding HTML shows as text in the job summary
 * (no image, no tag); a problem of several lines or with a terminal escape is not what a run
 * writes and is not counted; a record of a newer version says so. And `status | head` on the
 * command line: the reader going away ends neither the run nor its exit code.
 *
 * Covers: src/core/history.ts, src/history/runs.ts, src/core/report.ts, src/cli.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBackupId } from '../../src/core/ids.js';
import { recordKey } from '../../src/core/layout.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { runAction, runCli } from '../support/action.js';

let work: string;
let storage: string;
const name = 'uploads';

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'history-text-'));
  storage = path.join(work, 'store');
  await mkdir(path.join(work, 'files'));
  await writeFile(path.join(work, 'files', 'a.txt'), 'hello\n');
  const made = await runAction({ source: 'files', name, storage, paths: 'files' }, { cwd: work });
  expect(made.code, made.stdout).toBe(0);
  const tested = await runAction({ mode: 'restore-test', name, storage });
  expect(tested.code, tested.stdout).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A record of a restore-test run `ago` ms ago (less than 0: just ahead, within the tolerance, so newest), with `edit` over it. */
async function putRecord(ago: number, edit: object): Promise<string> {
  const started = new Date(Date.now() - ago);
  const id = newBackupId(started);
  const key = recordKey(name, id, 'restore-test');
  const record = {
    version: 1,
    mode: 'restore-test',
    id,
    name,
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
    ok: true,
    figures: { restoreSeconds: 1 },
    tool: { name: 'backup-action', version: '1.0.0' },
    ...edit,
  };
  await new DirectoryStore(storage).put(key, JSON.stringify(record));
  return key;
}

describe('a record put in the store by hand', () => {
  const html = 'check failed <img src=https://evil.example/p.png> <details><summary>ok</summary>';
  let keys: Record<string, string>;

  beforeAll(async () => {
    keys = {
      html: await putRecord(-1000, { ok: false, problem: html }),
      lines: await putRecord(3000, { ok: false, problem: 'x\n\n# All backups fine\n| a | b |' }),
      escape: await putRecord(2000, { ok: false, problem: '\u001b[2J\u001b[32mall good' }),
      newer: await putRecord(1500, { version: 2 }),
    };
  });

  it('shows a failed run’s problem as text in the job summary, never as HTML', async () => {
    const seen = await runAction({ mode: 'status', name, storage });
    expect(seen.code, seen.stdout).toBe(1);
    expect(seen.summary).not.toMatch(/<img|<details|<summary/);
    expect(seen.summary).toMatch(
      /\| Last restore-test \| FAILED \d+s ago: check failed &lt;img src=https:\/\/evil\.example\/p\.png> &lt;details>&lt;summary>ok&lt;\/summary> \|/,
    );
  });

  it('does not count a problem of several lines or with a terminal escape, nor a newer version’s', async () => {
    const seen = await runCli(['status', '--name', name, '--storage', storage]);
    expect(seen.code, seen.stderr).toBe(1);
    expect(seen.stdout).not.toContain('\u001b');
    expect(seen.stdout).not.toMatch(/^# All backups fine/m);
    const [set] = (
      JSON.parse(/^status=(.*)$/m.exec(seen.stdout)![1]!) as {
        sets: { unusable: { key: string; problem: string }[] }[];
      }
    ).sets;
    const problems = Object.fromEntries(set!.unusable.map((u) => [u.key, u.problem]));
    expect(problems[keys.lines!]).toMatch(/^torn record .*: bad problem \(a run writes one line/);
    expect(problems[keys.escape!]).toMatch(/^torn record .*: bad problem \(a run writes one line/);
    expect(problems[keys.newer!]).toMatch(/is of version 2, written by a newer backup-action/);
    expect(problems[keys.html!]).toBeUndefined();
  });
});

it('status on the command line outlives a reader that goes away, and exits with its result', async () => {
  const seen = await runCli(['status', '--name', name, '--storage', storage, '--max-age', '1s'], {
    onStart: (child) => child.stdout?.destroy(),
  });
  expect(seen.stderr).not.toMatch(/EPIPE|Unhandled|node:internal/);
  expect(seen.stderr).toMatch(/^error: uploads needs attention: /m);
  expect(seen.code).toBe(1);
});
