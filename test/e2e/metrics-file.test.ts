/**
 * The metrics file on a real file system: written whole by a rename, merged with every other
 * set's and mode's lines, writers taking turns under the lock (none lost when many write at
 * once), a lock left by a killed run broken, one held too long given up with a warning, and every
 * file written accepted by promtool. A Pushgateway that never answers costs one round of attempts,
 * not two, and a port fetch refuses is named as such.
 *
 * Covers: src/notify/metrics-file.ts, src/notify/metrics-publish.ts, src/notify/metrics.ts,
 * src/notify/pushgateway.ts, src/notify/http.ts.
 */
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/core/report.js';
import { MODES } from '../../src/core/settings.js';
import { defaultDelivery } from '../../src/notify/http.js';
import { defaultFileOptions, writeMetricsFile } from '../../src/notify/metrics-file.js';
import { publishMetrics } from '../../src/notify/metrics-publish.js';
import { runSamples } from '../../src/notify/metrics.js';
import { metricsProblems, NO_PROMTOOL } from '../support/prometheus.js';
import { requireInCI } from '../support/require-in-ci.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'metrics-file-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function reportOf(set: string, mode: string, ok = true, outputs: RunReport['outputs'] = {}) {
  return {
    mode,
    name: set,
    ok,
    headline: '',
    startedAt: '2026-03-01T03:00:00.000Z',
    finishedAt: '2026-03-01T03:00:10.000Z',
    outputs,
    facts: [],
    tables: [],
    warnings: [],
    details: {},
  } satisfies RunReport;
}

const run = (...args: Parameters<typeof reportOf>) => runSamples(reportOf(...args));

/** Every `metric{labels}` line of the file, without its value. */
async function series(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('backup_action_'))
    .map((line) => line.replace(/ \S+$/, ''));
}

const fast = { ...defaultFileOptions, waitMs: 400, staleMs: 60_000 };

/** Whether promtool checks each file written (requireInCI says so when it cannot). */
const withPromtool = !requireInCI(NO_PROMTOOL);

async function checked(file: string): Promise<void> {
  if (!withPromtool) return;
  expect(await metricsProblems(await readFile(file, 'utf8'))).toBe('');
}

describe('one writer', () => {
  it('makes the file, readable by all, with nothing else left beside it', async () => {
    const file = path.join(dir, 'one', 'backup-action.prom');
    await mkdir(path.dirname(file));
    expect(await writeMetricsFile(file, run('shop', 'backup'))).toEqual([]);
    expect(await series(file)).toContain(
      'backup_action_last_run_success{mode="backup",set="shop"}',
    );
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await readdir(path.dirname(file))).toEqual(['backup-action.prom']);
    await checked(file);
  });

  it('merges: other sets and modes keep their lines, its own are replaced', async () => {
    const file = path.join(dir, 'merge.prom');
    await writeMetricsFile(file, run('shop', 'backup', true, { 'size-bytes': 100 }));
    await writeMetricsFile(file, run('shop', 'verify-latest'));
    await writeMetricsFile(file, run('crm', 'backup'));
    await writeMetricsFile(file, run('shop', 'backup', false));
    const text = await readFile(file, 'utf8');
    expect(text).toContain('backup_action_last_run_success{mode="backup",set="shop"} 0\n');
    expect(text).toContain('backup_action_last_run_success{mode="verify-latest",set="shop"} 1\n');
    expect(text).toContain('backup_action_last_run_success{mode="backup",set="crm"} 1\n');
    expect(text).toContain('backup_action_backup_size_bytes{mode="backup",set="shop"} 100\n');
    expect(text).toContain(
      'backup_action_last_success_timestamp_seconds{mode="backup",set="shop"}',
    );
    await checked(file);
  });

  it('leaves out, with a warning, lines that are not its metrics, and keeps its own', async () => {
    const file = path.join(dir, 'edited.prom');
    await writeMetricsFile(file, run('shop', 'backup'));
    await writeFile(
      file,
      `${await readFile(file, 'utf8')}node_load1 3\nbackup_action_last_run_success{set="x" 1\n`,
    );
    const warnings = await writeMetricsFile(file, run('crm', 'backup'));
    expect(warnings).toEqual([
      `2 line(s) of ${file} were not backup-action metrics and were left out`,
    ]);
    const lines = await series(file);
    expect(lines).toContain('backup_action_last_run_success{mode="backup",set="shop"}');
    expect(lines).toContain('backup_action_last_run_success{mode="backup",set="crm"}');
    expect(await readFile(file, 'utf8')).not.toContain('node_load1');
    await checked(file);
  });
  it('leaves out, counted, a line with a label of Prometheus’ own (__name__), which would spoil the file', async () => {
    const file = path.join(dir, 'reserved.prom');
    await writeMetricsFile(file, run('shop', 'backup'));
    const foreign = [
      'backup_action_last_run_success{__name__="x",mode="backup",set="old"} 1',
      'backup_action_last_run_success{mode="backup",__meta="y",set="old"} 1',
    ];
    await writeFile(file, `${await readFile(file, 'utf8')}${foreign.join('\n')}\n`);
    const warnings = await writeMetricsFile(file, run('crm', 'backup'));
    expect(warnings).toEqual([
      `2 line(s) of ${file} were not backup-action metrics and were left out`,
    ]);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('__');
    expect(await series(file)).toContain('backup_action_last_run_success{mode="backup",set="crm"}');
    await checked(file);
  });

  it('through a symbolic link: the link stays, the file it points to is replaced', async () => {
    const real = path.join(dir, 'real', 'backup-action.prom');
    await mkdir(path.dirname(real));
    const file = path.join(dir, 'linked.prom');
    await symlink(real, file);
    await writeMetricsFile(file, run('shop', 'backup'));
    await writeMetricsFile(file, run('crm', 'backup'));
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect(await series(real)).toEqual(
      expect.arrayContaining([
        'backup_action_last_run_success{mode="backup",set="shop"}',
        'backup_action_last_run_success{mode="backup",set="crm"}',
      ]),
    );
  });

  it('is readable by all (0644) under umask 077, for node_exporter’s own user', async () => {
    const file = path.join(dir, 'umask.prom');
    const before = process.umask(0o077);
    try {
      await writeMetricsFile(file, run('shop', 'backup'));
    } finally {
      process.umask(before);
    }
    expect((await stat(file)).mode & 0o777).toBe(0o644);
  });

  it('starts afresh, with a warning, from a file too large to be its own', async () => {
    const file = path.join(dir, 'huge.prom');
    await writeFile(file, Buffer.alloc(17 * 1024 * 1024, '#'));
    expect(await writeMetricsFile(file, run('shop', 'backup'))).toEqual([
      `${file} was over 16 MiB, not metrics of this tool: written anew`,
    ]);
    expect(await series(file)).toEqual([
      'backup_action_last_run_duration_seconds{mode="backup",set="shop"}',
      'backup_action_last_run_success{mode="backup",set="shop"}',
      'backup_action_last_run_timestamp_seconds{mode="backup",set="shop"}',
      'backup_action_last_success_timestamp_seconds{mode="backup",set="shop"}',
    ]);
  });
});

describe('many writers at once', () => {
  it('lose no one’s lines: each set and mode is in the file', async () => {
    const file = path.join(dir, 'shared.prom');
    const writers = ['a', 'b', 'c', 'd', 'e'].flatMap((set) => MODES.map((mode) => [set, mode]));
    await Promise.all(writers.map(([set, mode]) => writeMetricsFile(file, run(set!, mode!))));
    const lines = await series(file);
    for (const [set, mode] of writers) {
      expect(lines).toContain(`backup_action_last_run_success{mode="${mode}",set="${set}"}`);
    }
    expect(await readdir(dir)).not.toContain('shared.prom.lock');
    await checked(file);
  });

  it('wait for a lock another run holds, and write once it is let go', async () => {
    const file = path.join(dir, 'waits.prom');
    await writeFile(`${file}.lock`, '');
    setTimeout(() => void rm(`${file}.lock`), 150);
    await writeMetricsFile(file, run('shop', 'backup'), { ...fast, waitMs: 5_000 });
    expect(await series(file)).toContain(
      'backup_action_last_run_success{mode="backup",set="shop"}',
    );
  });

  it('give up on a lock held too long, naming it, and leave the file as it was', async () => {
    const file = path.join(dir, 'held.prom');
    await writeMetricsFile(file, run('shop', 'backup'));
    const before = await readFile(file, 'utf8');
    await writeFile(`${file}.lock`, '');
    await expect(writeMetricsFile(file, run('crm', 'backup'), fast)).rejects.toThrow(
      `${file} was not written: another run held ${file}.lock for over 0s (remove it if no run is writing)`,
    );
    expect(await readFile(file, 'utf8')).toBe(before);
    await rm(`${file}.lock`);
  });

  it('break a lock left by a killed run (older than staleMs)', async () => {
    const file = path.join(dir, 'stale.prom');
    await writeFile(`${file}.lock`, '');
    const old = new Date(Date.now() - 120_000);
    await utimes(`${file}.lock`, old, old);
    await writeMetricsFile(file, run('shop', 'backup'), fast);
    expect(await series(file)).toContain(
      'backup_action_last_run_success{mode="backup",set="shop"}',
    );
    expect((await readdir(dir)).filter((name) => name.startsWith('stale.prom'))).toEqual([
      'stale.prom',
    ]);
  });
});

describe('a file that cannot be written', () => {
  const report = () => reportOf('shop', 'backup');

  it('in a missing folder: one warning naming the input and the folder', async () => {
    const file = path.join(dir, 'missing', 'x.prom');
    expect(await publishMetrics(report(), { file }, defaultDelivery, fast)).toEqual([
      `metrics-file: ${file} was not written: the folder ${path.dirname(file)} does not exist`,
    ]);
  });

  it('under a path that is a file, or that is itself a folder: one warning each', async () => {
    const plain = path.join(dir, 'plain');
    await writeFile(plain, 'x');
    const folder = path.join(dir, 'folder.prom');
    await mkdir(folder);
    expect(await publishMetrics(report(), { file: path.join(plain, 'x.prom') })).toEqual([
      `metrics-file: ${path.join(plain, 'x.prom')} was not written: ${plain} is not a folder`,
    ]);
    const [warning, ...more] = await publishMetrics(report(), { file: folder });
    expect(more).toEqual([]);
    expect(warning).toMatch(/^metrics-file: .*folder\.prom .*a folder/);
    expect(await readdir(dir)).not.toContain('folder.prom.lock');
  });

  it('whose lock path is a folder: the warning names the lock, and nothing is left beside it', async () => {
    const folder = path.join(dir, 'lock-folder');
    const file = path.join(folder, 'x.prom');
    await mkdir(`${file}.lock`, { recursive: true });
    await utimes(`${file}.lock`, new Date(0), new Date(0));
    expect(await publishMetrics(report(), { file }, defaultDelivery, fast)).toEqual([
      `metrics-file: ${file} was not written: ${file}.lock is not a lock file (remove it)`,
    ]);
    expect(await readdir(folder)).toEqual(['x.prom.lock']);
  });
});

describe('a Pushgateway that cannot be reached', () => {
  const quick = { ...defaultDelivery, timeoutMs: 300, sleep: async () => {} };

  it('that never answers: the push is not tried after the read-back timed out', async () => {
    let received = '';
    const silent = createServer((socket) => {
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const warnings = await publishMetrics(
        reportOf('shop', 'backup'),
        { pushgatewayUrl: `http://127.0.0.1:${port}` },
        quick,
      );
      expect(warnings).toEqual([
        'pushgateway-url: the metrics were not pushed after 3 attempts (TimeoutError)',
      ]);
      expect(received).toMatch(/^GET \/metrics /m);
      expect(received).not.toMatch(/^POST /m);
    } finally {
      silent.close();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  it('on a port fetch refuses (6000): the warning says so', async () => {
    const warnings = await publishMetrics(
      reportOf('shop', 'backup'),
      { pushgatewayUrl: 'http://127.0.0.1:6000' },
      quick,
    );
    expect(warnings).toEqual([
      'pushgateway-url: the metrics were not pushed after 3 attempts (bad port)',
    ]);
  });
});
