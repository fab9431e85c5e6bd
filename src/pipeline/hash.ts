/** Hashing (sha256) and counting the bytes as stored. */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Transform, type TransformCallback } from 'node:stream';

/** A pass-through stage that hashes and counts the bytes as they go by. */
export class HashingCounter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  /** Also given every byte hashed (a check of what the bytes hold). */
  onBytes?: (chunk: Uint8Array) => void;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.update(chunk);
    done(null, chunk);
  }

  /** Hashes and counts bytes that reach the store some other way than through this stream. */
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk);
  }

  /** The hex digest; call once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Hashes a file into `hasher` while a program writes it, reading each piece once it is there,
 * until `written` resolves and the end is read. A piece just written is still in the page cache,
 * so this costs a copy and the hash, in one reused buffer. Rejects as `written` does.
 */
export async function hashWhileWritten(
  file: FileHandle,
  written: Promise<void>,
  hasher: HashingCounter,
  pollMs = 20,
): Promise<void> {
  let done = false;
  const finished = written.then(() => {
    done = true;
  });
  finished.catch(() => undefined); // raced below, whenever the file has nothing new
  const buffer = Buffer.allocUnsafe(1 << 20);
  let position = 0;
  for (;;) {
    // Read after seeing the writer finish: a read that then finds nothing is the end.
    const last = done;
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    position += bytesRead;
    if (bytesRead > 0) hasher.update(buffer.subarray(0, bytesRead));
    else if (last) return;
    else await Promise.race([finished, delay(pollMs)]);
  }
}
