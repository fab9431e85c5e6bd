/** The inputs of `copy`, and the copy inputs `backup` takes: where to, which backups, how checked. */
import { InputError } from '../core/errors.js';
import type { CommonSettings, CopyCheck, CopySettings, StoreSettings } from '../core/settings.js';
import { readCommon, storeSecrets } from './common.js';
import type { Inputs } from './reader.js';
import { readStores, refuseOverlaps } from './stores.js';

export function readCopy(inputs: Inputs, cwd: string): CopySettings {
  const common = readCommon(inputs, cwd, undefined);
  const copyTo = readCopyTo(inputs, cwd, common);
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
  };
}

/**
 * `copy-to`: each store starts from the source's S3 settings (the s3-* inputs) and its own URL
 * parameters; none may be the source, or inside it, or hold it. Its keys join the secrets.
 */
export function readCopyTo(inputs: Inputs, cwd: string, source: CommonSettings): StoreSettings[] {
  const primary: StoreSettings = { location: source.storage, s3: source.s3 };
  const copyTo = readStores(inputs, 'copy-to', cwd, primary.s3, true);
  refuseOverlaps('copy-to', copyTo, [primary], 'the source store (storage)');
  source.secrets.push(...storeSecrets(copyTo));
  return copyTo;
}

export function readCopyCheck(inputs: Inputs): CopyCheck {
  return inputs.oneOf('copy-check', ['listing', 'sha256'] as const, 'listing');
}
