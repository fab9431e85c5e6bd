/**
 * The OpenPGP keys a run is given, checked with gpg before any work starts: public keys that can
 * encrypt today (not expired, not revoked, with an encryption subkey), and private keys that can
 * decrypt (the secret of an encryption subkey present, the passphrase the one that unlocks it).
 * Only a key's fingerprint and user id are ever quoted; never its material.
 */
import { InputError } from '../core/errors.js';
import type { GpgKeys, GpgSecrets } from '../core/settings.js';
import { GpgHome, type GpgPrograms } from './gpg-home.js';
import {
  messagesLine,
  parseGpgOutput,
  passphraseAsked,
  passphraseRejected,
  type GpgOutcome,
} from './gpg-status.js';

/** A key (or subkey) as gpg's `--with-colons` listing describes it (doc/DETAILS in GnuPG). */
export interface ListedKey {
  secret: boolean;
  fingerprint: string;
  keyId: string;
  /** Field 2: `e` expired, `r` revoked, `i` invalid, `d` disabled; others are trust levels. */
  validity: string;
  /** When it was made, in seconds since 1970 (field 6). */
  created?: number;
  /** When it expires, in seconds since 1970 (field 7), if it does. */
  expires?: number;
  /** Field 12: its own capabilities in lower case; for a primary key, the usable ones of the whole key in upper case. */
  capabilities: string;
  /** Field 15 of a secret key: `+` its secret is here, `#` only a stub, a serial: on a card. */
  token: string;
  uid?: string;
  subkeys: ListedKey[];
}

/** Parses gpg's `--with-colons` listing into primary keys with their subkeys. */
export function parseColonListing(text: string): ListedKey[] {
  const keys: ListedKey[] = [];
  let last: ListedKey | undefined;
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const type = fields[0];
    if (type === 'pub' || type === 'sec' || type === 'sub' || type === 'ssb') {
      last = {
        secret: type === 'sec' || type === 'ssb',
        fingerprint: '',
        keyId: fields[4] ?? '',
        validity: fields[1] ?? '',
        ...(fields[5] ? { created: Number(fields[5]) } : {}),
        ...(fields[6] ? { expires: Number(fields[6]) } : {}),
        capabilities: fields[11] ?? '',
        token: fields[14] ?? '',
        subkeys: [],
      };
      if (type === 'pub' || type === 'sec') keys.push(last);
      else keys.at(-1)?.subkeys.push(last);
    } else if (type === 'fpr' && last && last.fingerprint === '') {
      last.fingerprint = fields[9] ?? '';
    } else if (type === 'uid') {
      const key = keys.at(-1);
      if (key && key.uid === undefined) key.uid = unescapeField(fields[9] ?? '');
    }
  }
  return keys;
}

/** gpg escapes `:` and control characters in a field as `\xHH`. */
function unescapeField(text: string): string {
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_match, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/** How a key is named in a message: its fingerprint, and its first user id. */
export function keyName(key: ListedKey): string {
  return `key ${key.fingerprint || key.keyId}${key.uid ? ` (${JSON.stringify(key.uid)})` : ''}`;
}

const day = (seconds: number | undefined): string =>
  seconds === undefined ? 'an unknown day' : new Date(seconds * 1000).toISOString().slice(0, 10);

/**
 * Why a key or subkey gpg lists as invalid is: most often made "in the future", by a machine whose
 * clock is ahead of this one's (gpg refuses it until this clock passes that time).
 */
function invalidity(key: ListedKey, now: number): string {
  return key.created !== undefined && key.created > now
    ? `was made on ${day(key.created)}, later than this machine's clock says it is now (one of the two clocks is wrong)`
    : 'is not valid (gpg cannot check its self-signature)';
}

/** Why a public key cannot be encrypted to today, or undefined when it can. */
export function recipientProblem(key: ListedKey, now = Date.now() / 1000): string | undefined {
  const name = keyName(key);
  if (key.validity === 'r') return `${name} is revoked`;
  if (key.validity === 'e') return `${name} expired on ${day(key.expires)}`;
  if (key.validity === 'i') return `${name} ${invalidity(key, now)}`;
  const encrypting = [key, ...key.subkeys].filter((one) => one.capabilities.includes('e'));
  // gpg lists a subkey made ahead of its clock as valid and the key as able to encrypt (`E`),
  // then refuses it at encryption time: judged here, before any work.
  const future = encrypting.filter((one) => one.created !== undefined && one.created > now);
  if (future[0] && future.length === encrypting.length) {
    return `${name}: its encryption subkey ${invalidity(future[0], now)}`;
  }
  if (key.capabilities.includes('E')) return undefined;
  if (encrypting.length === 0) {
    return `${name} cannot encrypt: it has no encryption subkey (it is for signing only)`;
  }
  const invalid = encrypting.find((one) => one.validity === 'i');
  if (invalid) return `${name}: its encryption subkey ${invalidity(invalid, now)}`;
  if (encrypting.every((one) => one.validity === 'r'))
    return `${name}: its encryption subkey is revoked`;
  const latest = Math.max(...encrypting.map((one) => one.expires ?? 0));
  return `${name}: its encryption subkey expired on ${day(latest)}`;
}

/**
 * Why secret keys cannot decrypt anything, or undefined when one can. An expired or revoked key
 * still opens what was encrypted to it before: only the secret's presence counts.
 */
export function secretKeyProblem(keys: ListedKey[]): string | undefined {
  if (keys.length === 0) {
    return 'holds no private key (a public key alone cannot decrypt); give it as gpg --armor --export-secret-keys KEYID writes it';
  }
  const encrypting = keys.flatMap((key) =>
    [key, ...key.subkeys].filter((one) => one.capabilities.includes('e')),
  );
  const names = keys.map(keyName).join(', ');
  if (encrypting.length === 0) {
    return `${names} cannot decrypt: it has no encryption subkey (it is for signing only)`;
  }
  if (!encrypting.some((one) => one.token === '+')) {
    return `${names}: the secret of its encryption subkey is missing (a stub, as --export-secret-subkeys of another subkey or a smartcard leaves); export it with gpg --armor --export-secret-keys KEYID`;
  }
  return undefined;
}

export const PUBLIC_KEYS_HELP =
  'give armored public keys (gpg --armor --export KEYID) or the path of a file holding them';

/**
 * `gpg-recipients`: every key it holds must be a public key that can encrypt today. Returns them
 * armored, whatever form they came in, with the fingerprint of each.
 */
export async function readPublicKeys(programs: GpgPrograms, material: Buffer): Promise<GpgKeys> {
  return GpgHome.with(programs, { agent: false }, async (home) => {
    const listed = await home.run(['--with-colons', '--show-keys'], material);
    const keys = parseColonListing(listed.stdout.toString('utf8'));
    if (listed.ended.code !== 0 || keys.length === 0) {
      throw new InputError('gpg-recipients', `holds no OpenPGP public key; ${PUBLIC_KEYS_HELP}`);
    }
    if (keys.some((key) => key.secret)) {
      throw new InputError(
        'gpg-recipients',
        `holds a private key; ${PUBLIC_KEYS_HELP}, and keep the private key out of the backup job`,
      );
    }
    for (const key of keys) {
      const problem = recipientProblem(key);
      if (problem) throw new InputError('gpg-recipients', `${problem}; give keys that can encrypt`);
    }
    const exported = await home.run(
      ['--armor', '--import-options', 'import-export', '--import'],
      material,
    );
    if (exported.ended.code !== 0) {
      throw new InputError('gpg-recipients', `could not be read by gpg; ${PUBLIC_KEYS_HELP}`);
    }
    return {
      publicKeys: exported.stdout.toString('utf8'),
      recipients: keys.map((key) => key.fingerprint),
    };
  });
}

/** Imports `gpg-private-key` into a home; a failure names the input, never the key's text. */
export async function importSecretKeys(home: GpgHome, privateKeys: string): Promise<void> {
  const imported = await home.run(['--import'], privateKeys);
  if (imported.ended.code === 0) return;
  const agent = agentFailure(parseGpgOutput(imported.ended.stderr));
  if (agent) throw new Error(`gpg could not import gpg-private-key: ${agent}`);
  throw new InputError(
    'gpg-private-key',
    'is not an OpenPGP private key gpg can import; give it armored, as gpg --armor --export-secret-keys KEYID writes it',
  );
}

/**
 * What gpg said when its agent, which keeps the secret keys, could not start or be reached: then
 * the key given is not at fault, and gpg's own words say what is.
 */
export function agentFailure(outcome: GpgOutcome): string | undefined {
  const lines = outcome.messages.filter((line) => /\bagent\b/i.test(line));
  return lines.length > 0 ? lines.slice(0, 2).join(' | ') : undefined;
}

/**
 * `gpg-private-key` and `gpg-passphrase`, tried before any work starts: the key must hold the
 * secret of an encryption subkey, and the passphrase must unlock it. Exporting the secret keys
 * asks the agent to unlock each (its output, the same key again, is dropped).
 */
export async function checkSecretKeys(programs: GpgPrograms, secrets: GpgSecrets): Promise<void> {
  const { privateKeys, passphrase } = secrets;
  if (privateKeys === undefined) return;
  await GpgHome.with(programs, { agent: true }, async (home) => {
    await importSecretKeys(home, privateKeys);
    const listed = await home.run(['--with-colons', '--list-secret-keys']);
    const problem = secretKeyProblem(parseColonListing(listed.stdout.toString('utf8')));
    if (problem) throw new InputError('gpg-private-key', problem);
    const unlocked = await home.run(['--export-secret-keys'], '', passphrase);
    if (unlocked.ended.code === 0) return;
    throw unlockFailure(parseGpgOutput(unlocked.ended.stderr), passphrase !== undefined);
  });
}

/** Why gpg could not unlock the secret keys: the passphrase, named, or what gpg said. */
export function unlockFailure(outcome: GpgOutcome, passphraseGiven: boolean): Error {
  if (!passphraseGiven && passphraseAsked(outcome)) {
    return new InputError(
      'gpg-passphrase',
      'is required: gpg-private-key is protected by a passphrase',
    );
  }
  if (passphraseGiven && passphraseRejected(outcome)) {
    return new InputError('gpg-passphrase', 'does not unlock gpg-private-key');
  }
  return new InputError('gpg-private-key', `gpg could not unlock it: ${messagesLine(outcome)}`);
}
