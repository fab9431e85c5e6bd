/**
 * age's own program as the encryption layer, when the machine has one (Debian and Ubuntu package
 * it as `age`). Reading zstd's output itself, it keeps the compressed bytes out of Node, which
 * otherwise reads, seals and writes each 64 KiB chunk (docs/benchmarks.md). The file is the same
 * format either way.
 */
import { onPath } from '../process/programs.js';
import type { Filter } from './chain.js';
import type { AgeKeys } from '../core/settings.js';

/**
 * Only X25519 recipients go to the program: the library also takes post-quantum and tag
 * recipients, which age 1.1 (Debian 12's) does not know, and the program asks a terminal for a
 * passphrase.
 */
const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/** The age program on PATH for these keys, unless BACKUP_ACTION_AGE=node asks for Node's. */
export async function findAgeProgram(
  env: NodeJS.ProcessEnv,
  keys: AgeKeys,
): Promise<Filter | undefined> {
  if (env.BACKUP_ACTION_AGE === 'node' || !programTakes(keys)) return undefined;
  const file = await onPath('age');
  if (!file) return undefined;
  const args = keys.recipients.flatMap((recipient) => ['--recipient', recipient]);
  return { name: 'age', path: file, args, doing: 'encrypting' };
}

export function programTakes(keys: AgeKeys): boolean {
  return (
    keys.passphrase === undefined &&
    keys.secret === undefined &&
    keys.recipients.length > 0 &&
    keys.recipients.every((recipient) => X25519_RECIPIENT.test(recipient))
  );
}
