/**
 * The S3 client's sockets give back each buffer they read into once Node's HTTP parser has copied
 * it out, so a copy of a large object does not pile up its reads outside V8's heap until the
 * collector runs (docs/benchmarks.md). A read that anyone else also listens to is never touched.
 * Through the real SDK, the store as a run opens it, and s3rver.
 *
 * Covers: src/storage/s3-agent.ts, src/storage/s3.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { S3Store, s3ClientConfig } from '../../src/storage/s3.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';

const MiB = 1024 * 1024;

interface Read {
  chunk: Uint8Array;
  size: number;
}

/**
 * A store whose every socket read is recorded as it arrives (before the agent's own handling);
 * with `listen`, each socket also has a reader of its own besides the HTTP parser, which keeps
 * what it reads.
 */
function watchedStore(listen: boolean) {
  const config = s3ClientConfig(
    {
      endpoint: testS3Endpoint(),
      keys: {
        from: 'AWS',
        accessKeyId: S3_ENV.AWS_ACCESS_KEY_ID,
        secretAccessKey: S3_ENV.AWS_SECRET_ACCESS_KEY,
      },
    },
    {},
    () => undefined,
  );
  const agent = (config.requestHandler as { httpAgent: http.Agent }).httpAgent;
  const reads: Read[] = [];
  const kept: Buffer[] = [];
  const connect = agent.createConnection.bind(agent);
  agent.createConnection = (...args) => {
    const socket = connect(...args)!;
    const push = socket.push.bind(socket);
    socket.push = (chunk: Uint8Array | null, encoding?: BufferEncoding) => {
      if (chunk) reads.push({ chunk, size: chunk.byteLength });
      return push(chunk, encoding);
    };
    if (listen) socket.on('data', (chunk: Buffer) => kept.push(chunk));
    return socket;
  };
  const client = new S3Client(config);
  const store = new S3Store(client, {
    bucket: testS3Bucket(),
    prefix: `agent-tests-${process.pid}`,
    settings: {},
    warn: () => undefined,
  });
  return { store, reads, kept, close: () => client.destroy() };
}

async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const releasedBytes = (reads: readonly Read[]) =>
  reads.filter((read) => read.chunk.byteLength === 0).reduce((sum, read) => sum + read.size, 0);

describe('the S3 client’s sockets', () => {
  it('release each read the HTTP parser alone had; a read someone else listens to stays whole', async () => {
    const bytes = randomBytes(8 * MiB);
    const parsed = watchedStore(false);
    try {
      await parsed.store.put('object', bytes);
      parsed.reads.length = 0;
      expect((await collect(await parsed.store.download('object'))).equals(bytes)).toBe(true);
      // Reads the socket queued (the body's reader was behind) are left to the collector.
      expect(releasedBytes(parsed.reads)).toBeGreaterThan(bytes.length / 2);
    } finally {
      parsed.close();
    }
    const shared = watchedStore(true);
    try {
      expect((await collect(await shared.store.download('object'))).equals(bytes)).toBe(true);
      expect(releasedBytes(shared.reads)).toBe(0);
      // The other reader has every byte of the response: headers, then the whole body.
      expect(Buffer.concat(shared.kept).subarray(-bytes.length).equals(bytes)).toBe(true);
    } finally {
      shared.close();
    }
  });
});
