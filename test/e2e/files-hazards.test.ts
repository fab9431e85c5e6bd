/**
 * Files backups against what real machines hold: a mount point, a symbolic link and a folder under
 * a read-only parent as restore targets, a full disk, setuid programs, read-only and unreadable
 * folders, a store inside the backed-up tree. The action runs as `node dist/index.js`, as root or
 * as the unprivileged postgres user, on real tmpfs mounts.
 *
 * Covers: src/files/tar-source.ts, src/files/tar-read.ts, src/kinds/files/restore.ts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction } from '../support/action.js';

const run = promisify(execFile);

let work: string;
let tree: string;
let store: string;
let postgres: number;
const mounts: string[] = [];

/** A fresh tmpfs of `size` at `dir`: a filesystem of its own, unmounted after the tests. */
async function mountTmpfs(dir: string, size: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
}

function restoreInto(target: string, extra: Record<string, string> = {}) {
  return {
    mode: 'restore',
    storage: store,
    name: 'site',
    'target-path': target,
    confirm: target,
    ...extra,
  };
}

async function mode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o7777;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'files-hazards-'));
  await chmod(work, 0o755);
  postgres = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  tree = path.join(work, 'site');
  store = path.join(work, 'store');
  await mkdir(path.join(tree, 'app'), { recursive: true });
  await mkdir(path.join(tree, 'ro'));
  await writeFile(path.join(tree, 'data.txt'), 'new');
  await writeFile(path.join(tree, 'big.bin'), Buffer.alloc(3 << 20, 1));
  await writeFile(path.join(tree, 'ro', 'inside.txt'), 'kept');
  await chmod(path.join(tree, 'ro'), 0o555);
  const tool = path.join(tree, 'app', 'tool');
  await writeFile(tool, '#!/bin/sh\n');
  await chown(tool, postgres, postgres);
  await chmod(tool, 0o4755);
  const made = await runAction(
    { source: 'files', paths: '.', storage: store, name: 'site' },
    { cwd: tree },
  );
  expect(made.code, made.stdout + made.stderr).toBe(0);
});

afterAll(async () => {
  for (const dir of mounts.reverse()) await run('umount', [dir]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('a files restore target', () => {
  it('may be a mount point: clean replaces its contents on its own filesystem', async () => {
    const volume = path.join(work, 'volume');
    await mountTmpfs(volume, '16m');
    await writeFile(path.join(volume, 'old.txt'), 'old');
    const restored = await runAction(restoreInto(volume, { clean: 'true' }));
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect((await readdir(volume)).sort()).toEqual(['app', 'big.bin', 'data.txt', 'ro']);
    expect(await readFile(path.join(volume, 'ro', 'inside.txt'), 'utf8')).toBe('kept');
  });

  it('may be a symbolic link to a folder on another filesystem, which stays a link', async () => {
    const volume = path.join(work, 'linked-volume');
    await mountTmpfs(volume, '16m');
    const link = path.join(work, 'link');
    await symlink(volume, link);
    const restored = await runAction(restoreInto(link));
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(await readFile(path.join(volume, 'data.txt'), 'utf8')).toBe('new');
    expect(await readdir(volume)).not.toContain(expect.stringMatching(/^\.backup-action/));
  });

  it('may sit in a read-only parent; a non-root restore drops setuid and keeps read-only folders', async () => {
    const parent = path.join(work, 'read-only-parent');
    const target = path.join(parent, 'data');
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, 'old.txt'), 'old');
    await chown(target, postgres, postgres);
    await chown(path.join(target, 'old.txt'), postgres, postgres);
    await chmod(parent, 0o555);
    const restored = await runAction(restoreInto(target, { clean: 'true' }), { user: 'postgres' });
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect((await readdir(target)).sort()).toEqual(['app', 'big.bin', 'data.txt', 'ro']);
    expect(await mode(path.join(target, 'app', 'tool'))).toBe(0o755);
    expect(await mode(path.join(target, 'ro'))).toBe(0o555);
    // Replacing a tree that holds a read-only folder: it moves aside, then goes.
    const again = await runAction(restoreInto(target, { clean: 'true' }), { user: 'postgres' });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect((await readdir(target)).sort()).toEqual(['app', 'big.bin', 'data.txt', 'ro']);
  });

  it('as root gets owners back, so a setuid program keeps its owner', async () => {
    const target = path.join(work, 'as-root');
    const restored = await runAction(restoreInto(target));
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    const tool = await stat(path.join(target, 'app', 'tool'));
    expect({ uid: tool.uid, mode: tool.mode & 0o7777 }).toEqual({ uid: postgres, mode: 0o4755 });
  });

  it('on a disk too small fails naming the full disk, and leaves the old contents', async () => {
    const small = path.join(work, 'small');
    await mountTmpfs(small, '1m');
    await writeFile(path.join(small, 'old.txt'), 'old');
    const restored = await runAction(restoreInto(small, { clean: 'true' }));
    expect(restored.code).not.toBe(0);
    expect(lastErrorLine(restored)).toMatch(
      /^the target path .*small ran out of disk space \(ENOSPC\) while extracting \(the backup holds 3\.0 MiB\)$/,
    );
    expect(await readdir(small)).toEqual(['old.txt']);
    expect(await readFile(path.join(small, 'old.txt'), 'utf8')).toBe('old');
  });

  it('that is a file is refused in one line naming the input', async () => {
    const file = path.join(work, 'a-file');
    await writeFile(file, 'not a folder');
    const restored = await runAction(restoreInto(file));
    expect(restored.code).not.toBe(0);
    expect(lastErrorLine(restored)).toMatch(
      /^Input "target-path": .*a-file is a file, not a folder/,
    );
    expect(await readFile(file, 'utf8')).toBe('not a folder');
  });
});

describe('restore-test of a files backup', () => {
  it('passes as a non-root user with read-only folders in the tree', async () => {
    const tested = await runAction(
      { mode: 'restore-test', storage: store, name: 'site' },
      { user: 'postgres' },
    );
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.summary).toMatch(/\| Entries \/ bytes \| 6 \//);
  });
});

describe('restore-test of a files backup, on a temporary disk too small', () => {
  it('fails naming the temporary folder and TMPDIR, leaving nothing there', async () => {
    const small = path.join(work, 'small-tmp');
    await mountTmpfs(small, '1m');
    const tested = await runAction(
      { mode: 'restore-test', storage: store, name: 'site' },
      { env: { TMPDIR: small } },
    );
    expect(tested.code).not.toBe(0);
    expect(lastErrorLine(tested)).toMatch(
      /^the temporary folder .*small-tmp\/backup-action-files-\w+\/tree ran out of disk space \(ENOSPC\) while extracting \(the backup holds 3\.0 MiB\); set TMPDIR to a folder on a larger disk$/,
    );
    expect(await readdir(small)).toEqual([]);
  });
});

describe('a files backup', () => {
  it('of an unreadable folder fails in one line, unless skip-unreadable skips its contents', async () => {
    const dir = path.join(work, 'locked-tree');
    const target = path.join(work, 'locked-store');
    await mkdir(path.join(dir, 'secret'), { recursive: true });
    await mkdir(target, { mode: 0o777 });
    await chmod(target, 0o777);
    await writeFile(path.join(dir, 'fine.txt'), 'ok');
    await writeFile(path.join(dir, 'secret', 'key'), 'no');
    await chmod(path.join(dir, 'secret'), 0o000);
    const inputs = { source: 'files', paths: '.', storage: target, name: 'locked' };
    const failed = await runAction(inputs, { cwd: dir, user: 'postgres' });
    expect(failed.code).not.toBe(0);
    expect(lastErrorLine(failed)).toMatch(
      /^.*\/secret cannot be read \(EACCES\); fix its permissions, exclude it, or set skip-unreadable: true$/,
    );
    const skipped = await runAction(
      { ...inputs, 'skip-unreadable': 'true' },
      { cwd: dir, user: 'postgres' },
    );
    expect(skipped.code, skipped.stdout + skipped.stderr).toBe(0);
    expect(skipped.stdout).toMatch(/::warning::secret cannot be read \(EACCES\): skipped/);
  });

  it('never archives its own store when the store is inside paths', async () => {
    const dir = path.join(work, 'self');
    await mkdir(dir);
    await writeFile(path.join(dir, 'a.txt'), 'a');
    const inputs = { source: 'files', paths: '.', storage: './backups', name: 'self' };
    const first = await runAction(inputs, { cwd: dir });
    const second = await runAction(inputs, { cwd: dir });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/backups is the store: not archived/);
    const manifest = JSON.parse(
      await readFile(path.join(dir, 'backups', second.outputs['manifest-key'] ?? ''), 'utf8'),
    );
    expect(first.code).toBe(0);
    expect(manifest.files).toMatchObject({ count: 1, bytes: 1 });
  });

  it('onto a full disk fails naming the disk, publishing nothing', async () => {
    const full = path.join(work, 'full-store');
    await mountTmpfs(full, '1m');
    const random = path.join(work, 'random');
    await mkdir(random);
    await writeFile(path.join(random, 'noise.bin'), randomBytes(3 << 20));
    const made = await runAction(
      { source: 'files', paths: '.', storage: full, name: 'noise' },
      { cwd: random },
    );
    expect(made.code).not.toBe(0);
    expect(lastErrorLine(made)).toBe(`the store folder ${full} ran out of disk space (ENOSPC)`);
    expect(await readdir(full, { recursive: true })).toEqual(['noise']);
  });
});
