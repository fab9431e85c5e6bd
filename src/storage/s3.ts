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
import type { S3Settings, StoreKeys } from '../core/settings.js';
import { releasingAgents } from './s3-agent.js';
import { namedBody } from './s3-body.js';
import { sdkLogger } from './s3-logger.js';
import { partedUpload, partSizeFor, type UploadTarget } from './s3-upload.js';
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

/** Classes whose objects a GET cannot read until they are restored (thawed). */
const ARCHIVE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'];

/** The largest object S3 takes in one PutObject. */
const MAX_PUT = 5 * 1024 ** 3;

/** Two parts in flight keep up with what one compressor produces; each more costs a part. */
const QUEUE_SIZE = 2;
const DELETE_BATCH = 1000;

/** `warn`: where the SDK's warnings go, in our words (./s3-logger.ts). */
export function s3ClientConfig(
  settings: S3Settings,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): S3ClientConfig {
  const custom = settings.endpoint !== undefined;
  const logger = sdkLogger(warn);
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
    logger,
    ...(settings.keys ? { credentials: keysOf(settings.keys) } : {}),
    // A store that stalls must fail the run in bounded time: an idle socket is an error, retried.
    requestHandler: {
      connectionTimeout: settings.timeoutMs ?? 60_000,
      socketTimeout: settings.timeoutMs ?? 60_000,
      ...releasingAgents(),
      // Given here too: the handler falls back to console, not to the client's logger, when the
      // SDK does not pass the client's on (it skips a logger it takes for its no-op one).
      logger,
    },
  };
}

function keysOf({ accessKeyId, secretAccessKey, sessionToken }: StoreKeys) {
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * The role a store names, assumed with its keys (or the default chain's) through STS, renewed
 * before it expires: the SDK's own provider. STS is reached in the store's region (AWS_REGION, or
 * us-east-1 where none is set).
 */
export async function assumedRole(
  settings: S3Settings,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Promise<S3ClientConfig['credentials']> {
  if (settings.roleArn === undefined) return undefined;
  const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
  const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return fromTemporaryCredentials({
    params: { RoleArn: settings.roleArn, RoleSessionName: 'backup-action' },
    ...(settings.keys ? { masterCredentials: keysOf(settings.keys) } : {}),
    clientConfig: { region: region === 'auto' ? 'us-east-1' : region, logger: sdkLogger(warn) },
  });
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

  /** The storage class and encryption; `readable` leaves out an archive class a GET cannot read. */
  private writeParams({ readable = false } = {}) {
    const { storageClass, sse, sseKmsKeyId } = this.options.settings;
    const archive = storageClass !== undefined && ARCHIVE_CLASSES.includes(storageClass);
    return {
      StorageClass: (readable && archive ? undefined : storageClass) as StorageClass | undefined,
      ServerSideEncryption: sse as ServerSideEncryption | undefined,
      SSEKMSKeyId: sseKmsKeyId,
    };
  }

  /**
   * A body of a size known in advance, up to S3's 5 GiB, goes as one streaming PutObject: no part
   * buffers and one request, as fast as the bytes come (a copy). Anything else goes through part
   * buffers (./s3-upload.ts): one PutObject when it fits in a part, else a multipart upload.
   */
  async upload(
    key: string,
    body: Readable,
    options: UploadOptions = {},
  ): Promise<{ size: number }> {
    const target = {
      Bucket: this.bucket,
      Key: this.root + key,
      ContentType: options.contentType ?? 'application/octet-stream',
      ...this.writeParams(),
    };
    if (options.size !== undefined && options.size <= MAX_PUT) {
      await this.putWhole(target, body, options.size, options.signal);
    } else {
      await partedUpload(this.client, target, body, {
        key,
        partSize: this.options.partSize ?? partSizeFor(options.size ?? options.expectedBytes),
        queueSize: this.options.queueSize ?? QUEUE_SIZE,
        expectedBytes: options.expectedBytes,
        signal: options.signal,
        abandon: (uploadId) => this.abandon(key, uploadId),
      });
    }
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

  /**
   * One streaming PutObject of `size` bytes. The SDK pipes the body into the request and never
   * hears of its failure, which would leave the request waiting for the rest: a failing body
   * aborts the request, and the body's error is the one reported. S3 keeps nothing of a PUT that
   * did not receive all its bytes.
   */
  private async putWhole(
    target: UploadTarget,
    body: Readable,
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const stop = new AbortController();
    let failure: { error: unknown } | undefined;
    const onError = (error: unknown) => {
      failure ??= { error };
      stop.abort();
    };
    body.once('error', onError);
    try {
      await this.client.send(new PutObjectCommand({ ...target, Body: body, ContentLength: size }), {
        abortSignal: AbortSignal.any([stop.signal, ...(signal ? [signal] : [])]),
      });
    } catch (error) {
      throw failure?.error ?? (signal?.aborted ? signal.reason : error);
    } finally {
      body.off('error', onError);
      body.destroy();
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

  async put(key: string, body: string | Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.root + key,
        Body: body,
        ContentType: 'application/json',
        // A manifest stays readable in the bucket's default class: every mode reads what a store
        // holds from its manifests (a few kilobytes each), while the bytes they describe go cold.
        ...this.writeParams({ readable: true }),
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
    return namedBody(response.Body, key, this.description, response.ContentLength);
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
