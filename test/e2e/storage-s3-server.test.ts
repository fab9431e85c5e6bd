/**
 * Uploads through the real SDK: to s3rver, and to a server that stalls a part forever (as a store
 * does at 3 a.m.), which only a cancellation can end.
 *
 * Covers: src/storage/s3.ts, src/storage/s3-upload.ts.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { own } from '../../src/process/owned.js';
import { S3Store } from '../../src/storage/s3.js';
import { recordingS3Client, s3StoreAt } from '../support/bucket.js';
import { testS3Bucket } from '../support/env.js';

const PART = 100_000;

function storeOn(client: S3Client, warnings: string[] = []): S3Store {
  return s3StoreAt(
    'upload-tests',
    { warn: (message) => warnings.push(message), partSize: PART },
    client,
  );
}

/** Bytes that differ from part to part, so that parts sent out of order would show. */
function pattern(total: number): Buffer {
  const bytes = Buffer.alloc(total);
  for (let i = 0; i < total; i += 1) bytes[i] = (i * 7 + (i >> 11)) % 256;
  return bytes;
}

/** `bytes` in chunks of uneven sizes, none aligned with a part. */
function unevenChunks(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let size = 1;
  for (let start = 0; start < bytes.length; start += size) {
    size = (size * 37 + 4093) % 65_521;
    chunks.push(bytes.subarray(start, start + size));
  }
  return chunks;
}

async function stored(client: S3Client, key: string): Promise<Buffer> {
  const object = await client.send(
    new GetObjectCommand({ Bucket: testS3Bucket(), Key: `upload-tests/${key}` }),
  );
  return Buffer.from(await object.Body!.transformToByteArray());
}

describe('uploads to s3rver', () => {
  it('a body of several parts arrives byte for byte, in one multipart upload', async () => {
    const { client, commands } = recordingS3Client();
    const bytes = pattern(PART * 7 + 12_345);
    const result = await storeOn(client).upload('multi', Readable.from(unevenChunks(bytes)));
    expect(result).toEqual({ size: bytes.length });
    expect((await stored(client, 'multi')).equals(bytes)).toBe(true);
    expect(commands).toEqual([
      'CreateMultipartUploadCommand',
      ...Array<string>(8).fill('UploadPartCommand'),
      'CompleteMultipartUploadCommand',
      'ListObjectsV2Command',
      'GetObjectCommand',
    ]);
  });

  it('a body smaller than one part, even a whole part, is one PutObject', async () => {
    const { client, commands } = recordingS3Client();
    for (const size of [PART - 1, PART]) {
      commands.length = 0;
      const bytes = pattern(size);
      await storeOn(client).upload(`small-${size}`, Readable.from(unevenChunks(bytes)));
      expect((await stored(client, `small-${size}`)).equals(bytes)).toBe(true);
      expect(commands).toEqual(['PutObjectCommand', 'ListObjectsV2Command', 'GetObjectCommand']);
    }
  });

  it('an empty body is an empty object', async () => {
    const { client } = recordingS3Client();
    await expect(storeOn(client).upload('empty', Readable.from([]))).resolves.toEqual({
      size: 0,
    });
    expect(await stored(client, 'empty')).toHaveLength(0);
  });

  it('releases the owned chunks it has copied, and leaves the others alone', async () => {
    const { client } = recordingS3Client();
    const bytes = pattern(PART * 2 + 500);
    const owned = unevenChunks(bytes.subarray(0, PART + 300)).map((chunk) =>
      own(new Uint8Array(chunk)),
    );
    const others = unevenChunks(bytes.subarray(PART + 300)).map((chunk) => Buffer.from(chunk));
    const copies = others.map((chunk) => Buffer.from(chunk));
    // A byte stream holding all of them at once, as a pipeline's last stage does while the store
    // waits: reading it must still take the chunks as they were written, not joined into one.
    const body = new PassThrough({ highWaterMark: bytes.length * 2 });
    for (const chunk of [...owned, ...others]) body.write(chunk);
    body.end();
    await storeOn(client).upload('owned', body);
    expect((await stored(client, 'owned')).equals(bytes)).toBe(true);
    expect(owned.map((chunk) => chunk.byteLength)).toEqual(owned.map(() => 0));
    expect(others.every((chunk, i) => chunk.equals(copies[i]!))).toBe(true);
  });
});

describe('a part that never finishes', () => {
  let server: http.Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** Starts multipart uploads, takes parts in and never answers, accepts aborts. */
  async function stallingStore(): Promise<{ store: S3Store; requests: string[] }> {
    const requests: string[] = [];
    server = http.createServer((request, response) => {
      const line = `${request.method} ${request.url}`;
      requests.push(line);
      request.resume();
      if (/^POST .*\?uploads/.test(line)) {
        response
          .writeHead(200, { 'content-type': 'application/xml' })
          .end(
            `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>` +
              `<Bucket>${testS3Bucket()}</Bucket><Key>k</Key><UploadId>stalled-1</UploadId>` +
              `</InitiateMultipartUploadResult>`,
          );
      } else if (/^DELETE .*uploadId=/.test(line)) {
        response.writeHead(204).end();
      } else if (!/^PUT .*partNumber=/.test(line)) {
        response.writeHead(500).end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const { client } = recordingS3Client(`http://127.0.0.1:${port}`);
    return { store: storeOn(client), requests };
  }

  it('is stopped at once by a cancellation, which aborts the upload by its id', async () => {
    const { store, requests } = await stallingStore();
    const cancel = new AbortController();
    const body = Readable.from(unevenChunks(pattern(PART * 5)));
    const upload = store.upload('stalled', body, { signal: cancel.signal });
    while (!requests.some((line) => line.startsWith('PUT'))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const cancelledAt = Date.now();
    cancel.abort();
    await expect(upload).rejects.toThrow();
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    expect(body.destroyed).toBe(true);
    expect(requests.filter((line) => line.startsWith('DELETE'))).toEqual([
      `DELETE /${testS3Bucket()}/upload-tests/stalled?uploadId=stalled-1&x-id=AbortMultipartUpload`,
    ]);
  });
});
