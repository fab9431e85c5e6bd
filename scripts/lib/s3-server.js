// A real S3 protocol server (s3rver) in a child process, for tests, the demo and the benchmark.
//
// AWS SDK v3 talks to it with `s3ClientConfig(endpoint)`: path-style addressing (there is no
// DNS for <bucket>.127.0.0.1), s3rver's fixed credentials S3RVER/S3RVER, region us-east-1,
// and checksums only "when required". With the SDK's default (when supported) a streamed
// PutObject or UploadPart is sent aws-chunked with a checksum trailer, which s3rver does not
// decode, so it would store the chunk framing as the object's bytes.
// s3rver lacks AbortMultipartUpload, ListMultipartUploads, versioning and SSE (see DESIGN.md).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const S3RVER_REGION = 'us-east-1';
export const S3RVER_CREDENTIALS = Object.freeze({
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
});
/** The same credentials as the AWS SDK reads them from the environment of a program it runs. */
export const S3RVER_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
});

const MAIN = fileURLToPath(new URL('./s3-server-main.js', import.meta.url));

/**
 * @typedef {{ accessKeyId: string, secretAccessKey: string }} S3Keys
 * @typedef {{ buckets?: string[], keys?: S3Keys }} StartS3ServerOptions
 * @typedef {{ endpoint: string, port: number, dir: string, stop(): Promise<void> }} S3Server
 */

/**
 * Starts s3rver on 127.0.0.1 on a free port, in a child process, silent, with its data in a
 * new temp folder and the given buckets already created.
 * @param {StartS3ServerOptions} [options]
 * @returns {Promise<S3Server>}
 */
export async function startS3Server({ buckets = [], keys } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const env = keys
    ? { ...process.env, S3RVER_KEYS: `${keys.accessKeyId}:${keys.secretAccessKey}` }
    : process.env;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', MAIN, dir, ...buckets], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env,
  });
  // The server dies with this process (its stdin closes), but its folder would stay behind.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  /** @type {number} */
  let port;
  try {
    port = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
      child.stdout.once('data', (line) => resolve(JSON.parse(String(line)).port));
    });
  } catch (error) {
    child.kill('SIGKILL');
    process.off('exit', removeDir);
    removeDir();
    throw error;
  }
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      process.off('exit', removeDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Settings for `new S3Client(...)` (AWS SDK v3) that work against s3rver.
 * @param {string} endpoint
 * @param {S3Keys} [keys] the server's keys, when it was started with its own
 */
export function s3ClientConfig(endpoint, keys = S3RVER_CREDENTIALS) {
  return {
    endpoint,
    region: S3RVER_REGION,
    forcePathStyle: true,
    credentials: { ...keys },
    requestChecksumCalculation: /** @type {const} */ ('WHEN_REQUIRED'),
    responseChecksumValidation: /** @type {const} */ ('WHEN_REQUIRED'),
  };
}
