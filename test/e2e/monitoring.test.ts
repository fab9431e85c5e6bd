/**
 * metrics-file and pushgateway-url through the bundle as the runner runs it, against the tests'
 * PostgreSQL and s3rver: the chain (backup, verify-latest and restore-test at once, a second
 * backup, retention-prune) leaves one file, accepted by promtool after every run, holding every
 * mode's lines, and a real Pushgateway holds the same figures. A gateway that answers 500 or is
 * not there, and a file that cannot be written, each give one warning and never fail the run;
 * malformed inputs are refused before any work. A status over a whole store pushes each set's
 * figures to that set's own group.
 *
 * Covers: src/notify/metrics-publish.ts, src/notify/metrics-file.ts, src/notify/pushgateway.ts,
 * src/inputs/metrics.ts, src/cli.ts.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillSampleDatabase, tableRowCounts } from '../../scripts/lib/sample-db.js';
import { METRICS } from '../../src/notify/metrics.js';
import { lastErrorLine, runAction, runCli, type ActionRun } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { S3_ENV, testDatabaseUrl, testS3Bucket, testS3Endpoint } from '../support/env.js';
import {
  metricsProblems,
  NO_PROMETHEUS,
  startPushgateway,
  type Pushgateway,
} from '../support/prometheus.js';
import { startRecorder, type Recorder } from '../support/recorder.js';
import { requireInCI } from '../support/require-in-ci.js';

const SET = 'metrics.shop-1';
const PASSWORD = 'gatewayPassw0rd-not-to-be-seen';

let gateway: Pushgateway;
let recorder: Recorder;
let db: FreshDatabase;
let work: string;
let storage: string;

beforeAll(async () => {
  // Only the tests that need them (skipped through requireInCI otherwise) use these.
  if (NO_PROMETHEUS) return;
  [gateway, recorder, db] = await Promise.all([
    startPushgateway(),
    startRecorder(),
    freshDatabase('metrics_src'),
  ]);
  await fillSampleDatabase(db.url, { rows: 200 });
  work = await mkdtemp(path.join(os.tmpdir(), 'monitoring-'));
  storage = `s3://${testS3Bucket()}/monitoring-${randomBytes(3).toString('hex')}`;
});

afterAll(async () => {
  await Promise.all([gateway?.close(), recorder?.close(), db?.drop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** The gateway's URL with credentials, as a user with an authenticating proxy gives it. */
const gatewayUrl = () => gateway.url.replace('http://', `http://monitor:${PASSWORD}@`);

function run(mode: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    {
      mode,
      storage,
      name: SET,
      's3-endpoint': testS3Endpoint(),
      'metrics-file': path.join(work, 'backup-action.prom'),
      'pushgateway-url': gatewayUrl(),
      ...inputs,
    },
    { env: S3_ENV },
  );
}

const warnings = (run: ActionRun) =>
  run.stdout.split('\n').filter((line) => line.startsWith('::warning::'));

/** `name{labels} value` lines of a metrics text, as name → labels text → value. */
function values(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match && match[1] === name) found.set(match[2]!, Number(match[3]));
  }
  return found;
}

/** The value of `name` for the set and mode, in the file (labels as written) or on the gateway. */
function valueOf(text: string, name: string, mode: string): number | undefined {
  for (const [labels, value] of values(text, name)) {
    if (labels.includes(`mode="${mode}"`) && labels.includes(`set="${SET}"`)) return value;
  }
  return undefined;
}

async function fileText(): Promise<string> {
  const text = await readFile(path.join(work, 'backup-action.prom'), 'utf8');
  expect(await metricsProblems(text)).toBe('');
  return text;
}

describe.skipIf(requireInCI(NO_PROMETHEUS))('the nightly chain', () => {
  let backup: ActionRun;

  beforeAll(async () => {
    backup = await run('backup', { 'database-url': db.url });
  });

  it('backup: the file and the gateway hold its size, rows and success', async () => {
    expect(backup.code, backup.stdout).toBe(0);
    expect(warnings(backup)).toEqual([]);
    const size = Number(backup.outputs['size-bytes']);
    const rows = Object.values(await tableRowCounts(db.url)).reduce((a, b) => a + b, 0);
    const text = await fileText();
    expect(valueOf(text, 'backup_action_backup_size_bytes', 'backup')).toBe(size);
    expect(valueOf(text, 'backup_action_backup_rows', 'backup')).toBe(rows);
    expect(valueOf(text, 'backup_action_last_run_success', 'backup')).toBe(1);
    const scraped = await gateway.scrape();
    expect(values(scraped, 'backup_action_backup_size_bytes')).toEqual(
      new Map([[`instance="",job="backup-action",mode="backup",set="${SET}"`, size]]),
    );
    expect(valueOf(scraped, 'backup_action_backup_rows', 'backup')).toBe(rows);
    expect(valueOf(scraped, 'push_failure_time_seconds', 'backup')).toBe(0);
  });

  it('verify-latest and restore-test at once: neither loses the other’s lines', async () => {
    const [verify, test] = await Promise.all([
      run('verify-latest'),
      run('restore-test', {
        'database-url': testDatabaseUrl(),
        checks: 'public.customers >= 20\nSELECT count(*) > 1000 FROM public.customers',
      }),
    ]);
    expect(verify.code, verify.stdout).toBe(0);
    expect(test.code).not.toBe(0);
    expect(lastErrorLine(test)).toMatch(/SELECT count\(\*\) > 1000/);
    const text = await fileText();
    for (const mode of ['backup', 'verify-latest', 'restore-test']) {
      expect(valueOf(text, 'backup_action_last_run_timestamp_seconds', mode), mode).toBeGreaterThan(
        0,
      );
    }
    expect(valueOf(text, 'backup_action_last_run_success', 'restore-test')).toBe(0);
    expect(valueOf(text, 'backup_action_restore_checks_passed', 'restore-test')).toBe(1);
    expect(valueOf(text, 'backup_action_restore_checks_failed', 'restore-test')).toBe(1);
    expect(valueOf(text, 'backup_action_restore_duration_seconds', 'restore-test')).toBe(
      Number(test.outputs['restore-seconds']),
    );
    expect(valueOf(text, 'backup_action_latest_backup_age_seconds', 'verify-latest')).toBe(
      Number(verify.outputs['age-seconds']),
    );
    const scraped = await gateway.scrape();
    expect(valueOf(scraped, 'backup_action_restore_checks_failed', 'restore-test')).toBe(1);
    expect(valueOf(scraped, 'backup_action_last_run_success', 'verify-latest')).toBe(1);
  });

  it('a second backup and a prune: the size before, kept and deleted, every metric written', async () => {
    const first = Number(backup.outputs['size-bytes']);
    const second = await run('backup', { 'database-url': db.url });
    expect(second.code, second.stdout).toBe(0);
    const prune = await run('retention-prune', { 'keep-last': '1' });
    expect(prune.code, prune.stdout).toBe(0);
    const text = await fileText();
    expect(valueOf(text, 'backup_action_backup_previous_size_bytes', 'backup')).toBe(first);
    expect(valueOf(text, 'backup_action_prune_kept_backups', 'retention-prune')).toBe(1);
    expect(valueOf(text, 'backup_action_prune_deleted_backups', 'retention-prune')).toBe(1);
    const scraped = await gateway.scrape();
    expect(valueOf(scraped, 'backup_action_backup_previous_size_bytes', 'backup')).toBe(first);
    expect(valueOf(scraped, 'backup_action_prune_deleted_backups', 'retention-prune')).toBe(1);
    // Every metric of the modes run, in the file and on the gateway; a copy's lag is written
    // only where verify-latest checks copies (test/e2e/copy.test.ts), and this set has none.
    const ran = ['backup', 'verify-latest', 'restore-test', 'retention-prune'];
    const withCopiesOnly = ['backup_action_copy_lag_seconds'];
    for (const [name, metric] of Object.entries(METRICS)) {
      if (!metric.modes.some((mode) => ran.includes(mode)) || withCopiesOnly.includes(name))
        continue;
      expect(values(text, name).size, name).toBeGreaterThan(0);
      expect(values(scraped, name).size, name).toBeGreaterThan(0);
    }
    expect(await readdir(work)).toEqual(['backup-action.prom']);
  });
});

describe.skipIf(requireInCI(NO_PROMETHEUS))('status over a whole store', () => {
  it("pushes each set's status to that set's own group", async () => {
    const other = 'metrics.crm-2';
    const made = await run('backup', { name: other, 'database-url': db.url });
    expect(made.code, made.stdout).toBe(0);
    await run('backup', { 'database-url': db.url });
    // No name: every set of the store, each set's figures its own.
    const seen = await run('status', { name: '' });
    expect(warnings(seen)).toEqual([]);
    const sets = (JSON.parse(seen.outputs.status!) as { sets: { name: string }[] }).sets;
    expect(sets.map((set) => set.name).sort()).toEqual([other, SET]);
    const scraped = await gateway.scrape();
    const runs = values(scraped, 'backup_action_last_run_timestamp_seconds');
    for (const name of [SET, other])
      expect(
        runs.get(`instance="",job="backup-action",mode="status",set="${name}"`),
        name,
      ).toBeGreaterThan(0);
    const sizes = values(scraped, 'backup_action_latest_backup_size_bytes');
    expect([...sizes.keys()].filter((labels) => labels.includes(`set="${other}"`))).toEqual([
      `instance="",job="backup-action",mode="status",set="${other}",store="${storage}/"`,
    ]);
  });
});

describe.skipIf(requireInCI(NO_PROMETHEUS))(
  'monitoring that cannot be written never fails the run',
  () => {
    // A store of its own for the runs as postgres: one made by root is not theirs to write.
    const filesBackup = (inputs: Record<string, string>, user?: string) =>
      runAction(
        {
          source: 'files',
          paths: '.',
          name: 'metrics-files',
          storage: path.join(work, user ? `store-${user}` : 'store'),
          ...inputs,
        },
        { cwd: path.join(work, 'data'), user },
      );

    beforeAll(async () => {
      await mkdir(path.join(work, 'data'), { recursive: true });
      await mkdir(path.join(work, 'store-postgres'), { recursive: true });
      await mkdir(path.join(work, 'read-only'), { recursive: true });
      await writeFile(path.join(work, 'data', 'notes.txt'), 'kept\n');
      for (const dir of ['', 'data', 'store-postgres']) await chmod(path.join(work, dir), 0o777);
      await chmod(path.join(work, 'read-only'), 0o755);
    });

    it('a gateway that answers 500: one warning naming the input; the file is written', async () => {
      const file = path.join(work, 'gateway-500.prom');
      const result = await filesBackup({
        'pushgateway-url': `${recorder.url}/broken`,
        'metrics-file': file,
      });
      expect(result.code, result.stdout).toBe(0);
      expect(warnings(result)).toEqual([
        '::warning::pushgateway-url: the metrics were not pushed after 3 attempts (HTTP 500)',
      ]);
      const text = await readFile(file, 'utf8');
      expect(await metricsProblems(text)).toBe('');
      expect(text).toContain('backup_action_last_run_success{mode="backup",set="metrics-files"} 1');
      const asked = recorder.requests.filter((request) => request.path.startsWith('/broken'));
      expect(asked.map((request) => request.method)).toEqual([
        ...['GET', 'GET', 'GET'],
        ...['POST', 'POST', 'POST'],
      ]);
    });

    it('a gateway that is not there: one warning, the run succeeds', async () => {
      const closed = await startRecorder();
      await closed.close();
      const result = await filesBackup({ 'pushgateway-url': closed.url });
      expect(result.code, result.stdout).toBe(0);
      expect(warnings(result)).toEqual([
        '::warning::pushgateway-url: the metrics were not pushed after 3 attempts (ECONNREFUSED)',
      ]);
    });

    it('a file in a missing folder, or in one it may not write: one warning naming the input', async () => {
      const missing = path.join(work, 'nowhere', 'x.prom');
      const gone = await filesBackup({ 'metrics-file': missing });
      expect(gone.code, gone.stdout).toBe(0);
      expect(warnings(gone)).toEqual([
        `::warning::metrics-file: ${missing} was not written: the folder ${path.dirname(missing)} does not exist`,
      ]);
      const denied = path.join(work, 'read-only', 'x.prom');
      const refused = await filesBackup({ 'metrics-file': denied }, 'postgres');
      expect(refused.code, refused.stdout).toBe(0);
      expect(warnings(refused)).toEqual([
        `::warning::metrics-file: ${denied} was not written: no permission to write in ${path.dirname(denied)}`,
      ]);
      expect(refused.summary).toContain('metrics-file: ');
      expect(await readdir(path.join(work, 'read-only'))).toEqual([]);
    });
  },
);

describe('malformed inputs are refused before any work, in one line naming the input', () => {
  const refused: [string, Record<string, string>, RegExp][] = [
    [
      'a gateway URL that is not http(s), its value not echoed',
      { 'pushgateway-url': `ftp://monitor:${PASSWORD}@gateway:9091` },
      /^Input "pushgateway-url": is not accepted; use an http:\/\/ or https:\/\/ URL$/,
    ],
    [
      'a gateway URL with a query',
      { 'pushgateway-url': `https://monitor:${PASSWORD}@gateway:9091/?token=x` },
      /^Input "pushgateway-url": has a query or fragment, which it cannot use; use the gateway's base URL/,
    ],
    [
      'a push path instead of the gateway',
      { 'pushgateway-url': 'http://gateway:9091/metrics/job/backup' },
      /^Input "pushgateway-url": names a push path; use the gateway's base URL/,
    ],
    [
      'a metrics file the textfile collector would not read',
      { 'metrics-file': '/var/lib/node_exporter/backup.txt' },
      /^Input "metrics-file": "\/var\/lib\/node_exporter\/backup\.txt" is not accepted; use a file path ending in \.prom/,
    ],
  ];

  it.each(refused)('%s', async (_, inputs, message) => {
    const store = await mkdtemp(path.join(os.tmpdir(), 'monitoring-refused-'));
    try {
      const result = await runAction({
        source: 'files',
        paths: '.',
        storage: path.join(store, 'backups'),
        ...inputs,
      });
      expect(result.code).toBe(1);
      expect(lastErrorLine(result)).toMatch(message);
      // Shown nowhere: the runner takes the ::add-mask:: line in and never prints it.
      const shown = result.everything
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'));
      expect(shown.join('\n')).not.toContain(PASSWORD);
      expect(await readdir(store)).toEqual([]);
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });
});

describe.skipIf(requireInCI(NO_PROMETHEUS))('the command line', () => {
  it('takes --metrics-file, for every mode (notify here)', async () => {
    const file = path.join(work, 'cli.prom');
    const result = await runCli([
      'notify',
      '--name',
      'cli-set',
      '--result',
      'success',
      '--metrics-file',
      file,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(await metricsProblems(text)).toBe('');
    expect(text).toContain('backup_action_last_run_success{mode="notify",set="cli-set"} 1');
  });
});
