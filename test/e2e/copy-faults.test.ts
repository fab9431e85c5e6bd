/**
 * Copies in the field: a connection cut mid-object (a multipart upload of a 20 MiB backup), a
 * SIGTERM half-way, two copy runs at once, a destination holding a foreign, future-dated or torn
 * copy or another object under the backup's key, a source whose manifest points outside its set,
 * cold storage classes, and a backup whose copy-to fails (the backup stays published; best-effort
 * turns it into a warning). The destination is a second S3 server behind the fault proxy, or a
 * folder; nothing half-made is ever published there, and the next copy completes what was cut.
 *
 * Covers: src/copy/backup.ts, src/copy/to-store.ts, src/copy/compare.ts, src/modes/copy.ts,
 * src/modes/backup.ts, src/pipeline/read.ts, src/storage/s3.ts, src/storage/s3-upload.ts,
 * src/copy/check.ts, src/verify/stores.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction, signalOnceShown } from '../support/action.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { forgeBackup, forgeInDirectory } from '../support/forge.js';
import { filesUnder } from '../support/listing.js';
import { startOffsite, type Offsite } from '../support/offsite.js';

const MiB = 1024 * 1024;
let offsite: Offsite;
let proxy: FaultProxy;
let work: string;
let bigId: string;
const prefix = `copy-faults-${process.pid}-${randomBytes(3).toString('hex')}`;
const source = () => `s3://${testS3Bucket()}/${prefix}`;

beforeAll(async () => {
  offsite = await startOffsite();
  proxy = await startFaultProxy(offsite.server.endpoint);
  work = await mkdtemp(path.join(os.tmpdir(), 'copy-faults-'));
  // A files backup of 20 MiB that neither compression nor anything else shrinks: more than two
  // parts of a multipart upload.
  await mkdir(path.join(work, 'site'));
  await writeFile(path.join(work, 'site', 'blob.bin'), randomBytes(20 * MiB));
  const made = await run({ source: 'files', paths: 'site', compression: 'none' }, { cwd: work });
  expect(made.code, made.stdout).toBe(0);
  bigId = made.outputs['backup-id']!;
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await offsite?.stop();
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.faults = [];
});

function run(inputs: Record<string, string>, options: Parameters<typeof runAction>[1] = {}) {
  return runAction(
    { storage: source(), 's3-endpoint': testS3Endpoint(), name: 'site', retries: '0', ...inputs },
    { ...options, env: { ...S3_ENV, ...offsite.env } },
  );
}

const copyTo = (destination: string, inputs: Record<string, string> = {}, options = {}) =>
  run({ mode: 'copy', 'copy-to': destination, ...inputs }, options);

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a copy cut short publishes nothing, and the next completes it', () => {
  it('a connection reset mid-object: no manifest there; the next copy completes it', async () => {
    const destination = offsite.url('cut', proxy.endpoint);
    // Every upload request is cut after 3 MiB, more times than the SDK tries one request.
    proxy.faults = [{ kind: 'reset', afterBytes: 3 * MiB, count: 100, match: /^PUT / }];
    const cut = await copyTo(destination);
    expect(cut.code).not.toBe(0);
    expect(lastErrorLine(cut)).toMatch(/s3:\/\/offsite\/cut: .* was not copied/);
    expect(proxy.injected).toBeGreaterThan(0);
    expect((await offsite.keys('cut')).filter((key) => key.endsWith('.manifest.json'))).toEqual([]);
    proxy.faults = [];
    const next = await copyTo(destination);
    expect(next.code, next.stdout).toBe(0);
    expect(next.outputs.copied).toBe('1');
    const keys = await offsite.keys('cut');
    expect(keys).toEqual([`site/${bigId}.manifest.json`, `site/${bigId}.tar`]);
    const copied = await offsite.read(`cut/site/${bigId}.tar`);
    expect(copied.length).toBeGreaterThan(20 * MiB);
    const manifest = JSON.parse((await offsite.read(`cut/site/${bigId}.manifest.json`)).toString());
    expect(sha(copied)).toBe(manifest.object.sha256);
  });

  it('a SIGTERM half-way: cancelled, nothing published there; the next copy completes it', async () => {
    const destination = offsite.url('sigterm', proxy.endpoint);
    proxy.faults = [{ kind: 'stall', match: /^PUT / }];
    const cancelled = await copyTo(
      destination,
      {},
      {
        onStart: signalOnceShown('copying', 'SIGTERM', 300),
      },
    );
    expect(cancelled.code).not.toBe(0);
    expect(lastErrorLine(cancelled)).toBe('the run was cancelled; nothing was published');
    expect(await offsite.keys('sigterm')).toEqual([]);
    proxy.faults = [];
    const next = await copyTo(destination);
    expect(next.code, next.stdout).toBe(0);
    expect(await offsite.keys('sigterm')).toEqual([
      `site/${bigId}.manifest.json`,
      `site/${bigId}.tar`,
    ]);
  });

  it('two copy runs at once both succeed, and leave one complete copy', async () => {
    const destination = path.join(work, 'twice');
    const [a, b] = await Promise.all([copyTo(destination), copyTo(destination)]);
    expect([a.code, b.code], `${a.stdout}\n${b.stdout}`).toEqual([0, 0]);
    expect(await filesUnder(destination)).toEqual([
      `site/${bigId}.manifest.json`,
      `site/${bigId}.tar`,
    ]);
    const verified = await run({ mode: 'verify-latest', storage: destination });
    expect(verified.code, verified.stdout).toBe(0);
    const again = await copyTo(destination);
    expect(again.outputs.copied).toBe('0');
  });
});

describe('what a destination may already hold under the backup’s keys', () => {
  let manifestText: string;
  beforeAll(async () => {
    const seeded = await copyTo(path.join(work, 'pristine'));
    expect(seeded.code, seeded.stdout).toBe(0);
    manifestText = await readFile(
      path.join(work, 'pristine', `site/${bigId}.manifest.json`),
      'utf8',
    );
  });

  async function destinationWith(label: string, files: Record<string, string | Buffer>) {
    const dir = path.join(work, label);
    await mkdir(path.join(dir, 'site'), { recursive: true });
    for (const [key, body] of Object.entries(files)) await writeFile(path.join(dir, key), body);
    return dir;
  }

  it('a foreign manifest of another size, and another object at the same key: replaced', async () => {
    const foreign = JSON.parse(manifestText) as Record<string, unknown>;
    foreign.tool = { name: 'someone-else', version: '9.9.9-with-a-longer-name' };
    const dir = await destinationWith('foreign', {
      [`site/${bigId}.manifest.json`]: JSON.stringify(foreign),
      [`site/${bigId}.tar`]: randomBytes(1000),
    });
    const copied = await copyTo(dir);
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.outputs.copied).toBe('1');
    expect(copied.summary).toMatch(/its manifest there holds \d+ bytes, the source's \d+/);
    expect(await readFile(path.join(dir, `site/${bigId}.manifest.json`), 'utf8')).toBe(
      manifestText,
    );
    const verified = await run({ mode: 'verify-latest', storage: dir });
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('a leftover without a manifest (another object at the key): replaced', async () => {
    const dir = await destinationWith('leftover', { [`site/${bigId}.tar`]: randomBytes(4096) });
    const copied = await copyTo(dir);
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.summary).toContain('only objects without a manifest there');
    expect(sha(await readFile(path.join(dir, `site/${bigId}.tar`)))).toBe(
      JSON.parse(manifestText).object.sha256,
    );
  });

  it('a future-dated manifest of the same size: verify-latest finds it there, copy-check sha256 replaces it', async () => {
    const future = manifestText.replace(/"completedAt": "\d{4}/, '"completedAt": "2099');
    expect(future.length).toBe(manifestText.length);
    const dir = path.join(work, 'future');
    const seeded = await copyTo(dir);
    expect(seeded.code, seeded.stdout).toBe(0);
    await writeFile(path.join(dir, `site/${bigId}.manifest.json`), future);
    const stores = `${source()}\n${dir}`;
    const found = await run({ mode: 'verify-latest', storage: stores, deep: 'false' });
    expect(found.code).not.toBe(0);
    expect(found.outputs.problem).toBe('missing');
    expect(lastErrorLine(found)).toMatch(/is missing in .*future.*ahead of this machine's clock/);
    // The listing cannot tell two manifests of one size apart; reading them back can.
    expect((await copyTo(dir)).outputs.copied).toBe('0');
    const checked = await copyTo(dir, { 'copy-check': 'sha256' });
    expect(checked.code, checked.stdout).toBe(0);
    expect(checked.summary).toContain('its manifest there differs from the source’s');
    expect(await readFile(path.join(dir, `site/${bigId}.manifest.json`), 'utf8')).toBe(
      manifestText,
    );
    expect((await run({ mode: 'verify-latest', storage: stores, deep: 'false' })).code).toBe(0);
  });
});

describe('a source that is not what it should be', () => {
  it('a manifest whose object lies outside its set is never copied, and named', async () => {
    const from = path.join(work, 'hostile');
    const [good] = await forgeInDirectory(from, 'site', [new Date(Date.now() - 60_000)]);
    const escaping = forgeBackup('site', new Date(Date.now() - 30_000));
    for (const [key, bytes] of escaping.files) {
      const text = key.endsWith('.json')
        ? bytes
            .toString()
            .replace(escaping.forged.objectKey, `site/../outside/${escaping.forged.id}.dump.zst`)
        : bytes;
      await writeFile(path.join(from, key), text);
    }
    await mkdir(path.join(from, 'outside'));
    await writeFile(path.join(from, 'outside', `${escaping.forged.id}.dump.zst`), 'not ours');
    const to = path.join(work, 'hostile-copy');
    const copied = await run({ mode: 'copy', storage: from, 'copy-to': to });
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.stdout).toMatch(
      new RegExp(
        `::warning::1 unusable entry in .*not copied: corrupt manifest site/${escaping.forged.id}.manifest.json: object.key is not this backup’s own key`,
      ),
    );
    expect(await filesUnder(to)).toEqual([good!.manifestKey, good!.objectKey].sort());
  });

  it('an object whose bytes fail their sha256 is not published, and the run fails naming it', async () => {
    const from = path.join(work, 'rotten');
    const [forged] = await forgeInDirectory(from, 'site', [new Date(Date.now() - 60_000)], 5000);
    const object = path.join(from, forged!.objectKey);
    const bytes = await readFile(object);
    bytes.writeUInt8(bytes.readUInt8(10) ^ 0xff, 10);
    await writeFile(object, bytes);
    const to = path.join(work, 'rotten-copy');
    const copied = await run({
      mode: 'copy',
      storage: from,
      'copy-to': to,
      retries: '2',
      'retry-delay': '1s',
    });
    expect(copied.code).not.toBe(0);
    expect(lastErrorLine(copied)).toMatch(
      new RegExp(`${to}: ${forged!.id} was not copied: sha256 of ${forged!.objectKey} is`),
    );
    // A checksum that fails fails the same way every time: not tried again.
    expect(copied.stdout).not.toMatch(/trying again/);
    expect(await filesUnder(to)).toEqual([]);
  });
});

/** What S3 answers a GET of a GLACIER or DEEP_ARCHIVE object not restored: for every object read. */
const archivedGets = () =>
  ({
    kind: 'status',
    status: 403,
    code: 'InvalidObjectState',
    count: 10,
    match: /^GET .*\.tar/,
  }) as const;

describe('cold classes', () => {
  it('a DEEP_ARCHIVE copy writes its objects cold and its manifest readable', async () => {
    proxy.storageClasses.length = 0;
    proxy.requests.length = 0;
    const copied = await copyTo(offsite.url('cold', proxy.endpoint, '&storage-class=DEEP_ARCHIVE'));
    expect(copied.code, copied.stdout).toBe(0);
    const asked = (pattern: RegExp) =>
      proxy.requests.flatMap((request, i) =>
        pattern.test(request) ? [proxy.storageClasses[i]] : [],
      );
    // The object (one PutObject: its size is known) is written cold; the manifest stays in the
    // bucket's default.
    expect(asked(/^PUT \/offsite\/cold\/site\/[^/?]+\.tar(\?|$)/)).toEqual(['DEEP_ARCHIVE']);
    expect(asked(/^PUT \/offsite\/cold\/site\/\S+\.manifest\.json/)).toEqual([undefined]);
  });

  it('verify-latest judges an archived copy by its listing, not damaged, and says a deep check needs a thaw', async () => {
    proxy.faults = [archivedGets()];
    proxy.injected = 0;
    const verified = await run({
      mode: 'verify-latest',
      storage: `${source()}\n${offsite.url('cold', proxy.endpoint)}`,
    });
    expect(verified.code, verified.stdout).toBe(0);
    expect(proxy.injected).toBeGreaterThan(0);
    expect(verified.summary).toMatch(
      /\| s3:\/\/offsite\/cold \| .* \| archived: 1 object\(s\) in an archive class, judged by listing \(present, at their size\); a deep check needs them thawed/,
    );
    expect(verified.stdout).not.toMatch(/damaged/i);
  });

  it('copy-check sha256 leaves an archived copy as it is, judged by its listing', async () => {
    proxy.faults = [archivedGets()];
    proxy.injected = 0;
    proxy.requests.length = 0;
    const again = await copyTo(offsite.url('cold', proxy.endpoint, '&storage-class=DEEP_ARCHIVE'), {
      'copy-check': 'sha256',
    });
    expect(again.code, again.stdout).toBe(0);
    expect(proxy.injected).toBeGreaterThan(0);
    expect(proxy.requests.filter((request) => request.startsWith('PUT '))).toEqual([]);
  });

  it('a restore from an archived copy says it must be thawed first', async () => {
    proxy.faults = [
      { kind: 'status', status: 403, code: 'InvalidObjectState', count: 10, match: /^GET .*\.tar/ },
    ];
    const unreachable = `s3://${testS3Bucket()}/${prefix}?endpoint=http://127.0.0.1:9`;
    const restored = await run({
      mode: 'restore-test',
      storage: `${unreachable}\n${offsite.url('cold', proxy.endpoint)}`,
    });
    expect(restored.code).not.toBe(0);
    expect(lastErrorLine(restored)).toMatch(
      /s3:\/\/offsite\/cold: its copy is archived and must be thawed first: .*archive storage class.*restore-object/,
    );
  });
});

describe('backup with copy-to', () => {
  it('copies the backup it made right after publishing it, and reports each store', async () => {
    const made = await run(
      {
        source: 'files',
        paths: 'site',
        'copy-to': `${offsite.url('with-backup')}\n${path.join(work, 'with-backup')}`,
      },
      { cwd: work },
    );
    expect(made.code, made.stdout).toBe(0);
    const id = made.outputs['backup-id']!;
    expect(made.report?.headline).toMatch(/; copied to 2 of 2 store\(s\)$/);
    expect(made.summary).toMatch(
      /\| s3:\/\/offsite\/with-backup \| 1 \| 0 \| 0 \| 1 \| holds the newest \|/,
    );
    expect(await offsite.keys('with-backup')).toEqual([
      `site/${id}.manifest.json`,
      `site/${id}.tar.zst`,
    ]);
    expect(await filesUnder(path.join(work, 'with-backup'))).toHaveLength(2);
  });

  it('a copy that fails fails the run, tried again on its own; the backup stays published', async () => {
    proxy.faults = [{ kind: 'down', status: 503 }];
    const made = await run(
      {
        source: 'files',
        paths: 'site',
        'copy-to': offsite.url('down', proxy.endpoint),
        retries: '1',
        'retry-delay': '1s',
      },
      { cwd: work },
    );
    expect(made.code).not.toBe(0);
    const id = made.outputs['backup-id'];
    expect(id).toMatch(/^\d{8}T/);
    expect(lastErrorLine(made)).toMatch(
      new RegExp(
        `the backup ${id} is published, but a copy failed: s3://offsite/down: cannot be listed`,
      ),
    );
    expect(made.stdout).toMatch(/copy to s3:\/\/offsite\/down: attempt 1 of 2 failed \(S3 503/);
    // One backup made: the run as a whole was not tried again.
    expect(made.stdout.match(/Backing up /g)).toHaveLength(1);
    const verified = await run({ mode: 'verify-latest', deep: 'false' });
    expect(verified.outputs['latest-id']).toBe(id);
  });

  it('copy-best-effort: a failed copy is a warning, the run succeeds', async () => {
    proxy.faults = [{ kind: 'down', status: 503 }];
    const made = await run(
      {
        source: 'files',
        paths: 'site',
        'copy-to': offsite.url('down', proxy.endpoint),
        'copy-best-effort': 'true',
      },
      { cwd: work },
    );
    expect(made.code, made.stdout).toBe(0);
    expect(made.report?.headline).toMatch(/; copied to 0 of 1 store\(s\)$/);
    expect(made.stdout).toMatch(/::warning::s3:\/\/offsite\/down: cannot be listed/);
  });
});
