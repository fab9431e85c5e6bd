/**
 * An object's body as it arrives from an S3 store. When the store closes the connection part-way
 * (a proxy's idle cut, a store restarting), Node reports only `aborted`, naming nothing; here the
 * failure names the object, the store and how far the read came, and keeps Node's error as its
 * cause, whose code (ECONNRESET) the retry policy reads.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { errorMessage } from '../core/errors.js';

/** `body` counted as it passes; an error mid-way becomes one line naming `key` and `store`. */
export function namedBody(
  body: Readable,
  key: string,
  store: string,
  total: number | undefined,
): Readable {
  let received = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      received += chunk.length;
      done(null, chunk);
    },
  });
  body.on('error', (error) => counted.destroy(cutError(error, key, store, received, total)));
  // A reader that stops early ends the download with it.
  counted.on('close', () => body.destroy());
  return body.pipe(counted);
}

function cutError(
  error: Error,
  key: string,
  store: string,
  received: number,
  total: number | undefined,
): Error {
  const read = `${received} of ${total ?? 'an unknown number of'} bytes of ${key}`;
  const closed = (error as NodeJS.ErrnoException).code === 'ECONNRESET';
  return new Error(
    closed
      ? `the store ${store} closed the connection after ${read}`
      : `the store ${store} failed after ${read}: ${errorMessage(error)}`,
    { cause: error },
  );
}
