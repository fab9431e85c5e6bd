/**
 * A reader's check of a signed backup: given `signing-public-key`, a backup is used only when its
 * signature (`<id>.manifest.json.sig`) is an SSHSIG by one of those keys of its manifest's exact
 * bytes, and those bytes are the manifest the reader chose. Anyone who can write the store can
 * write a manifest and its sha256s, but not this signature.
 */
import { manifestKey, signatureKey } from '../core/layout.js';
import { parseManifest, type AnyManifest } from '../core/manifest.js';
import type { PublicSigningKey } from '../core/ssh-keys.js';
import { SIGNATURE_MAX_BYTES, verifyMessage } from '../core/sshsig.js';
import { MANIFEST_MAX_BYTES } from './catalog.js';
import type { Store } from './index.js';
import type { ModeResult } from '../core/types.js';

/** A backup refused for its signature: one line naming the backup and why. */
export class SignatureRefused extends Error {
  constructor(manifest: AnyManifest, why: string) {
    super(`backup ${manifest.name}/${manifest.id} is refused: ${why}`);
    this.name = 'SignatureRefused';
  }
}

/**
 * The fingerprint of the key that signed `manifest` in `store`; undefined when no keys are given
 * (nothing is checked). Throws SignatureRefused for an unsigned or wrongly signed backup.
 */
export async function checkSignature(
  store: Store,
  manifest: AnyManifest,
  keys: readonly PublicSigningKey[],
): Promise<string | undefined> {
  if (keys.length === 0) return undefined;
  const { name, id } = manifest;
  const sigKey = signatureKey(name, id);
  if (!(await isListed(store, sigKey))) {
    throw new SignatureRefused(
      manifest,
      `it is not signed (no ${sigKey}), and signing-public-key accepts only signed backups`,
    );
  }
  const [signature, bytes] = await Promise.all([
    store.read(sigKey, SIGNATURE_MAX_BYTES),
    store.read(manifestKey(name, id), MANIFEST_MAX_BYTES),
  ]);
  const verdict = verifyMessage(bytes, signature.toString('latin1'), keys);
  if ('problem' in verdict) throw new SignatureRefused(manifest, verdict.problem);
  if (!sameManifest(bytes, manifest)) {
    throw new SignatureRefused(manifest, 'its manifest changed while it was read');
  }
  return verdict.signer;
}

/** As checkSignature, with a refusal returned as its line rather than thrown. */
export async function signatureVerdict(
  store: Store,
  manifest: AnyManifest,
  keys: readonly PublicSigningKey[],
): Promise<{ signer?: string; refused?: string }> {
  try {
    return { signer: await checkSignature(store, manifest, keys) };
  } catch (error) {
    if (error instanceof SignatureRefused) return { refused: error.message };
    throw error;
  }
}

async function isListed(store: Store, key: string): Promise<boolean> {
  for await (const object of store.list(key)) if (object.key === key) return true;
  return false;
}

/** Whether the signed bytes are the manifest the reader chose (read earlier, maybe elsewhere). */
function sameManifest(bytes: Buffer, chosen: AnyManifest): boolean {
  try {
    const signed = parseManifest(
      bytes.toString('utf8'),
      manifestKey(chosen.name, chosen.id),
      chosen.name,
    );
    return JSON.stringify(signed) === JSON.stringify(chosen);
  } catch {
    return false;
  }
}

/** A report with the signature's fact, when one was checked. */
export function withSignature(result: ModeResult, signer: string | undefined): ModeResult {
  if (signer === undefined) return result;
  return {
    ...result,
    facts: [...result.facts, ['Signature', `good, by ${signer}`]],
    details: { ...result.details, signedBy: signer },
  };
}
