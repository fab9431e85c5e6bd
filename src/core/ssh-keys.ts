/**
 * Ed25519 keys as `ssh-keygen -t ed25519` writes them: the private key file (OpenSSH's own
 * container, PROTOCOL.key, which Node's crypto cannot read, so it is unpacked here and handed to
 * Node as a JWK) and the `ssh-ed25519 AAAA… comment` public line. A PKCS#8 PEM private key, which
 * Node reads itself, is accepted too.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { WireError, WireReader, wireString } from './ssh-wire.js';

export const ED25519 = 'ssh-ed25519';

/** A key that signs, and its public half as the wire blob every signature names. */
export interface SigningKey {
  privateKey: KeyObject;
  publicBlob: Buffer;
}

/** A key that verifies: its public half, as a KeyObject and as its wire blob. */
export interface PublicSigningKey {
  publicKey: KeyObject;
  publicBlob: Buffer;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** Why a key cannot be used, in words that never quote the key. */
export class KeyFormatError extends Error {}

const OPENSSH_ARMOR =
  /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/;
const PKCS8_ARMOR = /-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/;
const MAGIC = 'openssh-key-v1\0';

export function parseSigningKey(text: string): SigningKey {
  const openssh = OPENSSH_ARMOR.exec(text);
  if (openssh) return fromOpenSsh(Buffer.from(openssh[1]!.replace(/\s+/g, ''), 'base64'));
  const pkcs8 = PKCS8_ARMOR.exec(text);
  if (!pkcs8) {
    throw new KeyFormatError(
      'is not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----, as ssh-keygen -t ed25519 writes it) or a PKCS#8 PEM key',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pkcs8[0]);
  } catch {
    throw new KeyFormatError('is a PEM private key that cannot be read (is it encrypted?)');
  }
  return signingKeyOf(privateKey);
}

function signingKeyOf(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError(
      `is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; only Ed25519 keys sign backups`,
    );
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicBlob: ed25519Blob(Buffer.from(jwk.x!, 'base64url')) };
}

/** PROTOCOL.key: magic, cipher, kdf, kdf options, one public key, then the private section. */
function fromOpenSsh(container: Buffer): SigningKey {
  if (!container.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC, 'latin1'))) {
    throw new KeyFormatError('is not an OpenSSH private key (its header is wrong)');
  }
  try {
    const wire = new WireReader(container.subarray(MAGIC.length));
    const cipher = wire.text();
    wire.string(); // kdf name
    wire.string(); // kdf options
    if (cipher !== 'none') {
      throw new KeyFormatError(
        `is protected by a passphrase (${cipher}), which a scheduled run cannot type; remove it with ssh-keygen -p -N "" -f KEYFILE, and keep the key as a secret instead`,
      );
    }
    if (wire.uint32() !== 1) throw new KeyFormatError('holds more than one key; give one');
    wire.string(); // the public key, repeated in the private section
    return privateSection(new WireReader(wire.string()));
  } catch (error) {
    if (error instanceof WireError) {
      throw new KeyFormatError(`is not a readable OpenSSH private key (${error.message})`);
    }
    throw error;
  }
}

function privateSection(wire: WireReader): SigningKey {
  if (wire.uint32() !== wire.uint32()) {
    throw new KeyFormatError('is not a readable OpenSSH private key (its check numbers differ)');
  }
  const type = wire.text();
  if (type !== ED25519) {
    throw new KeyFormatError(
      `is a ${type} key; only Ed25519 keys sign backups (ssh-keygen -t ed25519)`,
    );
  }
  const publicKey = wire.string();
  const secret = wire.string();
  if (publicKey.length !== 32 || secret.length !== 64) {
    throw new KeyFormatError(
      'is not a readable OpenSSH private key (its Ed25519 key has the wrong length)',
    );
  }
  const privateKey = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: secret.subarray(0, 32).toString('base64url'),
      x: publicKey.toString('base64url'),
    },
    format: 'jwk',
  });
  const key = signingKeyOf(privateKey);
  if (!key.publicBlob.equals(ed25519Blob(publicKey))) {
    throw new KeyFormatError('is not a readable OpenSSH private key (its two halves do not match)');
  }
  return key;
}

/**
 * One public key line: `ssh-ed25519 AAAA… comment`, as in a `.pub` file (an allowed_signers
 * line, which starts with a principal, is accepted too: the key is the part after the type).
 */
export function parsePublicKey(line: string): PublicSigningKey {
  const words = line.trim().split(/\s+/);
  const at = words.indexOf(ED25519);
  const encoded = at >= 0 ? words[at + 1] : undefined;
  if (encoded === undefined) {
    throw new KeyFormatError(
      `is not an Ed25519 public key; give lines like "ssh-ed25519 AAAA… comment" (the .pub file of ssh-keygen -t ed25519)`,
    );
  }
  const blob = Buffer.from(encoded, 'base64');
  return publicKeyOfBlob(blob) ?? badPublicKey();
}

function badPublicKey(): never {
  throw new KeyFormatError('holds an ssh-ed25519 line whose key is not a valid Ed25519 public key');
}

/** The key a wire blob names, when it is an Ed25519 public key. */
export function publicKeyOfBlob(blob: Buffer): PublicSigningKey | undefined {
  try {
    const wire = new WireReader(blob);
    if (wire.text() !== ED25519) return undefined;
    const raw = wire.string();
    if (raw.length !== 32 || !wire.done) return undefined;
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
    return { publicKey, publicBlob: blob, fingerprint: fingerprintOf(blob) };
  } catch {
    return undefined;
  }
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function ed25519Blob(raw: Buffer): Buffer {
  return Buffer.concat([wireString(ED25519), wireString(raw)]);
}
