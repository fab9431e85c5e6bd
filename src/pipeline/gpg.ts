/**
 * OpenPGP as the encryption layer, through the gpg program. A backup is encrypted to public keys
 * imported into a temporary home of its own; each object read is decrypted in another, with the
 * private key imported into it. The files are what `gpg --encrypt` writes, so `gpg --decrypt`
 * opens them by hand; a file made with `gpg --symmetric` opens here with its passphrase alone.
 */
import { pipeline, type Readable } from 'node:stream';
import { errorMessage, InputError } from '../core/errors.js';
import type { GpgKeys, GpgSecrets } from '../core/settings.js';
import { guardedStdout, stopIfRunning, type Ended } from '../process/programs.js';
import { programInput, throughProgram, type Filter } from './chain.js';
import { DecryptionError } from './encrypt.js';
import { findGpg, GpgHome, type GpgPrograms } from './gpg-home.js';
import { importSecretKeys } from './gpg-keys.js';
import {
  messagesLine,
  parseGpgOutput,
  passphraseAsked,
  passphraseRejected,
  statusArgs,
  type GpgOutcome,
} from './gpg-status.js';
import type { Opened, Sealer } from './encryption-layer.js';

/** gpg, or one line naming the input that needs it. */
export async function requireGpg(input: 'gpg-recipients' | 'gpg-private-key' | 'gpg-passphrase') {
  const programs = await findGpg();
  if (programs) return programs;
  throw new InputError(
    input,
    'needs the gpg program, which is not on PATH; install GnuPG (Debian and Ubuntu: apt-get install gnupg)',
  );
}

/**
 * Encrypts to every key of `gpg-recipients`, trusted as given (they were chosen by the user, not
 * found on a keyserver), without OpenPGP's own compression: the bytes are compressed already.
 */
export async function gpgSealer(keys: GpgKeys, programs: GpgPrograms): Promise<Sealer> {
  const home = await GpgHome.open(programs, { agent: false });
  try {
    const imported = await home.run(['--import'], keys.publicKeys);
    if (imported.ended.code !== 0) {
      throw new Error(`gpg could not import gpg-recipients: ${failureText(imported.ended)}`);
    }
  } catch (error) {
    await home.close();
    throw error;
  }
  const recipients = keys.recipients.flatMap((fingerprint) => ['--recipient', fingerprint]);
  const filter: Filter = {
    name: 'gpg',
    path: programs.gpg,
    args: home.args([
      '--trust-model',
      'always',
      '--compress-algo',
      'none',
      '--encrypt',
      ...recipients,
    ]),
    doing: 'encrypting',
  };
  return {
    program: () => Promise.resolve(filter),
    seal: (input) => Promise.resolve(pipeline(input, throughProgram(filter), () => undefined)),
    close: () => home.close(),
  };
}

const failureText = (ended: Ended): string => messagesLine(parseGpgOutput(ended.stderr));

/**
 * `stored` decrypted by gpg in a home of its own, which `close` removes. Resolves once gpg has
 * written its first byte: a key that does not open the file fails here, before anything reads
 * the archive, in one line naming the input.
 */
export async function gpgDecrypt(
  stored: Readable,
  secrets: GpgSecrets | undefined,
): Promise<Opened> {
  if (secrets === undefined) {
    throw inputError(
      'gpg-private-key',
      'is required: the backup is encrypted with gpg (give gpg-passphrase too when the key has one)',
    );
  }
  const programs = await findGpg();
  if (!programs) {
    throw new DecryptionError(
      'the backup is encrypted with gpg, which is not on PATH; install GnuPG',
    );
  }
  const home = await GpgHome.open(programs, { agent: true });
  try {
    if (secrets.privateKeys !== undefined) await importSecretKeys(home, secrets.privateKeys);
    const { child, exit } = home.start(['--decrypt'], 'pipe', 'pipe', secrets.passphrase);
    const outcome = exit.then(
      (ended) => {
        if (ended.code !== 0) throw decryptFailure(parseGpgOutput(ended.stderr), secrets);
      },
      (error: unknown) => {
        throw new Error(`gpg could not run: ${errorMessage(error)}`);
      },
    );
    pipeline(stored, programInput(child.stdin!, outcome), () => undefined);
    const plain = guardedStdout(child.stdout, outcome);
    const close = async () => {
      plain.destroy();
      stopIfRunning(child);
      await exit.catch(() => undefined);
      await home.close();
    };
    await firstBytes(plain).catch(async (error: unknown) => {
      await close();
      throw error;
    });
    return { plain, close };
  } catch (error) {
    await home.close();
    throw error;
  }
}

/** Resolves once `stream` has bytes to read (or has ended); rejects if it fails first. */
function firstBytes(stream: Readable): Promise<void> {
  // Its consumer handles its errors; one emitted before the consumer attaches must not crash.
  stream.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('readable', settle);
      stream.off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    stream.on('readable', settle);
    stream.on('error', settle);
  });
}

const inputError = (input: string, detail: string) =>
  new DecryptionError(new InputError(input, detail).message);

/**
 * Why gpg could not decrypt: the passphrase or the key, named as the input to fix, or else what
 * gpg said (damaged bytes, which the checksum then names). A passphrase gpg asked for comes first:
 * it was asked for a key that does open the file.
 */
export function decryptFailure(outcome: GpgOutcome, secrets: GpgSecrets): Error {
  const symmetric = outcome.status.some((line) => line.keyword === 'NEED_PASSPHRASE_SYM');
  if (secrets.passphrase === undefined && passphraseAsked(outcome)) {
    return inputError(
      'gpg-passphrase',
      symmetric
        ? 'is required: the backup was encrypted with gpg --symmetric'
        : 'is required: gpg-private-key is protected by a passphrase',
    );
  }
  if (secrets.passphrase !== undefined && passphraseRejected(outcome)) {
    return inputError(
      'gpg-passphrase',
      symmetric ? 'does not open the backup' : 'does not unlock gpg-private-key',
    );
  }
  const missing = statusArgs(outcome, 'NO_SECKEY').map(([keyId]) => keyId);
  if (missing.length > 0 && statusArgs(outcome, 'DECRYPTION_KEY').length === 0) {
    const keys = `OpenPGP key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
    return inputError(
      'gpg-private-key',
      secrets.privateKeys === undefined
        ? `is required: the backup is encrypted to ${keys}`
        : `does not hold the secret of ${keys}, to which the backup is encrypted`,
    );
  }
  return new Error(`gpg could not decrypt the backup: ${messagesLine(outcome)}`);
}
