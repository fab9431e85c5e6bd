/**
 * OpenPGP encryption end to end, with the real gpg and keys made for this file: a backup of each
 * source kind (a database, a server, a directory) encrypted to gpg-recipients by the bundled
 * action, opened by hand with `gpg --decrypt` and the standard tools (docs/encryption.md's by-hand
 * blocks run as written), verified deep, restore-tested and restored with gpg-private-key. A
 * backup encrypted to two keys opens with either, and with a rotating reader's several keys. Every run goes through a gpg that records its arguments and
 * environment, so no key material may reach a process's arguments; after every run, passed,
 * failed or cancelled, its temporary folder holds none of the product's homes and no gpg-agent of
 * them runs, and a home left by a run killed outright is removed by the next. Keys that cannot do
 * their part fail in one line naming the input; every line of gpg-recipients outside an armored
 * key is a key file, none dropped.
 *
 * Covers: src/pipeline/gpg.ts, src/pipeline/gpg-home.ts, src/pipeline/gpg-keys.ts,
 * src/pipeline/seal.ts, src/inputs/crypto.ts, src/process/programs.ts.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableRowCounts, fillSampleDatabase } from '../../scripts/lib/sample-db.js';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { parseManifest, type AnyManifest } from '../../src/core/manifest.js';
import { onPath } from '../../src/process/programs.js';
import { lastErrorLine, runAction, type ActionRun, type RunOptions } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import {
  S3_ENV,
  testDatabaseUrl,
  testS3Bucket,
  testS3ClientConfig,
  testS3Endpoint,
} from '../support/env.js';
import {
  agentsUnder,
  decryptByHand,
  encryptSymmetric,
  homesLeftIn,
  makeTestKeys,
  throwawayHome,
  type TestKey,
  type TestKeys,
} from '../support/gpg.js';

const exec = promisify(execFile);

let keys: TestKeys;
let work: string;
/** A folder whose `gpg` records each run of it, then runs the real one. */
let wrapperDir: string;
let argsLog: string;
let envLog: string;
let slowMark: string;
let waitingMark: string;
let source: FreshDatabase;
const serverDatabases: FreshDatabase[] = [];
let tree: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gpg-test-'));
  keys = await makeTestKeys();
  wrapperDir = path.join(work, 'bin');
  await mkdir(wrapperDir);
  argsLog = path.join(work, 'gpg-args.log');
  envLog = path.join(work, 'gpg-env.log');
  slowMark = path.join(work, 'slow');
  waitingMark = path.join(work, 'waiting');
  const realGpg = await onPath('gpg');
  if (!realGpg) throw new Error('gpg is not on PATH: install gnupg');
  // The slow mark names an operation (--encrypt, --decrypt) that then waits before it starts
  // (its home made, its keys imported), long enough for a test to cancel the run there.
  await writeFile(
    path.join(wrapperDir, 'gpg'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> '${argsLog}'`,
      `env >> '${envLog}'`,
      `slow=$(cat '${slowMark}' 2>/dev/null)`,
      'case " $* " in',
      '  *" $slow "*) if [ -n "$slow" ]; then',
      `    : > '${waitingMark}'`,
      "    trap 'kill $pause; exit 143' TERM",
      '    sleep 60 </dev/null >/dev/null 2>&1 3<&- & pause=$!',
      '    wait $pause',
      '  fi ;;',
      'esac',
      `exec '${realGpg}' "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(path.join(wrapperDir, 'gpg'), 0o755);

  source = await freshDatabase('gpg_src');
  await fillSampleDatabase(source.url, { rows: 300 });
  for (const name of ['gpg_srv_a', 'gpg_srv_b']) {
    const database = await freshDatabase(name);
    await withClient(database.url, async (client) => {
      await client.query('CREATE TABLE items (id int PRIMARY KEY, label text)');
      await client.query(
        `INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, ${name.endsWith('a') ? 70 : 30}) g`,
      );
    });
    serverDatabases.push(database);
  }
  tree = path.join(work, 'tree');
  await mkdir(path.join(tree, 'docs'), { recursive: true });
  await writeFile(path.join(tree, 'docs', 'readme.txt'), 'grüße\n');
  await writeFile(path.join(tree, 'data.bin'), Buffer.alloc(200_000, 9));
}, 120_000);

afterAll(async () => {
  for (const database of [source, ...serverDatabases]) await database?.drop();
  await rm(work, { recursive: true, force: true });
});

/** Runs the action through the recording gpg, in a temporary folder of its own. */
async function run(
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<ActionRun & { tmp: string }> {
  const tmp = options.env?.TMPDIR ?? (await mkdtemp(path.join(work, 'tmp-')));
  const result = await runAction(inputs, {
    ...options,
    env: { PATH: `${wrapperDir}:${process.env.PATH ?? ''}`, TMPDIR: tmp, ...options.env },
  });
  return { ...result, tmp };
}

/**
 * Passed, failed or cancelled: the run left no home of its own behind, and no agent running. An
 * agent told to stop (gpgconf --kill), or whose socket is gone, exits in its own time, which a busy
 * machine stretches: it is given a few seconds.
 */
async function expectCleanedUp(result: { tmp: string }): Promise<void> {
  expect(await homesLeftIn(result.tmp), 'homes left').toEqual([]);
  await expect.poll(() => agentsUnder(result.tmp), { timeout: 5_000, interval: 100 }).toEqual([]);
}

const decrypting = (key: TestKey): Record<string, string> => ({
  'gpg-private-key': key.secret,
  ...(key.passphrase === undefined ? {} : { 'gpg-passphrase': key.passphrase }),
});

async function manifestOf(store: string, made: ActionRun): Promise<AnyManifest> {
  const key = made.outputs['manifest-key'] ?? '';
  return parseManifest(await readFile(path.join(store, key), 'utf8'), key);
}

/** `gpg --decrypt FILE | zstd -d` (or gzip -d), by hand, into a file. */
async function openByHand(file: string, key: TestKey, into: string): Promise<string> {
  const decrypted = await decryptByHand(file, key);
  const compressed = path.join(into, `${path.basename(file)}.decrypted`);
  await writeFile(compressed, decrypted);
  const archive = path.join(into, `${path.basename(file)}.archive`);
  if (file.includes('.zst.')) await exec('zstd', ['-q', '-d', '-f', '-o', archive, compressed]);
  else await exec('sh', ['-c', 'gzip -d -c "$1" > "$2"', 'sh', compressed, archive]);
  return archive;
}

async function pgRestoreList(archive: string): Promise<string> {
  return (await exec('pg_restore', ['--list', archive])).stdout;
}

/** The backup ID in docs/encryption.md's examples, replaced there by a real backup's. */
const EXAMPLE_ID = '20261122T031700Z-4f9a2c';
const backupId = (key: string): string => /\d{8}T\d{6}Z-[0-9a-f]{6}/.exec(key)?.[0] ?? '';

/** A folder holding `objects` under their keys, as a person who downloaded them has them. */
async function laidOut(objects: Record<string, Buffer>): Promise<string> {
  const dir = await mkdtemp(path.join(work, 'downloaded-'));
  for (const [key, bytes] of Object.entries(objects)) {
    await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await writeFile(path.join(dir, key), bytes);
  }
  return dir;
}

/**
 * Runs the `index`th shell block of docs/encryption.md's "Decrypting by hand" in `dir`, as a
 * person would: `key` imported into their own keyring with the page's import command, the page's
 * example names replaced by the real backup's (each must be in the block). Returns its stdout.
 */
async function runAsDocumented(
  index: number,
  dir: string,
  key: TestKey,
  names: Record<string, string>,
): Promise<string> {
  const page = await readFile('docs/encryption.md', 'utf8');
  const section = page.split('\n## Decrypting by hand\n')[1]?.split('\n## ')[0] ?? '';
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  expect(blocks).toHaveLength(3);
  let script = blocks[index] ?? '';
  for (const [example, real] of Object.entries(names)) {
    expect(script).toContain(example);
    script = script.replaceAll(example, real);
  }
  const importing = /`(gpg --import backup-private\.asc)`/.exec(section)?.[1];
  expect(importing).toBeDefined();
  const home = await throwawayHome();
  try {
    const env = { ...process.env, GNUPGHOME: home.dir };
    await writeFile(path.join(dir, 'backup-private.asc'), key.secret);
    await exec('bash', ['-c', importing ?? ''], { cwd: dir, env });
    return (await exec('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir, env })).stdout;
  } finally {
    await home.close();
  }
}

describe('a database backup encrypted with gpg to two keys, one with a passphrase', () => {
  let store: string;
  let made: ActionRun & { tmp: string };

  beforeAll(async () => {
    store = path.join(work, 'db-store');
    made = await run({
      storage: store,
      name: 'shop',
      'database-url': source.url,
      // Two armored blocks, as when a key is being rotated: each key decrypts alone.
      'gpg-recipients': `${keys.protected.public}\n${keys.plain.public}`,
    });
  });

  it('is stored as .dump.zst.gpg, its manifest saying gpg, and leaves nothing behind', async () => {
    expect(made.code, made.stdout).toBe(0);
    expect(made.outputs['backup-key']).toMatch(/^shop\/\d{8}T\d{6}Z-[0-9a-f]{6}\.dump\.zst\.gpg$/);
    expect(await manifestOf(store, made)).toMatchObject({
      encryption: 'gpg',
      compression: 'zstd',
      source: { kind: 'postgres' },
    });
    // pg_dump, zstd and gpg joined by pipes, gpg writing the file itself.
    expect(made.stdout).toMatch(/Compressing with \S*zstd, then encrypting with \S*gpg/);
    await expectCleanedUp(made);
  });

  it('opens by hand: gpg --decrypt | zstd -d | pg_restore --list', async () => {
    const dir = await mkdtemp(path.join(work, 'by-hand-'));
    const archive = await openByHand(
      path.join(store, made.outputs['backup-key'] ?? ''),
      keys.protected,
      dir,
    );
    const listing = await pgRestoreList(archive);
    expect(listing).toMatch(/TABLE DATA sales orders/);
    expect(listing).toMatch(/TABLE DATA public customers/);
  });

  it("opens with the other key as docs/encryption.md's first by-hand block shows", async () => {
    const key = made.outputs['backup-key'] ?? '';
    const dir = await laidOut({ [key]: await readFile(path.join(store, key)) });
    const listing = await runAsDocumented(0, dir, keys.plain, {
      [EXAMPLE_ID]: backupId(key),
    });
    expect(listing).toMatch(/TABLE DATA sales orders/);
    expect(listing).toMatch(/TABLE DATA public customers/);
  });

  it('verifies with either key alone, and with a reader holding old and new keys', async () => {
    const reading = { mode: 'verify-latest', storage: store, name: 'shop' };
    const withOne = await run({ ...reading, ...decrypting(keys.plain) });
    expect(withOne.code, withOne.stdout).toBe(0);
    expect(withOne.stdout).toMatch(/checksum and archive verified/);
    // Rotating from age to gpg: the readers hold a key this backup is not encrypted to, one it
    // is, and the age identity of the backups made before the switch, which they still open.
    const identity = await generateIdentity();
    const ageStore = path.join(work, 'before-the-switch');
    const before = await run({
      storage: ageStore,
      name: 'shop',
      'database-url': source.url,
      'age-recipients': await identityToRecipient(identity),
    });
    expect(before.code, before.stdout).toBe(0);
    const readers = {
      'gpg-private-key': `${keys.other.secret}\n${keys.plain.secret}`,
      'age-identity': identity,
    };
    for (const storage of [store, ageStore]) {
      const rotating = await run({ ...reading, storage, ...readers });
      expect(rotating.code, rotating.stdout).toBe(0);
      expect(rotating.stdout).toMatch(/checksum and archive verified/);
      await expectCleanedUp(rotating);
    }
  });

  it('verifies deep, restore-tests and restores with gpg-private-key and gpg-passphrase', async () => {
    const verified = await run({
      mode: 'verify-latest',
      storage: store,
      name: 'shop',
      ...decrypting(keys.protected),
    });
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/checksum and archive verified/);
    await expectCleanedUp(verified);

    const tested = await run({
      mode: 'restore-test',
      storage: store,
      name: 'shop',
      'database-url': testDatabaseUrl(),
      ...decrypting(keys.protected),
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(Number(tested.outputs['restored-tables'])).toBe(
      Object.keys(await tableRowCounts(source.url)).length,
    );
    await expectCleanedUp(tested);

    const target = await freshDatabase('gpg_target');
    try {
      const restored = await run({
        mode: 'restore',
        storage: store,
        name: 'shop',
        'database-url': target.url,
        confirm: target.name,
        ...decrypting(keys.protected),
      });
      expect(restored.code, restored.stdout).toBe(0);
      expect(restored.summary).toContain('gpg-encrypted');
      expect(await tableRowCounts(target.url)).toEqual(await tableRowCounts(source.url));
      await expectCleanedUp(restored);
    } finally {
      await target.drop();
    }
  });
});

describe('a server backup encrypted with gpg, on S3', () => {
  const prefix = `gpg-server-${process.pid}`;
  const storage = () => `s3://${testS3Bucket()}/${prefix}`;
  const s3 = () => ({ 's3-endpoint': testS3Endpoint() });
  let made: ActionRun & { tmp: string };
  let manifest: AnyManifest;

  beforeAll(async () => {
    made = await run(
      {
        storage: storage(),
        ...s3(),
        name: 'cluster',
        'database-url': testDatabaseUrl(),
        databases: serverDatabases.map((database) => database.name).join('\n'),
        'gpg-recipients': keys.plain.public,
      },
      { env: S3_ENV },
    );
    const key = made.outputs['manifest-key'] ?? '';
    const text = await download(key);
    manifest = parseManifest(text.toString('utf8'), key);
  });

  async function download(key: string): Promise<Buffer> {
    const object = await new S3Client(testS3ClientConfig()).send(
      new GetObjectCommand({ Bucket: testS3Bucket(), Key: `${prefix}/${key}` }),
    );
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  it('stores every database and the globals as .gpg', async () => {
    expect(made.code, made.stdout).toBe(0);
    expect(manifest.encryption).toBe('gpg');
    if (!('databases' in manifest)) throw new Error('not a server backup');
    expect(manifest.databases.map((database) => database.object.key)).toEqual(
      serverDatabases.map((database) =>
        expect.stringMatching(new RegExp(`/${database.name}\\.dump\\.zst\\.gpg$`)),
      ),
    );
    expect(manifest.globals?.object.key).toMatch(/\/globals\.sql\.zst\.gpg$/);
    await expectCleanedUp(made);
  });

  it('opens by hand: each database with pg_restore --list, the globals as SQL', async () => {
    if (!('databases' in manifest)) throw new Error('not a server backup');
    const dir = await mkdtemp(path.join(work, 'by-hand-'));
    for (const database of manifest.databases) {
      const file = path.join(dir, path.basename(database.object.key));
      await writeFile(file, await download(database.object.key));
      expect(await pgRestoreList(await openByHand(file, keys.plain, dir))).toMatch(
        /TABLE DATA public items/,
      );
    }
    const globals = path.join(dir, 'globals.sql.zst.gpg');
    await writeFile(globals, await download(manifest.globals?.object.key ?? ''));
    expect(await readFile(await openByHand(globals, keys.plain, dir), 'utf8')).toMatch(
      /CREATE ROLE/,
    );
  });

  it("opens as docs/encryption.md's second by-hand block shows", async () => {
    if (!('databases' in manifest)) throw new Error('not a server backup');
    const [first] = manifest.databases;
    const globals = manifest.globals?.object.key ?? '';
    const objects: Record<string, Buffer> = { [globals]: await download(globals) };
    if (first) objects[first.object.key] = await download(first.object.key);
    const listing = await runAsDocumented(1, await laidOut(objects), keys.plain, {
      [`db1/${EXAMPLE_ID}/`]: `${path.dirname(globals)}/`,
      '/shop.dump.zst.gpg': `/${path.basename(first?.object.key ?? '')}`,
    });
    expect(listing).toMatch(/TABLE DATA public items/);
  });

  it('verifies deep, restore-tests and restores with gpg-private-key', async () => {
    const reading = { storage: storage(), ...s3(), name: 'cluster', ...decrypting(keys.plain) };
    const verified = await run({ mode: 'verify-latest', ...reading }, { env: S3_ENV });
    expect(verified.code, verified.stdout).toBe(0);
    await expectCleanedUp(verified);

    const tested = await run(
      { mode: 'restore-test', ...reading, 'database-url': testDatabaseUrl() },
      { env: S3_ENV },
    );
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['restored-tables']).toBe('2');
    await expectCleanedUp(tested);

    const targets = serverDatabases.map((database) => `${database.name}_copy`);
    try {
      const restored = await run(
        {
          mode: 'restore',
          ...reading,
          'database-url': testDatabaseUrl(),
          'target-database': serverDatabases
            .map((database, index) => `${database.name}=${targets[index]}`)
            .join('\n'),
          confirm: targets.join('\n'),
        },
        { env: S3_ENV },
      );
      expect(restored.code, restored.stdout).toBe(0);
      for (const [index, database] of serverDatabases.entries()) {
        const copy = new URL(database.url);
        copy.pathname = `/${targets[index]}`;
        expect(await tableRowCounts(copy.toString())).toEqual(await tableRowCounts(database.url));
      }
      await expectCleanedUp(restored);
    } finally {
      await withClient(testDatabaseUrl(), async (client) => {
        for (const target of targets) await client.query(`DROP DATABASE IF EXISTS ${target}`);
      });
    }
  });
});

describe('a files backup encrypted with gpg from a key file, gzip-compressed', () => {
  let store: string;
  let made: ActionRun & { tmp: string };
  let keyFile: string;

  beforeAll(async () => {
    store = path.join(work, 'files-store');
    // A binary key file, as `gpg --export` writes it, named by its path.
    keyFile = path.join(work, 'backups.gpg');
    const home = await mkdtemp(path.join(work, 'export-'));
    await exec('sh', [
      '-c',
      'printf "%s" "$1" | gpg --homedir "$2" --batch --import 2>/dev/null && gpg --homedir "$2" --batch --export > "$3"',
      'sh',
      keys.plain.public,
      home,
      keyFile,
    ]);
    made = await run(
      {
        source: 'files',
        paths: '.',
        storage: store,
        name: 'site',
        compression: 'gzip',
        'gpg-recipients': keyFile,
      },
      { cwd: tree },
    );
  });

  it('is stored as .tar.gz.gpg and opens by hand: gpg --decrypt | gzip -d | tar -t', async () => {
    expect(made.code, made.stdout).toBe(0);
    expect(made.outputs['backup-key']).toMatch(/\.tar\.gz\.gpg$/);
    await expectCleanedUp(made);
    const dir = await mkdtemp(path.join(work, 'by-hand-'));
    const archive = await openByHand(
      path.join(store, made.outputs['backup-key'] ?? ''),
      keys.plain,
      dir,
    );
    const listing = (await exec('tar', ['-t', '-f', archive])).stdout.split('\n');
    expect(listing).toEqual(expect.arrayContaining(['docs/readme.txt', 'data.bin']));
  });

  it('is encrypted to a key file and an armored key given together: each opens it', async () => {
    const mixedStore = path.join(work, 'files-mixed-store');
    const mixed = await run(
      {
        source: 'files',
        paths: '.',
        storage: mixedStore,
        name: 'site',
        'gpg-recipients': `${path.relative(tree, keyFile)}\n${keys.other.public}`,
      },
      { cwd: tree },
    );
    expect(mixed.code, mixed.stdout).toBe(0);
    const file = path.join(mixedStore, mixed.outputs['backup-key'] ?? '');
    for (const key of [keys.plain, keys.other]) {
      const dir = await mkdtemp(path.join(work, 'by-hand-'));
      const archive = await openByHand(file, key, dir);
      expect((await exec('tar', ['-t', '-f', archive])).stdout.split('\n')).toContain('data.bin');
    }
  });

  it("opens zstd-compressed as docs/encryption.md's third by-hand block shows", async () => {
    const zstdStore = path.join(work, 'files-zstd-store');
    const zstdMade = await run(
      {
        source: 'files',
        paths: '.',
        storage: zstdStore,
        name: 'site',
        'gpg-recipients': keys.plain.public,
      },
      { cwd: tree },
    );
    expect(zstdMade.code, zstdMade.stdout).toBe(0);
    const key = zstdMade.outputs['backup-key'] ?? '';
    const dir = await laidOut({ [key]: await readFile(path.join(zstdStore, key)) });
    const listing = await runAsDocumented(2, dir, keys.plain, { [EXAMPLE_ID]: backupId(key) });
    expect(listing.split('\n')).toEqual(expect.arrayContaining(['docs/readme.txt', 'data.bin']));
    expect(await readFile(path.join(dir, 'restored', 'docs', 'readme.txt'), 'utf8')).toBe(
      'grüße\n',
    );
    expect((await stat(path.join(dir, 'restored', 'data.bin'))).size).toBe(200_000);
  });

  it('verifies deep, restore-tests and restores into a folder, byte for byte', async () => {
    const reading = { storage: store, name: 'site', ...decrypting(keys.plain) };
    const verified = await run({ mode: 'verify-latest', ...reading });
    expect(verified.code, verified.stdout).toBe(0);
    await expectCleanedUp(verified);
    const tested = await run({ mode: 'restore-test', ...reading });
    expect(tested.code, tested.stdout).toBe(0);
    await expectCleanedUp(tested);
    const target = path.join(work, 'restored-site');
    const restored = await run({
      mode: 'restore',
      ...reading,
      'target-path': target,
      confirm: target,
    });
    expect(restored.code, restored.stdout).toBe(0);
    expect(await readFile(path.join(target, 'docs', 'readme.txt'), 'utf8')).toBe('grüße\n');
    expect((await stat(path.join(target, 'data.bin'))).size).toBe(200_000);
    await expectCleanedUp(restored);
  });
});

describe('keys that cannot do their part fail in one line naming the input', () => {
  let store: string;

  beforeAll(async () => {
    store = path.join(work, 'refusals');
    const made = await run({
      storage: store,
      name: 'shop',
      'database-url': source.url,
      'gpg-recipients': keys.plain.public,
    });
    expect(made.code, made.stdout).toBe(0);
  });

  const backup = (recipients: string, extra: Record<string, string> = {}) =>
    run({
      storage: path.join(work, 'never'),
      'database-url': source.url,
      'gpg-recipients': recipients,
      ...extra,
    });
  const verify = (extra: Record<string, string>) =>
    run({ mode: 'verify-latest', storage: store, name: 'shop', ...extra });

  it.each([
    [
      'an expired key',
      () => backup(keys.expired.public),
      /^Input "gpg-recipients": key [0-9A-F]{40} \("Expired <expired@example\.com>"\) expired on 2020-12-31; /,
    ],
    [
      'a key that can only sign',
      () => backup(keys.signOnly.public),
      /^Input "gpg-recipients": key [0-9A-F]{40} \("Signer <signer@example\.com>"\) cannot encrypt: it has no encryption subkey/,
    ],
    [
      "a key made ahead of this machine's clock",
      () => backup(keys.future.public),
      /^Input "gpg-recipients": key [0-9A-F]{40}.* was made on \d{4}-\d{2}-\d{2}, later than this machine's clock says it is now \(one of the two clocks is wrong\); /,
    ],
    [
      'a line beside an armored key that names no key file',
      () => backup(`keys/team.asc\n${keys.plain.public}`),
      /^Input "gpg-recipients": \/\S*\/keys\/team\.asc cannot be read \(ENOENT\); every line outside an armored key block must be the path of a file holding public keys$/,
    ],
    [
      'an armored key whose END line is missing, a key file after it',
      () =>
        backup(
          `${keys.plain.public.trimEnd().split('\n').slice(0, -1).join('\n')}\nkeys/other.gpg`,
        ),
      /^Input "gpg-recipients": the armored key block that starts on line 1 has no -----END PGP line before the next block or the end; paste each key whole$/,
    ],
    [
      'only a comment line',
      () => backup('# prod key'),
      /^Input "gpg-recipients": holds no key, only blank or # comment lines; /,
    ],
    [
      "a key's fingerprint instead of the key",
      () => backup(`${keys.plain.public}\n${keys.plain.fingerprint}`),
      /^Input "gpg-recipients": "[0-9A-F]{40}" looks like a key id or fingerprint, which is not accepted /,
    ],
    [
      'a private key given to encrypt to',
      () => backup(keys.plain.secret),
      /^Input "gpg-recipients": holds a private key; /,
    ],
    [
      'gpg and age together',
      () => backup(keys.plain.public, { 'encryption-passphrase': 'a-long-passphrase' }),
      /^Input "gpg-recipients": cannot be combined with encryption-passphrase; /,
    ],
    [
      'a public key where the private key goes (its secret half missing)',
      () => verify({ 'gpg-private-key': keys.plain.public }),
      /^Input "gpg-private-key": holds only a public key, which cannot decrypt; /,
    ],
    [
      "a private key whose encryption subkey's secret is missing",
      () => verify({ 'gpg-private-key': keys.plainStub }),
      /^Input "gpg-private-key": key [0-9A-F]{40} \("Backups <backups@example\.com>"\): the secret of its encryption subkey is missing /,
    ],
    [
      'a private key that can only sign',
      () => verify({ 'gpg-private-key': keys.signOnly.secret }),
      /^Input "gpg-private-key": key [0-9A-F]{40} \("Signer <signer@example\.com>"\) cannot decrypt: it has no encryption subkey/,
    ],
    [
      'a wrong passphrase',
      () =>
        verify({ 'gpg-private-key': keys.protected.secret, 'gpg-passphrase': 'not-the-one-1234' }),
      /^Input "gpg-passphrase": does not unlock gpg-private-key$/,
    ],
    [
      'no passphrase for a protected key',
      () => verify({ 'gpg-private-key': keys.protected.secret }),
      /^Input "gpg-passphrase": is required: gpg-private-key is protected by a passphrase$/,
    ],
    [
      'a private key the backup is not encrypted to',
      () => verify(decrypting(keys.other)),
      /^Input "gpg-private-key": does not hold the secret of OpenPGP key [0-9A-F]{16}, to which the backup is encrypted$/,
    ],
    [
      'no key at all',
      () => verify({}),
      /^Input "gpg-private-key": is required: the backup is encrypted with gpg/,
    ],
  ])('%s', async (_label, attempt, line) => {
    const failed = await attempt();
    expect(failed.code).not.toBe(0);
    expect(lastErrorLine(failed)).toMatch(line);
    await expectCleanedUp(failed);
  });

  it('a machine without gpg: one line naming the input', async () => {
    // PATH with node's folder only: no gpg on it.
    const env = { PATH: path.dirname(process.execPath) };
    const failed = await runAction(
      {
        storage: path.join(work, 'never'),
        'database-url': source.url,
        'gpg-recipients': keys.plain.public,
      },
      { env },
    );
    expect(lastErrorLine(failed)).toBe(
      'Input "gpg-recipients": needs the gpg program, which is not on PATH; install GnuPG (Debian and Ubuntu: apt-get install gnupg)',
    );
  });
});

describe('a file made with gpg --symmetric (AES256) restores with gpg-passphrase alone', () => {
  const passphrase = 'symmetric-pass-7c3d';
  let store: string;

  beforeAll(async () => {
    // A backup without encryption, encrypted by hand afterwards, its manifest written to match.
    store = path.join(work, 'symmetric');
    const made = await run(
      { source: 'files', paths: '.', storage: store, name: 'site' },
      { cwd: tree },
    );
    expect(made.code, made.stdout).toBe(0);
    const manifestKey = made.outputs['manifest-key'] ?? '';
    const manifest = JSON.parse(await readFile(path.join(store, manifestKey), 'utf8'));
    const plainFile = path.join(store, manifest.object.key);
    const sealed = await encryptSymmetric(await readFile(plainFile), passphrase);
    const key = `${manifest.object.key}.gpg`;
    await writeFile(path.join(store, key), sealed);
    await unlink(plainFile);
    manifest.encryption = 'gpg';
    manifest.object = {
      key,
      size: sealed.length,
      sha256: createHash('sha256').update(sealed).digest('hex'),
    };
    await writeFile(path.join(store, manifestKey), JSON.stringify(manifest));
  });

  it('restores it, and a wrong passphrase fails naming gpg-passphrase', async () => {
    const target = path.join(work, 'symmetric-restored');
    const restore = (extra: Record<string, string>) =>
      run({
        mode: 'restore',
        storage: store,
        name: 'site',
        'target-path': target,
        confirm: target,
        ...extra,
      });
    const wrong = await restore({ 'gpg-passphrase': 'not-the-passphrase' });
    expect(lastErrorLine(wrong)).toBe('Input "gpg-passphrase": does not open the backup');
    await expectCleanedUp(wrong);
    const restored = await restore({ 'gpg-passphrase': passphrase });
    expect(restored.code, restored.stdout).toBe(0);
    expect(await readFile(path.join(target, 'docs', 'readme.txt'), 'utf8')).toBe('grüße\n');
    await expectCleanedUp(restored);
  });
});

describe('cancelled', () => {
  /**
   * Runs `inputs`, sending `signal` once gpg is about to `operation`; what the run had made in its
   * temporary folder by then (its homes, its agents) is returned too, so that their absence
   * afterwards means they were removed.
   */
  async function cancelledAt(
    operation: string,
    inputs: Record<string, string>,
    signal: NodeJS.Signals = 'SIGTERM',
  ) {
    await writeFile(slowMark, operation);
    const tmp = await mkdtemp(path.join(work, 'tmp-'));
    const during = { homes: [] as string[], agents: [] as string[] };
    try {
      const cancelled = await run(inputs, {
        env: { TMPDIR: tmp },
        onStart: (child) => {
          const poll = setInterval(() => {
            stat(waitingMark).then(
              async () => {
                clearInterval(poll);
                during.homes = await homesLeftIn(tmp);
                during.agents = await agentsUnder(tmp);
                child.kill(signal);
              },
              () => undefined,
            );
          }, 50);
          child.on('close', () => clearInterval(poll));
        },
      });
      return { ...cancelled, during };
    } finally {
      await rm(slowMark, { force: true });
      await rm(waitingMark, { force: true });
    }
  }

  it('while decrypting: no home and no agent left behind', async () => {
    const cancelled = await cancelledAt('--decrypt', {
      mode: 'verify-latest',
      storage: path.join(work, 'db-store'),
      name: 'shop',
      ...decrypting(keys.protected),
    });
    expect(cancelled.code).not.toBe(0);
    expect(lastErrorLine(cancelled)).toBe('the run was cancelled; nothing was published');
    // The key imported: its home and its agent were there when the signal came.
    expect(cancelled.during.homes).toHaveLength(1);
    expect(cancelled.during.agents).toEqual([
      expect.stringContaining(
        `gpg-agent --homedir ${path.join(cancelled.tmp, cancelled.during.homes[0] ?? '')}`,
      ),
    ]);
    await expectCleanedUp(cancelled);
  });

  it('killed outright while decrypting: the next run removes its home and stops its agent', async () => {
    const reading = {
      mode: 'verify-latest',
      storage: path.join(work, 'db-store'),
      name: 'shop',
      ...decrypting(keys.protected),
    };
    const killed = await cancelledAt('--decrypt', reading, 'SIGKILL');
    expect(killed.code).not.toBe(0);
    expect(killed.during.homes).toHaveLength(1);
    // A process killed so runs no code: its home, the private key in it, and its agent stay.
    const home = path.join(killed.tmp, killed.during.homes[0] ?? '');
    expect(await homesLeftIn(killed.tmp)).toEqual(killed.during.homes);
    expect(await readdir(path.join(home, 'private-keys-v1.d'))).not.toEqual([]);
    expect(await agentsUnder(home)).toHaveLength(1);
    const next = await run(reading, { env: { TMPDIR: killed.tmp } });
    expect(next.code, next.stdout).toBe(0);
    await expectCleanedUp(next);
  });

  // The hostile review's F2: a run in another PID namespace sharing /tmp (a container) had its
  // live home removed, its pid meaning nothing here. Only this namespace's dead runs are judged.
  it("never removes a home made in another PID namespace, whatever its pid; this namespace's dead one goes", async () => {
    const tmp = await mkdtemp(path.join(work, 'ns-'));
    const dead = spawnSync('true').pid;
    const plant = async (name: string, namespace: string) => {
      await mkdir(path.join(tmp, name), { mode: 0o700 });
      await writeFile(path.join(tmp, name, 'owner'), `${dead} 1 ${namespace}\n`);
    };
    await plant('backup-action-gpg-container', 'pid:[1]');
    await plant('backup-action-gpg-here', readlinkSync('/proc/self/ns/pid'));
    const files = path.join(tmp, 'site');
    await mkdir(files);
    await writeFile(path.join(files, 'index.html'), '<p>hello</p>\n');
    const next = await run(
      {
        source: 'files',
        paths: files,
        storage: path.join(tmp, 'store'),
        name: 'site',
        'gpg-recipients': keys.plain.public,
      },
      { env: { TMPDIR: tmp } },
    );
    expect(next.code, next.stdout).toBe(0);
    expect(await homesLeftIn(tmp)).toEqual(['backup-action-gpg-container']);
  });

  it('while encrypting: no home left behind, and nothing stored', async () => {
    const store = path.join(work, 'cancelled-store');
    const cancelled = await cancelledAt('--encrypt', {
      storage: store,
      name: 'shop',
      'database-url': source.url,
      'gpg-recipients': keys.plain.public,
    });
    expect(lastErrorLine(cancelled)).toBe('the run was cancelled; nothing was published');
    expect(cancelled.during.homes).toHaveLength(1);
    expect(await readdir(path.join(store, 'shop')).catch(() => [])).toEqual([]);
    await expectCleanedUp(cancelled);
  });
});

describe("a TMPDIR too deep for gpg-agent's socket", () => {
  it('still decrypts, its homes made in /tmp and removed', async () => {
    const deep = path.join(work, 'd'.repeat(100));
    await mkdir(deep);
    const logged = (await readFile(argsLog, 'utf8')).length;
    const verified = await run(
      {
        mode: 'verify-latest',
        storage: path.join(work, 'db-store'),
        name: 'shop',
        ...decrypting(keys.protected),
      },
      { env: { TMPDIR: deep } },
    );
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/checksum and archive verified/);
    const homes = [
      ...(await readFile(argsLog, 'utf8')).slice(logged).matchAll(/--homedir (\S+)/g),
    ].map((match) => match[1] ?? '');
    expect(homes.length).toBeGreaterThan(0);
    for (const home of new Set(homes)) {
      expect(path.dirname(home)).toBe('/tmp');
      expect(await stat(home).catch(() => 'removed')).toBe('removed');
    }
  });
});

describe('no key material outside the run', () => {
  it('reaches no gpg argument or environment, nor any output of the runs above', async () => {
    // Every run above went through the recording gpg; the suite's guard checked their outputs.
    const args = await readFile(argsLog, 'utf8');
    const env = await readFile(envLog, 'utf8');
    expect(args).toMatch(/--decrypt/);
    expect(args).toMatch(/--passphrase-fd 3/);
    const secrets = [
      keys.protected.passphrase ?? '',
      'symmetric-pass-7c3d',
      ...[keys.plain, keys.protected, keys.other].flatMap((key) =>
        key.secret.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----')),
      ),
    ];
    for (const secret of secrets) {
      expect(args).not.toContain(secret);
      expect(env).not.toContain(secret);
    }
    // Only what a helper program needs reaches gpg: none of the run's inputs or credentials.
    expect(env).not.toMatch(/^INPUT_/m);
    expect(env).not.toMatch(/^AWS_/m);
  });
});
