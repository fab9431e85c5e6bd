/**
 * Signatures in OpenSSH's SSHSIG format (PROTOCOL.sshsig), so a person checks a backup's manifest
 * with `ssh-keygen -Y verify -n backup-action` and no tool of ours. The namespace binds a
 * signature to its use: a signature this key made for anything else never passes as a manifest's.
 */
import { createHash, sign, verify } from 'node:crypto';
import { ED25519, fingerprintOf, type PublicSigningKey, type SigningKey } from './ssh-keys.js';
import { WireError, WireReader, wireString, wireUint32 } from './ssh-wire.js';

export const SIGNATURE_NAMESPACE = 'backup-action';

const MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;
const HASH = 'sha512';
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
/** ssh-keygen wraps the armored signature at 70 characters; it reads any width. */
const LINE = 70;
/** A signature is a few hundred bytes; anything much larger is not one. */
export const SIGNATURE_MAX_BYTES = 16 * 1024;

/** The armored SSHSIG signature of `message`, as `ssh-keygen -Y sign` writes it. */
export function signMessage(message: Buffer, key: SigningKey): string {
  const signature = sign(null, signedData(message, HASH), key.privateKey);
  const blob = Buffer.concat([
    MAGIC,
    wireUint32(VERSION),
    wireString(key.publicBlob),
    wireString(SIGNATURE_NAMESPACE),
    wireString(''),
    wireString(HASH),
    wireString(Buffer.concat([wireString(ED25519), wireString(signature)])),
  ]);
  const base64 = blob.toString('base64');
  const lines = base64.match(new RegExp(`.{1,${LINE}}`, 'g')) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/** What the blob that is signed holds: the magic, the namespace and the message's hash. */
function signedData(message: Buffer, hash: 'sha256' | 'sha512'): Buffer {
  return Buffer.concat([
    MAGIC,
    wireString(SIGNATURE_NAMESPACE),
    wireString(''),
    wireString(hash),
    wireString(createHash(hash).update(message).digest()),
  ]);
}

/** A signature checked: the key that made it, or why it does not hold. */
export type Verdict = { signer: string } | { problem: string };

/** Whether `armored` is an SSHSIG of `message` in our namespace by one of `keys`. */
export function verifyMessage(
  message: Buffer,
  armored: string,
  keys: readonly PublicSigningKey[],
): Verdict {
  let parts: SignatureParts;
  try {
    parts = readSignature(armored);
  } catch (error) {
    if (error instanceof WireError)
      return { problem: `its signature is unreadable (${error.message})` };
    throw error;
  }
  const key = keys.find((each) => each.publicBlob.equals(parts.publicBlob));
  if (!key) {
    return {
      problem: `it is signed by ${fingerprintOf(parts.publicBlob)}, which is not among signing-public-key`,
    };
  }
  if (parts.namespace !== SIGNATURE_NAMESPACE) {
    return {
      problem: `its signature is for ${JSON.stringify(parts.namespace)}, not for ${SIGNATURE_NAMESPACE}`,
    };
  }
  const valid = verify(null, signedData(message, parts.hash), key.publicKey, parts.signature);
  return valid
    ? { signer: key.fingerprint }
    : { problem: `its signature by ${key.fingerprint} does not match its manifest` };
}

interface SignatureParts {
  publicBlob: Buffer;
  namespace: string;
  hash: 'sha256' | 'sha512';
  signature: Buffer;
}

function readSignature(armored: string): SignatureParts {
  const text = armored.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) throw new WireError('not an SSH signature');
  const blob = Buffer.from(text.slice(BEGIN.length, -END.length).replace(/\s+/g, ''), 'base64');
  if (!blob.subarray(0, MAGIC.length).equals(MAGIC)) throw new WireError('not an SSH signature');
  const wire = new WireReader(blob.subarray(MAGIC.length));
  if (wire.uint32() !== VERSION) throw new WireError('an unknown version');
  const publicBlob = wire.string();
  const namespace = wire.text();
  wire.string(); // reserved
  const hash = wire.text();
  if (hash !== 'sha256' && hash !== 'sha512') throw new WireError(`an unknown hash ${hash}`);
  const inner = new WireReader(wire.string());
  if (!wire.done) throw new WireError('bytes after its end');
  if (inner.text() !== ED25519) throw new WireError('not an Ed25519 signature');
  const signature = inner.string();
  if (signature.length !== 64 || !inner.done) throw new WireError('not an Ed25519 signature');
  return { publicBlob, namespace, hash, signature };
}
