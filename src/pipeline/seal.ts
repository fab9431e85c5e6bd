/**
 * The encryption layer, whichever its method (age or gpg): what storing an object asks of it on
 * the way in, and what reading one asks on the way out. Every source kind's objects pass through
 * here, so a kind never knows how its bytes are encrypted.
 */
import type { Readable } from 'node:stream';
import type { Encryption } from '../core/layout.js';
import type { Decryption, EncryptionKeys } from '../core/settings.js';
import { findAgeProgram } from './age-program.js';
import { decryptStream, encryptStream } from './encrypt.js';
import type { Opened, Sealer } from './encryption-layer.js';
import { gpgDecrypt, gpgSealer, requireGpg } from './gpg.js';

/** The sealer for these keys, or undefined when the backup is not encrypted. */
export async function openSealer(
  keys: EncryptionKeys | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Sealer | undefined> {
  if (keys === undefined) return undefined;
  if (keys.method === 'gpg') return gpgSealer(keys, await requireGpg('gpg-recipients'));
  return {
    program: () => findAgeProgram(env, keys),
    seal: (input) => encryptStream(input, keys),
    close: () => Promise.resolve(),
  };
}

const OPENERS: Record<Encryption, (stored: Readable, keys: Decryption) => Promise<Opened>> = {
  none: (stored) => Promise.resolve(kept(stored)),
  age: async (stored, keys) => kept(await decryptStream(stored, keys)),
  gpg: (stored, keys) => gpgDecrypt(stored, keys.gpg),
};

const kept = (plain: Readable): Opened => ({ plain, close: () => Promise.resolve() });

/** Undoes the encryption layer a manifest records. */
export function unseal(
  stored: Readable,
  encryption: Encryption,
  keys: Decryption,
): Promise<Opened> {
  return OPENERS[encryption](stored, keys);
}
