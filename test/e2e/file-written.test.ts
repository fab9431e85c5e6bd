/**
 * A directory store's file written by zstd's program itself: the file appears under its key only
 * when committed, its hash is taken while it grows and covers every byte, and a writer that fails
 * leaves nothing behind.
 *
 * Covers: src/pipeline/hash.ts, src/pipeline/chain.ts, src/storage/directory.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashingCounter, hashWhileWritten } from '../../src/pipeline/hash.js';
import { findAgeProgram } from '../../src/pipeline/age-program.js';
import { chainInto, type Filter } from '../../src/pipeline/chain.js';
import { zstdFilter } from '../../src/pipeline/zstd-program.js';
import { onPath, start, succeeded } from '../../src/process/programs.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { requireInCI } from '../support/require-in-ci.js';

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

const zstd = await onPath('zstd');
const age = await onPath('age');
const noPrograms =
  zstd && age ? undefined : 'zstd or age is not on PATH (apt-get install zstd age)';

describe.skipIf(requireInCI(noPrograms))(
  'programs chained by pipes, the last writing the file',
  () => {
    /** `cat` of a file as the producer: a program whose stdout the first filter reads directly. */
    function producer(file: string) {
      const { child, exit } = start({ path: 'cat' }, [file], process.env);
      return { stdout: child.stdout, succeeded: succeeded('cat', exit) };
    }

    /** A filter that reads a little of its input, then fails as a program does. */
    function failing(name: string, code: number): Filter {
      const script = `head -c 1000 >/dev/null; echo "${name}: simulated failure" >&2; exit ${code}`;
      return { name, path: '/bin/sh', args: ['-c', script], doing: 'failing' };
    }

    const passOn: Filter = { name: 'cat', path: 'cat', args: [], doing: 'copying' };

    async function inputFile(): Promise<Buffer> {
      const text = Buffer.from('row\tvalue\n'.repeat(400_000));
      const input = Buffer.concat([text, randomBytes(2_000_000), text]);
      await writeFile(path.join(dir, 'input'), input);
      return input;
    }

    async function intoSink(key: string, filters: Filter[], from: string) {
      const sink = await new DirectoryStore(dir).fileSink(key);
      const { written } = chainInto(filters, producer(from), sink.file.fd);
      const hasher = new HashingCounter();
      try {
        await hashWhileWritten(sink.file, written, hasher);
      } catch (error) {
        await sink.discard();
        throw error;
      }
      return { ...(await sink.commit()), hasher };
    }

    it('zstd then age: the file that age -d and zstd -d turn back into the input, hashed as stored', async () => {
      const input = await inputFile();
      const identity = await generateIdentity();
      const recipient = await identityToRecipient(identity);
      const filters = [
        zstdFilter(zstd ?? '', 3),
        ...[await findAgeProgram({}, { recipients: [recipient] })],
      ];
      expect(filters.map((filter) => filter?.name)).toEqual(['zstd', 'age']);
      const { size, hasher } = await intoSink(
        'chain/ok.zst.age',
        filters as Filter[],
        path.join(dir, 'input'),
      );
      const stored = await readFile(path.join(dir, 'chain/ok.zst.age'));
      expect(size).toBe(stored.length);
      expect(hasher.bytes).toBe(stored.length);
      expect(hasher.digest()).toBe(sha256(stored));
      const keyFile = path.join(dir, 'identity');
      await writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
      const decrypted = execFileSync(
        'age',
        ['-d', '-i', keyFile, path.join(dir, 'chain/ok.zst.age')],
        {
          maxBuffer: 1 << 26,
        },
      );
      const restored = execFileSync(zstd ?? '', ['-d', '-c'], {
        input: decrypted,
        maxBuffer: 1 << 26,
      });
      expect(restored.equals(input)).toBe(true);
    });

    it.each([
      [
        'the last program',
        'sealer',
        [zstdFilter(zstd ?? '', 3), failing('sealer', 4)],
        /^sealer exited with code 4: sealer: simulated failure/,
      ],
      [
        'a program in the middle, though the last succeeded',
        'packer',
        [failing('packer', 5), passOn],
        /^packer exited with code 5/,
      ],
      [
        'the producer, though every program succeeded',
        'producer',
        [zstdFilter(zstd ?? '', 3), passOn],
        /^cat exited with code 1/,
      ],
    ])('names %s when it fails, and leaves nothing', async (_what, folder, filters, reason) => {
      await inputFile();
      const from = path.join(dir, folder === 'producer' ? 'no-such-file' : 'input');
      await expect(intoSink(`${folder}/bad`, filters, from)).rejects.toThrow(reason);
      expect(await everything(path.join(dir, folder))).toEqual([]);
    });
  },
);
