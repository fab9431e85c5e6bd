/** The PostgreSQL client inputs: `postgres-client`, `pg-bin-dir` and `pg-client-mirror`. */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { ClientSettings } from '../core/settings.js';
import type { Inputs } from './reader.js';

export const DEFAULT_CLIENT_MIRROR = 'https://apt.postgresql.org/pub/repos/apt';

/** The client of a run whose inputs were not read for one (no PostgreSQL program runs). */
export const DEFAULT_CLIENT: Readonly<ClientSettings> = {
  choice: 'auto',
  pgBinDir: undefined,
  mirror: DEFAULT_CLIENT_MIRROR,
};

export function readClient(inputs: Inputs): ClientSettings {
  return {
    choice: readChoice(inputs.optional('postgres-client') ?? 'auto'),
    pgBinDir: readBinDir(inputs.optional('pg-bin-dir')),
    // A company mirror's URL may carry credentials: it is read as a secret and never echoed.
    mirror: (inputs.secretUrl('pg-client-mirror') ?? DEFAULT_CLIENT_MIRROR).replace(/\/+$/, ''),
  };
}

/**
 * A given folder is the user's choice and is never replaced by a download: one that does not
 * exist, or holds neither program, is refused before any work.
 */
function readBinDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const accepted = 'give the bin folder of a PostgreSQL client, e.g. /usr/lib/postgresql/17/bin';
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InputError('pg-bin-dir', `"${dir}" is not a folder; ${accepted}`);
  }
  const runnable = (name: string) => {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (!runnable('pg_dump') && !runnable('pg_restore')) {
    throw new InputError('pg-bin-dir', `"${dir}" holds no pg_dump or pg_restore; ${accepted}`);
  }
  return dir;
}

function readChoice(value: string): ClientSettings['choice'] {
  if (value === 'auto' || value === 'system') return value;
  // pg_dump 10 and later: the majors that PostgreSQL's apt repository has carried.
  if (/^\d{2}$/.test(value) && Number(value) >= 10) return Number(value);
  throw new InputError(
    'postgres-client',
    `"${value}" is not accepted; use auto, system, or a major version such as 17`,
  );
}

/** A mirror URL's credentials, for the edge to mask. */
export function clientSecrets(client: ClientSettings): string[] {
  const { username, password } = new URL(client.mirror);
  return password ? [client.mirror, decodeURIComponent(password)] : username ? [client.mirror] : [];
}
