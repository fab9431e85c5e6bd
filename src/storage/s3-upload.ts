/**
 * Streams a body to S3 as one PutObject, or as a multipart upload, in part buffers that are
 * allocated once and reused.
 *
 * Not lib-storage's Upload: it copies every part into a fresh buffer (a Buffer.concat of the
 * chunks it gathered) and keeps a view into the previous one, so about four parts are alive at
 * once, and the dead ones pile up outside V8's heap until the collector next runs, which it does
 * only after tens of megabytes of such growth, well above a directory store's peak. Here each
 * chunk is copied into one of (queue size + 1) part buffers and released at once (see
 * ../process/owned.ts), and a buffer is refilled only once the request that sent it has finished,
 * so the upload's memory is those buffers, whatever the size of the body.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatBytes, formatCount } from '../core/format.js';
import { release } from '../process/owned.js';

const MiB = 1024 * 1024;
/**
 * How long a failed or cancelled upload still waits for the request that starts its multipart
 * upload: once the store has made the upload, only its id lets it be aborted.
 */
const CREATE_GRACE_MS = 1000;
/** S3's limit on the parts of one upload. */
export const MAX_PARTS = 10_000;
const MIN_PART = 8 * MiB;
const MAX_PART = 5 * 1024 * MiB;
/** Without an estimate: objects up to 160 GiB, in 48 MiB of buffers. */
const DEFAULT_PART = 16 * MiB;
/**
 * The estimate is the database's size, not the dump's: a dump is usually smaller, but one of
 * data the database keeps compressed, stored with compression off, can be larger.
 */
const HEADROOM = 4;

/**
 * The part size for a body of about `expectedBytes`: room for HEADROOM times that in S3's 10,000
 * parts, in whole MiB, at least 8 MiB (fewer, larger requests) and at most S3's 5 GiB.
 */
export function partSizeFor(expectedBytes?: number): number {
  if (expectedBytes === undefined || !Number.isFinite(expectedBytes) || expectedBytes < 0) {
    return DEFAULT_PART;
  }
  const needed = Math.ceil((expectedBytes * HEADROOM) / MAX_PARTS / MiB) * MiB;
  return Math.min(MAX_PART, Math.max(MIN_PART, needed));
}

/** Where the object goes, with the parameters it is written with. */
export type UploadTarget = Pick<
  PutObjectCommandInput,
  'ContentType' | 'StorageClass' | 'ServerSideEncryption' | 'SSEKMSKeyId'
> & { Bucket: string; Key: string };

export interface PartedUploadOptions {
  /** The key as the caller knows it, for messages. */
  key: string;
  partSize: number;
  /** Parts in flight at most; the upload holds one more buffer, the one filling. */
  queueSize: number;
  /** The estimate the part size came from, for the message when the body outgrows it. */
  expectedBytes?: number;
  signal?: AbortSignal;
  /** Aborts the multipart upload of a failed run; must not throw. */
  abandon: (uploadId: string) => Promise<void>;
}

/**
 * Sends `body` to `target`. On any failure (the body's, a request's, a cancellation) it stops
 * reading the body, aborts the requests in flight and the multipart upload, and rejects with the
 * first error, never with one of its consequences.
 */
export async function partedUpload(
  client: S3Client,
  target: UploadTarget,
  body: Readable,
  options: PartedUploadOptions,
): Promise<void> {
  const { partSize, queueSize } = options;
  // Every request of this upload, in flight or between retries, stops when it fails.
  const stop = new AbortController();
  const send = { abortSignal: stop.signal };
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort();
    body.destroy();
  };
  const throwIfFailed = () => {
    if (failure) throw failure.error;
  };
  const onAbort = () => fail(cancelled(options.signal));

  const free: Buffer[] = [];
  let allocated = 0;
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let numbered = 0;
  let uploadId: string | undefined;
  // Not stopped with the other requests: a request cut off in flight may still have made the
  // upload, whose id it then never tells.
  const createStop = new AbortController();
  let creating: Promise<string> | undefined;

  const sendPart = (bytes: Buffer, PartNumber: number, id: string) => {
    const request = client
      .send(
        new UploadPartCommand({
          Bucket: target.Bucket,
          Key: target.Key,
          UploadId: id,
          PartNumber,
          Body: bytes,
          ContentLength: bytes.byteLength,
        }),
        send,
      )
      .then(({ ETag }) => {
        if (!ETag) throw new Error(`the store returned no ETag for part ${PartNumber}`);
        parts[PartNumber - 1] = { PartNumber, ETag };
        free.push(bytes);
      })
      .catch(fail)
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  /** Sends a full part, which more bytes follow; returns once a buffer is free to fill. */
  const flush = async (full: Buffer) => {
    // More bytes follow this part, so they would need a part after it.
    if (numbered + 1 >= MAX_PARTS) throw new Error(tooLarge(options));
    creating ??= startMultipart(client, target, { abortSignal: createStop.signal });
    uploadId ??= await creating;
    // A failure while the upload was being made: its parts must not follow.
    throwIfFailed();
    numbered += 1;
    sendPart(full, numbered, uploadId);
    while (inFlight.size >= queueSize) await Promise.race(inFlight);
    throwIfFailed();
  };

  const buffer = (): Buffer => {
    const reused = free.pop();
    if (reused) return reused;
    allocated += 1;
    if (allocated > queueSize + 1) throw new Error('internal error: no part buffer is free');
    // Unsafe: every byte sent is written first. Pages never written never become resident, so a
    // small body costs what it holds, not a whole part.
    return Buffer.allocUnsafeSlow(partSize);
  };

  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) onAbort();
    throwIfFailed();
    let current: Buffer | undefined;
    let filled = 0;
    const take = async (bytes: Uint8Array) => {
      let offset = 0;
      while (offset < bytes.byteLength) {
        if (current && filled === partSize) {
          await flush(current);
          current = undefined;
          filled = 0;
        }
        current ??= buffer();
        const end = Math.min(bytes.byteLength, offset + partSize - filled);
        current.set(bytes.subarray(offset, end), filled);
        filled += end - offset;
        offset = end;
      }
      release(bytes);
    };
    // A Writable takes the chunks one at a time as they were pushed, with backpressure; iterating
    // the body instead would join what it holds into a fresh buffer, losing the owned chunks in it.
    await pipeline(
      body,
      new Writable({
        write: (chunk: Uint8Array, _encoding, done) => void take(chunk).then(() => done(), done),
      }),
    );
    // A part may have failed as the body ended.
    throwIfFailed();
    const last = current?.subarray(0, filled) ?? Buffer.alloc(0);
    if (uploadId === undefined) {
      await client.send(
        new PutObjectCommand({ ...target, Body: last, ContentLength: last.byteLength }),
        send,
      );
      return;
    }
    numbered += 1;
    sendPart(last, numbered, uploadId);
    await Promise.all(inFlight);
    throwIfFailed();
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.Bucket,
        Key: target.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      send,
    );
  } catch (error) {
    fail(error);
    // Aborted requests settle at once: no part is still on its way when the upload is aborted.
    await Promise.all(inFlight);
    uploadId ??= creating && (await madeWithin(creating, createStop));
    if (uploadId !== undefined) await options.abandon(uploadId);
    throw failure?.error ?? error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function startMultipart(
  client: S3Client,
  target: UploadTarget,
  send: { abortSignal: AbortSignal },
): Promise<string> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand(target), send);
  if (!UploadId) throw new Error(`the store returned no upload id for ${target.Key}`);
  return UploadId;
}

/** The id of the upload being made, if the store answers within the grace; else stops asking. */
async function madeWithin(
  creating: Promise<string>,
  createStop: AbortController,
): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      createStop.abort();
      resolve(undefined);
    }, CREATE_GRACE_MS);
  });
  try {
    return await Promise.race([creating.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

function cancelled(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('the upload was cancelled');
}

function tooLarge({ key, partSize, expectedBytes }: PartedUploadOptions): string {
  const most = `${formatCount(MAX_PARTS)} parts of ${formatBytes(partSize)} (${formatBytes(partSize * MAX_PARTS)}), the most one upload can hold`;
  return expectedBytes === undefined
    ? `${key} is larger than ${most}`
    : `${key} outgrew the estimate of its size (${formatBytes(expectedBytes)}): it needs more than ${most}`;
}
