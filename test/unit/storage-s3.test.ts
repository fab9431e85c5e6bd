/**
 * The S3 backend's failure paths that s3rver cannot show (it implements neither
 * ListMultipartUploads nor AbortMultipartUpload), and the shape of the requests an upload makes:
 * the SDK client is mocked at the storage layer. test/e2e/storage-s3-server.test.ts drives s3rver.
 *
 * Covers: src/storage/s3.ts, src/storage/s3-upload.ts.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type UploadPartCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Store, s3ClientConfig, type S3StoreOptions } from '../../src/storage/s3.js';
import { MAX_PARTS, partSizeFor } from '../../src/storage/s3-upload.js';
import { DeleteRefused } from '../../src/core/store.js';

const s3 = mockClient(S3Client);
const BIG = 20 * 1024 * 1024; // more than one 16 MiB part: a multipart upload

const MiB = 1024 * 1024;

function store(warnings: string[] = [], options: Partial<S3StoreOptions> = {}) {
  return new S3Store(new S3Client({ region: 'us-east-1' }), {
    bucket: 'backups',
    prefix: 'prod',
    settings: { storageClass: 'STANDARD_IA' },
    warn: (message) => warnings.push(message),
    ...options,
  });
}

/** `total` bytes counting up from 0 (mod 251), in chunks of `size`: misaligned with any part. */
function counting(total: number, size: number): { bytes: Buffer; body: () => Readable } {
  const bytes = Buffer.alloc(total);
  for (let i = 0; i < total; i += 1) bytes[i] = i % 251;
  const chunks: Buffer[] = [];
  for (let start = 0; start < total; start += size)
    chunks.push(bytes.subarray(start, start + size));
  return { bytes, body: () => Readable.from(chunks) };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const body = () => Readable.from([Buffer.alloc(BIG, 1)]);

/** The store lists the uploaded key with `size` bytes (it confirms an upload by listing it). */
function listsAs(size: number) {
  s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string }) => ({
    Contents: [{ Key: input.Prefix, Size: size }],
  }));
}

beforeEach(() => {
  s3.reset();
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
  s3.on(ListMultipartUploadsCommand).resolves({
    Uploads: [
      { Key: 'prod/db/x.dump.zst', UploadId: 'up-1', Initiated: new Date() },
      { Key: 'prod/db/other.dump.zst', UploadId: 'up-2', Initiated: new Date() },
    ],
  });
});

describe('S3 uploads', () => {
  it('completes a multipart upload under the prefix with the storage class', async () => {
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    listsAs(BIG);
    await expect(store().upload('db/x.dump.zst', body())).resolves.toEqual({ size: BIG });
    const create = s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input;
    expect(create).toMatchObject({
      Bucket: 'backups',
      Key: 'prod/db/x.dump.zst',
      StorageClass: 'STANDARD_IA',
    });
  });

  it('aborts the multipart upload of that key, and only that key, when a part fails', async () => {
    s3.on(UploadPartCommand).rejects(new Error('503 SlowDown'));
    s3.on(AbortMultipartUploadCommand).resolves({});
    await expect(store().upload('db/x.dump.zst', body())).rejects.toThrow('503 SlowDown');
    const aborts = s3.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input);
    expect(aborts).toEqual([{ Bucket: 'backups', Key: 'prod/db/x.dump.zst', UploadId: 'up-1' }]);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('reports the original failure, and a refused abort only as a warning', async () => {
    s3.on(UploadPartCommand).rejects(new Error('connection reset'));
    s3.on(AbortMultipartUploadCommand).rejects(new Error('NotImplemented'));
    const warnings: string[] = [];
    await expect(store(warnings).upload('db/x.dump.zst', body())).rejects.toThrow(
      'connection reset',
    );
    expect(warnings).toEqual([
      expect.stringMatching(/could not abort the incomplete upload of db\/x\.dump\.zst/),
    ]);
  });

  it('aborts an upload whose making was still on its way when the run was cancelled', async () => {
    // The store makes the upload, but answers only after the cancel: its id still reaches the abort.
    s3.on(CreateMultipartUploadCommand).callsFake(async () => {
      await tick(200);
      return { UploadId: 'up-late' };
    });
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(AbortMultipartUploadCommand).resolves({});
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('the run was cancelled')), 50);
    // A body that gives one part and then nothing, as a stalled pg_dump: only the cancel ends it.
    const slow = new Readable({ read() {} });
    slow.push(Buffer.alloc(BIG, 1));
    await expect(store().upload('db/x.dump.zst', slow, { signal: cancel.signal })).rejects.toThrow(
      'the run was cancelled',
    );
    const aborts = s3.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input);
    expect(aborts).toEqual([{ Bucket: 'backups', Key: 'prod/db/x.dump.zst', UploadId: 'up-late' }]);
    // No part follows an upload made after the cancel.
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(0);
  });

  it('aborts when the source stream fails mid-way (pg_dump died)', async () => {
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(AbortMultipartUploadCommand).resolves({});
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(BIG, 1);
        throw new Error('pg_dump exited with code 1');
      })(),
    );
    await expect(store().upload('db/x.dump.zst', failing)).rejects.toThrow(
      'pg_dump exited with code 1',
    );
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });
});

describe('S3 upload requests', () => {
  it('sends each part of equal size but the last, with its length, and completes them in order', async () => {
    const { bytes, body } = counting(4500, 333);
    const sent: Buffer[] = [];
    s3.on(UploadPartCommand).callsFake(async (input: UploadPartCommandInput) => {
      const part = input.Body as Buffer;
      expect(input.ContentLength).toBe(part.byteLength);
      // A copy: the store refills the buffer once the request is done.
      sent[(input.PartNumber ?? 0) - 1] = Buffer.from(part);
      await tick(Math.random() * 5);
      return { ETag: `"e${input.PartNumber}"` };
    });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    listsAs(4500);
    await store([], { partSize: 1000 }).upload('db/x.dump.zst', body());
    expect(sent.map((part) => part.byteLength)).toEqual([1000, 1000, 1000, 1000, 500]);
    expect(Buffer.concat(sent).equals(bytes)).toBe(true);
    const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete).toMatchObject({ Key: 'prod/db/x.dump.zst', UploadId: 'up-1' });
    expect(complete?.MultipartUpload?.Parts).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })),
    );
  });

  it('ends a body of whole parts with a full part, never an empty one', async () => {
    const { body } = counting(3000, 1000);
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    listsAs(3000);
    await store([], { partSize: 1000 }).upload('db/x.dump.zst', body());
    const sizes = s3
      .commandCalls(UploadPartCommand)
      .map((call) => (call.args[0].input.Body as Buffer).byteLength);
    expect(sizes).toEqual([1000, 1000, 1000]);
  });

  it('keeps at most two parts in flight', async () => {
    const { body } = counting(10_000, 700);
    let inFlight = 0;
    let most = 0;
    s3.on(UploadPartCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await tick(5);
      inFlight -= 1;
      return { ETag: '"e"' };
    });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    listsAs(10_000);
    await store([], { partSize: 1000 }).upload('db/x.dump.zst', body());
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(10);
    expect(most).toBe(2);
  });

  it('sends a body smaller than a part as one PutObject, with the write parameters', async () => {
    s3.on(PutObjectCommand).resolves({});
    listsAs(5);
    const sse = store([], {
      settings: { storageClass: 'STANDARD_IA', sse: 'aws:kms', sseKmsKeyId: 'key-1' },
    });
    await expect(
      sse.upload('db/x.dump.zst', Readable.from([Buffer.from('hello')]), {
        contentType: 'application/zstd',
      }),
    ).resolves.toEqual({ size: 5 });
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Bucket: 'backups',
      Key: 'prod/db/x.dump.zst',
      ContentType: 'application/zstd',
      ContentLength: 5,
      StorageClass: 'STANDARD_IA',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'key-1',
    });
    expect(Buffer.from(put?.Body as Buffer).toString()).toBe('hello');
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('sizes parts from the estimate it is given', async () => {
    // 25 GB × 4 headroom over 10,000 parts: 9.5 MiB, rounded up to 10 MiB.
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    listsAs(12 * MiB);
    await store().upload('db/x.dump.zst', Readable.from([Buffer.alloc(12 * MiB)]), {
      expectedBytes: 25e9,
    });
    const sizes = s3
      .commandCalls(UploadPartCommand)
      .map((call) => (call.args[0].input.Body as Buffer).byteLength);
    expect(sizes).toEqual([10 * MiB, 2 * MiB]);
  });

  it('reports the first failure, not the aborts it causes', async () => {
    s3.on(UploadPartCommand)
      .callsFakeOnce(async () => {
        await tick(30);
        throw new Error('aborted, a consequence');
      })
      .callsFakeOnce(async () => {
        await tick(5);
        throw new Error('503 SlowDown on part 2');
      });
    s3.on(AbortMultipartUploadCommand).resolves({});
    const { body } = counting(5000, 1000);
    await expect(store([], { partSize: 1000 }).upload('db/x.dump.zst', body())).rejects.toThrow(
      '503 SlowDown on part 2',
    );
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('fills S3’s 10,000 parts, and fails clearly before asking for part 10,001', async () => {
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    listsAs(MAX_PARTS * 8);
    s3.on(AbortMultipartUploadCommand).resolves({});
    const tiny = store([], { partSize: 8 });
    await tiny.upload('db/x.dump.zst', Readable.from([Buffer.alloc(MAX_PARTS * 8)]));
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(MAX_PARTS);
    s3.resetHistory();
    const upload = tiny.upload('db/x.dump.zst', Readable.from([Buffer.alloc(MAX_PARTS * 8 + 1)]), {
      expectedBytes: 1000,
    });
    await expect(upload).rejects.toThrow(
      /^db\/x\.dump\.zst outgrew the estimate of its size \(1000 B\): it needs more than 10,000 parts of 8 B/,
    );
    const numbers = s3
      .commandCalls(UploadPartCommand)
      .map((call) => call.args[0].input.PartNumber ?? 0);
    expect(Math.max(...numbers)).toBeLessThan(MAX_PARTS);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('deletes a completed object whose size it cannot read back', async () => {
    s3.on(PutObjectCommand).resolves({});
    s3.on(ListObjectsV2Command).rejects(new Error('connection reset'));
    s3.on(DeleteObjectsCommand).resolves({});
    await expect(
      store().upload('db/x.dump.zst', Readable.from([Buffer.from('x')])),
    ).rejects.toThrow('connection reset');
    expect(s3.commandCalls(DeleteObjectsCommand)[0]?.args[0].input.Delete?.Objects).toEqual([
      { Key: 'prod/db/x.dump.zst' },
    ]);
  });

  it('confirms an upload by its exact key in a listing, never by reading it (a writer may not)', async () => {
    s3.on(PutObjectCommand).resolves({});
    // Only a longer key that starts with the uploaded one is listed: the upload is not confirmed.
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'prod/db/x.dump.zst.old', Size: 1 }],
    });
    s3.on(DeleteObjectsCommand).resolves({});
    await expect(
      store().upload('db/x.dump.zst', Readable.from([Buffer.from('x')])),
    ).rejects.toThrow('does not list it');
    const sent = s3.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(sent).toEqual(['PutObjectCommand', 'ListObjectsV2Command', 'DeleteObjectsCommand']);
  });
});

describe('S3 deletes', () => {
  it('try every batch when the store keeps some keys, then name what it kept', async () => {
    s3.on(DeleteObjectsCommand).callsFake((input: { Delete: { Objects: { Key: string }[] } }) => ({
      Errors: input.Delete.Objects.filter(({ Key }) => Key.endsWith('locked')).map(({ Key }) => ({
        Key,
        Code: 'AccessDenied',
        Message: 'object is WORM protected',
      })),
    }));
    const keys = Array.from({ length: 1500 }, (_, i) => `db/${i}${i % 700 === 0 ? 'locked' : ''}`);
    const refusal = await store()
      .delete(keys)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refusal).toBeInstanceOf(DeleteRefused);
    expect((refusal as DeleteRefused).refused).toEqual(
      ['db/0locked', 'db/700locked', 'db/1400locked'].map((key) => ({
        key,
        reason: 'object is WORM protected',
      })),
    );
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(2);
  });
});

describe('part sizes', () => {
  it('are 16 MiB without an estimate', () => {
    expect(partSizeFor(undefined)).toBe(16 * MiB);
    expect(partSizeFor(Number.NaN)).toBe(16 * MiB);
  });

  it('are 8 MiB at least, and leave room for 4 × the estimate in 10,000 parts', () => {
    expect(partSizeFor(0)).toBe(8 * MiB);
    expect(partSizeFor(1e9)).toBe(8 * MiB);
    const roomIn8MiB = (8 * MiB * MAX_PARTS) / 4;
    expect(partSizeFor(roomIn8MiB)).toBe(8 * MiB);
    expect(partSizeFor(roomIn8MiB + 1)).toBe(9 * MiB);
    expect(partSizeFor(100 * 1024 * MiB)).toBe(41 * MiB);
    for (const estimate of [1e9, 3.3e10, 1e11, 7.77e12]) {
      const size = partSizeFor(estimate);
      expect(size % MiB).toBe(0);
      expect(size * MAX_PARTS).toBeGreaterThanOrEqual(estimate * 4);
    }
  });

  it('are S3’s 5 GiB at most', () => {
    expect(partSizeFor(1e15)).toBe(5 * 1024 * MiB);
  });
});

describe('S3-compatible defaults', () => {
  it('uses path-style and checksums only when required with a custom endpoint', () => {
    const config = s3ClientConfig(
      { endpoint: 'https://acct.r2.cloudflarestorage.com' },
      {},
      () => undefined,
    );
    expect(config).toMatchObject({
      forcePathStyle: true,
      region: 'auto',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it('uses virtual-hosted style and the environment’s region for AWS', () => {
    expect(s3ClientConfig({}, { AWS_REGION: 'eu-west-1' }, () => undefined)).toMatchObject({
      forcePathStyle: false,
      region: 'eu-west-1',
    });
  });
});
