// `npm run bench`: how close this product gets to pg_dump's own speed, against the usual script,
// with bounded memory and the fewest store requests. Uses the machine's PostgreSQL binaries, a
// throwaway cluster, s3rver on 127.0.0.1, and the real command-line bundle (dist/cli/index.js).
// The flags are in ../bench.js; the results go to bench-results/latest.json, the tables to
// stdout and, with --docs, into docs/benchmarks.md.
import { S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, startCluster, withDatabase } from '../lib/pg-cluster.js';
import { s3ClientConfig, S3RVER_ENV, startS3Server } from '../lib/s3-server.js';
import { fillTo, type Filling } from './database.ts';
import { log, machine, mb, onPath, runTimed } from './measure.ts';
import { measureAtDouble } from './memory.ts';
import { parseOptions, type Options } from './options.ts';
import { PAGE, renderMarkdown, writePage } from './render.ts';
import { countRequests } from './requests.ts';
import type { Report } from './results.ts';
import { measureRounds, memoryRows, timingRows } from './rounds.ts';
import { BUCKET, type Bench } from './runs.ts';
import { copyBench } from './copy.ts';
import { SERVERS_BENCH } from './servers.ts';
import { LEVELS_BENCH } from './levels.ts';
import { RESTORES_BENCH } from './restores.ts';
import { runSideBench } from './side-bench.ts';
import { startupBench } from './startup.ts';
import { evaluate } from './targets.ts';

const RESULTS = 'bench-results/latest.json';

const options = parseOptions(process.argv.slice(2));
if (options.startup) {
  await startupBench(options);
} else if (options.copy) {
  await copyBench(options);
} else if (options.servers) {
  await runSideBench(SERVERS_BENCH, options);
} else if (options.levels) {
  await runSideBench(LEVELS_BENCH, options);
} else if (options.restore) {
  await runSideBench(RESTORES_BENCH, options);
} else if (options.render) {
  // The tables (and with --docs the page) again from the last results, measuring nothing.
  const results = JSON.parse(await readFile(RESULTS, 'utf8')) as Report;
  await publish({ ...results, targets: evaluate(results) }, options);
} else {
  const report = await measure(options);
  report.targets = evaluate(report);
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${RESULTS}`);
  await publish(report, options);
}

/** Prints the tables; with --docs also writes them into the benchmark page. */
async function publish(report: Report, { docs }: Options): Promise<void> {
  const markdown = renderMarkdown(report);
  console.log(markdown);
  if (docs) {
    await writePage(markdown);
    log(`wrote the tables of ${PAGE}`);
  }
}

/** Every measurement, on a throwaway cluster and s3rver that are gone when it returns. */
async function measure(options: Options): Promise<Report> {
  const date = new Date().toISOString();
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
  const cluster = await startCluster();
  const s3 = await startS3Server({ buckets: [BUCKET] });
  const nullFd = openSync('/dev/null', 'w');
  try {
    const pgDump = path.join(cluster.bindir, 'pg_dump');
    const postgres = (await runTimed(pgDump, ['--version'])).stdout.trim();
    log(
      `${postgres}; cluster on port ${cluster.port}; s3rver at ${s3.endpoint}; CLI ${options.cli}`,
    );
    await createDatabase(cluster.url, 'bench');
    const filling: Filling = { url: withDatabase(cluster.url, 'bench'), created: false, units: 0 };
    let started = Date.now();
    const bytes = await fillTo(filling, options.sizeMb);
    const took = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
    log(`filled "bench": ${mb(bytes).toFixed(0)} MB (${filling.units} orders) in ${took()}`);

    const zstd = onPath('zstd');
    const age = onPath('age');
    const bench: Bench = {
      cluster,
      s3,
      s3client: new S3Client(s3ClientConfig(s3.endpoint)),
      cli: options.cli,
      pgDump,
      pgRestore: path.join(cluster.bindir, 'pg_restore'),
      pgEnv: { ...process.env, PGPASSWORD: cluster.password },
      cliEnv: {
        ...process.env,
        ...S3RVER_ENV,
        BACKUP_ACTION_DATABASE_URL: filling.url,
      },
      recipient: await identityToRecipient(await generateIdentity()),
      work,
      dirStore: path.join(work, 'store'),
      rawFile: path.join(work, 'raw.dump'),
      nullFd,
      ...(zstd
        ? {
            zstd: {
              bin: zstd,
              jobs: [`-T${Math.min(os.availableParallelism(), 4)}`, '-B1048576'],
              ...(age ? { age } : {}),
            },
          }
        : {}),
    };
    const rounds = options.rounds ?? 3;
    const samples = await measureRounds(bench, rounds);
    const report: Report = {
      date,
      machine: machine(),
      node: process.version,
      postgres,
      cli: path.relative(process.cwd(), options.cli) || options.cli,
      sizeMb: options.sizeMb,
      rounds,
      backups: options.backups,
      database: { bytes, units: filling.units },
      timings: timingRows(samples, bench.zstd?.jobs ?? []),
      memory: memoryRows(samples),
      requests: [],
    };
    if (!options.skipDouble) {
      started = Date.now();
      report.database.doubledBytes = await fillTo(filling, 2 * mb(bytes));
      log(`grew "bench" to ${mb(report.database.doubledBytes).toFixed(0)} MB in ${took()}`);
      await measureAtDouble(bench, report.memory);
    }
    if (!options.skipRequests) report.requests = await countRequests(bench, options.backups);
    return report;
  } finally {
    closeSync(nullFd);
    await s3.stop().catch(() => undefined);
    await cluster.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
