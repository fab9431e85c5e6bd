/**
 * The age layer at its edges: payloads around age's 64 KiB chunk size, written by our stream in
 * pieces that straddle chunks, must open with the standard `age -d` and with our own reader.
 *
 * Covers: src/pipeline/encrypt.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decryptStream, encryptStream } from '../../src/pipeline/encrypt.js';

const CHUNK = 64 * 1024;
let dir: string;
let identity: string;
let recipient: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'encrypt-test-'));
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
  await writeFile(path.join(dir, 'key.txt'), `${identity}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function ageDecrypt(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'age',
      ['-d', '-i', path.join(dir, 'key.txt'), file],
      { encoding: 'buffer', maxBuffer: 1 << 26 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5, 2_000_003])(
  'a %i-byte payload opens with age -d and with decryptStream',
  async (size) => {
    const plain = randomBytes(size);
    // 70,000-byte pieces: never aligned with age's chunks.
    const pieces = [];
    for (let offset = 0; offset < size; offset += 70_000)
      pieces.push(plain.subarray(offset, offset + 70_000));
    const sealed = await collect(
      await encryptStream(Readable.from(pieces), { recipients: [recipient] }),
    );
    const file = path.join(dir, `${size}.age`);
    await writeFile(file, sealed);
    expect((await ageDecrypt(file)).equals(plain)).toBe(true);
    const opened = await collect(
      await decryptStream(Readable.from([sealed]), { identities: [identity] }),
    );
    expect(opened.equals(plain)).toBe(true);
  },
);

it('a passphrase-encrypted payload opens with decryptStream', async () => {
  const plain = randomBytes(3 * CHUNK + 7);
  const sealed = await collect(
    await encryptStream(Readable.from([plain]), { recipients: [], passphrase: 'correct horse' }),
  );
  const opened = await collect(
    await decryptStream(Readable.from([sealed]), { identities: [], passphrase: 'correct horse' }),
  );
  expect(opened.equals(plain)).toBe(true);
});
