/**
 * The encryption inputs. age: recipients or a passphrase to encrypt, identities or a passphrase to
 * decrypt. gpg: public keys to encrypt, a private key (and its passphrase) to decrypt. A backup is
 * encrypted with one or the other; the keys are checked before any work starts.
 */
import { InputError } from '../core/errors.js';
import { holdsPrivateKey } from '../core/secret-shapes.js';
import type { Decryption, EncryptionKeys, GpgSecrets } from '../core/settings.js';
import { requireGpg } from '../pipeline/gpg.js';
import { checkSecretKeys } from '../pipeline/gpg-keys.js';
import { readGpgRecipients } from './gpg-recipients.js';
import type { Inputs } from './reader.js';

export async function readEncryption(
  inputs: Inputs,
  cwd: string,
): Promise<EncryptionKeys | undefined> {
  const recipients = inputs.lines('age-recipients');
  const passphrase = inputs.optional('encryption-passphrase');
  if (inputs.text('gpg-recipients') !== '') {
    const age = recipients.length > 0 ? 'age-recipients' : passphrase && 'encryption-passphrase';
    if (age) {
      throw new InputError(
        'gpg-recipients',
        `cannot be combined with ${age}; a backup is encrypted with age or with gpg, not both`,
      );
    }
    return { method: 'gpg', ...(await readGpgRecipients(inputs, cwd)) };
  }
  if (recipients.length > 0 && passphrase !== undefined) {
    throw new InputError(
      'encryption-passphrase',
      'cannot be combined with age-recipients; age encrypts to recipients or to a passphrase, not both',
    );
  }
  if (recipients.length === 0 && inputs.text('age-recipients') !== '') {
    // A commented-out key must not turn encrypted backups into plain ones without a word.
    throw new InputError(
      'age-recipients',
      'holds no recipient, only blank or # comment lines; give public keys starting with age1, or remove the input',
    );
  }
  if (recipients.length > 0) {
    await checkRecipients(recipients);
    return { method: 'age', recipients };
  }
  if (passphrase !== undefined) return { method: 'age', recipients: [], passphrase };
  return undefined;
}

/** The secrets among the keys a backup is encrypted to: age's passphrase (public keys are not). */
export function encryptionSecrets(keys: EncryptionKeys | undefined): (string | undefined)[] {
  return keys?.method === 'age' ? [keys.passphrase] : [];
}

const ARMORED = '-----BEGIN PGP ';

/** Identity files may carry comments (`# created: …`, `# public key: …`); only keys count. */
export async function readDecryption(inputs: Inputs): Promise<Decryption> {
  const identities = inputs.lines('age-identity');
  if (identities.length > 0) await checkIdentities(identities);
  const passphrase = inputs.optional('encryption-passphrase');
  const gpg = await readGpgSecrets(inputs);
  if (gpg && passphrase !== undefined) {
    throw new InputError(
      'encryption-passphrase',
      "is age's passphrase and cannot be combined with gpg-private-key or gpg-passphrase; give the gpg key's passphrase as gpg-passphrase",
    );
  }
  return { identities, passphrase, ...(gpg ? { gpg } : {}) };
}

/**
 * `gpg-private-key` and `gpg-passphrase`, tried with gpg at once. The passphrase alone opens a
 * file made with `gpg --symmetric`.
 */
async function readGpgSecrets(inputs: Inputs): Promise<GpgSecrets | undefined> {
  const privateKeys = inputs.optional('gpg-private-key');
  const passphrase = inputs.optional('gpg-passphrase');
  if (privateKeys === undefined) {
    if (passphrase === undefined) return undefined;
    await requireGpg('gpg-passphrase');
    return { passphrase };
  }
  // Never quote it: it is a private key.
  if (!privateKeys.includes(`${ARMORED}PRIVATE KEY BLOCK-----`)) {
    const what = privateKeys.includes(`${ARMORED}PUBLIC KEY BLOCK-----`)
      ? 'holds only a public key, which cannot decrypt'
      : 'is not an armored OpenPGP private key';
    throw new InputError(
      'gpg-private-key',
      `${what}; give the private key as gpg --armor --export-secret-keys KEYID writes it`,
    );
  }
  const secrets = { privateKeys, ...(passphrase === undefined ? {} : { passphrase }) };
  await checkSecretKeys(await requireGpg('gpg-private-key'), secrets);
  return secrets;
}

/**
 * Every secret a reading mode is given, for the runner to mask: an armored key line by line, since
 * logs are matched a line at a time (its BEGIN, END and header lines hold nothing secret).
 */
export function decryptionSecrets(decryption: Decryption): (string | undefined)[] {
  const { privateKeys, passphrase } = decryption.gpg ?? {};
  const keyLines = (privateKeys ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('-----') && !/^[A-Za-z-]+: /.test(line));
  return [...decryption.identities, decryption.passphrase, passphrase, ...keyLines];
}

// The age library is loaded only when there are keys to check: most runs never encrypt.

async function checkRecipients(recipients: string[]): Promise<void> {
  const { Encrypter } = await import('age-encryption');
  for (const [index, recipient] of recipients.entries()) {
    // Never quoted, not even its first characters: a pasted private key would be half shown.
    if (holdsPrivateKey(recipient)) {
      throw new InputError(
        'age-recipients',
        `line ${index + 1} is a private key (AGE-SECRET-KEY-…); give its public recipient (age1…), as age-keygen -y prints it`,
      );
    }
    try {
      new Encrypter().addRecipient(recipient);
    } catch {
      throw new InputError(
        'age-recipients',
        `line ${index + 1} is not an age recipient; use public keys starting with age1`,
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
