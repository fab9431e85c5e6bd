/**
 * The write path every backup takes: each of its objects stored (pipeline/store-all.ts), then
 * the manifest, last. A failure at any step leaves neither an object nor a manifest behind.
 */
import { CancelledError } from '../core/errors.js';
import { manifestKey, signatureKey } from '../core/layout.js';
import {
  serializeManifest,
  type AnyManifest,
  type ManifestBase,
  type ObjectRecord,
} from '../core/manifest.js';
import { encryptionOf, type EncryptionKeys } from '../core/settings.js';
import type { SigningKey } from '../core/ssh-keys.js';
import { signMessage } from '../core/sshsig.js';
import type { Store } from '../storage/index.js';
import { identityRecord, makeIdentity } from './backup-identity.js';
import { openSealer } from './seal.js';
import { storeAll, type ObjectPart, type StoredParts } from './store-all.js';
import { deleteStored, type LayerOptions, type StoredObject } from './store-object.js';

/** The manifest's fields that every backup writes the same way, whatever its source. */
type Envelope =
  | 'version'
  | 'id'
  | 'name'
  | 'createdAt'
  | 'completedAt'
  | 'compression'
  | 'encryption'
  | 'tool'
  | 'run';

/** What a source kind records of itself: its source, format and objects, and what they held. */
export type KindFields<M extends AnyManifest> = Omit<M, Envelope>;

export interface PublishOptions<
  M extends AnyManifest,
  P extends readonly ObjectPart[],
> extends Omit<LayerOptions, 'sealer'> {
  /** The keys every object is encrypted to, when the backup is encrypted. */
  encryption?: EncryptionKeys;
  name: string;
  id: string;
  createdAt: Date;
  tool: ManifestBase['tool'];
  run?: ManifestBase['run'];
  /** The backup's objects, in the order its manifest lists them. */
  parts: P;
  /** Objects stored at once. */
  jobs: number;
  /** Signs the manifest's bytes; the signature is stored beside it, before it. */
  signingKey?: SigningKey;
  /** The kind's fields of the manifest, from its objects as stored (in the order of `parts`). */
  fields(stored: StoredParts<P>): KindFields<M>;
}

export interface Published<M extends AnyManifest> {
  manifest: M;
  manifestKey: string;
  /** Each object as stored, in the order of `parts`. */
  stored: readonly StoredObject[];
  /** The manifest's signature as stored, when it was signed. */
  signature?: { key: string; size: number };
}

export async function publish<M extends AnyManifest, const P extends readonly ObjectPart[]>(
  options: PublishOptions<M, P>,
): Promise<Published<M>> {
  const { encryption } = options;
  // One scrypt for the backup: the objects go to an identity of its own, sealed with the passphrase.
  const own =
    encryption?.method === 'age' && encryption.passphrase !== undefined
      ? await makeIdentity(encryption.passphrase)
      : undefined;
  const sealer = await openSealer(own ? { method: 'age', ...own.keys } : encryption, options.env);
  let stored: StoredParts<P>;
  try {
    stored = await storeAll(options.parts, { ...options, sealer });
  } finally {
    await sealer?.close();
  }
  const identity = own && {
    record: identityRecord(options.name, options.id, own.sealed),
    body: own.sealed,
  };
  const manifest = assemble(options, options.fields(stored), identity?.record);
  const signature = await writeManifest(
    manifest,
    stored.map((one) => one.object),
    options,
    identity,
  );
  return { manifest, manifestKey: manifestKey(manifest.name, manifest.id), stored, signature };
}

/** The manifest in the order every release wrote it: envelope, source, layers, objects, tools. */
function assemble<M extends AnyManifest>(
  options: PublishOptions<M, readonly ObjectPart[]>,
  fields: KindFields<M>,
  identity: ObjectRecord | undefined,
): M {
  const { source, format, dump, ...objects } = fields;
  // One cast: TypeScript cannot see that the envelope and the kind's fields make up M.
  return {
    version: 1,
    id: options.id,
    name: options.name,
    createdAt: options.createdAt.toISOString(),
    completedAt: options.now().toISOString(),
    source,
    format,
    compression: options.compression,
    encryption: encryptionOf(options.encryption),
    ...(identity ? { identity } : {}),
    ...objects,
    tool: options.tool,
    ...(dump ? { dump } : {}),
    ...(options.run ? { run: options.run } : {}),
  } as unknown as M;
}

/**
 * Writes the manifest, last: the backup exists from then on. The backup's identity and the
 * manifest's signature (of exactly the bytes written) go before it, so a signed backup is never
 * seen unsigned. A manifest that cannot be written takes the backup's objects with it.
 */
async function writeManifest(
  manifest: AnyManifest,
  data: ObjectRecord[],
  options: Pick<LayerOptions, 'store' | 'log' | 'signal'> & { signingKey?: SigningKey },
  identity?: { record: ObjectRecord; body: Uint8Array },
): Promise<{ key: string; size: number } | undefined> {
  const text = serializeManifest(manifest);
  const signed = options.signingKey && {
    key: signatureKey(manifest.name, manifest.id),
    text: signMessage(Buffer.from(text, 'utf8'), options.signingKey),
  };
  const objects = identity ? [...data, identity.record] : data;
  try {
    if (options.signal.aborted) throw new CancelledError();
    if (identity) await options.store.put(identity.record.key, identity.body);
    await confirmListed(options.store, `${manifest.name}/${manifest.id}`, objects);
    if (signed) await options.store.put(signed.key, signed.text);
    await options.store.put(manifestKey(manifest.name, manifest.id), text);
  } catch (error) {
    const keys = objects.map((object) => object.key);
    await deleteStored(signed ? [...keys, signed.key] : keys, options);
    throw options.signal.aborted ? new CancelledError() : error;
  }
  return signed && { key: signed.key, size: Buffer.byteLength(signed.text) };
}

/**
 * One listing of the backup's keys, to see that every object is still there at its size: a
 * prune may have swept a long backup's first objects, and a manifest over them would be a torn
 * backup reported as a success. A listing, not a read: a writer's credentials may not read.
 */
async function confirmListed(
  store: Store,
  prefix: string,
  objects: readonly ObjectRecord[],
): Promise<void> {
  const listed = new Map<string, number>();
  for await (const { key, size } of store.list(prefix)) listed.set(key, size);
  const gone = objects.filter((object) => listed.get(object.key) !== object.size);
  if (gone.length === 0) return;
  throw new Error(
    `${gone.length} of this backup's ${objects.length} object(s) are no longer in the store as stored (${gone.map((object) => object.key).join(', ')}), so its manifest was not written: a retention-prune whose orphan-grace is shorter than this backup took may have deleted them`,
  );
}
