/**
 * A store that closes the connection part-way through an object's body (a load balancer's idle
 * cut, a store restarting): every mode that reads the object fails in one line naming the object,
 * the store and how far the read came, not with Node's bare `aborted`. It is the store's failure,
 * not the backup's: verify-latest never calls the backup damaged, and with `retries` verify-latest
 * and restore-test run again and pass. The store is s3rver behind the fault proxy; the action runs
 * as the runner runs it.
 *
 * Covers: src/storage/s3-body.ts, src/storage/s3.ts, src/pipeline/read.ts, src/restore/archive.ts,
 * src/history/runs.ts, src/modes/verify-latest.ts, src/verify/parts-check.ts, src/verify/stores.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction, type ActionRun } from '../support/action.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { filesUnder } from '../support/listing.js';
import { freshDatabase } from '../support/db.js';
import { withClient } from '../../scripts/lib/pg-cluster.js';

const KiB = 1024;
/** Where the proxy closes the connection: well inside the object, past its first chunk. */
const CUT = 96 * KiB;
const prefix = `store-cut-${process.pid}-${randomBytes(3).toString('hex')}`;
const storage = `s3://${testS3Bucket()}/${prefix}`;

let proxy: FaultProxy;
let work: string;
let objectKey: string;
let objectSize: number;

const run = (mode: string, inputs: Record<string, string> = {}) =>
  runAction(
    { mode, storage, 's3-endpoint': proxy.endpoint, name: 'site', retries: '0', ...inputs },
    { env: S3_ENV, cwd: work },
  );

beforeAll(async () => {
  proxy = await startFaultProxy(testS3Endpoint());
  work = await mkdtemp(path.join(os.tmpdir(), 'store-cut-'));
  await mkdir(path.join(work, 'site'));
  // Bytes no compression shrinks: the object is as large as the file, far past the cut.
  await writeFile(path.join(work, 'site', 'blob.bin'), randomBytes(512 * KiB));
  const made = await runAction(
    {
      storage,
      's3-endpoint': testS3Endpoint(),
      name: 'site',
      source: 'files',
      paths: 'site',
      compression: 'none',
    },
    { env: S3_ENV, cwd: work },
  );
  expect(made.code, made.stdout + made.stderr).toBe(0);
  objectKey = made.outputs['backup-key']!;
  objectSize = Number(made.outputs['size-bytes']);
  expect(objectSize).toBeGreaterThan(4 * CUT);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.faults = [{ kind: 'cut', afterBytes: CUT, count: 1, match: /^GET .*\.tar(\?|$)/ }];
});

/** The one line that says which object, which store, and how far the read came. */
function expectCutNamed(line: string, object = objectKey, size = objectSize): void {
  const found = /^the store (\S+) closed the connection after (\d+) of (\d+) bytes of (\S+)$/.exec(
    line,
  );
  expect(found, line).not.toBeNull();
  const [, store, got, total, key] = found!;
  expect({ store, total: Number(total), key }).toEqual({
    store: `${storage}/`,
    total: size,
    key: object,
  });
  expect(Number(got)).toBeLessThanOrEqual(CUT);
  expect(proxy.injected).toBeGreaterThan(0);
}

describe('a store that closes the connection mid-body', () => {
  it('verify-latest names the object, the store and the bytes read', async () => {
    const verified = await run('verify-latest');
    expect(verified.code).not.toBe(0);
    expectCutNamed(lastErrorLine(verified));
  });

  it('restore and restore-test name them too; nothing is left in the target', async () => {
    const target = path.join(work, 'restored');
    const restored = await run('restore', { 'target-path': target, confirm: target });
    expect(restored.code).not.toBe(0);
    expectCutNamed(lastErrorLine(restored));
    expect(await filesUnder(target)).toEqual([]);
    proxy.faults = [{ kind: 'cut', afterBytes: CUT, count: 1, match: /^GET .*\.tar(\?|$)/ }];
    const tested = await run('restore-test');
    expect(tested.code).not.toBe(0);
    expectCutNamed(lastErrorLine(tested));
  });
});

/** Two attempts at most, one second apart. */
const RETRY = { retries: '1', 'retry-delay': '1s' };

/** How many attempts a run made: each leaves one record in the set's history. */
const attempts = (run: ActionRun) =>
  run.stdout.split('\n').filter((line) => line.includes('Recorded this run in the set')).length;

/** Nothing the run printed or reported calls the backup damaged. */
const neverDamaged = (run: ActionRun) =>
  expect(`${run.stdout}\n${run.summary}`).not.toMatch(/damaged/i);

/** The next `count` downloads of the backup's object are cut mid-body. */
const cut = (count: number) => {
  proxy.faults = [{ kind: 'cut', afterBytes: CUT, count, match: /^GET .*\.tar/ }];
  proxy.injected = 0;
};

describe('retries: a store that cuts a response once is the store’s failure, tried again', () => {
  const cutLine = (run: ActionRun) =>
    expect(run.stdout).toMatch(
      new RegExp(
        `::warning::the run: attempt 1 of 2 failed \\(connection reset\\): the store ${storage}/ closed the connection after \\d+ of \\d+ bytes of ${objectKey}; trying again in 1 s`,
      ),
    );

  it('verify-latest (deep) tries again and passes; the backup is never called damaged', async () => {
    cut(1);
    const verified = await run('verify-latest', { ...RETRY, deep: 'true' });
    expect(verified.code, verified.stdout).toBe(0);
    expect(proxy.injected).toBe(1);
    cutLine(verified);
    expect(attempts(verified)).toBe(2);
    expect(verified.summary).toContain('| Attempts | 2 (failed before: 1: connection reset) |');
    neverDamaged(verified);
  });

  it('restore-test tries again and passes', async () => {
    cut(1);
    const tested = await run('restore-test', RETRY);
    expect(tested.code, tested.stdout).toBe(0);
    expect(proxy.injected).toBe(1);
    cutLine(tested);
    expect(attempts(tested)).toBe(2);
  });

  it('verify-latest cut on every attempt fails as the store’s failure: unreachable, not damaged', async () => {
    cut(2);
    const verified = await run('verify-latest', { ...RETRY, deep: 'true' });
    expect(verified.code).not.toBe(0);
    expect(proxy.injected).toBe(2);
    expect(verified.outputs.problem).toBe('unreachable');
    expect(verified.stdout).toMatch(
      /::error::the store \S+ closed the connection after \d+ of \d+ bytes of /,
    );
    expect(attempts(verified)).toBe(2);
    neverDamaged(verified);
  });

  it('verify-latest over two stores: a copy cut once is read again, not called damaged', async () => {
    const copyPrefix = `${prefix}-copy`;
    const copied = await runAction(
      {
        mode: 'copy',
        storage,
        's3-endpoint': testS3Endpoint(),
        name: 'site',
        'copy-to': `s3://${testS3Bucket()}/${copyPrefix}`,
      },
      { env: S3_ENV, cwd: work },
    );
    expect(copied.code, copied.stdout).toBe(0);
    proxy.faults = [
      {
        kind: 'cut',
        afterBytes: CUT,
        count: 1,
        match: new RegExp(`^GET /[^/]+/${copyPrefix}/.*\\.tar`),
      },
    ];
    proxy.injected = 0;
    const stores = `${storage}\ns3://${testS3Bucket()}/${copyPrefix}?endpoint=${proxy.endpoint}`;
    const verified = await runAction(
      {
        mode: 'verify-latest',
        storage: stores,
        's3-endpoint': testS3Endpoint(),
        name: 'site',
        deep: 'true',
        ...RETRY,
      },
      { env: S3_ENV, cwd: work },
    );
    expect(verified.code, verified.stdout).toBe(0);
    expect(proxy.injected).toBe(1);
    expect(verified.stdout).toMatch(
      /attempt 1 of 2 failed \(connection reset\): s3:\/\/\S+ cannot be read: the store \S+ closed the connection after/,
    );
    neverDamaged(verified);
  });
});

describe('a database backup’s restore-test, its archive cut mid-download', () => {
  it('names the object, the store and the bytes read', async () => {
    const db = await freshDatabase('store_cut');
    try {
      await withClient(db.url, (client) =>
        client.query(
          `CREATE TABLE filler AS SELECT g AS id, md5(g::text) AS text FROM generate_series(1, 20000) g`,
        ),
      );
      const made = await run('backup', {
        name: 'shop',
        'database-url': db.url,
        compression: 'none',
        's3-endpoint': testS3Endpoint(),
      });
      expect(made.code, made.stdout + made.stderr).toBe(0);
      const size = Number(made.outputs['size-bytes']);
      expect(size).toBeGreaterThan(4 * CUT);
      proxy.faults = [{ kind: 'cut', afterBytes: CUT, count: 1, match: /^GET .*\.dump(\?|$)/ }];
      const tested = await run('restore-test', { name: 'shop', 'database-url': db.url });
      expect(tested.code).not.toBe(0);
      expectCutNamed(lastErrorLine(tested), made.outputs['backup-key'], size);
    } finally {
      await db.drop();
    }
  }, 120_000);
});
