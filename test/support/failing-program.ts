/** Stand-ins for zstd and age that fail part-way, as a full disk or a broken binary would. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface Failure {
  /** How much of its input it reads first: a byte count, or all of it. */
  reads: number | 'all';
  code: number;
  /** Its last line on stderr. */
  message: string;
}

/**
 * Writes `name` into `dir` as a script that reads, complains and exits as `failure` says, and
 * returns a PATH on which it comes first.
 */
export async function failingProgram(dir: string, name: string, failure: Failure): Promise<string> {
  await mkdir(dir, { recursive: true });
  const read = failure.reads === 'all' ? 'cat' : `head -c ${failure.reads}`;
  await writeFile(
    path.join(dir, name),
    `#!/bin/sh\n${read} >/dev/null\necho "${failure.message}" >&2\nexit ${failure.code}\n`,
    { mode: 0o755 },
  );
  return `${dir}${path.delimiter}${process.env.PATH ?? ''}`;
}
