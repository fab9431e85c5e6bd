/**
 * A second, independent S3 server for copies: its own s3rver process, endpoint and keys (the
 * run's S3RVER keys are refused there), and one bucket. The action reaches it through a store
 * URL naming its keys (`credentials=OFFSITE`), which the environment of a run gives.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { s3ClientConfig, startS3Server, type S3Server } from '../../scripts/lib/s3-server.js';

export interface Offsite {
  server: S3Server;
  bucket: string;
  /** OFFSITE_ACCESS_KEY_ID and OFFSITE_SECRET_ACCESS_KEY, for a run's environment. */
  env: Record<string, string>;
  /** A store URL under `prefix`, naming the keys and the endpoint (`endpoint` another in front). */
  url(prefix: string, endpoint?: string, extra?: string): string;
  client(): S3Client;
  /** Every key under `prefix/`, relative to it, sorted. */
  keys(prefix: string): Promise<string[]>;
  read(key: string): Promise<Buffer>;
  write(key: string, bytes: Buffer): Promise<void>;
  stop(): Promise<void>;
}

export async function startOffsite(): Promise<Offsite> {
  const keys = {
    accessKeyId: 'OFFSITEKEY',
    secretAccessKey: `offsite-${randomBytes(12).toString('hex')}`,
  };
  const bucket = 'offsite';
  const server = await startS3Server({ buckets: [bucket], keys });
  const client = () => new S3Client(s3ClientConfig(server.endpoint, keys));
  return {
    server,
    bucket,
    env: {
      OFFSITE_ACCESS_KEY_ID: keys.accessKeyId,
      OFFSITE_SECRET_ACCESS_KEY: keys.secretAccessKey,
    },
    url: (prefix, endpoint = server.endpoint, extra = '') =>
      `s3://${bucket}/${prefix}?endpoint=${endpoint}&credentials=OFFSITE${extra}`,
    client,
    async keys(prefix) {
      const listing = await client().send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }),
      );
      return (listing.Contents ?? [])
        .map((item) => (item.Key ?? '').slice(prefix.length + 1))
        .sort();
    },
    async read(key) {
      const got = await client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await got.Body!.transformToByteArray());
    },
    async write(key, bytes) {
      await client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    stop: () => server.stop(),
  };
}
