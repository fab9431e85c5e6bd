export const id = 874;
export const ids = [874];
export const modules = {

/***/ 65874:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  S3Store: () => (/* binding */ S3Store),
  assumedRole: () => (/* binding */ assumedRole),
  s3ClientConfig: () => (/* binding */ s3ClientConfig)
});

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(53711);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: ./src/core/errors.ts
var errors = __webpack_require__(74296);
// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(37067);
var external_node_http_default = /*#__PURE__*/__webpack_require__.n(external_node_http_);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(44708);
var external_node_https_default = /*#__PURE__*/__webpack_require__.n(external_node_https_);
// EXTERNAL MODULE: ./src/process/owned.ts
var owned = __webpack_require__(68856);
;// CONCATENATED MODULE: ./src/storage/s3-agent.ts
/**
 * The agents the S3 client connects through, the SDK's own settings (keep-alive, 50 sockets), with
 * two things more, so that a copy's memory stays flat whatever the object's size. A copy streams a
 * download into an upload chunk by chunk, and every chunk it touches is fresh memory outside V8's
 * heap, which the collector frees only after tens of megabytes of it have piled up:
 * - a socket releases an owned chunk (process/owned.ts) as soon as it has written it;
 * - a socket releases each buffer it read into once Node's HTTP parser has taken it: the parser
 *   copies what it parses (a response's headers, and each piece of its body into memory of its
 *   own), so the read buffer is garbage the moment the parser returns.
 */



/** Wraps the socket's write so that each owned chunk is released once written (or failed). */
function releasingWrites(socket) {
    const write = socket.write.bind(socket);
    socket.write = ((chunk, encoding, done) => {
        const [enc, callback] = typeof encoding === 'function' ? [undefined, encoding] : [encoding, done];
        if (!(chunk instanceof Uint8Array))
            return write(chunk, enc, callback);
        return write(chunk, enc, (error) => {
            (0,owned/* release */._)(chunk);
            callback?.(error);
        });
    });
    return socket;
}
/**
 * Wraps the socket's push (where Node hands it each read) so that a read is released once the
 * HTTP parser alone has had it: handed on at once (not queued in the socket for later), to the
 * only reader, the parser of an exchange still under way. A read the socket queued, one anyone
 * else listens to, or one after the parser let go of the socket (a parse error keeps the read on
 * the error; an upgrade hands the rest to its user) is left to the collector.
 */
function releasingReads(socket) {
    const push = socket.push.bind(socket);
    socket.push = (chunk, encoding) => {
        const queued = socket.readableLength;
        const more = push(chunk, encoding);
        if (chunk instanceof Uint8Array && socket.readableLength === queued && parsedOnly(socket)) {
            (0,owned/* release */._)((0,owned/* own */.Z)(chunk));
        }
        return more;
    };
    return socket;
}
/** Node's HTTP client sets `parser` on a socket while an exchange uses it, and clears it after. */
function parsedOnly(socket) {
    const { parser } = socket;
    return !socket.destroyed && parser != null && socket.listenerCount('data') === 1;
}
const releasing = (socket) => releasingReads(releasingWrites(socket));
const OPTIONS = { keepAlive: true, maxSockets: 50 };
class ReleasingHttpAgent extends (external_node_http_default()).Agent {
    createConnection(...args) {
        const socket = super.createConnection(...args);
        return socket ? releasing(socket) : socket;
    }
}
class ReleasingHttpsAgent extends (external_node_https_default()).Agent {
    createConnection(...args) {
        const socket = super.createConnection(...args);
        return socket ? releasing(socket) : socket;
    }
}
function releasingAgents() {
    return {
        httpAgent: new ReleasingHttpAgent(OPTIONS),
        httpsAgent: new ReleasingHttpsAgent(OPTIONS),
    };
}

;// CONCATENATED MODULE: ./src/storage/s3-body.ts
/**
 * An object's body as it arrives from an S3 store. When the store closes the connection part-way
 * (a proxy's idle cut, a store restarting), Node reports only `aborted`, naming nothing; here the
 * failure names the object, the store and how far the read came, and keeps Node's error as its
 * cause, whose code (ECONNRESET) the retry policy reads.
 */


/** `body` counted as it passes; an error mid-way becomes one line naming `key` and `store`. */
function namedBody(body, key, store, total) {
    let received = 0;
    const counted = new external_node_stream_.Transform({
        transform(chunk, _encoding, done) {
            received += chunk.length;
            done(null, chunk);
        },
    });
    body.on('error', (error) => counted.destroy(cutError(error, key, store, received, total)));
    // A reader that stops early ends the download with it.
    counted.on('close', () => body.destroy());
    return body.pipe(counted);
}
function cutError(error, key, store, received, total) {
    const read = `${received} of ${total ?? 'an unknown number of'} bytes of ${key}`;
    const closed = error.code === 'ECONNRESET';
    return new Error(closed
        ? `the store ${store} closed the connection after ${read}`
        : `the store ${store} failed after ${read}: ${(0,errors/* errorMessage */.gJ)(error)}`, { cause: error });
}

// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(57975);
;// CONCATENATED MODULE: ./src/storage/s3-logger.ts
/**
 * The AWS SDK's warnings, through the run's own warnings. A client given no logger leaves its
 * HTTP handler on `console` (its socket-capacity and request-timeout warnings): raw lines on
 * stderr, in the SDK's words, with advice about SDK settings a user cannot change; and the rest
 * of its warnings (a store's header it cannot parse) go nowhere. Given this one, each kind of warning is said once per store, in our words
 * where we know it. The SDK's debug and info lines (one per request) are not a run's output, and
 * its errors are thrown to the caller, which reports them.
 */

const SOCKETS_FULL = /socket usage at capacity=(\d+) and (\d+) additional requests are enqueued/;
const BAD_EXPIRES = /^AWS SDK Warning for \w+::(\w+?)(?:Command)? response parsing \((.*)\):/;
/** A warning of the SDK, in our words where we know it; else its first line, named as the SDK's. */
function sdkWarningText(message) {
    const full = SOCKETS_FULL.exec(message);
    if (full) {
        return `S3: all ${full[1]} connections to the store are busy and ${full[2]} more requests wait for one; the store answers slowly, and the run goes on at its pace`;
    }
    const expires = BAD_EXPIRES.exec(message);
    if (expires) {
        return `S3: the store answered ${expires[1]} with an Expires header that is not a date (${expires[2]}); ignored`;
    }
    return `S3: the AWS SDK warns: ${message.split('\n')[0].trim()}`;
}
/** What makes two warnings one kind: their text without its counts. */
const kindOf = (text) => text.replace(/\d+/g, '#');
function sdkLogger(warn) {
    const said = new Set();
    const quiet = () => undefined;
    return {
        trace: quiet,
        debug: quiet,
        info: quiet,
        error: quiet,
        warn: (...content) => {
            const text = sdkWarningText((0,external_node_util_.format)(...content));
            if (said.has(kindOf(text)))
                return;
            said.add(kindOf(text));
            warn(text);
        },
    };
}

// EXTERNAL MODULE: external "node:stream/promises"
var promises_ = __webpack_require__(46466);
// EXTERNAL MODULE: ./src/core/format.ts
var format = __webpack_require__(96228);
;// CONCATENATED MODULE: ./src/storage/s3-upload.ts
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





const MiB = 1024 * 1024;
/**
 * How long a failed or cancelled upload still waits for the request that starts its multipart
 * upload: once the store has made the upload, only its id lets it be aborted.
 */
const CREATE_GRACE_MS = 1000;
/** S3's limit on the parts of one upload. */
const MAX_PARTS = 10_000;
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
function partSizeFor(expectedBytes) {
    if (expectedBytes === undefined || !Number.isFinite(expectedBytes) || expectedBytes < 0) {
        return DEFAULT_PART;
    }
    const needed = Math.ceil((expectedBytes * HEADROOM) / MAX_PARTS / MiB) * MiB;
    return Math.min(MAX_PART, Math.max(MIN_PART, needed));
}
/**
 * Sends `body` to `target`. On any failure (the body's, a request's, a cancellation) it stops
 * reading the body, aborts the requests in flight and the multipart upload, and rejects with the
 * first error, never with one of its consequences.
 */
function partedUpload(client, target, body, options) {
    return new PartedUpload(client, target, body, options).send();
}
class PartedUpload {
    client;
    target;
    body;
    options;
    /** Every request of this upload, in flight or between retries, stops when it fails. */
    stop = new AbortController();
    /**
     * Not stopped with the other requests: a request cut off in flight may still have made the
     * upload, whose id it then never tells.
     */
    createStop = new AbortController();
    failure;
    /** Part buffers whose request finished, to fill again. */
    free = [];
    allocated = 0;
    inFlight = new Set();
    parts = [];
    numbered = 0;
    creating;
    uploadId;
    /** The part being filled, and how much of it is. */
    current;
    filled = 0;
    constructor(client, target, body, options) {
        this.client = client;
        this.target = target;
        this.body = body;
        this.options = options;
    }
    async send() {
        const { signal } = this.options;
        const onAbort = () => this.fail(cancelled(signal));
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
            if (signal?.aborted)
                onAbort();
            this.throwIfFailed();
            // A Writable takes the chunks one at a time as they were pushed, with backpressure; iterating
            // the body instead would join what it holds into a fresh buffer, losing the owned chunks in it.
            await (0,promises_.pipeline)(this.body, new external_node_stream_.Writable({
                write: (chunk, _encoding, done) => void this.take(chunk).then(() => done(), done),
            }));
            // A part may have failed as the body ended.
            this.throwIfFailed();
            await this.finish();
        }
        catch (error) {
            await this.abandon(error);
            throw this.failure?.error ?? error;
        }
        finally {
            signal?.removeEventListener('abort', onAbort);
        }
    }
    /** The first failure wins; everything still running stops. */
    fail = (error) => {
        this.failure ??= { error };
        this.stop.abort();
        this.body.destroy();
    };
    throwIfFailed() {
        if (this.failure)
            throw this.failure.error;
    }
    get requestOptions() {
        return { abortSignal: this.stop.signal };
    }
    /** Copies the chunk into part buffers, sending each as it fills. */
    async take(bytes) {
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
        (0,owned/* release */._)(bytes);
    }
    /** Sends a full part, which more bytes follow; returns once a buffer is free to fill. */
    async flush(full) {
        // More bytes follow this part, so they would need a part after it.
        if (this.numbered + 1 >= MAX_PARTS)
            throw new Error(tooLarge(this.options));
        this.creating ??= startMultipart(this.client, this.target, {
            abortSignal: this.createStop.signal,
        });
        this.uploadId ??= await this.creating;
        // A failure while the upload was being made: its parts must not follow.
        this.throwIfFailed();
        this.sendPart(full, this.uploadId);
        while (this.inFlight.size >= this.options.queueSize)
            await Promise.race(this.inFlight);
        this.throwIfFailed();
    }
    buffer() {
        const reused = this.free.pop();
        if (reused)
            return reused;
        this.allocated += 1;
        if (this.allocated > this.options.queueSize + 1) {
            throw new Error('internal error: no part buffer is free');
        }
        // Unsafe: every byte sent is written first. Pages never written never become resident, so a
        // small body costs what it holds, not a whole part.
        return Buffer.allocUnsafeSlow(this.options.partSize);
    }
    sendPart(bytes, UploadId) {
        this.numbered += 1;
        const PartNumber = this.numbered;
        const { Bucket, Key } = this.target;
        const request = this.client
            .send(new dist_cjs.UploadPartCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber,
            Body: bytes,
            ContentLength: bytes.byteLength,
        }), this.requestOptions)
            .then(({ ETag }) => {
            if (!ETag)
                throw new Error(`the store returned no ETag for part ${PartNumber}`);
            this.parts[PartNumber - 1] = { PartNumber, ETag };
            this.free.push(bytes);
        })
            .catch(this.fail)
            .finally(() => this.inFlight.delete(request));
        this.inFlight.add(request);
    }
    /** The last part: the whole object in one PutObject when it fits in one. */
    async finish() {
        const last = this.current?.subarray(0, this.filled) ?? Buffer.alloc(0);
        if (this.uploadId === undefined) {
            await this.client.send(new dist_cjs.PutObjectCommand({ ...this.target, Body: last, ContentLength: last.byteLength }), this.requestOptions);
            return;
        }
        this.sendPart(last, this.uploadId);
        await Promise.all(this.inFlight);
        this.throwIfFailed();
        await this.client.send(new dist_cjs.CompleteMultipartUploadCommand({
            Bucket: this.target.Bucket,
            Key: this.target.Key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: this.parts },
        }), this.requestOptions);
    }
    /** Stops everything and aborts the multipart upload, once made (or about to be). */
    async abandon(error) {
        this.fail(error);
        // Aborted requests settle at once: no part is still on its way when the upload is aborted.
        await Promise.all(this.inFlight);
        this.uploadId ??= this.creating && (await madeWithin(this.creating, this.createStop));
        if (this.uploadId !== undefined)
            await this.options.abandon(this.uploadId);
    }
}
async function startMultipart(client, target, send) {
    const { UploadId } = await client.send(new dist_cjs.CreateMultipartUploadCommand(target), send);
    if (!UploadId)
        throw new Error(`the store returned no upload id for ${target.Key}`);
    return UploadId;
}
/** The id of the upload being made, if the store answers within the grace; else stops asking. */
async function madeWithin(creating, createStop) {
    let timer;
    const late = new Promise((resolve) => {
        timer = setTimeout(() => {
            createStop.abort();
            resolve(undefined);
        }, CREATE_GRACE_MS);
    });
    try {
        return await Promise.race([creating.catch(() => undefined), late]);
    }
    finally {
        clearTimeout(timer);
    }
}
function cancelled(signal) {
    const reason = signal?.reason;
    return reason instanceof Error ? reason : new Error('the upload was cancelled');
}
function tooLarge({ key, partSize, expectedBytes }) {
    const most = `${(0,format/* formatCount */.B4)(MAX_PARTS)} parts of ${(0,format/* formatBytes */.z3)(partSize)} (${(0,format/* formatBytes */.z3)(partSize * MAX_PARTS)}), the most one upload can hold`;
    return expectedBytes === undefined
        ? `${key} is larger than ${most}`
        : `${key} outgrew the estimate of its size (${(0,format/* formatBytes */.z3)(expectedBytes)}): it needs more than ${most}`;
}

// EXTERNAL MODULE: ./src/core/store.ts
var store = __webpack_require__(4230);
;// CONCATENATED MODULE: ./src/storage/s3.ts
/**
 * S3 and S3-compatible stores (R2, B2, MinIO, Ceph). Uploads stream through part buffers of a
 * fixed size (./s3-upload.ts); on any failure the upload is aborted, and a store that refuses the
 * abort gets a warning, not a second failure (retention-prune's orphan sweep removes the leftover).
 * A backup needs only s3:PutObject, s3:AbortMultipartUpload and s3:ListBucket: it never reads an
 * object back (HeadObject needs s3:GetObject), so a writer's credentials cannot read old backups.
 */








/** Classes whose objects a GET cannot read until they are restored (thawed). */
const ARCHIVE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'];
/** The largest object S3 takes in one PutObject. */
const MAX_PUT = 5 * 1024 ** 3;
/** Two parts in flight keep up with what one compressor produces; each more costs a part. */
const QUEUE_SIZE = 2;
const DELETE_BATCH = 1000;
/** `warn`: where the SDK's warnings go, in our words (./s3-logger.ts). */
function s3ClientConfig(settings, env, warn) {
    const custom = settings.endpoint !== undefined;
    const logger = sdkLogger(warn);
    return {
        endpoint: settings.endpoint,
        region: settings.region ??
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
function keysOf({ accessKeyId, secretAccessKey, sessionToken }) {
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
/**
 * The role a store names, assumed with its keys (or the default chain's) through STS, renewed
 * before it expires: the SDK's own provider. STS is reached in the store's region (AWS_REGION, or
 * us-east-1 where none is set).
 */
async function assumedRole(settings, env, warn) {
    if (settings.roleArn === undefined)
        return undefined;
    const { fromTemporaryCredentials } = await __webpack_require__.e(/* import() */ 719).then(__webpack_require__.t.bind(__webpack_require__, 29719, 19));
    const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    return fromTemporaryCredentials({
        params: { RoleArn: settings.roleArn, RoleSessionName: 'backup-action' },
        ...(settings.keys ? { masterCredentials: keysOf(settings.keys) } : {}),
        clientConfig: { region: region === 'auto' ? 'us-east-1' : region, logger: sdkLogger(warn) },
    });
}
class S3Store {
    client;
    options;
    root;
    constructor(client, options) {
        this.client = client;
        this.options = options;
        this.root = options.prefix === '' ? '' : `${options.prefix}/`;
    }
    get description() {
        return `s3://${this.options.bucket}/${this.root}`;
    }
    get bucket() {
        return this.options.bucket;
    }
    /** The storage class and encryption; `readable` leaves out an archive class a GET cannot read. */
    writeParams({ readable = false } = {}) {
        const { storageClass, sse, sseKmsKeyId } = this.options.settings;
        const archive = storageClass !== undefined && ARCHIVE_CLASSES.includes(storageClass);
        return {
            StorageClass: (readable && archive ? undefined : storageClass),
            ServerSideEncryption: sse,
            SSEKMSKeyId: sseKmsKeyId,
        };
    }
    /**
     * A body of a size known in advance, up to S3's 5 GiB, goes as one streaming PutObject: no part
     * buffers and one request, as fast as the bytes come (a copy). Anything else goes through part
     * buffers (./s3-upload.ts): one PutObject when it fits in a part, else a multipart upload.
     */
    async upload(key, body, options = {}) {
        const target = {
            Bucket: this.bucket,
            Key: this.root + key,
            ContentType: options.contentType ?? 'application/octet-stream',
            ...this.writeParams(),
        };
        if (options.size !== undefined && options.size <= MAX_PUT) {
            await this.putWhole(target, body, options.size, options.signal);
        }
        else {
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
            if (!stored)
                throw new Error(`the store accepted ${key} but does not list it`);
            return { size: stored.size };
        }
        catch (error) {
            // The object is complete: nothing may stay under its key when the upload fails.
            await this.delete([key]).catch((failed) => this.options.warn(leftBehind(key, failed)));
            throw error;
        }
    }
    /**
     * One streaming PutObject of `size` bytes. The SDK pipes the body into the request and never
     * hears of its failure, which would leave the request waiting for the rest: a failing body
     * aborts the request, and the body's error is the one reported. S3 keeps nothing of a PUT that
     * did not receive all its bytes.
     */
    async putWhole(target, body, size, signal) {
        const stop = new AbortController();
        let failure;
        const onError = (error) => {
            failure ??= { error };
            stop.abort();
        };
        body.once('error', onError);
        try {
            await this.client.send(new dist_cjs.PutObjectCommand({ ...target, Body: body, ContentLength: size }), {
                abortSignal: AbortSignal.any([stop.signal, ...(signal ? [signal] : [])]),
            });
        }
        catch (error) {
            throw failure?.error ?? (signal?.aborted ? signal.reason : error);
        }
        finally {
            body.off('error', onError);
            body.destroy();
        }
    }
    /** The object under `key` as listed, or undefined; keys that merely start with `key` are skipped. */
    async listed(key) {
        for await (const object of this.list(key)) {
            if (object.key === key)
                return object;
        }
        return undefined;
    }
    /** Aborts a failed multipart upload; a refusal is a warning. */
    async abandon(key, uploadId) {
        try {
            await this.abortUpload({ key, uploadId, initiated: new Date() });
        }
        catch (error) {
            this.options.warn(`could not abort the incomplete upload of ${key} (${(0,errors/* errorMessage */.gJ)(error)}); retention-prune's sweep aborts it once older than orphan-grace`);
        }
    }
    async put(key, body) {
        await this.client.send(new dist_cjs.PutObjectCommand({
            Bucket: this.bucket,
            Key: this.root + key,
            Body: body,
            ContentType: 'application/json',
            // A manifest stays readable in the bucket's default class: every mode reads what a store
            // holds from its manifests (a few kilobytes each), while the bytes they describe go cold.
            ...this.writeParams({ readable: true }),
        }));
    }
    async download(key, options = {}) {
        const response = await this.client
            .send(new dist_cjs.GetObjectCommand({ Bucket: this.bucket, Key: this.root + key }), {
            abortSignal: options.signal,
        })
            .catch((error) => {
            throw archived(error) ? new store/* ArchivedObject */.oN(key) : error;
        });
        if (!(response.Body instanceof external_node_stream_.Readable))
            throw new Error(`no body in the response for ${key}`);
        return namedBody(response.Body, key, this.description, response.ContentLength);
    }
    /**
     * A probe object would need a delete that the writer's policy lacks (examples/iam/writer.json:
     * put and list under the prefix, no read, no delete). Listing one key under the set's prefix
     * is within it, and proves before the dump that the bucket exists, the credentials are good and
     * the endpoint answers; a write the bucket's policy refuses still leaves nothing behind.
     */
    async checkWritable(prefix) {
        await this.client.send(new dist_cjs.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, MaxKeys: 1 }));
    }
    async read(key, maxBytes) {
        return (0,store/* readUpTo */.Vc)(await this.download(key), key, maxBytes);
    }
    async stat(key, signal) {
        try {
            const head = await this.client.send(new dist_cjs.HeadObjectCommand({ Bucket: this.bucket, Key: this.root + key }), { abortSignal: signal });
            return { key, size: head.ContentLength ?? 0, modified: head.LastModified };
        }
        catch (error) {
            const status = error.$metadata
                ?.httpStatusCode;
            if (status === 404 || error.name === 'NotFound')
                return undefined;
            throw error;
        }
    }
    async *list(prefix) {
        let token;
        do {
            const page = await this.client.send(new dist_cjs.ListObjectsV2Command({
                Bucket: this.bucket,
                Prefix: this.root + prefix,
                ContinuationToken: token,
            }));
            for (const item of page.Contents ?? []) {
                if (item.Key?.startsWith(this.root)) {
                    const key = item.Key.slice(this.root.length);
                    yield { key, size: item.Size ?? 0, modified: item.LastModified };
                }
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
    }
    async delete(keys) {
        // Every batch is tried: a key the store keeps (Object Lock) must not stop the others.
        const refused = [];
        for (let start = 0; start < keys.length; start += DELETE_BATCH) {
            const batch = keys.slice(start, start + DELETE_BATCH);
            const result = await this.client.send(new dist_cjs.DeleteObjectsCommand({
                Bucket: this.bucket,
                Delete: { Objects: batch.map((key) => ({ Key: this.root + key })), Quiet: true },
            }));
            const failed = result.Errors ?? [];
            refused.push(...failed.map((error) => ({
                key: (error.Key ?? '?').slice(this.root.length),
                reason: error.Message ?? error.Code ?? 'no reason given',
            })));
        }
        if (refused.length > 0)
            throw new store/* DeleteRefused */.c_(refused);
    }
    async *incompleteUploads(prefix) {
        let keyMarker;
        let uploadIdMarker;
        do {
            const page = await this.client.send(new dist_cjs.ListMultipartUploadsCommand({
                Bucket: this.bucket,
                Prefix: this.root + prefix,
                KeyMarker: keyMarker,
                UploadIdMarker: uploadIdMarker,
            }));
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
    async abortUpload(upload) {
        await this.client.send(new dist_cjs.AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.root + upload.key,
            UploadId: upload.uploadId,
        }));
    }
}
function leftBehind(key, failed) {
    return `could not delete ${key} after a failed upload (${(0,errors/* errorMessage */.gJ)(failed)}); retention-prune's orphan sweep removes it once older than orphan-grace`;
}
/** S3's answer to a GET of an object in an archive class (GLACIER, DEEP_ARCHIVE) not restored. */
function archived(error) {
    return error.name === 'InvalidObjectState';
}


/***/ })

};
