/**
 * One scrypt per passphrase backup (issue 27, item 18): the bundled action backs up a server of
 * three databases with encryption-passphrase into a directory store; each object is encrypted to
 * the backup's own age identity, which is stored once, sealed with the passphrase. Proved with
 * `age` itself (the headers, and `age -d` twice by hand), then every mode over the new object:
 * verify-latest (deep, damaged, missing, wrong passphrase), restore-test, a directory's restore,
 * copy (byte for byte, again, and again once the copy lost it), and retention-prune (with its
 * backup, and as a leftover). Backups made before, whose objects the passphrase opens, are
 * test/e2e/store-v1.test.ts's.
 *
 * Covers: src/pipeline/backup-identity.ts, src/pipeline/publish.ts, src/pipeline/read.ts.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { parseManifest, type ServerManifest } from '../../src/core/manifest.js';
import { readObject } from '../../src/pipeline/read.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { lastErrorLine, runAction, type ActionRun } from '../support/action.js';
import { unwrapByHand } from '../support/by-hand.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';
import { filesUnder } from '../support/listing.js';

const run = promisify(execFile);
const PASSPHRASE = 'one scrypt per backup 4417';
const HOUR = 3_600_000;

let work: string;
let store: string;
let databases: FreshDatabase[];
let backedUp: ActionRun;
let manifest: ServerManifest;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-identity-'));
  store = path.join(work, 'store');
  databases = [];
  for (const rows of [10, 20, 30]) {
    const db = await freshDatabase('bkid');
    databases.push(db);
    await withClient(db.url, (client) =>
      client.query(`CREATE TABLE t AS SELECT g AS id FROM generate_series(1, ${rows}) g`),
    );
  }
  backedUp = await backup(store);
  manifest = await manifestOf(store, backedUp.outputs['backup-id']!);
}, 180_000);

afterAll(async () => {
  for (const db of databases ?? []) await db.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function backup(storage: string): Promise<ActionRun> {
  const done = await runAction({
    storage,
    name: 'srv',
    'database-url': testDatabaseUrl(),
    databases: databases.map((db) => db.name).join('\n'),
    globals: 'false',
    'encryption-passphrase': PASSPHRASE,
  });
  expect(done.code, done.stdout + done.stderr).toBe(0);
  return done;
}

async function manifestOf(at: string, id: string): Promise<ServerManifest> {
  const key = `srv/${id}.manifest.json`;
  return parseManifest(await readFile(path.join(at, key), 'utf8'), key) as ServerManifest;
}

const reading = (mode: string, storage: string, extra: Record<string, string> = {}) =>
  runAction({ mode, storage, name: 'srv', 'encryption-passphrase': PASSPHRASE, ...extra });

/** The stanza lines of an age file's header (`-> X25519 …`, `-> scrypt …`). */
async function stanzas(file: string): Promise<string[]> {
  const bytes = await readFile(file);
  const header = bytes.subarray(0, bytes.indexOf('\n---')).toString('latin1');
  return header.split('\n').filter((line) => line.startsWith('-> '));
}

/** A command as a person types it: age reads a passphrase only from a terminal, which script gives. */
function typed(command: string, cwd: string): void {
  const done = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], {
    cwd,
    input: `${PASSPHRASE}\n`,
    timeout: 120_000,
  });
  expect(done.status, String(done.stdout)).toBe(0);
}

/** The example backup ID of docs/encryption.md, replaced there by a real backup's. */
const DOC_ID = '20261122T031700Z-4f9a2c';

describe('a passphrase backup', () => {
  it('encrypts every object to its own identity; only the identity has a scrypt stanza', async () => {
    const { identity } = manifest;
    expect(identity?.key).toBe(`srv/${manifest.id}.identity.age`);
    const sealed = await readFile(path.join(store, identity!.key));
    expect(sealed.length).toBe(identity!.size);
    expect(createHash('sha256').update(sealed).digest('hex')).toBe(identity!.sha256);
    expect((await stanzas(path.join(store, identity!.key))).map((s) => s.split(' ')[1])).toEqual([
      'scrypt',
    ]);
    expect(manifest.databases).toHaveLength(3);
    for (const { object } of manifest.databases) {
      const found = await stanzas(path.join(store, object.key));
      expect(
        found.map((line) => line.split(' ')[1]),
        object.key,
      ).toEqual(['X25519']);
    }
    expect(await filesUnder(store)).toEqual(
      [
        identity!.key,
        `srv/${manifest.id}.manifest.json`,
        ...manifest.databases.map((d) => d.object.key),
      ].sort(),
    );
    // The identity is nowhere but sealed in its object.
    expect(backedUp.stdout + backedUp.stderr + backedUp.summary).not.toMatch(/AGE-SECRET-KEY-/);
    expect(JSON.stringify(manifest)).not.toMatch(/AGE-SECRET-KEY-|age1/);
  });

  it('opens by hand as docs/encryption.md shows: age -d twice, the passphrase typed once', async () => {
    const at = path.join(work, 'single');
    const made = await runAction({
      storage: at,
      name: 'shop',
      'database-url': databases[0]!.url,
      'encryption-passphrase': PASSPHRASE,
    });
    expect(made.code, made.stdout).toBe(0);
    const page = await readFile('docs/encryption.md', 'utf8');
    const section = page.split('\n## age\n')[1]?.split('\n## ')[0] ?? '';
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    expect(blocks).toHaveLength(1);
    await writeFile(
      path.join(at, 'by-hand.sh'),
      blocks[0]!.replaceAll(DOC_ID, made.outputs['backup-id']!),
    );
    typed('sh -e by-hand.sh', at);
    const { stdout } = await run('pg_restore', ['--list', path.join(at, 'shop.dump')]);
    expect(stdout).toContain('TABLE DATA public t');
  });

  // Found by the hostile review: the age program took the identity's recipient as an argument,
  // which any local user reads in /proc/PID/cmdline, and with it forges a backup that passes
  // for the passphrase holder's.
  it('never hands its recipient to a program: the age program on PATH is not run', async () => {
    const at = path.join(work, 'spied');
    const bin = path.join(work, 'spy-bin');
    const calls = path.join(work, 'age-calls');
    await mkdir(bin, { recursive: true });
    const real = spawnSync('sh', ['-c', 'command -v age'], { encoding: 'utf8' }).stdout.trim();
    expect(real).not.toBe('');
    await writeFile(
      path.join(bin, 'age'),
      `#!/bin/sh\necho "$@" >> ${JSON.stringify(calls)}\nexec ${JSON.stringify(real)} "$@"\n`,
      { mode: 0o755 },
    );
    const made = await runAction(
      {
        storage: at,
        name: 'shop',
        'database-url': databases[0]!.url,
        'encryption-passphrase': PASSPHRASE,
      },
      { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } },
    );
    expect(made.code, made.stdout).toBe(0);
    await expect(readFile(calls, 'utf8')).rejects.toThrow(/ENOENT/);
    const tested = await runAction({
      mode: 'restore-test',
      storage: at,
      name: 'shop',
      'encryption-passphrase': PASSPHRASE,
      'database-url': testDatabaseUrl(),
    });
    expect(tested.code, tested.stdout).toBe(0);
  });

  it("a server backup's object opens with the identity age -d gave", async () => {
    const dir = await mkdtemp(path.join(work, 'by-hand-'));
    typed(`age -d -o backup.key ${path.join(store, manifest.identity!.key)}`, dir);
    const identity = (await readFile(path.join(dir, 'backup.key'), 'utf8')).trim();
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    const shop = manifest.databases[0]!;
    const archive = await unwrapByHand(path.join(store, shop.object.key), dir, { identity });
    const { stdout } = await run('pg_restore', ['--list', archive]);
    expect(stdout).toContain('TABLE DATA public t');
  });

  it('is read with one opening of its identity, however many objects are read', async () => {
    const directory = new DirectoryStore(store);
    let identityReads = 0;
    const counting = Object.create(directory) as DirectoryStore;
    counting.read = (key, maxBytes) => {
      if (key === manifest.identity!.key) identityReads += 1;
      return directory.read(key, maxBytes);
    };
    const keys = { identities: [], passphrase: PASSPHRASE };
    for (const { object } of manifest.databases) {
      const bytes = await readObject(counting, object, manifest, keys, drain);
      expect(bytes).toBeGreaterThan(0);
    }
    expect(identityReads).toBe(1);
    // A second run (its own keys) opens it again: nothing is kept beyond the run.
    await readObject(counting, manifest.databases[0]!.object, manifest, { ...keys }, drain);
    expect(identityReads).toBe(2);
  });

  it('verify-latest (deep) opens it once, names it, and reads every object', async () => {
    const verified = await reading('verify-latest', store);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.summary).toContain(
      `${manifest.identity!.key}: sha256 matches, opened with encryption-passphrase`,
    );
  }, 180_000);

  it('restore-test restores every database through it, or with it alone given as age-identity', async () => {
    const tested = await reading('restore-test', store, { 'database-url': testDatabaseUrl() });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['restored-tables']).toBe('3');
    const dir = await mkdtemp(path.join(work, 'identity-'));
    typed(`age -d -o backup.key ${path.join(store, manifest.identity!.key)}`, dir);
    const withKey = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'srv',
      'database-url': testDatabaseUrl(),
      'age-identity': await readFile(path.join(dir, 'backup.key'), 'utf8'),
    });
    expect(withKey.code, withKey.stdout).toBe(0);
    expect(withKey.outputs['restored-tables']).toBe('3');
  }, 300_000);
});

describe('the identity, damaged or gone', () => {
  const damagedCopy = async (label: string) => {
    const at = path.join(work, label);
    await cp(store, at, { recursive: true });
    return { at, file: path.join(at, manifest.identity!.key) };
  };

  it('a byte changed: the deep check fails naming the identity by its sha256', async () => {
    const { at, file } = await damagedCopy('flipped');
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(100) ^ 0xff, 100);
    await writeFile(file, bytes);
    const verified = await reading('verify-latest', at);
    expect(verified.code).toBe(1);
    expect(verified.outputs.problem).toBe('damaged');
    expect(lastErrorLine(verified)).toContain(
      `sha256 of ${manifest.identity!.key} is ${createHash('sha256').update(bytes).digest('hex')}, but its manifest records ${manifest.identity!.sha256}`,
    );
  });

  it('deleted: the backup is torn, even without a deep check', async () => {
    const { at, file } = await damagedCopy('deleted');
    await unlink(file);
    const verified = await reading('verify-latest', at, { deep: 'false' });
    expect(verified.code).toBe(1);
    expect(lastErrorLine(verified)).toContain(
      `torn backup srv/${manifest.id}.manifest.json: its object ${manifest.identity!.key} is missing from the store`,
    );
  });

  it('another passphrase fails in one line naming the identity and encryption-passphrase', async () => {
    const verified = await reading('verify-latest', store, {
      'encryption-passphrase': 'not the one',
    });
    expect(verified.code).toBe(1);
    expect(lastErrorLine(verified)).toMatch(
      new RegExp(
        `cannot decrypt the backup's identity ${manifest.identity!.key}: .*encryption-passphrase`,
      ),
    );
  });
});

describe('copy and retention-prune', () => {
  it('copy takes the identity byte for byte, leaves an equal copy alone, and mends one without it', async () => {
    const copyTo = path.join(work, 'copy');
    const copy = () => runAction({ mode: 'copy', storage: store, name: 'srv', 'copy-to': copyTo });
    const first = await copy();
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs.copied).toBe('1');
    const key = manifest.identity!.key;
    expect(await readFile(path.join(copyTo, key))).toEqual(await readFile(path.join(store, key)));
    const again = await copy();
    expect(again.outputs.copied).toBe('0');
    await unlink(path.join(copyTo, key));
    const mended = await copy();
    expect(mended.outputs.copied).toBe('1');
    expect(mended.stdout).toContain(`${key} is missing there`);
    const backupFiles = async (at: string) =>
      (await filesUnder(at)).filter((file) => !file.startsWith('srv/history/'));
    expect(await backupFiles(copyTo)).toEqual(await backupFiles(store));
    const verified = await reading('verify-latest', copyTo);
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('retention-prune deletes it with its backup, and sweeps one left by a failed run', async () => {
    const at = path.join(work, 'pruned');
    await cp(store, at, { recursive: true });
    const newer = await backup(at);
    // A failed run's identity, with no manifest, last written before the grace.
    const leftover = `srv/20250101T000000Z-0a0b0c.identity.age`;
    await writeFile(path.join(at, leftover), await readFile(path.join(at, manifest.identity!.key)));
    const old = new Date(Date.now() - 48 * HOUR);
    await utimes(path.join(at, leftover), old, old);
    const pruned = await runAction({
      mode: 'retention-prune',
      storage: at,
      name: 'srv',
      'keep-last': '1',
    });
    expect(pruned.code, pruned.stdout).toBe(0);
    const id = newer.outputs['backup-id']!;
    const kept = await manifestOf(at, id);
    expect(await filesUnder(at)).toEqual(
      [
        `srv/${id}.identity.age`,
        `srv/${id}.manifest.json`,
        ...kept.databases.map((d) => d.object.key),
      ].sort(),
    );
    expect(pruned.summary).toMatch(/Leftovers of failed runs \| 1 object\(s\)/);
  });
});

describe('a directory tree with a passphrase', () => {
  it('restores through its identity', async () => {
    const source = path.join(work, 'tree');
    await mkdir(path.join(source, 'docs'), { recursive: true });
    await writeFile(path.join(source, 'docs', 'a.txt'), 'through the identity\n');
    const at = path.join(work, 'files-store');
    const made = await runAction(
      {
        source: 'files',
        paths: '.',
        storage: at,
        name: 'site',
        'encryption-passphrase': PASSPHRASE,
      },
      { cwd: source },
    );
    expect(made.code, made.stdout).toBe(0);
    expect(await filesUnder(at)).toContain(`site/${made.outputs['backup-id']}.identity.age`);
    const target = path.join(work, 'restored');
    const restored = await runAction({
      mode: 'restore',
      storage: at,
      name: 'site',
      'encryption-passphrase': PASSPHRASE,
      'target-path': target,
      confirm: target,
    });
    expect(restored.code, restored.stdout).toBe(0);
    expect(await readFile(path.join(target, 'docs', 'a.txt'), 'utf8')).toBe(
      'through the identity\n',
    );
  });
});

/** Reads an archive to its end; resolves with its byte count. */
async function drain(archive: NodeJS.ReadableStream): Promise<number> {
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    });
    archive.on('error', reject);
    sink.on('finish', resolve);
    archive.pipe(sink);
  });
  return bytes;
}
