/** The age inputs: recipients or a passphrase to encrypt, identities or a passphrase to decrypt. */
import { InputError } from '../core/errors.js';
import type { Decryption } from '../core/settings.js';
import type { Inputs } from './reader.js';

export async function readEncryption(
  inputs: Inputs,
): Promise<{ recipients: string[]; passphrase?: string } | undefined> {
  const recipients = inputs.lines('age-recipients');
  const passphrase = inputs.optional('encryption-passphrase');
  if (recipients.length > 0 && passphrase !== undefined) {
    throw new InputError(
      'encryption-passphrase',
      'cannot be combined with age-recipients; age encrypts to recipients or to a passphrase, not both',
    );
  }
  if (recipients.length > 0) {
    await checkRecipients(recipients);
    return { recipients };
  }
  if (passphrase !== undefined) return { recipients: [], passphrase };
  return undefined;
}

/** Identity files may carry comments (`# created: …`, `# public key: …`); only keys count. */
export async function readDecryption(inputs: Inputs): Promise<Decryption> {
  const identities = inputs.lines('age-identity');
  if (identities.length > 0) await checkIdentities(identities);
  return { identities, passphrase: inputs.optional('encryption-passphrase') };
}

// The age library is loaded only when there are keys to check: most runs never encrypt.

async function checkRecipients(recipients: string[]): Promise<void> {
  const { Encrypter } = await import('age-encryption');
  for (const [index, recipient] of recipients.entries()) {
    try {
      new Encrypter().addRecipient(recipient);
    } catch {
      throw new InputError(
        'age-recipients',
        `line ${index + 1} ("${recipient.slice(0, 24)}…") is not an age recipient; use public keys starting with age1`,
      );
    }
  }
}

async function checkIdentities(identities: string[]): Promise<void> {
  const { identityToRecipient } = await import('age-encryption');
  for (const [index, identity] of identities.entries()) {
    const valid = await identityToRecipient(identity).then(
      () => true,
      () => false,
    );
    // Never quote an identity: it is a private key.
    if (!valid) {
      throw new InputError(
        'age-identity',
        `line ${index + 1} is not an age identity; use a key starting with AGE-SECRET-KEY-1`,
      );
    }
  }
}
