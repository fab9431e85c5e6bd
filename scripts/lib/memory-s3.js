// An S3 protocol server held in memory, that counts every request, for the benchmark's store
// request counts on a set of 20,000 backups. s3rver cannot serve that: after each deleted key it
// reads the whole folder to see whether it became empty, so deleting 40,000 keys from one folder
// takes hours. This one answers only what the product asks (path-style ListObjectsV2, GET, HEAD,
// PUT, DeleteObjects, ListMultipartUploads) and checks no signature.
import { createHash } from 'node:crypto';
import http from 'node:http';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const PAGE = 1000;

/** @param {string} text */
const escape = (text) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** What kind of S3 request this is, by its method and query. */
export function classify(/** @type {http.IncomingMessage} */ req) {
  const url = new URL(req.url ?? '/', 'http://x');
  const q = url.searchParams;
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
  if (req.method === 'GET' && parts.length === 1) return 'ListObjects';
  if (req.method === 'POST' && q.has('delete')) return 'DeleteObjects';
  if (req.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (req.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (req.method === 'PUT' && q.has('partNumber')) return 'UploadPart';
  if (req.method === 'PUT') return 'PutObject';
  if (req.method === 'GET') return 'GetObject';
  if (req.method === 'HEAD') return 'HeadObject';
  if (req.method === 'DELETE') return 'DeleteObject';
  return `${req.method} other`;
}

/**
 * @param {string} bucket the one bucket it serves
 * @returns {Promise<{ endpoint: string, put(key: string, body: Buffer | string): void,
 *   take(): Record<string, number>, stop(): Promise<void> }>}
 */
export async function startMemoryS3(bucket) {
  /** @type {Map<string, { body: Buffer, etag: string, modified: string }>} */
  const objects = new Map();
  /** @type {string[] | undefined} sorted keys, rebuilt after a change */
  let sorted;
  /** @type {Record<string, number>} */
  const counts = {};
  const put = (/** @type {string} */ key, /** @type {Buffer | string} */ body) => {
    const bytes = Buffer.from(body);
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    objects.set(key, { body: bytes, etag, modified: new Date().toISOString() });
    sorted = undefined;
  };

  const server = http.createServer(async (req, res) => {
    const kind = classify(req);
    counts[kind] = (counts[kind] ?? 0) + 1;
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const [, name, ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const xml = (/** @type {number} */ status, /** @type {string} */ text) => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`);
    };
    if (name !== bucket) return xml(404, '<Error><Code>NoSuchBucket</Code></Error>');
    if (kind === 'ListObjects') return xml(200, list(url.searchParams));
    if (kind === 'ListMultipartUploads') {
      return xml(
        200,
        `<ListMultipartUploadsResult xmlns="${XMLNS}"><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`,
      );
    }
    if (kind === 'DeleteObjects') {
      for (const match of body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)) {
        objects.delete(unescape(match[1] ?? ''));
      }
      sorted = undefined;
      return xml(200, `<DeleteResult xmlns="${XMLNS}"></DeleteResult>`);
    }
    if (kind === 'PutObject') {
      put(key, body);
      res.writeHead(200, { etag: objects.get(key)?.etag });
      return res.end();
    }
    const object = objects.get(key);
    if ((kind === 'GetObject' || kind === 'HeadObject') && object) {
      res.writeHead(200, {
        'content-length': object.body.length,
        'content-type': 'application/octet-stream',
        etag: object.etag,
        'last-modified': new Date(object.modified).toUTCString(),
      });
      return res.end(kind === 'GetObject' ? object.body : undefined);
    }
    if (kind === 'GetObject' || kind === 'HeadObject') {
      res.writeHead(404, { 'content-type': 'application/xml' });
      return res.end(kind === 'HeadObject' ? undefined : '<Error><Code>NoSuchKey</Code></Error>');
    }
    return xml(501, `<Error><Code>NotImplemented</Code><Message>${kind}</Message></Error>`);
  });

  /** ListObjectsV2: pages of 1,000 keys, the continuation token being the last key sent. */
  function list(/** @type {URLSearchParams} */ q) {
    sorted ??= [...objects.keys()].sort();
    const prefix = q.get('prefix') ?? '';
    const after = q.get('continuation-token') ?? q.get('start-after') ?? '';
    const max = Math.min(PAGE, Number(q.get('max-keys') ?? PAGE));
    const page = [];
    let truncated = false;
    for (const key of sorted) {
      if (!key.startsWith(prefix) || key <= after) continue;
      if (page.length === max) {
        truncated = true;
        break;
      }
      page.push(key);
    }
    const contents = page
      .map((key) => {
        const o = /** @type {NonNullable<ReturnType<typeof objects.get>>} */ (objects.get(key));
        return `<Contents><Key>${escape(key)}</Key><LastModified>${o.modified}</LastModified><ETag>${escape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const next = truncated
      ? `<NextContinuationToken>${escape(page.at(-1) ?? '')}</NextContinuationToken>`
      : '';
    return `<ListBucketResult xmlns="${XMLNS}"><Name>${bucket}</Name><Prefix>${escape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}${contents}</ListBucketResult>`;
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    put,
    take() {
      const taken = { ...counts };
      for (const kind of Object.keys(counts)) delete counts[kind];
      return taken;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/** @param {string} text */
function unescape(text) {
  return text
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
