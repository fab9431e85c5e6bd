// Store requests of verify-latest and retention-prune on a large set of backups.
import { randomBytes } from 'node:crypto';
import { createDatabase, withClient, withDatabase } from '../lib/pg-cluster.js';
import { startMemoryS3 } from '../lib/memory-s3.js';
import { log, outputs, runTimed } from './measure.ts';
import type { RequestRow } from './results.ts';
import { BUCKET, type Bench } from './runs.ts';

/** A backup id as the product makes them: the time, then random hex. */
function idAt(date: Date): string {
  const stamp = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Store requests of verify-latest and retention-prune on a set of `backups` backups, as the real
 * CLI makes them to an in-memory S3 server that counts them (see lib/memory-s3.js for why not s3rver).
 */
export async function countRequests(bench: Bench, backups: number): Promise<RequestRow[]> {
  await createDatabase(bench.cluster.url, 'tiny');
  const tiny = withDatabase(bench.cluster.url, 'tiny');
  await withClient(tiny, (client) =>
    client.query(
      'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g',
    ),
  );
  const store = await startMemoryS3(BUCKET);
  const env = { ...bench.cliEnv, BACKUP_ACTION_DATABASE_URL: tiny };
  const where = [
    '--storage',
    `s3://${BUCKET}/req`,
    '--name',
    'many',
    '--s3-endpoint',
    store.endpoint,
  ];
  const cli = (argv: string[]) =>
    runTimed(process.execPath, [bench.cli, ...argv, ...where], { env });
  try {
    // The newest backup is real (verify-latest reads it deeply); the older ones are written directly.
    const real = outputs((await cli(['backup'])).stdout);
    const backupRequests = store.take();
    const response = await fetch(`${store.endpoint}/${BUCKET}/req/${real['manifest-key']}`);
    const manifest = (await response.json()) as { object: Record<string, unknown> };
    store.take();
    const older = backups - 1;
    log(`writing ${older} backups (manifest + object each) straight into the store`);
    const started = Date.now();
    const hour = 3_600_000;
    const body = randomBytes(1024);
    for (let i = 1; i <= older; i++) {
      const date = new Date(started - i * hour);
      const id = idAt(date);
      const key = `many/${id}.dump.zst`;
      const olderManifest = {
        ...manifest,
        id,
        createdAt: date.toISOString(),
        completedAt: date.toISOString(),
        object: { ...manifest.object, key, size: body.length },
      };
      store.put(`req/${key}`, body);
      store.put(`req/many/${id}.manifest.json`, JSON.stringify(olderManifest, null, 2));
    }
    log(`  written in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const keys = 2 * backups;
    const pages = Math.ceil(keys / 1000);

    const verify = await cli(['verify-latest']);
    const verifyCounts = store.take();
    const keep = ['--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12'];
    const prune = await cli(['retention-prune', ...keep]);
    const pruneCounts = store.take();
    const deleted = Number(outputs(prune.stdout).deleted);
    const deletes = Math.ceil((2 * deleted) / 1000);
    return [
      {
        mode: 'verify-latest (deep)',
        keys,
        counts: verifyCounts,
        total: total(verifyCounts),
        minimum: pages + 2,
        minimumIs: `${pages} list pages + 1 manifest read + 1 download`,
        seconds: verify.seconds,
      },
      {
        mode: `retention-prune (keep-daily 7, weekly 4, monthly 12: ${deleted} deleted)`,
        keys,
        counts: pruneCounts,
        total: total(pruneCounts),
        minimum: pages + 1 + deletes,
        minimumIs: `${pages} list pages + 1 incomplete-upload listing + ${deletes} deletes of ${2 * deleted} keys`,
        seconds: prune.seconds,
      },
      {
        mode: 'backup (small database, for reference)',
        counts: backupRequests,
        total: total(backupRequests),
      },
    ];
  } finally {
    await store.stop();
  }
}
