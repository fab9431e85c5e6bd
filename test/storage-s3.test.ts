/**
 * The S3 backend's failure paths that s3rver cannot show (it implements neither
 * ListMultipartUploads nor AbortMultipartUpload): the SDK client is mocked at the storage layer.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Store, s3ClientConfig } from '../src/storage/s3.js';

const s3 = mockClient(S3Client);
const BIG = 20 * 1024 * 1024; // more than one 16 MiB part: a multipart upload

function store(warnings: string[] = []) {
  return new S3Store(new S3Client({ region: 'us-east-1' }), {
    bucket: 'backups',
    prefix: 'prod',
    settings: { storageClass: 'STANDARD_IA' },
    warn: (message) => warnings.push(message),
  });
}

const body = () => Readable.from([Buffer.alloc(BIG, 1)]);

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
    s3.on(HeadObjectCommand).resolves({ ContentLength: BIG });
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

describe('S3-compatible defaults', () => {
  it('uses path-style and checksums only when required with a custom endpoint', () => {
    const config = s3ClientConfig({ endpoint: 'https://acct.r2.cloudflarestorage.com' }, {});
    expect(config).toMatchObject({
      forcePathStyle: true,
      region: 'auto',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it('uses virtual-hosted style and the environment’s region for AWS', () => {
    expect(s3ClientConfig({}, { AWS_REGION: 'eu-west-1' })).toMatchObject({
      forcePathStyle: false,
      region: 'eu-west-1',
    });
  });
});
