/**
 * `gpg-recipients`: armored public keys, and the paths of files holding keys (armored, or binary
 * as `gpg --export` writes them), one per line, relative to the working directory, in any mix.
 * Every line outside an armored block is a path: one that names no file fails the run rather than
 * leave a recipient out of every backup, unnoticed until a restore.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { GpgKeys } from '../core/settings.js';
import { requireGpg } from '../pipeline/gpg.js';
import { readPublicKeys } from '../pipeline/gpg-keys.js';
import type { Inputs } from './reader.js';

export interface RecipientParts {
  /** The armored blocks, one after the other; '' when there are none. */
  armored: string;
  paths: string[];
}

/** Splits the input into its armored blocks and its other lines (blank and `#` lines dropped). */
export function splitRecipients(text: string): RecipientParts {
  const armored: string[] = [];
  const paths: string[] = [];
  let inBlock = false;
  for (const line of text.split(/\r?\n/).map((one) => one.trim())) {
    if (!inBlock && line.startsWith('-----BEGIN PGP ')) inBlock = true;
    if (inBlock) armored.push(line);
    else if (line !== '' && !line.startsWith('#')) paths.push(line);
    if (inBlock && line.startsWith('-----END PGP ')) inBlock = false;
  }
  return { armored: armored.length > 0 ? `${armored.join('\n')}\n` : '', paths };
}

export async function readGpgRecipients(inputs: Inputs, cwd: string): Promise<GpgKeys> {
  const programs = await requireGpg('gpg-recipients');
  const { armored, paths } = splitRecipients(inputs.text('gpg-recipients'));
  const read: GpgKeys[] = [];
  if (armored !== '') read.push(await readPublicKeys(programs, Buffer.from(armored, 'utf8')));
  for (const line of paths) read.push(await readPublicKeys(programs, await keyFile(cwd, line)));
  return {
    publicKeys: read.map((keys) => keys.publicKeys).join(''),
    recipients: [...new Set(read.flatMap((keys) => keys.recipients))],
  };
}

function keyFile(cwd: string, line: string): Promise<Buffer> {
  const file = path.resolve(cwd, line);
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      'gpg-recipients',
      `${file} cannot be read (${error.code ?? error.message}); every line outside an armored key block must be the path of a file holding public keys`,
    );
  });
}
