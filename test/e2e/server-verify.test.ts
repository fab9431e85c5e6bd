/**
 * verify-latest and retention-prune over real server backups: `databases: all` made by the
 * bundled action from a cluster of this file's own (several databases, one whose name needs
 * quoting and holds non-ASCII characters, roles), then damaged the ways storage rots, and pruned
 * on a directory and on s3rver.
 *
 * Covers: src/kinds/server/verify.ts, src/verify/parts-check.ts, src/modes/retention-prune.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { cp, mkdtemp, readFile, readdir, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerManifest } from '../../src/core/manifest.js';
import type { Store } from '../../src/storage/index.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { lastErrorLine, runAction, type ActionRun } from '../support/action.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { s3StoreAt } from '../support/bucket.js';
import { forgeServerIn } from '../support/forge-server.js';
import { filesUnder } from '../support/listing.js';
import {
  SERVER_DATABASES as DB,
  startServerCluster,
  type ServerCluster,
} from '../support/server-cluster.js';

const HOUR = 3_600_000;

let cluster: ServerCluster;
let work: string;
let identity: string;
let recipient: string;
/** One healthy age-encrypted backup of every database; each damage test damages a copy. */
let healthy: { store: string; id: string; manifest: ServerManifest };

beforeAll(async () => {
  cluster = await startServerCluster();
  work = await mkdtemp(path.join(os.tmpdir(), 'server-verify-'));
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
  const store = path.join(work, 'healthy');
  const run = await backup(store, { 'age-recipients': recipient });
  const manifestKey = `server/${run.outputs['backup-id']}.manifest.json`;
  const manifest = JSON.parse(await readFile(path.join(store, manifestKey), 'utf8'));
  healthy = { store, id: run.outputs['backup-id'] ?? '', manifest: manifest as ServerManifest };
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

async function backup(
  storage: string,
  extra: Record<string, string> = {},
  env?: Record<string, string>,
): Promise<ActionRun> {
  const run = await runAction(
    { storage, name: 'server', 'database-url': cluster.url, databases: 'all', ...extra },
    { env },
  );
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return run;
}

const verify = (store: string, extra: Record<string, string> = {}) =>
  runAction({
    mode: 'verify-latest',
    storage: store,
    name: 'server',
    'age-identity': identity,
    ...extra,
  });

/** A copy of the healthy store, and the stored file of `database` (or the globals) in it. */
async function copyWith(label: string, database?: string) {
  const store = path.join(work, label);
  await cp(healthy.store, store, { recursive: true });
  const record = database
    ? healthy.manifest.databases.find((d) => d.name === database)
    : healthy.manifest.globals;
  if (!record) throw new Error(`no object for ${database ?? 'the globals'}`);
  return { store, key: record.object.key, file: path.join(store, record.object.key) };
}

/** Flips one byte in the middle: same size, so only the sha256 and the layers can tell. */
async function flipMiddle(file: string): Promise<void> {
  const bytes = await readFile(file);
  const at = Math.floor(bytes.length / 2);
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
  await writeFile(file, bytes);
}

const quoted = (name: string) => JSON.stringify(name);
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The summary's row of the databases table that starts with this name. */
const rowOf = (summary: string, name: string) =>
  summary.split('\n').find((line) => line.startsWith(`| ${name} |`)) ?? '';

describe('verify-latest on a server backup', () => {
  it('passes deep with the age identity: every database and the globals read, one row each', async () => {
    const run = await verify(healthy.store);
    expect(run.code, run.stdout).toBe(0);
    const { manifest } = healthy;
    expect(run.outputs['latest-id']).toBe(healthy.id);
    const total = [...manifest.databases.map((d) => d.object), manifest.globals!.object].reduce(
      (sum, o) => sum + o.size,
      0,
    );
    expect(Number(run.outputs['size-bytes'])).toBe(total);
    expect(Number(run.outputs['age-seconds'])).toBeLessThan(600);
    for (const [name, counts] of Object.entries(cluster.rows)) {
      const row = rowOf(run.summary, name);
      expect(row, name).toMatch(/sha256, archive: \d+ entries, [1-9]\d* with table data/);
      const rows = Object.values(counts).reduce((sum, n) => sum + n, 0);
      expect(row).toContain(`| ${Object.keys(counts).length} | ${rows} |`);
    }
    expect(rowOf(run.summary, '(globals)')).toMatch(/sha256, SQL: [4-9] CREATE ROLE/);
    expect(rowOf(run.summary, DB.closed)).toBe('');
    expect(run.stdout).toMatch(/every checksum and archive verified/);
    const logged = run.everything
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(logged).not.toContain(identity);
  });

  it('one database object with a byte flipped fails naming that database and its key, and only it', async () => {
    const { store, key, file } = await copyWith('flipped', DB.crm);
    await flipMiddle(file);
    const run = await verify(store);
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      new RegExp(
        `^database ${escaped(quoted(DB.crm))} \\(${escaped(key)}\\): sha256 of ${escaped(key)} is [0-9a-f]{64}, but its manifest records [0-9a-f]{64}$`,
      ),
    );
    expect(rowOf(run.summary, DB.crm)).toContain('DAMAGED');
    for (const name of [DB.shop, DB.app, '(globals)']) {
      expect(rowOf(run.summary, name), name).toMatch(/\| sha256, /);
    }
    // Its size is right: only a deep read sees the damage.
    expect((await verify(store, { deep: 'false' })).code).toBe(0);
  });

  it('damaged globals fail naming the globals and their key', async () => {
    const { store, key, file } = await copyWith('globals-flipped');
    await flipMiddle(file);
    const run = await verify(store);
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      new RegExp(`^the globals \\(${escaped(key)}\\): sha256 of ${escaped(key)} is`),
    );
  });

  it('a truncated database object is torn: fails naming its key, deep or not', async () => {
    const { store, key, file } = await copyWith('truncated', DB.app);
    await truncate(file, 100);
    for (const deep of ['true', 'false']) {
      const run = await verify(store, { deep });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(
        new RegExp(
          `^torn backup server/${healthy.id}\\.manifest\\.json: its object ${escaped(key)} holds 100 bytes, but its manifest records \\d+`,
        ),
      );
    }
  });

  it('a missing database object is torn: fails naming its key', async () => {
    const { store, key, file } = await copyWith('missing', DB.shop);
    await unlink(file);
    const run = await verify(store, { deep: 'false' });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toContain(`its object ${key} is missing from the store`);
  });

  it('a wrong identity fails once for the key, not once per object', async () => {
    const run = await verify(healthy.store, { 'age-identity': await generateIdentity() });
    expect(run.code).not.toBe(0);
    const last = lastErrorLine(run);
    expect(last).toMatch(/^cannot decrypt the backup: .*age-identity or encryption-passphrase/);
    expect(last.match(/cannot decrypt/g)).toHaveLength(1);
  });
});

/** Every key under `server/` in a store. */
async function keysOf(store: Store): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list('server/')) keys.push(object.key);
  return keys.sort();
}

const prefix = `server-verify-${process.pid}`;
const PLACES = [
  {
    label: 'a directory',
    storage: () => path.join(work, 'prune'),
    env: undefined,
    open: () => new DirectoryStore(path.join(work, 'prune')),
  },
  {
    label: 's3rver',
    storage: () => `s3://${testS3Bucket()}/${prefix}`,
    env: S3_ENV,
    open: () => s3StoreAt(prefix),
  },
];

describe.each(PLACES)('retention-prune of server backups on $label', (place) => {
  const s3 = (): Record<string, string> => (place.env ? { 's3-endpoint': testS3Endpoint() } : {});
  const prune = (extra: Record<string, string>) =>
    runAction(
      { mode: 'retention-prune', storage: place.storage(), name: 'server', ...s3(), ...extra },
      { env: place.env },
    );

  it('keep-last 1 deletes the older backup whole and keeps the newer whole; an old orphan folder is swept', async () => {
    const older = (await backup(place.storage(), s3(), place.env)).outputs['backup-id'] ?? '';
    const newer = (await backup(place.storage(), s3(), place.env)).outputs['backup-id'] ?? '';
    const store = place.open();
    const before = await keysOf(store);
    const newerKeys = before.filter((key) => key.startsWith(`server/${newer}`));
    const olderKeys = before.filter((key) => key.startsWith(`server/${older}`));
    expect(olderKeys.length).toBeGreaterThanOrEqual(5);

    const dry = await prune({ 'keep-last': '1', 'dry-run': 'true' });
    expect(dry.code, dry.stdout).toBe(0);
    for (const key of olderKeys) expect(dry.stdout).toContain(`would delete ${key}`);
    expect(await keysOf(store)).toEqual(before);

    const orphan = await forgeServerIn(store, 'server', new Date(Date.now() - 2 * HOUR), ['shop'], {
      torn: true,
    });
    // The store dates a leftover by when it wrote it, whatever its id says: let a second pass.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const run = await prune({ 'keep-last': '1', 'orphan-grace': '1s' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '1', deleted: '1' });
    const after = await keysOf(store);
    expect(after.filter((key) => key.startsWith(`server/${older}`))).toEqual([]);
    expect(after.filter((key) => key.startsWith(`server/${orphan.id}`))).toEqual([]);
    expect(after).toEqual(newerKeys);
    if (!place.env) {
      const root = path.join(place.storage(), 'server');
      expect((await readdir(root)).sort()).toEqual([newer, `${newer}.manifest.json`]);
      expect(await filesUnder(root)).toHaveLength(newerKeys.length);
    }
    // The newer backup is still whole: it verifies deep.
    const checked = await runAction(
      { mode: 'verify-latest', storage: place.storage(), name: 'server', ...s3() },
      { env: place.env },
    );
    expect(checked.code, checked.stdout).toBe(0);
    expect(checked.outputs['latest-id']).toBe(newer);
  });
});
