// `npm run demo`: the product's main job on an embedded default. Starts a throwaway PostgreSQL,
// fills a sample database, and runs the command-line program (the same bundle as the action)
// through backup, verify-latest, restore-test and retention-prune against ./backups.
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
  step('Verify the newest backup: fresh, intact, a readable archive', [
    'verify-latest',
    '--storage',
    STORE,
    '--name',
    'shop',
  ]);
  step(
    'Prove it restores: a scratch database, every table counted, a check, the recovery time',
    ['restore-test', '--storage', STORE, '--name', 'shop', '--checks', 'sales.orders >= 5000'],
    cluster.url,
  );
  step('What a keep-last 3 / keep-daily 7 policy would delete (dry run)', [
    'retention-prune',
    '--storage',
    STORE,
    '--name',
    'shop',
    '--keep-last',
    '3',
    '--keep-daily',
    '7',
    '--dry-run',
  ]);
  console.log(
    `\nDone. The backups are in ${STORE}/shop/ (restore by hand: zstd -d, then pg_restore).`,
  );
} finally {
  await cluster.stop();
}
