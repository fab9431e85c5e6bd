// A real S3 protocol server (s3rver) in this process, for tests, the demo and the benchmark.
//
// AWS SDK v3 talks to it with `s3ClientConfig(endpoint)`: path-style addressing (there is no
// DNS for <bucket>.127.0.0.1), s3rver's fixed credentials S3RVER/S3RVER, region us-east-1,
// and checksums only "when required". With the SDK's default (when supported) a streamed
// PutObject or UploadPart is sent aws-chunked with a checksum trailer, which s3rver does not
// decode, so it would store the chunk framing as the object's bytes.
// s3rver lacks AbortMultipartUpload, ListMultipartUploads, versioning and SSE (see DESIGN.md).
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export const S3RVER_REGION = 'us-east-1';
export const S3RVER_CREDENTIALS = Object.freeze({
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
});

/**
 * @typedef {{ buckets?: string[] }} StartS3ServerOptions
 * @typedef {{ endpoint: string, port: number, dir: string, stop(): Promise<void> }} S3Server
 */

/**
 * Starts s3rver on 127.0.0.1 on a free port, silent, with its data in a new temp folder and
 * the given buckets already created.
 * @param {StartS3ServerOptions} [options]
 * @returns {Promise<S3Server>}
 */
export async function startS3Server({ buckets = [] } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  // The server dies with the process, but its folder would stay behind.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0, // the OS picks a free port: no race between choosing and binding
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  /** @type {{ port: number }} */
  let address;
  try {
    address = await server.run();
  } catch (error) {
    process.off('exit', removeDir);
    removeDir();
    throw error;
  }
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      const closed = server.close();
      // The SDK keeps connections alive; close() alone would wait for them.
      server.httpServer.closeAllConnections();
      await closed;
      process.off('exit', removeDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Settings for `new S3Client(...)` (AWS SDK v3) that work against s3rver.
 * @param {string} endpoint
 */
export function s3ClientConfig(endpoint) {
  return {
    endpoint,
    region: S3RVER_REGION,
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
    requestChecksumCalculation: /** @type {const} */ ('WHEN_REQUIRED'),
    responseChecksumValidation: /** @type {const} */ ('WHEN_REQUIRED'),
  };
}
