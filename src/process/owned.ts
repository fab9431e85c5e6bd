/**
 * Buffers that nothing else refers to, released by the stage that uses them last.
 *
 * A backup streams its bytes in 64 KiB pieces, each a fresh allocation outside V8's heap (a pipe
 * read, a sealed age chunk). V8 frees them only when it next collects, which it does by its own
 * measure of that memory, and tens of megabytes of dead pieces piled up before it did
 * (docs/benchmarks.md). A piece that a producer marks as owned (it made it, and hands it on whole
 * to one consumer) can instead be released by the last stage to touch it, the moment it is done
 * with it: its memory returns at once, and peak memory stays flat whatever the pace of the
 * collector.
 *
 * Release is opt-in at both ends, so it cannot reach a buffer that anything else still holds: an
 * unmarked buffer (a library's, a slice of Node's shared pool) is never touched, and a stage that
 * passes a piece on never releases it.
 */

const owned = new WeakSet<ArrayBufferLike>();

interface Transferable {
  transfer?: (length: number) => ArrayBuffer;
}

/** Marks `chunk` as owned when it is the whole of its memory; returns it. */
export function own<T extends Uint8Array>(chunk: T): T {
  const memory = chunk.buffer;
  if (
    chunk.byteOffset === 0 &&
    chunk.byteLength === memory.byteLength &&
    typeof (memory as Transferable).transfer === 'function'
  ) {
    owned.add(memory);
  }
  return chunk;
}

/**
 * Frees an owned chunk's memory now (`ArrayBuffer.prototype.transfer(0)` detaches it, leaving a
 * zero-length buffer); does nothing to any other. Call only when nothing will read `chunk` again.
 */
export function release(chunk: Uint8Array): void {
  const memory = chunk.buffer;
  if (owned.delete(memory)) (memory as Transferable).transfer?.(0);
}
