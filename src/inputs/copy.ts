/** The inputs of `copy`, and the copy inputs `backup` takes: where to, which backups, how checked. */
import { InputError } from '../core/errors.js';
import type { CommonSettings, CopyCheck, CopySettings, StoreSettings } from '../core/settings.js';
import { readCommon, storeSecrets } from './common.js';
import type { Inputs } from './reader.js';
import { readSigningPublicKeys } from './signing.js';
import { realPathOf } from '../files/real-path.js';
import { readStores, refuseOverlaps } from './stores.js';

export async function readCopy(inputs: Inputs, cwd: string): Promise<CopySettings> {
  const common = readCommon(inputs, cwd, undefined);
  const copyTo = await readCopyTo(inputs, cwd, common);
  if (copyTo.length === 0) {
    throw new InputError(
      'copy-to',
      'is required with mode: copy; give the stores to copy to, one per line (s3://bucket/prefix?region=…, or a folder)',
    );
  }
  return {
    ...common,
    mode: 'copy',
    copyTo,
    last: inputs.integer('copy-last', { min: 1, max: 100_000 }),
    copyCheck: readCopyCheck(inputs),
    ...readSigningPublicKeys(inputs),
  };
}

/**
 * `copy-to`: each store starts from the source's S3 settings (the s3-* inputs) and its own URL
 * parameters; none may be the source, or inside it, or hold it, as spelled or as the folders
 * really lie (a symbolic link anywhere along either path). Its keys join the secrets.
 */
export async function readCopyTo(
  inputs: Inputs,
  cwd: string,
  source: CommonSettings,
): Promise<StoreSettings[]> {
  const primary: StoreSettings = { location: source.storage, s3: source.s3 };
  const copyTo = readStores(inputs, 'copy-to', cwd, primary.s3, true);
  const [realCopies, realPrimary] = await Promise.all([realStores(copyTo), realStores([primary])]);
  refuseOverlaps('copy-to', copyTo, [primary], 'the source store (storage)', {
    stores: realCopies,
    against: realPrimary,
  });
  refuseOverlaps('copy-to', copyTo, copyTo, undefined, { stores: realCopies, against: realCopies });
  source.secrets.push(...storeSecrets(copyTo));
  return copyTo;
}

/** Each folder store at its real path; a path that cannot be resolved is kept as spelled. */
function realStores(stores: readonly StoreSettings[]): Promise<StoreSettings[]> {
  return Promise.all(
    stores.map(async (store) => {
      const { location } = store;
      if (location.kind !== 'directory') return store;
      const real = await realPathOf(location.path).catch(() => location.path);
      return { ...store, location: { kind: 'directory' as const, path: real } };
    }),
  );
}

export function readCopyCheck(inputs: Inputs): CopyCheck {
  return inputs.oneOf('copy-check', ['listing', 'sha256'] as const, 'listing');
}
