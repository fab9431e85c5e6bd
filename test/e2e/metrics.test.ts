/**
 * The metrics as pure logic: the text format both ways (hostile label values escaped and read
 * back, broken lines left out), the figures each mode's report gives, the merge with what earlier
 * runs left, and the names against Prometheus' naming rules. promtool checks what is rendered.
 *
 * Covers: src/notify/exposition.ts, src/notify/metrics.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/core/report.js';
import { MODES } from '../../src/core/settings.js';
import {
  escapeLabelValue,
  type MetricType,
  parseExposition,
  parseSample,
  renderExposition,
  type Sample,
} from '../../src/notify/exposition.js';
import {
  familyOf,
  isOurs,
  mergeRun,
  METRICS,
  runSamples,
  type MetricName,
} from '../../src/notify/metrics.js';
import { forgeBackup } from '../support/forge.js';
import { metricsProblems, NO_PROMTOOL } from '../support/prometheus.js';
import { requireInCI } from '../support/require-in-ci.js';

const render = (samples: readonly Sample[]) => renderExposition(samples, familyOf(new Map()));

/** Label values a set name never holds but a file or a gateway could hand back. */
const HOSTILE = ['a"b', 'back\\slash', 'two\nlines', '}{,=', 'ünïcødé ☃', '', '\\n literally', '"'];

function report(overrides: Partial<RunReport>): RunReport {
  return {
    mode: 'backup',
    name: 'shop',
    ok: true,
    headline: '',
    startedAt: '2026-03-01T03:00:00.000Z',
    finishedAt: '2026-03-01T03:02:05.500Z',
    outputs: {},
    facts: [],
    tables: [],
    warnings: [],
    details: {},
    ...overrides,
  };
}

/** The run's samples as name → value, for the labels set=shop and the report's mode. */
function figures(run: RunReport): Record<string, number> {
  const samples = runSamples(run);
  for (const sample of samples) expect(sample.labels).toEqual({ set: 'shop', mode: run.mode });
  return Object.fromEntries(samples.map((sample) => [sample.name, sample.value]));
}

describe('the names', () => {
  const entries = Object.entries(METRICS);

  it('follow Prometheus naming: prefix, snake case, units as suffixes, _total only on counters', () => {
    for (const [name, metric] of entries) {
      expect(name).toMatch(/^backup_action_[a-z][a-z0-9_]*[a-z0-9]$/);
      expect(name.endsWith('_total'), name).toBe((metric.type as MetricType) === 'counter');
      if (/timestamp/.test(name)) expect(name).toMatch(/_timestamp_seconds$/);
      if (/(duration|age|lag)/.test(name)) expect(name).toMatch(/_seconds$/);
      if (/size/.test(name)) expect(name).toMatch(/_bytes$/);
      expect(name).not.toMatch(/_(milliseconds|kilobytes|megabytes|minutes|hours)/);
      expect(metric.help.length).toBeGreaterThan(20);
    }
  });

  it('are each written by a mode that exists; the copy lag by copy, and by backup and verify-latest per store', () => {
    for (const [name, metric] of entries) {
      for (const mode of metric.modes) expect(MODES, name).toContain(mode);
    }
    expect(METRICS.backup_action_copy_lag_seconds.modes).toEqual([
      'copy',
      'backup',
      'verify-latest',
    ]);
  });
});

describe('the text format', () => {
  it('escapes every hostile label value so that it reads back the same', () => {
    const samples = HOSTILE.map((value, index) => ({
      name: 'backup_action_last_run_success',
      labels: { set: value, mode: 'backup', store: `s${index}` },
      value: index,
    }));
    const text = render(samples);
    expect(text).toContain('set="a\\"b"');
    expect(text).toContain('set="two\\nlines"');
    expect(text).toContain('set="back\\\\slash"');
    expect(text.split('\n').filter((line) => line.startsWith('backup_action_'))).toHaveLength(
      HOSTILE.length,
    );
    const back = parseExposition(text, isOurs);
    expect(back.unreadable + back.foreign).toBe(0);
    expect(new Set(back.samples.map((sample) => sample.labels.set))).toEqual(new Set(HOSTILE));
  });

  it.skipIf(requireInCI(NO_PROMTOOL))(
    'writes what promtool accepts, hostile labels included',
    async () => {
      const samples = HOSTILE.map((value, index) => ({
        name: 'backup_action_backup_size_bytes',
        labels: { set: value, mode: 'backup' },
        value: index * 1e20,
      }));
      samples.push({
        name: 'backup_action_backup_rows',
        labels: { set: 'x', mode: 'backup' },
        value: NaN,
      });
      expect(await metricsProblems(render(samples))).toBe('');
    },
  );

  it('writes each family once, HELP and TYPE first, its samples together and in order', () => {
    const text = render([
      { name: 'backup_action_last_run_success', labels: { set: 'b', mode: 'backup' }, value: 1 },
      { name: 'backup_action_backup_size_bytes', labels: { set: 'a', mode: 'backup' }, value: 5 },
      { name: 'backup_action_last_run_success', labels: { set: 'a', mode: 'backup' }, value: 0 },
    ]);
    expect(text).toBe(
      [
        `# HELP backup_action_backup_size_bytes ${METRICS.backup_action_backup_size_bytes.help}`,
        '# TYPE backup_action_backup_size_bytes gauge',
        'backup_action_backup_size_bytes{mode="backup",set="a"} 5',
        `# HELP backup_action_last_run_success ${METRICS.backup_action_last_run_success.help}`,
        '# TYPE backup_action_last_run_success gauge',
        'backup_action_last_run_success{mode="backup",set="a"} 0',
        'backup_action_last_run_success{mode="backup",set="b"} 1',
        '',
      ].join('\n'),
    );
  });

  it('spells the special values as Go does, and reads Go’s exponents', () => {
    const text = render([
      { name: 'backup_action_backup_rows', labels: {}, value: Infinity },
      { name: 'backup_action_backup_tables', labels: {}, value: -Infinity },
    ]);
    expect(text).toMatch(/^backup_action_backup_rows \+Inf$/m);
    expect(text).toMatch(/^backup_action_backup_tables -Inf$/m);
    expect(parseSample('x{a="b"} 1.796602907318e+09')?.value).toBe(1796602907.318);
    expect(parseSample('x NaN')?.value).toBeNaN();
  });

  it('leaves out, and counts, lines that are not samples it would write', () => {
    const text = [
      '# HELP backup_action_backup_rows Rows \\\\ and \\n more',
      '# TYPE backup_action_backup_rows counter',
      'backup_action_backup_rows{set="ok",mode="backup"} 3',
      'backup_action_backup_rows{set="ts",mode="backup"} 3 1700000000000',
      'backup_action_backup_rows{set="bad\\escape"} 1',
      'backup_action_backup_rows{set="twice",set="again"} 1',
      'backup_action_backup_rows{set="open} 1',
      'backup_action_backup_rows{set="x"} one',
      'backup_action_backup_rows{9bad="x"} 1',
      'backup_action_backup_rows{set="x"}1',
      'garbage',
      'node_load1 0.5',
      '# a comment',
      '',
      'backup_action_backup_rows{ set = "spaced" , } 4',
    ].join('\r\n');
    const parsed = parseExposition(text, isOurs);
    expect(parsed.samples.map((sample) => sample.labels.set)).toEqual(['ok', 'spaced']);
    expect(parsed.unreadable).toBe(8);
    expect(parsed.foreign).toBe(1);
    expect(parsed.families.get('backup_action_backup_rows')).toEqual({
      help: 'Rows \\ and \n more',
      type: 'counter',
    });
  });

  it('keeps the HELP and TYPE of a family it does not know (from a newer version) as read', () => {
    const parsed = parseExposition(
      '# HELP backup_action_future_bytes Later.\n# TYPE backup_action_future_bytes gauge\nbackup_action_future_bytes 1\n',
      isOurs,
    );
    expect(renderExposition(parsed.samples, familyOf(parsed.families))).toBe(
      '# HELP backup_action_future_bytes Later.\n# TYPE backup_action_future_bytes gauge\nbackup_action_future_bytes 1\n',
    );
  });

  it('escapes nothing a set name can hold: [a-z0-9._-] goes as it is', () => {
    expect(escapeLabelValue('db.prod-eu_1')).toBe('db.prod-eu_1');
  });
});

describe('the figures of each mode', () => {
  const finished = Date.parse('2026-03-01T03:02:05.500Z') / 1000;

  it('every run: when it ended, whether it succeeded, how long it took', () => {
    expect(figures(report({ mode: 'notify' }))).toEqual({
      backup_action_last_run_timestamp_seconds: finished,
      backup_action_last_run_success: 1,
      backup_action_last_run_duration_seconds: 125.5,
      backup_action_last_success_timestamp_seconds: finished,
    });
  });

  it('a failed run reports no success time and no figures it did not give', () => {
    expect(figures(report({ ok: false, error: 'pg_dump failed' }))).toEqual({
      backup_action_last_run_timestamp_seconds: finished,
      backup_action_last_run_success: 0,
      backup_action_last_run_duration_seconds: 125.5,
    });
  });

  it('backup: the size, its duration, the tables and rows counted, and when it was made', () => {
    const { files } = forgeBackup('shop', new Date('2026-03-01T03:00:00Z'), 4096);
    const manifestText = [...files].find(([key]) => key.endsWith('.manifest.json'))![1];
    const manifest = {
      ...JSON.parse(manifestText.toString()),
      rowCountsMode: 'exact',
      rowCounts: { 'public.a': 10, 'public.b': 0, 'shop.c': 32 },
    };
    const run = report({
      outputs: { 'backup-id': manifest.id, 'size-bytes': 4096, 'duration-seconds': 2.25 },
      details: { manifest, durationSeconds: 2.25 },
    });
    expect(figures(run)).toMatchObject({
      backup_action_backup_size_bytes: 4096,
      backup_action_backup_duration_seconds: 2.25,
      backup_action_backup_tables: 3,
      backup_action_backup_rows: 42,
      backup_action_latest_backup_timestamp_seconds: Date.parse('2026-03-01T03:00:00Z') / 1000,
    });
  });

  it('backup: a manifest that is not what a backup writes gives no counts', () => {
    const run = report({
      outputs: { 'size-bytes': 10 },
      details: { manifest: { rowCounts: { 'public.a': 5 } } },
    });
    const got = figures(run);
    expect(got.backup_action_backup_size_bytes).toBe(10);
    expect(got).not.toHaveProperty('backup_action_backup_rows');
  });

  it('verify-latest: the newest backup’s age, size and time; its time only when it passed', () => {
    const outputs = {
      'latest-id': '20260228T030000Z-abcdef',
      'age-seconds': 86400,
      'size-bytes': 77,
    };
    expect(figures(report({ mode: 'verify-latest', ok: true, outputs }))).toMatchObject({
      backup_action_last_run_success: 1,
      backup_action_latest_backup_timestamp_seconds: Date.parse('2026-02-28T03:00:00Z') / 1000,
    });
    // A corrupt newest backup must not keep BackupTooOld quiet.
    const failed = figures(report({ mode: 'verify-latest', ok: false, outputs }));
    expect(failed).toMatchObject({
      backup_action_last_run_success: 0,
      backup_action_latest_backup_age_seconds: 86400,
      backup_action_latest_backup_size_bytes: 77,
    });
    expect(failed).not.toHaveProperty('backup_action_latest_backup_timestamp_seconds');
  });

  it('restore-test: the recovery time, tables and checks of one database or of each', () => {
    const one = report({
      mode: 'restore-test',
      outputs: { 'restore-seconds': 12.5, 'restored-tables': 4 },
      details: { checks: [{ passed: true }, { passed: false }, { passed: true }] },
    });
    expect(figures(one)).toMatchObject({
      backup_action_restore_duration_seconds: 12.5,
      backup_action_restore_tables: 4,
      backup_action_restore_checks_passed: 2,
      backup_action_restore_checks_failed: 1,
    });
    const server = report({
      mode: 'restore-test',
      details: {
        databases: [{ checks: [{ passed: false }] }, { checks: [{ passed: false }] }, {}],
      },
    });
    expect(figures(server)).toMatchObject({
      backup_action_restore_checks_passed: 0,
      backup_action_restore_checks_failed: 2,
    });
    expect(figures(report({ mode: 'restore-test' }))).not.toHaveProperty(
      'backup_action_restore_checks_failed',
    );
  });

  it('restore-test stopped mid-restore: no recovery time, tables or checks; a failed check: all', () => {
    const outputs = { 'restore-seconds': 0.4, 'restored-tables': 0 };
    // As the kinds report a test cancelled or failed in pg_restore: no comparison, no checks.
    const stopped = figures(
      report({ mode: 'restore-test', ok: false, outputs, details: { comparison: undefined } }),
    );
    const server = figures(
      report({
        mode: 'restore-test',
        ok: false,
        outputs,
        details: { databases: [{ comparison: {}, checks: [{ passed: true }] }, {}] },
      }),
    );
    for (const got of [stopped, server]) {
      expect(got).toMatchObject({ backup_action_last_run_success: 0 });
      expect(got).not.toHaveProperty('backup_action_restore_duration_seconds');
      expect(got).not.toHaveProperty('backup_action_restore_tables');
    }
    expect(stopped).not.toHaveProperty('backup_action_restore_checks_failed');
    // The checks of the database that was restored ran, and count.
    expect(server).toMatchObject({ backup_action_restore_checks_passed: 1 });
    const checkFailed = report({
      mode: 'restore-test',
      ok: false,
      outputs: { 'restore-seconds': 9, 'restored-tables': 3 },
      details: { comparison: {}, checks: [{ passed: false }] },
    });
    expect(figures(checkFailed)).toMatchObject({
      backup_action_restore_duration_seconds: 9,
      backup_action_restore_tables: 3,
      backup_action_restore_checks_failed: 1,
    });
    const restoreFailed = report({ mode: 'restore', ok: false, outputs });
    expect(figures(restoreFailed)).not.toHaveProperty('backup_action_restore_duration_seconds');
  });

  it('retention-prune: kept and deleted; a dry run reports no deletions', () => {
    const prune = (dryRun: boolean) =>
      figures(
        report({ mode: 'retention-prune', outputs: { kept: 7, deleted: 3 }, details: { dryRun } }),
      );
    expect(prune(false)).toMatchObject({
      backup_action_prune_kept_backups: 7,
      backup_action_prune_deleted_backups: 3,
    });
    expect(prune(true)).not.toHaveProperty('backup_action_prune_deleted_backups');
  });

  it('restore: the recovery time of the real restore, under its own mode', () => {
    expect(
      figures(report({ mode: 'restore', outputs: { 'restore-seconds': 3, 'restored-tables': 2 } })),
    ).toMatchObject({ backup_action_restore_duration_seconds: 3, backup_action_restore_tables: 2 });
  });

  it('nothing for a run whose set is not known, or whose times do not parse', () => {
    expect(runSamples(report({ name: undefined }))).toEqual([]);
    expect(runSamples(report({ mode: 'nonsense' }))).toEqual([]);
    expect(runSamples(report({ finishedAt: 'yesterday' }))).toEqual([]);
  });

  it('only names of the catalog, each written by the modes it lists', () => {
    const everything = report({
      outputs: {
        'size-bytes': 1,
        'duration-seconds': 1,
        'backup-id': '20260301T030000Z-abcdef',
        'latest-id': '20260301T030000Z-abcdef',
        'age-seconds': 1,
        'restore-seconds': 1,
        'restored-tables': 1,
        kept: 1,
        deleted: 1,
      },
      details: { checks: [] },
    });
    for (const mode of MODES) {
      for (const sample of runSamples({ ...everything, mode })) {
        expect(METRICS[sample.name as MetricName].modes, sample.name).toContain(mode);
      }
    }
  });
});

describe('merging a run with what earlier runs left', () => {
  const sample = (name: MetricName, set: string, mode: string, value: number): Sample => ({
    name,
    labels: { set, mode },
    value,
  });

  it('replaces the run’s own series and keeps every other set’s and mode’s', () => {
    const before = [
      sample('backup_action_last_run_success', 'shop', 'backup', 1),
      sample('backup_action_last_run_success', 'shop', 'verify-latest', 1),
      sample('backup_action_last_run_success', 'crm', 'backup', 1),
    ];
    const merged = mergeRun(before, [
      sample('backup_action_last_run_success', 'shop', 'backup', 0),
    ]);
    expect(merged).toHaveLength(3);
    expect(merged).toContainEqual(sample('backup_action_last_run_success', 'shop', 'backup', 0));
    expect(merged).toContainEqual(before[1]);
    expect(merged).toContainEqual(before[2]);
  });

  it('keeps the last success time and the last good size through a failed run', () => {
    const good = runSamples(
      report({ outputs: { 'size-bytes': 900 }, finishedAt: '2026-03-01T03:00:00.000Z' }),
    );
    const failed = runSamples(
      report({
        ok: false,
        startedAt: '2026-03-02T03:00:00.000Z',
        finishedAt: '2026-03-02T03:00:01.000Z',
      }),
    );
    const merged = Object.fromEntries(mergeRun(good, failed).map((s) => [s.name, s.value]));
    expect(merged).toMatchObject({
      backup_action_last_run_success: 0,
      backup_action_last_run_timestamp_seconds: Date.parse('2026-03-02T03:00:01Z') / 1000,
      backup_action_last_success_timestamp_seconds: Date.parse('2026-03-01T03:00:00Z') / 1000,
      backup_action_backup_size_bytes: 900,
    });
  });

  it('turns the size a new backup replaces into the previous size', () => {
    const first = mergeRun([], [sample('backup_action_backup_size_bytes', 'shop', 'backup', 1000)]);
    expect(first.map((s) => s.name)).not.toContain('backup_action_backup_previous_size_bytes');
    const second = mergeRun(first, [
      sample('backup_action_backup_size_bytes', 'shop', 'backup', 200),
    ]);
    expect(second).toContainEqual(
      sample('backup_action_backup_previous_size_bytes', 'shop', 'backup', 1000),
    );
    expect(second).toContainEqual(sample('backup_action_backup_size_bytes', 'shop', 'backup', 200));
    const other = mergeRun(second, [sample('backup_action_backup_size_bytes', 'crm', 'backup', 5)]);
    expect(other).toContainEqual(
      sample('backup_action_backup_previous_size_bytes', 'shop', 'backup', 1000),
    );
  });

  it('round-trips through the text format unchanged', () => {
    const merged = mergeRun(
      [sample('backup_action_backup_size_bytes', 'a', 'backup', 1)],
      runSamples(report({ outputs: { 'size-bytes': 2 } })),
    );
    const text = render(merged);
    expect(render(parseExposition(text, isOurs).samples)).toBe(text);
  });
});
