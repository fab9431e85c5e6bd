// The copy bench's baseline: one object streamed from a GetObject straight into a PutObject with
// the same AWS SDK, nothing checked, as bare as a copy between two servers gets. Run by copy.ts as
// `node copy-baseline.ts <from-endpoint> <bucket> <key> <to-endpoint> <bucket> <key>`, the
// source's keys in AWS_*, the destination's in DST_*.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

const [fromEndpoint, fromBucket, fromKey, toEndpoint, toBucket, toKey] = process.argv.slice(2);
const client = (endpoint: string | undefined, id?: string, secret?: string) =>
  new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {}),
  });
const from = client(fromEndpoint);
const to = client(toEndpoint, process.env.DST_ACCESS_KEY_ID, process.env.DST_SECRET_ACCESS_KEY);
const got = await from.send(new GetObjectCommand({ Bucket: fromBucket, Key: fromKey }));
await to.send(
  new PutObjectCommand({
    Bucket: toBucket,
    Key: toKey,
    Body: got.Body as Readable,
    ContentLength: got.ContentLength,
  }),
);
