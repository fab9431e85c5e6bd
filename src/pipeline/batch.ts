/**
 * Gathers a producer's small writes into large chunks, counting the bytes as they go by. pg_dump
 * writes its archive a few kilobytes at a time; each piece sent on alone would cost a trip through
 * every stage after it (a compressor call on the thread pool, a cipher call, a hash update, a
 * file write or part copy), which on a small machine costs a large share of what compressing does.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { own } from '../process/owned.js';

/** Large enough that per-chunk costs vanish, small enough that memory stays bounded. */
const BATCH_BYTES = 1024 * 1024;

export class Batcher extends Transform {
  /** Bytes that went through (before compression, for ratios and progress). */
  bytes = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor() {
    super({ readableHighWaterMark: BATCH_BYTES, writableHighWaterMark: BATCH_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= BATCH_BYTES) this.pushHeld();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.heldBytes > 0) this.pushHeld();
    done();
  }

  private pushHeld(): void {
    const [only] = this.held;
    const batch =
      this.held.length === 1 && only ? only : own(Buffer.concat(this.held, this.heldBytes));
    this.held = [];
    this.heldBytes = 0;
    this.push(batch);
  }
}
