/**
 * What a run tells Prometheus: every metric the tool writes, the figures each mode's report gives
 * them, and how a run's samples merge with what earlier runs left (in a metrics file or a
 * Pushgateway group). Pure: the sinks (metrics-file.ts, pushgateway.ts) do the I/O.
 *
 * Every series is labelled with the set and the mode, and nothing else but a store (for metrics
 * about one store): never an id or a time, so a set has a handful of series whatever it holds.
 */
import { idTime } from '../core/ids.js';
import {
  checkVerdicts,
  isRecord,
  outputNumber,
  reportManifest,
  rowTotals,
} from '../core/figures.js';
import type { RunReport } from '../core/report.js';
import { MODES, type Mode } from '../core/settings.js';
import { parseSetStatus, type SetStatus } from '../core/status.js';
import { seriesKey, type Family, type Labels, type Sample } from './exposition.js';

export const METRIC_PREFIX = 'backup_action_';

interface Definition extends Family {
  /** The modes whose runs write it. */
  modes: readonly Mode[];
}

const EVERY_MODE = MODES;

/** Every metric, by name. The docs (docs/monitoring.md) and the example alerts use these names. */
export const METRICS = {
  backup_action_last_run_timestamp_seconds: {
    help: 'When the last run of this mode for this set ended, as a Unix time.',
    type: 'gauge',
    modes: EVERY_MODE,
  },
  backup_action_last_run_success: {
    help: 'Whether the last run of this mode for this set succeeded (1) or failed or was cancelled (0).',
    type: 'gauge',
    modes: EVERY_MODE,
  },
  backup_action_last_run_duration_seconds: {
    help: 'How long the last run of this mode for this set took, from reading its inputs to its report.',
    type: 'gauge',
    modes: EVERY_MODE,
  },
  backup_action_last_success_timestamp_seconds: {
    help: 'When the last successful run of this mode for this set ended, as a Unix time.',
    type: 'gauge',
    modes: EVERY_MODE,
  },
  backup_action_backup_size_bytes: {
    help: 'Size as stored of the backup the last successful backup run made, every object together.',
    type: 'gauge',
    modes: ['backup'],
  },
  backup_action_backup_previous_size_bytes: {
    help: 'Size as stored of the backup made by the successful backup run before the last one.',
    type: 'gauge',
    modes: ['backup'],
  },
  backup_action_backup_duration_seconds: {
    help: 'How long the last successful backup took to dump, compress, encrypt and upload.',
    type: 'gauge',
    modes: ['backup'],
  },
  backup_action_backup_tables: {
    help: 'Tables whose rows the last successful backup recorded in its manifest.',
    type: 'gauge',
    modes: ['backup'],
  },
  backup_action_backup_rows: {
    help: 'Rows the last successful backup recorded in its manifest (exact or estimated, as row-counts says).',
    type: 'gauge',
    modes: ['backup'],
  },
  backup_action_latest_backup_timestamp_seconds: {
    help: 'When the newest backup was made, as a Unix time: the one just made (backup) or the newest complete one found (verify-latest; status, labelled by store).',
    type: 'gauge',
    modes: ['backup', 'verify-latest', 'status'],
  },
  backup_action_latest_backup_age_seconds: {
    help: 'Age of the newest complete backup when verify-latest (or status, labelled by store) last looked.',
    type: 'gauge',
    modes: ['verify-latest', 'status'],
  },
  backup_action_latest_backup_size_bytes: {
    help: 'Size as stored of the newest complete backup when verify-latest (or status, labelled by store) last looked.',
    type: 'gauge',
    modes: ['verify-latest', 'status'],
  },
  backup_action_restore_duration_seconds: {
    help: "Recovery time of the last restore: download, restore and checks (the restore-seconds output; status: the set's last restore-test).",
    type: 'gauge',
    modes: ['restore-test', 'restore', 'status'],
  },
  backup_action_restore_tables: {
    help: 'Tables the last restore restored and compared.',
    type: 'gauge',
    modes: ['restore-test', 'restore'],
  },
  backup_action_restore_checks_passed: {
    help: 'Checks of the checks input (conditions on table rows, SQL queries; not the comparison with the manifest) that passed in the last restore-test that ran them.',
    type: 'gauge',
    modes: ['restore-test'],
  },
  backup_action_restore_checks_failed: {
    help: 'Checks of the checks input (conditions on table rows, SQL queries; not the comparison with the manifest) that failed in the last restore-test that ran them.',
    type: 'gauge',
    modes: ['restore-test'],
  },
  backup_action_prune_kept_backups: {
    help: 'Complete backups the last retention-prune kept.',
    type: 'gauge',
    modes: ['retention-prune'],
  },
  backup_action_prune_deleted_backups: {
    help: 'Backups the last retention-prune deleted (a dry run deletes none and reports none).',
    type: 'gauge',
    modes: ['retention-prune'],
  },
  backup_action_copy_lag_seconds: {
    help: 'How long ago the oldest backup a store lacks (newer than its newest copy) was made; 0 when it holds the newest. Labelled by store.',
    type: 'gauge',
    modes: ['copy', 'backup', 'verify-latest'],
  },
} as const satisfies Record<string, Definition>;

export type MetricName = keyof typeof METRICS;

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

/** Our families: the tool's prefix. Names from a newer version of the tool are kept as read. */
export const isOurs = (name: string): boolean => name.startsWith(METRIC_PREFIX);

/** HELP and TYPE of a family: ours as defined, one read from a file as it was read. */
export function familyOf(read: ReadonlyMap<string, Family>): (name: string) => Family {
  return (name) =>
    isMetricName(name) ? METRICS[name] : (read.get(name) ?? { help: name, type: 'untyped' });
}

/** A figure of the run: its metric, its value, and labels beyond set and mode (a `store`). */
type Figure = readonly [MetricName, number | undefined, Labels?];

const MODE_FIGURES: { [M in Mode]: (report: RunReport) => Figure[] } = {
  backup: backupFigures,
  'verify-latest': verifyFigures,
  'restore-test': (report) => [
    ...(restoreCompleted(report) ? restoreFigures(report) : []),
    ...checkFigures(report),
  ],
  restore: (report) => (report.ok ? restoreFigures(report) : []),
  'retention-prune': pruneFigures,
  copy: lagFigures,
  notify: () => [],
  status: () => [],
};

/**
 * The run's samples, labelled with its set and mode; none for a run that has no set (its inputs
 * were refused before the set was known). A figure the report does not give is left out, so the
 * value an earlier run wrote stands (a failed backup keeps the last good backup's size). A status
 * run reports each set it looked at, as that set's.
 */
export function runSamples(report: RunReport): Sample[] {
  const mode = MODES.find((known) => known === report.mode);
  const finishedMs = Date.parse(report.finishedAt);
  const startedMs = Date.parse(report.startedAt);
  if (!mode || !Number.isFinite(finishedMs) || !Number.isFinite(startedMs)) return [];
  const times = {
    finished: finishedMs / 1000,
    duration: Math.max(0, finishedMs - startedMs) / 1000,
  };
  const sets = mode === 'status' ? statusSets(report) : [];
  if (sets.length > 0) return sets.flatMap((set) => statusSamples(set, times));
  if (!report.name) return [];
  return labelled({ set: report.name, mode }, [
    ...runFigures(report.ok, times),
    ...MODE_FIGURES[mode](report),
  ]);
}

type Times = { finished: number; duration: number };

function runFigures(ok: boolean, { finished, duration }: Times): Figure[] {
  return [
    ['backup_action_last_run_timestamp_seconds', finished],
    ['backup_action_last_run_success', ok ? 1 : 0],
    ['backup_action_last_run_duration_seconds', duration],
    ['backup_action_last_success_timestamp_seconds', ok ? finished : undefined],
  ];
}

function labelled(labels: Labels, figures: readonly Figure[]): Sample[] {
  return figures.flatMap(([name, value, more]) =>
    value === undefined || !Number.isFinite(value)
      ? []
      : [{ name, labels: { ...labels, ...more }, value }],
  );
}

/** The sets a status report holds, each checked as a status read from a file would be. */
function statusSets(report: RunReport): SetStatus[] {
  const sets = report.details.sets;
  if (!Array.isArray(sets)) return [];
  return sets.map(parseSetStatus).filter((set): set is SetStatus => set !== undefined);
}

/** A set as status saw it: whether it needs attention, and its newest backup in each store. */
function statusSamples(set: SetStatus, times: Times): Sample[] {
  const labels = { set: set.name, mode: 'status' };
  return [
    ...labelled(labels, [
      ...runFigures(set.ok, times),
      ['backup_action_restore_duration_seconds', set.lastRestoreTest?.restoreSeconds],
    ]),
    ...set.stores.flatMap((view) =>
      labelled({ ...labels, store: view.store }, [
        [
          'backup_action_latest_backup_timestamp_seconds',
          view.newestId === undefined
            ? undefined
            : (idTime(view.newestId)?.getTime() ?? NaN) / 1000,
        ],
        ['backup_action_latest_backup_age_seconds', view.ageSeconds],
        ['backup_action_latest_backup_size_bytes', view.sizeBytes],
      ]),
    ),
  ];
}

/**
 * When a run reports the first metric of a pair, the value it replaces becomes the second: a
 * backup's size and the size before it, so that an alert sees a shrink without a query over time.
 */
const CARRIED: readonly (readonly [MetricName, MetricName])[] = [
  ['backup_action_backup_size_bytes', 'backup_action_backup_previous_size_bytes'],
];

/** What earlier runs left, with this run's samples in place of theirs; every other series kept. */
export function mergeRun(previous: readonly Sample[], run: readonly Sample[]): Sample[] {
  const merged = new Map(previous.map((sample) => [seriesKey(sample), sample]));
  for (const sample of run) {
    const key = seriesKey(sample);
    const pair = CARRIED.find(([from]) => from === sample.name);
    if (pair) {
      const before = { name: pair[1], labels: sample.labels };
      const old = merged.get(key);
      if (old) merged.set(seriesKey(before), { ...before, value: old.value });
      else merged.delete(seriesKey(before));
    }
    merged.set(key, sample);
  }
  return [...merged.values()];
}

/** A backup id's time (the UTC time the backup began, as its manifest's createdAt), in seconds. */
function idSeconds(report: RunReport, name: string): number | undefined {
  const id = report.outputs[name];
  const time = typeof id === 'string' ? idTime(id) : undefined;
  return time && time.getTime() / 1000;
}

function backupFigures(report: RunReport): Figure[] {
  const counts = rowTotals(reportManifest(report, report.name));
  return [
    ...lagFigures(report),
    ['backup_action_backup_size_bytes', outputNumber(report, 'size-bytes')],
    ['backup_action_backup_duration_seconds', outputNumber(report, 'duration-seconds')],
    ['backup_action_backup_tables', counts?.tables],
    ['backup_action_backup_rows', counts?.rows],
    ['backup_action_latest_backup_timestamp_seconds', idSeconds(report, 'backup-id')],
  ];
}

function verifyFigures(report: RunReport): Figure[] {
  return [
    ...lagFigures(report),
    ['backup_action_latest_backup_age_seconds', outputNumber(report, 'age-seconds')],
    ['backup_action_latest_backup_size_bytes', outputNumber(report, 'size-bytes')],
    // A newest backup that failed verification (corrupt, torn) is no backup to be counted on.
    [
      'backup_action_latest_backup_timestamp_seconds',
      report.ok ? idSeconds(report, 'latest-id') : undefined,
    ],
  ];
}

/**
 * Each store's lag, as the copy mode, a backup's copy-to, or verify-latest over several stores
 * report it (`details.stores`, with each store's `lagSeconds`): one series per store.
 */
function lagFigures(report: RunReport): Figure[] {
  const stores = report.details.stores;
  if (!Array.isArray(stores)) return [];
  return stores.flatMap((store: unknown): Figure[] => {
    if (!isRecord(store) || typeof store.store !== 'string') return [];
    const lag = typeof store.lagSeconds === 'number' ? store.lagSeconds : undefined;
    return [['backup_action_copy_lag_seconds', lag, { store: store.store }]];
  });
}

function restoreFigures(report: RunReport): Figure[] {
  return [
    ['backup_action_restore_duration_seconds', outputNumber(report, 'restore-seconds')],
    ['backup_action_restore_tables', outputNumber(report, 'restored-tables')],
  ];
}

/**
 * Whether a restore-test restored everything (a check may still have failed): one stopped
 * mid-restore (cancelled, pg_restore failed) has no recovery time or table count to report.
 */
function restoreCompleted({ ok, details }: RunReport): boolean {
  if (ok) return true;
  const restored = (part: unknown) => isRecord(part) && part.comparison !== undefined;
  return Array.isArray(details.databases)
    ? details.databases.length > 0 && details.databases.every(restored)
    : restored(details);
}

/** The checks' verdicts: one database's (`checks`) or each database's of a server backup. */
function checkFigures(report: RunReport): Figure[] {
  const verdicts = checkVerdicts(report);
  if (!verdicts) return [];
  return [
    ['backup_action_restore_checks_passed', verdicts.passed],
    ['backup_action_restore_checks_failed', verdicts.failed],
  ];
}

function pruneFigures(report: RunReport): Figure[] {
  const dryRun = report.details.dryRun === true;
  return [
    ['backup_action_prune_kept_backups', outputNumber(report, 'kept')],
    ['backup_action_prune_deleted_backups', dryRun ? undefined : outputNumber(report, 'deleted')],
  ];
}
