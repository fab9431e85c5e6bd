/**
 * `signing-key`, read by the mode that writes backups, and `signing-public-key`, read by the modes
 * that read them: Ed25519 keys as ssh-keygen writes them (core/ssh-keys.ts). A key that cannot
 * be used is refused before any work starts, and never quoted.
 */
import { InputError } from '../core/errors.js';
import { holdsPrivateKey } from '../core/secret-shapes.js';
import type { SignedReads } from '../core/settings.js';
import {
  KeyFormatError,
  parsePublicKey,
  parseSigningKey,
  type PublicSigningKey,
  type SigningKey,
} from '../core/ssh-keys.js';
import type { Inputs } from './reader.js';

/** Masked line by line with every secret input before it is read (given-secrets.ts). */
export function readSigningKey(inputs: Inputs): SigningKey | undefined {
  const text = inputs.optional('signing-key');
  return text === undefined ? undefined : asInput('signing-key', () => parseSigningKey(text));
}

export function readSigningPublicKeys(inputs: Inputs): SignedReads {
  const text = inputs.text('signing-public-key');
  if (holdsPrivateKey(text)) {
    throw new InputError(
      'signing-public-key',
      'holds a private key; give the public keys (the .pub file of ssh-keygen -t ed25519), one per line, and keep the private key secret',
    );
  }
  const lines = inputs.lines('signing-public-key');
  if (lines.length === 0 && text.trim() !== '') {
    // A commented-out key must not turn checked backups into unchecked ones without a word.
    throw new InputError(
      'signing-public-key',
      'holds no key, only blank or # comment lines; give ssh-ed25519 public keys, or remove the input',
    );
  }
  const signingPublicKeys: PublicSigningKey[] = lines.map((line, index) =>
    asInput('signing-public-key', () => parsePublicKey(line), `line ${index + 1} `),
  );
  return { signingPublicKeys };
}

function asInput<T>(name: 'signing-key' | 'signing-public-key', read: () => T, where = ''): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof KeyFormatError) throw new InputError(name, `${where}${error.message}`);
    throw error;
  }
}
