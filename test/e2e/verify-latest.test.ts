/**
 * verify-latest end to end: real backups made by the action, then damaged the ways storage rots,
 * and sets of thousands of forged backups. Every failure must exit non-zero with its reason last.
 *
 * Covers: src/modes/verify-latest.ts, src/verify/archive-check.ts, src/verify/rules.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyLatest } from '../../src/modes/verify-latest.js';
import type { VerifySettings } from '../../src/core/settings.js';
import { lastErrorLine as lastError, runAction } from '../support/action.js';
import { countingS3Store, forgeInBucket } from '../support/bucket.js';
import { runContext } from '../support/context.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { forgeBackup, forgeInDirectory } from '../support/forge.js';
import { sampleSource } from '../support/db.js';

const HOUR = 3_600_000;

const sample = sampleSource('verify_src', 300);
let identity: string;
let recipient: string;

beforeAll(async () => {
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
});

function flip(bytes: Buffer, at: number): void {
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
}

/** A real backup into a new directory store; returns the store and the backup's object path. */
async function backupTo(label: string, extra: Record<string, string> = {}) {
  const store = path.join(sample.work, label);
  const run = await runAction({
    storage: store,
    'database-url': sample.db.url,
    name: 'shop',
    ...extra,
  });
  expect(run.code, run.stdout).toBe(0);
  return {
    store,
    object: path.join(store, run.outputs['backup-key'] ?? ''),
    id: run.outputs['backup-id'],
  };
}

const verify = (store: string, extra: Record<string, string> = {}) =>
  runAction({ mode: 'verify-latest', storage: store, name: 'shop', ...extra });

describe('a healthy backup', () => {
  it('verifies deep, with outputs and a summary', async () => {
    const { store, id } = await backupTo('healthy');
    const run = await verify(store);
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['latest-id']).toBe(id);
    expect(Number(run.outputs['age-seconds'])).toBeLessThan(120);
    expect(Number(run.outputs['size-bytes'])).toBeGreaterThan(1000);
    expect(run.summary).toContain('matches every stored byte');
    expect(run.summary).toMatch(/readable: \d+ entries, \d+ with table data/);
    expect(run.summary).toContain(`| ${id} |`);
  });

  it('verifies an age-encrypted backup on S3 with the identity', async () => {
    const prefix = `verify-${process.pid}`;
    const s3 = { storage: `s3://${testS3Bucket()}/${prefix}`, 's3-endpoint': testS3Endpoint() };
    const made = await runAction(
      { ...s3, 'database-url': sample.db.url, name: 'shop', 'age-recipients': recipient },
      { env: S3_ENV },
    );
    expect(made.code, made.stdout).toBe(0);
    const run = await runAction(
      { mode: 'verify-latest', ...s3, name: 'shop', 'age-identity': identity },
      { env: S3_ENV },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['latest-id']).toBe(made.outputs['backup-id']);
    expect(
      run.everything
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain(identity);

    const wrong = await runAction(
      { mode: 'verify-latest', ...s3, name: 'shop', 'age-identity': await generateIdentity() },
      { env: S3_ENV },
    );
    expect(wrong.code).not.toBe(0);
    expect(lastError(wrong)).toMatch(
      /cannot decrypt the backup.*age-identity or encryption-passphrase/,
    );

    const missing = await runAction(
      { mode: 'verify-latest', ...s3, name: 'shop' },
      { env: S3_ENV },
    );
    expect(missing.code).not.toBe(0);
    expect(lastError(missing)).toMatch(
      /encrypted with age; give age-identity or encryption-passphrase/,
    );
  });
});

describe('damage is found and named', () => {
  it('a flipped byte fails deep verification naming the checksum', async () => {
    const { store, object } = await backupTo('flipped');
    const bytes = await readFile(object);
    flip(bytes, Math.floor(bytes.length / 2));
    await writeFile(object, bytes);
    const run = await verify(store);
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(
      /sha256 of shop\/.*\.dump\.zst is [0-9a-f]{64}, but its manifest records/,
    );
    // Without deep, size and freshness still pass: the damage is only visible to a deep read.
    expect((await verify(store, { deep: 'false' })).code).toBe(0);
  });

  it('a flipped byte in an encrypted backup still names the checksum', async () => {
    const { store, object } = await backupTo('flipped-age', { 'age-recipients': recipient });
    const bytes = await readFile(object);
    flip(bytes, bytes.length - 100);
    await writeFile(object, bytes);
    const run = await verify(store, { 'age-identity': identity });
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(
      /sha256 of .*\.dump\.zst\.age is [0-9a-f]{64}, but its manifest records/,
    );
  });

  it('a deleted object fails', async () => {
    const { store, object } = await backupTo('deleted');
    await unlink(object);
    const run = await verify(store);
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(/its object shop\/.*\.dump\.zst is missing from the store/);
  });

  it('a truncated object fails', async () => {
    const { store, object } = await backupTo('truncated');
    await truncate(object, 1000);
    const run = await verify(store, { deep: 'false' });
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(/holds 1000 bytes, but its manifest records \d+/);
  });

  it('an archive that is not a pg_dump archive fails naming the tool', async () => {
    const store = path.join(sample.work, 'garbage');
    await forgeInDirectory(store, 'shop', [new Date()], 4096);
    const run = await verify(store);
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(/not a readable pg_dump archive|decompress|zstd|Unknown frame/i);
  });

  it('a corrupt newest manifest is reported naming its key', async () => {
    const store = path.join(sample.work, 'corrupt');
    const [, newest] = await forgeInDirectory(store, 'shop', [
      new Date(Date.now() - HOUR),
      new Date(),
    ]);
    await writeFile(path.join(store, newest!.manifestKey), '{"version": 1, "id": ');
    const run = await verify(store, { deep: 'false' });
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toBe(`corrupt manifest ${newest!.manifestKey}: not valid JSON`);
  });
});

describe('freshness and size rules', () => {
  it('no backup at all fails', async () => {
    const run = await verify(path.join(sample.work, 'empty'));
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(/no backup of set "shop"/);
  });

  it('a newest backup older than max-age fails, saying how old', async () => {
    const store = path.join(sample.work, 'stale');
    await forgeInDirectory(store, 'shop', [new Date(Date.now() - 30 * HOUR)]);
    const run = await verify(store, { deep: 'false' });
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(/is 1d 6h old, older than max-age 1d 2h/);
    expect((await verify(store, { deep: 'false', 'max-age': '2d' })).code).toBe(0);
  });

  it('a backup that shrank 80% fails; the trend table shows it', async () => {
    const store = path.join(sample.work, 'shrank');
    await forgeInDirectory(store, 'shop', [new Date(Date.now() - 2 * HOUR)], 10_000);
    await forgeInDirectory(store, 'shop', [new Date(Date.now() - HOUR)], 2_000);
    const run = await verify(store, { deep: 'false' });
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(
      /shrank 80% against the previous backup \(9\.8 KiB → 2\.0 KiB\), more than max-shrink 50%/,
    );
    expect(run.summary).toContain('-80.0%');
    expect((await verify(store, { deep: 'false', 'max-shrink': '90%' })).code).toBe(0);
  });

  it('a backup below min-size fails', async () => {
    const store = path.join(sample.work, 'small');
    await forgeInDirectory(store, 'shop', [new Date()], 500);
    const run = await verify(store, { deep: 'false', 'min-size': '1KB' });
    expect(run.code).not.toBe(0);
    expect(lastError(run)).toMatch(/below min-size/);
  });

  it('finds the true newest among thousands of backups, and reports leftovers', async () => {
    const store = path.join(sample.work, 'thousands');
    const start = Date.now() - 5000 * 60_000;
    const times = Array.from({ length: 4000 }, (_, i) => new Date(start + i * 60_000));
    // Written out of order: the listing, not the write order, decides.
    const forged = await forgeInDirectory(store, 'shop', [
      ...times.slice(2000),
      ...times.slice(0, 2000),
    ]);
    const newest = forged[1999]!;
    const leftover = forgeBackup('shop', new Date());
    await writeFile(
      path.join(store, leftover.forged.objectKey),
      leftover.files.get(leftover.forged.objectKey)!,
    );
    const run = await verify(store, { deep: 'false', 'max-age': '7d' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['latest-id']).toBe(newest.id);
    expect(run.stdout).toMatch(/::warning::1 object\(s\) have no manifest/);
    expect(run.summary).toContain('4,000 in all');
  });
});

describe('store requests', () => {
  it('one list request per 1,000 keys and two manifest reads, whatever the set size', async () => {
    const prefix = `requests-${process.pid}`;
    const start = Date.now() - 2000 * 60_000;
    await forgeInBucket(
      prefix,
      'shop',
      Array.from({ length: 1100 }, (_, i) => new Date(start + i * 60_000)),
    );
    const { store, calls } = countingS3Store(prefix);
    const settings = {
      name: 'shop',
      maxAgeMs: 7 * 24 * HOUR,
      maxShrink: 0.5,
      deep: false,
      otherStores: [] as VerifySettings['otherStores'],
      signingPublicKeys: [] as VerifySettings['signingPublicKeys'],
    } as VerifySettings;
    const result = await verifyLatest(settings, runContext(store));
    expect(result.outputs['latest-id']).toMatch(/^\d{8}T/);
    // 2,200 keys: three pages of at most 1,000, then the newest manifest and the one before it
    // (the size rule compares with the previous complete backup).
    expect(calls).toEqual([
      'ListObjectsV2Command',
      'ListObjectsV2Command',
      'ListObjectsV2Command',
      'GetObjectCommand',
      'GetObjectCommand',
    ]);
  });
});
