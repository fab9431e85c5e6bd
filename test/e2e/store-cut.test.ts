/**
 * A store that closes the connection part-way through an object's body (a load balancer's idle
 * cut, a store restarting): every mode that reads the object fails in one line naming the object,
 * the store and how far the read came, not with Node's bare `aborted`. The store is s3rver behind
 * the fault proxy; the action runs as the runner runs it.
 *
 * Covers: src/storage/s3-body.ts, src/storage/s3.ts, src/pipeline/read.ts, src/restore/archive.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction } from '../support/action.js';
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
