/**
 * `gpg-recipients`: armored public keys, and the paths of files holding keys (armored, or binary
 * as `gpg --export` writes them), one per line, relative to the working directory, in any mix.
 * Every line outside an armored block is a path: one that names no file fails the run rather than
 * leave a recipient out of every backup, unnoticed until a restore.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { holdsPrivateKey } from '../core/secret-shapes.js';
import type { GpgKeys } from '../core/settings.js';
import { requireGpg } from '../pipeline/gpg.js';
import { PUBLIC_KEYS_HELP, readPublicKeys } from '../pipeline/gpg-keys.js';
import type { Inputs } from './reader.js';

export interface RecipientParts {
  /** The armored blocks, one after the other; '' when there are none. */
  armored: string;
  paths: string[];
}

/**
 * Splits the input into its armored blocks and its other lines (blank and `#` lines dropped). A
 * block must end with its END line: gpg reads a torn block up to the tear, so every line after it
 * would be taken as armor and a recipient left out without a word.
 */
export function splitRecipients(text: string): RecipientParts {
  const armored: string[] = [];
  const paths: string[] = [];
  let begun: number | undefined;
  for (const [index, line] of text
    .split(/\r?\n/)
    .map((one) => one.trim())
    .entries()) {
    if (line.startsWith(BEGIN)) {
      if (begun !== undefined) throw unterminated(begun);
      begun = index;
    }
    if (begun !== undefined) armored.push(line);
    else if (line !== '' && !line.startsWith('#')) paths.push(line);
    if (begun !== undefined && line.startsWith('-----END PGP ')) begun = undefined;
  }
  if (begun !== undefined) throw unterminated(begun);
  if (armored.length === 0 && paths.length === 0) {
    throw new InputError(
      'gpg-recipients',
      `holds no key, only blank or # comment lines; ${PUBLIC_KEYS_HELP}, or remove the input`,
    );
  }
  return { armored: armored.length > 0 ? `${armored.join('\n')}\n` : '', paths };
}

const BEGIN = '-----BEGIN PGP ';

function unterminated(line: number): InputError {
  return new InputError(
    'gpg-recipients',
    `the armored key block that starts on line ${line + 1} has no -----END PGP line before the next block or the end; paste each key whole`,
  );
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
    throw unreadableLine(line, file, error.code ?? error.message);
  });
}

// 8 or 16 hex digits (short and long key ids, 0x or not) or 40 (a fingerprint, spaced or not).
const KEY_ID = /^(?:(?:0x)?(?:[0-9a-f]{8}|[0-9a-f]{16})|[0-9a-f]{40})$/i;

/** Why a line that names no readable file was refused, naming what it looks like instead. */
export function unreadableLine(line: string, file: string, code: string): InputError {
  if (holdsPrivateKey(line)) {
    return new InputError(
      'gpg-recipients',
      `a line holds a private key, which is never accepted here; ${PUBLIC_KEYS_HELP}`,
    );
  }
  if (KEY_ID.test(line.replace(/\s/g, ''))) {
    return new InputError(
      'gpg-recipients',
      `"${line}" looks like a key id or fingerprint, which is not accepted (the runner has no keyring to look it up in); give the key itself (gpg --armor --export ${line.replace(/\s/g, '')}) or the path of a file holding it`,
    );
  }
  return new InputError(
    'gpg-recipients',
    `${file} cannot be read (${code}); every line outside an armored key block must be the path of a file holding public keys`,
  );
}
