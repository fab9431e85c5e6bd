/**
 * A directory store's file written by zstd's program itself: the file appears under its key only
 * when committed, its hash is taken while it grows and covers every byte, and a writer that fails
 * leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashingCounter, hashWhileWritten } from '../src/pipeline/hash.js';
import { zstdInto } from '../src/pipeline/zstd-program.js';
import { onPath, start, succeeded } from '../src/postgres/programs.js';
import { DirectoryStore } from '../src/storage/directory.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'file-written-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function everything(folder: string): Promise<string[]> {
  return (await readdir(folder, { recursive: true }).catch(() => [])).sort();
}

describe('hashWhileWritten', () => {
  it('hashes every byte of a file that grows in pieces, pauses included', async () => {
    const file = path.join(dir, 'growing');
    const writer = await open(file, 'w');
    const reader = await open(file, 'r');
    const pieces = Array.from({ length: 12 }, (_, i) => randomBytes(i % 3 === 0 ? 1_500_000 : 7));
    const written = (async () => {
      for (const piece of pieces) {
        await writer.write(piece);
        await delay(3);
      }
      await writer.close();
    })();
    const hasher = new HashingCounter();
    await hashWhileWritten(reader, written, hasher, 1);
    await reader.close();
    const all = Buffer.concat(pieces);
    expect(hasher.bytes).toBe(all.length);
    expect(hasher.digest()).toBe(sha256(all));
  });

  it('rejects as the writer does, without waiting for more', async () => {
    const file = path.join(dir, 'stopped');
    await writeFile(file, randomBytes(1000));
    const reader = await open(file, 'r');
    const failure = delay(20).then(() => {
      throw new Error('zstd exited with code 3');
    });
    await expect(hashWhileWritten(reader, failure, new HashingCounter(), 1)).rejects.toThrow(
      'zstd exited with code 3',
    );
    await reader.close();
  });
});

describe('a directory store file sink', () => {
  it('puts the file under its key only when committed', async () => {
    const store = new DirectoryStore(dir);
    const sink = await store.fileSink('set/a.dump.zst');
    await sink.file.write(Buffer.from('hello'));
    expect(await everything(path.join(dir, 'set'))).toEqual([
      expect.stringMatching(/^\.a\.dump\.zst\.partial-[0-9a-f]{8}$/),
    ]);
    expect(await sink.commit()).toEqual({ size: 5 });
    expect(await everything(path.join(dir, 'set'))).toEqual(['a.dump.zst']);
    expect(await readFile(path.join(dir, 'set/a.dump.zst'), 'utf8')).toBe('hello');
  });

  it('leaves nothing when discarded', async () => {
    const store = new DirectoryStore(dir);
    const sink = await store.fileSink('other/b.dump.zst');
    await sink.file.write(randomBytes(100));
    await sink.discard();
    expect(await everything(path.join(dir, 'other'))).toEqual([]);
  });
});

describe.runIf(Boolean(await onPath('zstd')))('zstd writing the file itself', () => {
  /** `cat` of a file as the producer: a program whose stdout zstd reads directly. */
  function producer(file: string) {
    const { child, exit } = start({ path: 'cat' }, [file], process.env);
    return { stdout: child.stdout, succeeded: succeeded('cat', exit) };
  }

  it('stores what zstd -d turns back into the input, hashed as stored', async () => {
    const input = path.join(dir, 'input');
    const text = Buffer.from('row\tvalue\n'.repeat(400_000));
    await writeFile(input, Buffer.concat([text, randomBytes(2_000_000), text]));
    const store = new DirectoryStore(dir);
    const sink = await store.fileSink('zstd/ok.zst');
    const zstd = (await onPath('zstd')) ?? '';
    const { written } = zstdInto(zstd, 3, producer(input), sink.file.fd);
    const hasher = new HashingCounter();
    await hashWhileWritten(sink.file, written, hasher);
    const { size } = await sink.commit();
    const stored = await readFile(path.join(dir, 'zstd/ok.zst'));
    expect(size).toBe(stored.length);
    expect(hasher.bytes).toBe(stored.length);
    expect(hasher.digest()).toBe(sha256(stored));
    const restored = execFileSync(zstd, ['-d', '-c', path.join(dir, 'zstd/ok.zst')], {
      maxBuffer: 1 << 26,
    });
    expect(restored.equals(await readFile(input))).toBe(true);
  });

  it('fails naming the producer when it fails, though zstd itself succeeded', async () => {
    const store = new DirectoryStore(dir);
    const sink = await store.fileSink('zstd-bad/bad.zst');
    const zstd = (await onPath('zstd')) ?? '';
    const { written } = zstdInto(zstd, 3, producer(path.join(dir, 'no-such-file')), sink.file.fd);
    await expect(hashWhileWritten(sink.file, written, new HashingCounter())).rejects.toThrow(
      /^cat exited with code 1/,
    );
    await sink.discard();
    expect(await everything(path.join(dir, 'zstd-bad'))).toEqual([]);
  });
});
