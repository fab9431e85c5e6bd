/**
 * Restores a stored backup the way a person would, with the standard tools and no backup-action
 * code: `age -d`, then `zstd -d` or `gzip -d`, then `pg_restore`. Proves there is no lock-in.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PgCluster } from '../../scripts/lib/pg-cluster.js';

const run = promisify(execFile);

export interface ByHandOptions {
  /** An age identity (private key), when the backup is encrypted. */
  identity?: string;
}

/** Undoes the layers named by the file's extension (`.dump.zst.age`) and returns the archive's path. */
export async function unwrapByHand(
  file: string,
  dir: string,
  options: ByHandOptions = {},
): Promise<string> {
  let current = file;
  if (current.endsWith('.age')) {
    if (!options.identity) throw new Error('encrypted backup and no identity');
    const keyFile = path.join(dir, 'key.txt');
    await writeFile(keyFile, `${options.identity}\n`, { mode: 0o600 });
    const out = path.join(dir, 'decrypted');
    await run('age', ['-d', '-i', keyFile, '-o', out, current]);
    current = out;
  }
  if (file.includes('.zst')) {
    const out = path.join(dir, 'decompressed');
    await run('zstd', ['-q', '-d', '-f', '-o', out, current]);
    current = out;
  } else if (file.includes('.gz')) {
    const out = path.join(dir, 'decompressed');
    const { stdout } = await run('gzip', ['-d', '-c', current], {
      encoding: 'buffer',
      maxBuffer: 1 << 30,
    });
    await writeFile(out, stdout);
    current = out;
  }
  return current;
}

/** pg_restore of a stored backup file into an (empty) database. */
export async function restoreByHand(
  file: string,
  databaseUrl: string,
  options: ByHandOptions = {},
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'by-hand-'));
  try {
    const archive = await unwrapByHand(file, dir, options);
    await run('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', databaseUrl, archive]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The backup id docs/storage.md's examples name. */
export const PAGE_ID = '20261122T031700Z-4f9a2c';

/** The one shell block under `heading` (`### A server backup`) of docs/storage.md, as written. */
export async function storagePageSteps(heading: string): Promise<string> {
  const page = await readFile('docs/storage.md', 'utf8');
  const start = page.indexOf(`\n${heading}\n`);
  const end = page.indexOf('\n### ', start + 1);
  const blocks = [...page.slice(start, end).matchAll(/```sh\n([^]*?)```/g)];
  if (start < 0 || blocks.length !== 1) {
    throw new Error(`docs/storage.md has no one shell block under "${heading}"`);
  }
  return blocks[0]![1]!;
}

/** The libpq environment a page's commands reach `cluster` with. */
export const libpqEnv = (cluster: PgCluster) => ({
  PGHOST: cluster.host,
  PGPORT: String(cluster.port),
  PGUSER: cluster.user,
  PGPASSWORD: cluster.password,
});
