/**
 * A files restore whose target overlaps the directory store (is it, holds it, or lies inside it,
 * spelled through `.`, `..` or a symbolic link) is refused in one line naming target-path before
 * anything is touched, clean or not: the store keeps every file it had. The command line and the
 * action run as built (dist/), against a real directory store.
 *
 * Covers: src/kinds/files/restore-target.ts, src/kinds/files/restore.ts.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction, runCli } from '../support/action.js';

let ws: string;
let store: string;

/** Every file under the store with its bytes: what a refused restore must leave as it was. */
async function storeContents(): Promise<Record<string, string>> {
  const files = await readdir(store, { recursive: true, withFileTypes: true });
  const entries = await Promise.all(
    files
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const file = path.join(entry.parentPath, entry.name);
        return [path.relative(store, file), (await readFile(file)).toString('base64')] as const;
      }),
  );
  return Object.fromEntries(entries);
}

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), 'restore-target-'));
  store = path.join(ws, 'backups');
  await mkdir(path.join(ws, 'site'));
  await writeFile(path.join(ws, 'site', 'index.html'), 'v1\n');
  const made = await runCli(
    ['backup', '--source', 'files', '--paths', 'site', '--storage', './backups', '--name', 'site'],
    { cwd: ws },
  );
  expect(made.code, made.stdout + made.stderr).toBe(0);
});

afterAll(async () => {
  await rm(ws, { recursive: true, force: true });
});

describe('a files restore into a folder that overlaps the store', () => {
  it('is refused when the target holds the store (the reported repro, with --clean)', async () => {
    const before = await storeContents();
    const run = await runCli(
      ['restore', '--storage', './backups', '--name', 'site'].concat([
        '--target-path',
        '.',
        '--confirm',
        '.',
        '--clean',
      ]),
      { cwd: ws },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: Input "target-path": \S+ holds the backup store \S+backups; restoring there/m,
    );
    expect(await storeContents()).toEqual(before);
    expect(await readFile(path.join(ws, 'site', 'index.html'), 'utf8')).toBe('v1\n');
  });

  it.each([
    ['is the store', () => store, /is the backup store/],
    ['is the store spelled with ..', () => path.join(store, 'x', '..'), /is the backup store/],
    ['is inside the store', () => path.join(store, 'site', 'new'), /is inside the backup store/],
    ['is inside the store, not yet made', () => path.join(store, 'a', 'b'), /is inside/],
    ['is a symbolic link to a folder holding it', () => path.join(ws, 'link-up'), /holds the/],
  ])('is refused when the target %s, clean or not', async (_, target, reason) => {
    await symlink(ws, path.join(ws, 'link-up')).catch(() => undefined);
    const before = await storeContents();
    for (const clean of ['true', 'false']) {
      const inputs = { mode: 'restore', storage: store, name: 'site', clean };
      const run = await runAction({ ...inputs, 'target-path': target(), confirm: target() });
      expect(run.code).toBe(1);
      expect(lastErrorLine(run)).toMatch(/^Input "target-path": /);
      expect(lastErrorLine(run)).toMatch(reason);
      expect(await storeContents()).toEqual(before);
    }
    await expect(readdir(path.join(store, 'a'))).rejects.toThrow(/ENOENT/);
  });

  it('is allowed beside the store, in a sibling whose name starts the same', async () => {
    const target = `${store}-restored`;
    const run = await runAction({
      mode: 'restore',
      storage: store,
      name: 'site',
      'target-path': target,
      confirm: target,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(path.join(target, 'site', 'index.html'), 'utf8')).toBe('v1\n');
  });
});
