/**
 * Owned buffers: released by their last user, the memory returns at once; nothing that anyone
 * else may still hold is ever touched, and the bytes that arrive are the bytes that were sent.
 *
 * Covers: src/process/owned.ts, src/pipeline/encrypt.ts, src/storage/directory.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptStream, encryptStream } from '../../src/pipeline/encrypt.js';
import { own, release } from '../../src/process/owned.js';
import { DirectoryStore } from '../../src/storage/directory.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'owned-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Copies of `plain` in pieces of `size`, each in memory of its own (never pooled), marked owned. */
function ownedPieces(plain: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < plain.length; offset += size) {
    const part = plain.subarray(offset, offset + size);
    const piece = Buffer.allocUnsafeSlow(part.length);
    part.copy(piece);
    pieces.push(own(piece));
  }
  return pieces;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('own and release', () => {
  it('frees a buffer that was marked, once', () => {
    const chunk = own(Buffer.alloc(65_536, 7));
    release(chunk);
    expect(chunk.byteLength).toBe(0);
    expect(() => release(chunk)).not.toThrow();
  });

  it('never touches a buffer that was not marked', () => {
    const chunk = Buffer.alloc(65_536, 7);
    release(chunk);
    expect(chunk.byteLength).toBe(65_536);
    expect(chunk.every((byte) => byte === 7)).toBe(true);
  });

  it('will not mark a slice of shared memory: a pooled buffer or a view into a larger one', () => {
    const pooled = Buffer.from('small pieces share one pool');
    const neighbour = Buffer.from('a neighbour in the same pool');
    release(own(pooled));
    expect(pooled.toString()).toBe('small pieces share one pool');
    expect(neighbour.toString()).toBe('a neighbour in the same pool');

    const whole = Buffer.alloc(10_000, 1);
    const view = whole.subarray(100, 200);
    release(own(view));
    expect(view.byteLength).toBe(100);
    expect(whole.byteLength).toBe(10_000);
  });
});

describe('the last stages release what they are done with', () => {
  it('the age sealer releases owned input, and its output still opens', async () => {
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    const plain = randomBytes(5 * 65_536 + 123);
    // 70,000 and 200,000 bytes: pieces that straddle age's chunks, and whole chunks sealed in place.
    for (const size of [70_000, 65_536, 200_000]) {
      const pieces = ownedPieces(plain, size);
      const sealed = await collect(
        await encryptStream(Readable.from(pieces), { recipients: [recipient] }),
      );
      expect(pieces.every((piece) => piece.byteLength === 0)).toBe(true);
      const opened = await collect(
        await decryptStream(Readable.from([sealed]), { identities: [identity] }),
      );
      expect(opened.equals(plain)).toBe(true);
    }
  });

  it('the directory store releases owned pieces once written, and the file holds every byte', async () => {
    const store = new DirectoryStore(dir);
    const plain = randomBytes(3_000_000);
    const pieces = ownedPieces(plain, 65_536);
    const untouched = Buffer.from(randomBytes(65_536));
    const { size } = await store.upload('set/object', Readable.from([...pieces, untouched]));
    expect(size).toBe(plain.length + untouched.length);
    expect(pieces.every((piece) => piece.byteLength === 0)).toBe(true);
    expect(untouched.byteLength).toBe(65_536);
    const written = await readFile(path.join(dir, 'set/object'));
    expect(written.equals(Buffer.concat([plain, untouched]))).toBe(true);
  });
});
