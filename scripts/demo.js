// `npm run demo`: the product's main job on an embedded default. Starts a throwaway PostgreSQL,
// fills a sample database, and runs the command-line program (the same bundle as the action)
// through each mode against a local directory store, ./backups.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startCluster, createDatabase, withDatabase } from './lib/pg-cluster.js';
import { fillSampleDatabase, tableRowCounts } from './lib/sample-db.js';

const CLI = path.resolve('dist/cli/index.js');
const STORE = path.resolve('backups');

/** Runs one mode; the database URL travels in the environment, never on the command line. */
function step(title, args, databaseUrl) {
  console.log(`\n=== ${title}\n$ backup-action ${args.join(' ')}`);
  const env = {
    ...process.env,
    ...(databaseUrl ? { BACKUP_ACTION_DATABASE_URL: databaseUrl } : {}),
  };
  const result = spawnSync(process.execPath, [CLI, ...args], { env, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${title} failed (exit ${result.status})`);
}

const cluster = await startCluster();
try {
  console.log(`Started a throwaway PostgreSQL ${cluster.bindir} on 127.0.0.1:${cluster.port}`);
  await createDatabase(cluster.url, 'shop');
  const shop = withDatabase(cluster.url, 'shop');
  await fillSampleDatabase(shop, { rows: 5000 });
  const counts = await tableRowCounts(shop);
  const rows = Object.values(counts).reduce((sum, n) => sum + n, 0);
  console.log(`Filled database "shop": ${Object.keys(counts).length} tables, ${rows} rows`);

  step('Back up "shop" to ./backups', ['backup', '--storage', STORE, '--name', 'shop'], shop);
  console.log(
    `\nDone. The backups are in ${STORE}/shop/ (restore by hand: zstd -d, then pg_restore).`,
  );
} finally {
  await cluster.stop();
}
