/** The inputs of `verify-latest`: how old and how small the latest backup may be. */
import type { VerifySettings } from '../core/settings.js';
import { addSecrets, readCommon, readPercent, readSize } from './common.js';
import { decryptionSecrets, readDecryption } from './crypto.js';
import type { Inputs } from './reader.js';
import { readSigningPublicKeys } from './signing.js';

export async function readVerify(inputs: Inputs, cwd: string): Promise<VerifySettings> {
  const common = readCommon(inputs, cwd, undefined, { severalStores: true });
  const decryption = await readDecryption(inputs);
  const settings: VerifySettings = {
    ...common,
    mode: 'verify-latest',
    maxAgeMs: inputs.duration('max-age', '26h'),
    minSize: readSize(inputs, 'min-size'),
    maxShrink: readPercent(inputs, 'max-shrink', '50%'),
    allowMissingDatabases: inputs.boolean('allow-missing-databases', false),
    deep: inputs.boolean('deep', true),
    decryption,
    ...readSigningPublicKeys(inputs),
  };
  addSecrets(settings, ...decryptionSecrets(decryption));
  return settings;
}
