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
export function partedUpload(
  client: S3Client,
  target: UploadTarget,
  body: Readable,
  options: PartedUploadOptions,
): Promise<void> {
  return new PartedUpload(client, target, body, options).send();
}

class PartedUpload {
  /** Every request of this upload, in flight or between retries, stops when it fails. */
  private readonly stop = new AbortController();
  /**
   * Not stopped with the other requests: a request cut off in flight may still have made the
   * upload, whose id it then never tells.
   */
  private readonly createStop = new AbortController();
  private failure?: { error: unknown };
  /** Part buffers whose request finished, to fill again. */
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private numbered = 0;
  private creating?: Promise<string>;
  private uploadId?: string;
  /** The part being filled, and how much of it is. */
  private current?: Buffer;
  private filled = 0;

  constructor(
    private readonly client: S3Client,
    private readonly target: UploadTarget,
    private readonly body: Readable,
    private readonly options: PartedUploadOptions,
  ) {}

  async send(): Promise<void> {
    const { signal } = this.options;
    const onAbort = () => this.fail(cancelled(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      this.throwIfFailed();
      // A Writable takes the chunks one at a time as they were pushed, with backpressure; iterating
      // the body instead would join what it holds into a fresh buffer, losing the owned chunks in it.
      await pipeline(
        this.body,
        new Writable({
          write: (chunk: Uint8Array, _encoding, done) =>
            void this.take(chunk).then(() => done(), done),
        }),
      );
      // A part may have failed as the body ended.
      this.throwIfFailed();
      await this.finish();
    } catch (error) {
      await this.abandon(error);
      throw this.failure?.error ?? error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The first failure wins; everything still running stops. */
  private readonly fail = (error: unknown): void => {
    this.failure ??= { error };
    this.stop.abort();
    this.body.destroy();
  };

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private get requestOptions() {
    return { abortSignal: this.stop.signal };
  }

  /** Copies the chunk into part buffers, sending each as it fills. */
  private async take(bytes: Uint8Array): Promise<void> {
    const { partSize } = this.options;
    let offset = 0;
    while (offset < bytes.byteLength) {
      if (this.current && this.filled === partSize) {
        await this.flush(this.current);
        this.current = undefined;
        this.filled = 0;
      }
      this.current ??= this.buffer();
      const end = Math.min(bytes.byteLength, offset + partSize - this.filled);
      this.current.set(bytes.subarray(offset, end), this.filled);
      this.filled += end - offset;
      offset = end;
    }
    release(bytes);
  }

  /** Sends a full part, which more bytes follow; returns once a buffer is free to fill. */
  private async flush(full: Buffer): Promise<void> {
    // More bytes follow this part, so they would need a part after it.
    if (this.numbered + 1 >= MAX_PARTS) throw new Error(tooLarge(this.options));
    this.creating ??= startMultipart(this.client, this.target, {
      abortSignal: this.createStop.signal,
    });
    this.uploadId ??= await this.creating;
    // A failure while the upload was being made: its parts must not follow.
    this.throwIfFailed();
    this.sendPart(full, this.uploadId);
    while (this.inFlight.size >= this.options.queueSize) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private buffer(): Buffer {
    const reused = this.free.pop();
    if (reused) return reused;
    this.allocated += 1;
    if (this.allocated > this.options.queueSize + 1) {
      throw new Error('internal error: no part buffer is free');
    }
    // Unsafe: every byte sent is written first. Pages never written never become resident, so a
    // small body costs what it holds, not a whole part.
    return Buffer.allocUnsafeSlow(this.options.partSize);
  }

  private sendPart(bytes: Buffer, UploadId: string): void {
    this.numbered += 1;
    const PartNumber = this.numbered;
    const { Bucket, Key } = this.target;
    const request = this.client
      .send(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId,
          PartNumber,
          Body: bytes,
          ContentLength: bytes.byteLength,
        }),
        this.requestOptions,
      )
      .then(({ ETag }) => {
        if (!ETag) throw new Error(`the store returned no ETag for part ${PartNumber}`);
        this.parts[PartNumber - 1] = { PartNumber, ETag };
        this.free.push(bytes);
      })
      .catch(this.fail)
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  /** The last part: the whole object in one PutObject when it fits in one. */
  private async finish(): Promise<void> {
    const last = this.current?.subarray(0, this.filled) ?? Buffer.alloc(0);
    if (this.uploadId === undefined) {
      await this.client.send(
        new PutObjectCommand({ ...this.target, Body: last, ContentLength: last.byteLength }),
        this.requestOptions,
      );
      return;
    }
    this.sendPart(last, this.uploadId);
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.target.Bucket,
        Key: this.target.Key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
      this.requestOptions,
    );
  }

  /** Stops everything and aborts the multipart upload, once made (or about to be). */
  private async abandon(error: unknown): Promise<void> {
    this.fail(error);
    // Aborted requests settle at once: no part is still on its way when the upload is aborted.
    await Promise.all(this.inFlight);
    this.uploadId ??= this.creating && (await madeWithin(this.creating, this.createStop));
    if (this.uploadId !== undefined) await this.options.abandon(this.uploadId);
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
