// A database of its own for each test: test files run in parallel on one server.
import { randomBytes } from 'node:crypto';
import { createDatabase, dropDatabase, withDatabase } from '../../scripts/lib/pg-cluster.js';
import { testDatabaseUrl } from './env.js';

export interface FreshDatabase {
  /** Superuser URL to the new database. */
  url: string;
  name: string;
  /** Drops it, even with sessions still connected. Safe to call twice. */
  drop(): Promise<void>;
}

/** Creates an empty database named `<prefix>_<pid>_<random>` on the test server (or on `server`). */
export async function freshDatabase(
  prefix = 'test',
  server = testDatabaseUrl(),
): Promise<FreshDatabase> {
  const safePrefix =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .slice(0, 32) || 'test';
  const name = `${safePrefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(server, name);
  let dropped = false;
  return {
    url: withDatabase(server, name),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await dropDatabase(server, name);
    },
  };
}
