/**
 * pg_dumpall writes the globals (a few kilobytes) at once and exits. Node drains and drops a
 * finished child's stdout that nobody reads, so the program may only start once its bytes are
 * read: a backup that waits (finding zstd, opening the file) must still get every byte.
 *
 * Covers: src/postgres/globals.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { text } from 'node:stream/consumers';
import { expect, it } from 'vitest';
import type { DatabaseTarget } from '../../src/core/settings.js';
import { openGlobalsSource } from '../../src/postgres/globals.js';

const target: DatabaseTarget = {
  host: '127.0.0.1',
  port: 5432,
  user: 'postgres',
  database: 'postgres',
  params: {},
  display: 'postgres://postgres@127.0.0.1:5432/postgres',
};

// `echo` stands in for pg_dumpall: it prints its arguments, which begin with `--`, and exits.
const echo = { path: '/bin/echo', version: '18.0', major: 18 };

it('keeps every byte of a program that has finished before its output is read', async () => {
  const source = openGlobalsSource(echo, target, { rolePasswords: false });
  await delay(300);
  const [sql] = await Promise.all([text(source.output), source.finished()]);
  expect(sql).toMatch(
    /^--globals-only --no-password --no-role-passwords --dbname=.*127\.0\.0\.1.*\n$/,
  );
  await source.close();
});

it('a source closed before it was read never starts its program', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'globals-source-'));
  try {
    // A pg_dumpall that leaves a mark when it runs.
    const marker = path.join(dir, 'started');
    const program = { ...echo, path: path.join(dir, 'pg_dumpall') };
    await writeFile(program.path, `#!/bin/sh\ntouch "${marker}"\necho '-- globals'\n`, {
      mode: 0o755,
    });
    const unread = openGlobalsSource(program, target, { rolePasswords: true });
    await unread.close();
    await delay(300);
    expect(existsSync(marker)).toBe(false);
    // The same program, read, leaves its mark: the check above can fail.
    const read = openGlobalsSource(program, target, { rolePasswords: true });
    expect(await text(read.output)).toBe('-- globals\n');
    await read.finished();
    expect(existsSync(marker)).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
