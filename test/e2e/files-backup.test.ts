/**
 * Directory backups end to end: a tree with what real trees hold, backed up by the action,
 * restored by hand with age, zstd and tar and compared byte for byte, then tested by the product.
 *
 * Covers: src/files/tar-source.ts, src/files/walk.ts, src/kinds/files/index.ts,
 * src/kinds/files/restore.ts, src/modes/index.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  truncate,
  unlink,
  writeFile,
  lstat,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packTree, walkFiles, type FilesOptions } from '../../src/files/tar-source.js';
import { lastErrorLine, runAction, runCli, type ActionRun } from '../support/action.js';
import { unwrapByHand } from '../support/by-hand.js';

/** The files source as a backup opens it: the tree walked first, then packed. */
const openFiles = async (options: FilesOptions) => packTree(await walkFiles(options), options);

const run = promisify(execFile);
const LONG = 'a-folder-name-that-goes-on-and-on-'.repeat(4);
const UNICODE = 'ünïcødé 文件 ✓.txt';

let work: string;
let tree: string;

/** Every entry under a folder: type, mode, content hash or link target. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of (await readdir(root, { recursive: true })).sort()) {
    const file = path.join(root, entry);
    const info = await lstat(file);
    const mode = (info.mode & 0o777).toString(8);
    if (info.isSymbolicLink()) out[entry] = `link -> ${await readlink(file)}`;
    else if (info.isDirectory()) out[entry] = `dir ${mode}`;
    else out[entry] = `file ${mode} ${(await readFile(file)).toString('base64')}`;
  }
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'files-test-'));
  tree = path.join(work, 'site');
  const deep = path.join(tree, 'a', 'b', LONG, LONG);
  await mkdir(deep, { recursive: true });
  await mkdir(path.join(tree, 'node_modules', 'pkg'), { recursive: true });
  await writeFile(path.join(deep, `${'x'.repeat(120)}.dat`), Buffer.alloc(300_000, 7));
  await writeFile(path.join(tree, 'a', UNICODE), 'grüße\n');
  await writeFile(path.join(tree, 'empty.txt'), '');
  await writeFile(path.join(tree, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o750 });
  await writeFile(path.join(tree, 'debug.log'), 'noise');
  await writeFile(path.join(tree, 'a', 'keep.log.txt'), 'kept: not *.log');
  await writeFile(path.join(tree, 'node_modules', 'pkg', 'index.js'), 'module.exports = 1');
  await writeFile(path.join(tree, '.backup-exclude'), '# logs are noise\n*.log\n');
  await symlink(`b/${LONG}`, path.join(tree, 'a', 'shortcut'));
  await chmod(path.join(tree, 'run.sh'), 0o750);
});

afterAll(() => rm(work, { recursive: true, force: true }));

describe('a files backup', () => {
  let identity: string;
  let store: string;
  let made: ActionRun;

  beforeAll(async () => {
    identity = await generateIdentity();
    store = path.join(work, 'store');
    made = await runAction(
      {
        source: 'files',
        paths: '.',
        exclude: 'node_modules/',
        'exclude-from': '.backup-exclude',
        storage: store,
        name: 'site',
        'age-recipients': await identityToRecipient(identity),
      },
      { cwd: tree },
    );
  });

  it('refuses an input its source does not read in one line, and stores nothing', async () => {
    const other = path.join(work, 'refused-store');
    const refused = await runAction(
      // A PostgreSQL input, as a workflow copied from a database backup would keep it.
      { source: 'files', paths: '.', storage: other, name: 'site', 'row-counts': 'estimate' },
      { cwd: tree },
    );
    expect(refused.code).not.toBe(0);
    expect(lastErrorLine(refused)).toBe(
      'Input "row-counts": is not used by mode backup with source files; remove it',
    );
    expect(existsSync(other)).toBe(false);
    expect(made.code, made.stdout).toBe(0);
    expect(made.report?.['warnings']).toEqual([]);
  });

  it('is published as a .tar.zst.age with the file figures in its manifest', async () => {
    expect(made.code, made.stdout).toBe(0);
    expect(made.outputs['backup-key']).toMatch(/^site\/\d{8}T\d{6}Z-[0-9a-f]{6}\.tar\.zst\.age$/);
    const manifest = JSON.parse(
      await readFile(path.join(store, made.outputs['manifest-key'] ?? ''), 'utf8'),
    );
    expect(manifest).toMatchObject({ format: 'tar', source: { kind: 'files' }, encryption: 'age' });
    // a, a/b, a/b/LONG, a/b/LONG/LONG, the .dat, the unicode file, keep.log.txt, shortcut,
    // empty.txt, run.sh, .backup-exclude
    expect(manifest.files).toMatchObject({ count: 11, bytes: 300_000 + 8 + 15 + 18 + 23 });
    expect(manifest.files.listDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('restores by hand with age -d, zstd -d and tar -x, byte for byte, without the excluded files', async () => {
    const dir = await mkdtemp(path.join(work, 'by-hand-'));
    const archive = await unwrapByHand(path.join(store, made.outputs['backup-key'] ?? ''), dir, {
      identity,
    });
    const out = path.join(dir, 'out');
    await mkdir(out);
    await run('tar', ['-x', '-p', '-f', archive, '-C', out]);
    const expected = await snapshot(tree);
    for (const excluded of Object.keys(expected).filter(
      (name) => name.startsWith('node_modules') || name === 'debug.log',
    )) {
      delete expected[excluded];
    }
    expect(await snapshot(out)).toEqual(expected);
    expect(Object.keys(expected)).toContain(`a/b/${LONG}/${LONG}/${'x'.repeat(120)}.dat`);
    expect(expected['a/shortcut']).toBe(`link -> b/${LONG}`);
  });

  /** A run of `mode` on the backup made above, with the identity that opens it. */
  const runOnSite = (mode: string, extra: Record<string, string> = {}) =>
    runAction({ mode, storage: store, name: 'site', 'age-identity': identity, ...extra });

  it('passes the product’s own restore-test, with no database needed', async () => {
    const tested = await runOnSite('restore-test');
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toMatch(/\| Entries \/ bytes \| 11 \/ 293 KiB \|/);
    expect(tested.outputs['restored-entries']).toBe('11');
  });

  it('refuses checks in one line: they run in a restored database, and a files backup has none', async () => {
    const tested = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'site',
      'age-identity': identity,
      checks: 'public.orders >= 1',
    });
    expect(tested.code).not.toBe(0);
    expect(lastErrorLine(tested)).toBe(
      'Input "checks": run in a restored database; this backup is of files',
    );
  });

  // F7 of the hostile review: these were taken without a word and did nothing.
  it("refuses PostgreSQL's restore-test inputs in one line naming what the backup holds, before the download", async () => {
    for (const [name, value] of [
      ['keep-database', 'true'],
      ['jobs', '4'],
      ['database-url', 'postgresql://postgres@127.0.0.1:1/postgres'],
      ['restore-globals', 'true'],
    ] as const) {
      const tested = await runOnSite('restore-test', { [name]: value });
      expect(tested.code, name).not.toBe(0);
      expect(lastErrorLine(tested)).toMatch(
        new RegExp(
          `^Input "${name}": is not used by restore-test of backup \\S+, which holds files: 11 entries \\(of database-url, .*, databases it takes none of them\\); remove it$`,
        ),
      );
      expect(tested.stdout).not.toMatch(/sha256 of \S+ verified/);
    }
  });

  // One environment file serves every service of a host (examples/ansible): a PostgreSQL input set
  // there for the database sets is a warning on a files backup's restore-test, never a refusal.
  it('on the command line, such an input from the shared environment is one warning, and the test runs', async () => {
    const args = ['restore-test', '--storage', store, '--name', 'site', '--age-identity', identity];
    const shared = await runCli(args, { env: { BACKUP_ACTION_PG_BIN_DIR: '/usr/bin' } });
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stderr).toMatch(
      /^warning: input "pg-bin-dir" from the environment is not used by restore-test of backup \S+, which holds files: .*; ignored$/m,
    );
    const given = await runCli([...args, '--pg-bin-dir', '/usr/bin']);
    expect(given.code).not.toBe(0);
    expect(given.stderr).toMatch(
      /^error: Input "pg-bin-dir": is not used by restore-test .*; remove it$/m,
    );
  });

  it('restores into a target path with confirm, refusing a non-empty one without clean', async () => {
    const target = path.join(work, 'restored');
    const restored = await runOnSite('restore', { 'target-path': target, confirm: target });
    expect(restored.code, restored.stdout).toBe(0);
    expect(restored.outputs['restored-entries']).toBe('11');
    expect(await readFile(path.join(target, 'a', UNICODE), 'utf8')).toBe('grüße\n');
    const again = await runOnSite('restore', { 'target-path': target, confirm: target });
    expect(again.code).not.toBe(0);
    expect(lastErrorLine(again)).toMatch(/is not empty .* set clean: true/);
  });

  it('verify-latest deep-reads the tar and checks its figures', async () => {
    const verified = await runOnSite('verify-latest');
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.summary).toMatch(/readable: 11 entries/);
  });

  it('a tampered archive fails restore-test, naming the checksum', async () => {
    const object = path.join(store, made.outputs['backup-key'] ?? '');
    const bytes = await readFile(object);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 50) ^ 0xff, bytes.length - 50);
    await writeFile(object, bytes);
    const tested = await runOnSite('restore-test');
    expect(tested.code).not.toBe(0);
    expect(lastErrorLine(tested)).toMatch(
      /^sha256 of site\/.*\.tar\.zst\.age is [0-9a-f]{64}, but its manifest records/,
    );
  });
});

describe('files that change or cannot be read', () => {
  it.each([
    [
      'a path that does not exist',
      'nope',
      /^Input "paths": "\S+nope" does not exist \(in .+\); give existing paths or globs, one per line$/,
    ],
    [
      'a glob that matches nothing',
      'nope*',
      /^Input "paths": "\S+nope\*" matches nothing \(in .+\)$/,
    ],
  ])('%s fails in one line naming paths, and stores nothing', async (_, name, line) => {
    const store = path.join(work, `store-${name.replace('*', 'glob')}`);
    const failed = await runAction({
      source: 'files',
      paths: `${tree}\n${path.join(work, name)}`,
      storage: store,
    });
    expect(failed.code).not.toBe(0);
    expect(lastErrorLine(failed)).toMatch(line);
    expect(await readdir(store).catch(() => [])).toEqual([]);
  });

  it('a file that vanishes while the backup runs is a warning', async () => {
    const dir = await mkdtemp(path.join(work, 'vanish-'));
    // A large first file: the archive is written as it is read, so writing waits behind it.
    await writeFile(path.join(dir, 'a-large.bin'), Buffer.alloc(8 << 20, 1));
    await writeFile(path.join(dir, 'goes.txt'), 'gone soon');
    const warnings: string[] = [];
    const source = await openFiles({
      paths: ['.'],
      exclude: [],
      cwd: dir,
      skipUnreadable: false,
      log: { info: () => undefined, warning: (message) => warnings.push(message) },
    });
    await unlink(path.join(dir, 'goes.txt'));
    for await (const chunk of source.output) void chunk;
    const facts = await source.finished();
    expect(warnings).toEqual(['goes.txt vanished while the backup ran: not archived']);
    expect(facts.files).toMatchObject({ count: 1, bytes: 8 << 20 });
  });

  it('a file that shrinks while it is archived fails the run, naming it', async () => {
    const dir = await mkdtemp(path.join(work, 'shrink-'));
    const file = path.join(dir, 'rotated.log');
    await writeFile(file, Buffer.alloc(32 << 20, 1));
    const source = await openFiles({
      paths: ['.'],
      exclude: [],
      cwd: dir,
      skipUnreadable: false,
      log: { info: () => undefined, warning: () => undefined },
    });
    let cut = false;
    const reading = (async () => {
      for await (const chunk of source.output) {
        void chunk;
        // Cut short once reading began, as a log rotation with copytruncate does.
        if (!cut) await truncate(file, 1000);
        cut = true;
      }
    })();
    await reading.catch(() => undefined);
    await expect(source.finished()).rejects.toThrow(
      `${file} shrank from ${32 << 20} to 1000 bytes while it was archived; a file still being written cannot be backed up consistently: exclude it, or stop what writes it during the backup`,
    );
  });

  it('an unreadable file fails the run, unless skip-unreadable lists it and goes on', async () => {
    // Root reads everything, so this runs the action as the unprivileged postgres user.
    const dir = await mkdtemp(path.join(work, 'unreadable-'));
    const store = await mkdtemp(path.join(work, 'unreadable-store-'));
    await chmod(work, 0o755);
    await chmod(dir, 0o755);
    await chmod(store, 0o777);
    await writeFile(path.join(dir, 'fine.txt'), 'ok', { mode: 0o644 });
    await writeFile(path.join(dir, 'secret.key'), 'no', { mode: 0o000 });
    await chmod(path.join(dir, 'secret.key'), 0o000);
    const inputs = { source: 'files', paths: '.', storage: store, name: 'perm' };
    const failed = await runAction(inputs, { cwd: dir, user: 'postgres' });
    expect(failed.code).not.toBe(0);
    expect(lastErrorLine(failed)).toMatch(
      /secret\.key cannot be read \(EACCES\); .* set skip-unreadable: true/,
    );
    const left = await readdir(store, { recursive: true, withFileTypes: true });
    expect(left.filter((entry) => !entry.isDirectory())).toEqual([]);
    const skipped = await runAction(
      { ...inputs, 'skip-unreadable': 'true' },
      { cwd: dir, user: 'postgres' },
    );
    expect(skipped.code, skipped.stdout + skipped.stderr).toBe(0);
    expect(skipped.stdout).toMatch(/::warning::secret\.key cannot be read \(EACCES\): skipped/);
    expect(
      (await stat(path.join(store, skipped.outputs['backup-key'] ?? ''))).size,
    ).toBeGreaterThan(0);
  });
});
