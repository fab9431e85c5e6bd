/**
 * S3 and S3-compatible stores (R2, B2, MinIO, Ceph). Uploads stream through part buffers of a
 * fixed size (./s3-upload.ts); on any failure the upload is aborted, and a store that refuses the
 * abort gets a warning, not a second failure (retention-prune's orphan sweep removes the leftover).
 * A backup needs only s3:PutObject, s3:AbortMultipartUpload and s3:ListBucket: it never reads an
 * object back (HeadObject needs s3:GetObject), so a writer's credentials cannot read old backups.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { errorMessage } from '../core/errors.js';
import type { S3Settings } from '../core/settings.js';
import { partedUpload, partSizeFor } from './s3-upload.js';
import {
  ArchivedObject,
  DeleteRefused,
  readUpTo,
  type RefusedKey,
  type IncompleteUpload,
  type Store,
  type StoredObject,
  type UploadOptions,
} from '../core/store.js';

/** Two parts in flight keep up with what one compressor produces; each more costs a part. */
const QUEUE_SIZE = 2;
const DELETE_BATCH = 1000;

export function s3ClientConfig(settings: S3Settings, env: NodeJS.ProcessEnv): S3ClientConfig {
  const custom = settings.endpoint !== undefined;
  return {
    endpoint: settings.endpoint,
    region:
      settings.region ??
      env.AWS_REGION ??
      env.AWS_DEFAULT_REGION ??
      (custom ? 'auto' : 'us-east-1'),
    // S3-compatible stores need path-style addressing and reject the SDK's default checksums.
    forcePathStyle: settings.forcePathStyle ?? custom,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
    // A store that stalls must fail the run in bounded time: an idle socket is an error, retried.
    requestHandler: {
      connectionTimeout: settings.timeoutMs ?? 60_000,
      socketTimeout: settings.timeoutMs ?? 60_000,
    },
  };
}

export interface S3StoreOptions {
  bucket: string;
  prefix: string;
  settings: S3Settings;
  warn: (message: string) => void;
  /** For tests: a part size instead of the one chosen from the body's estimated size. */
  partSize?: number;
  /** For tests: parts in flight at most (2: enough to keep up with one compressor). */
  queueSize?: number;
}

export class S3Store implements Store {
  private readonly root: string;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3StoreOptions,
  ) {
    this.root = options.prefix === '' ? '' : `${options.prefix}/`;
  }

  get description(): string {
    return `s3://${this.options.bucket}/${this.root}`;
  }

  private get bucket(): string {
    return this.options.bucket;
  }

  private writeParams() {
    const { storageClass, sse, sseKmsKeyId } = this.options.settings;
    return {
      StorageClass: storageClass as StorageClass | undefined,
      ServerSideEncryption: sse as ServerSideEncryption | undefined,
      SSEKMSKeyId: sseKmsKeyId,
    };
  }

  async upload(
    key: string,
    body: Readable,
    options: UploadOptions = {},
  ): Promise<{ size: number }> {
    await partedUpload(
      this.client,
      {
        Bucket: this.bucket,
        Key: this.root + key,
        ContentType: options.contentType ?? 'application/octet-stream',
        ...this.writeParams(),
      },
      body,
      {
        key,
        partSize: this.options.partSize ?? partSizeFor(options.expectedBytes),
        queueSize: this.options.queueSize ?? QUEUE_SIZE,
        expectedBytes: options.expectedBytes,
        signal: options.signal,
        abandon: (uploadId) => this.abandon(key, uploadId),
      },
    );
    try {
      // The size as the store lists it (a listing, not a HEAD, which would need read access): the
      // caller compares it with the bytes it hashed.
      const stored = await this.listed(key);
      if (!stored) throw new Error(`the store accepted ${key} but does not list it`);
      return { size: stored.size };
    } catch (error) {
      // The object is complete: nothing may stay under its key when the upload fails.
      await this.delete([key]).catch((failed: unknown) =>
        this.options.warn(leftBehind(key, failed)),
      );
      throw error;
    }
  }

  /** The object under `key` as listed, or undefined; keys that merely start with `key` are skipped. */
  private async listed(key: string): Promise<StoredObject | undefined> {
    for await (const object of this.list(key)) {
      if (object.key === key) return object;
    }
    return undefined;
  }

  /** Aborts a failed multipart upload; a refusal is a warning. */
  private async abandon(key: string, uploadId: string): Promise<void> {
    try {
      await this.abortUpload({ key, uploadId, initiated: new Date() });
    } catch (error) {
      this.options.warn(
        `could not abort the incomplete upload of ${key} (${errorMessage(error)}); retention-prune's sweep aborts it once older than orphan-grace`,
      );
    }
  }

  async put(key: string, body: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.root + key,
        Body: body,
        ContentType: 'application/json',
        ...this.writeParams(),
      }),
    );
  }

  async download(key: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const response = await this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.root + key }), {
        abortSignal: options.signal,
      })
      .catch((error: unknown) => {
        throw archived(error) ? new ArchivedObject(key) : error;
      });
    if (!(response.Body instanceof Readable)) throw new Error(`no body in the response for ${key}`);
    return response.Body;
  }

  /**
   * A probe object would need a delete that the writer's policy lacks (examples/iam/writer.json:
   * put and list under the prefix, no read, no delete). Listing one key under the set's prefix
   * is within it, and proves before the dump that the bucket exists, the credentials are good and
   * the endpoint answers; a write the bucket's policy refuses still leaves nothing behind.
   */
  async checkWritable(prefix: string): Promise<void> {
    await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, MaxKeys: 1 }),
    );
  }

  async read(key: string, maxBytes: number): Promise<Buffer> {
    return readUpTo(await this.download(key), key, maxBytes);
  }

  async stat(key: string, signal?: AbortSignal): Promise<StoredObject | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.root + key }),
        { abortSignal: signal },
      );
      return { key, size: head.ContentLength ?? 0, modified: head.LastModified };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.root + prefix,
          ContinuationToken: token,
        }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key?.startsWith(this.root)) {
          const key = item.Key.slice(this.root.length);
          yield { key, size: item.Size ?? 0, modified: item.LastModified };
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    // Every batch is tried: a key the store keeps (Object Lock) must not stop the others.
    const refused: RefusedKey[] = [];
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((key) => ({ Key: this.root + key })), Quiet: true },
        }),
      );
      const failed = result.Errors ?? [];
      refused.push(
        ...failed.map((error) => ({
          key: (error.Key ?? '?').slice(this.root.length),
          reason: error.Message ?? error.Code ?? 'no reason given',
        })),
      );
    }
    if (refused.length > 0) throw new DeleteRefused(refused);
  }

  async *incompleteUploads(prefix: string): AsyncIterable<IncompleteUpload> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.root + prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key?.startsWith(this.root) && upload.UploadId) {
          yield {
            key: upload.Key.slice(this.root.length),
            uploadId: upload.UploadId,
            initiated: upload.Initiated ?? new Date(0),
          };
        }
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  async abortUpload(upload: IncompleteUpload): Promise<void> {
    await this.client.send(
      new AbortMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.root + upload.key,
        UploadId: upload.uploadId,
      }),
    );
  }
}

function leftBehind(key: string, failed: unknown): string {
  return `could not delete ${key} after a failed upload (${errorMessage(failed)}); retention-prune's orphan sweep removes it once older than orphan-grace`;
}

/** S3's answer to a GET of an object in an archive class (GLACIER, DEEP_ARCHIVE) not restored. */
function archived(error: unknown): boolean {
  return (error as { name?: string }).name === 'InvalidObjectState';
}
