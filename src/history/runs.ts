/**
 * The history the nightly modes leave and draw. Each restore-test and verify-latest run, passed or
 * failed, leaves one record beside the backups (`<name>/history/<run>.<mode>.json`); then its
 * summary, like backup's, shows the set's trend. Neither ever changes the run's own result: a
 * record or a chart that cannot be written or read is one warning.
 */
import { CancelledError, errorMessage } from '../core/errors.js';
import { checkVerdicts, outputNumber, reportManifest, rowTotals } from '../core/figures.js';
import {
  oneLine,
  PROBLEM_MAX_CHARS,
  type HistoryRecord,
  type RecordFigures,
} from '../core/history.js';
import { idTime, newBackupId } from '../core/ids.js';
import { redactor } from '../core/report.js';
import type { RestoreTestSettings, VerifySettings } from '../core/settings.js';
import { backupCharts, restoreCharts, sizeChart } from '../core/trends.js';
import { ModeFailure, type ModeResult, type RunContext } from '../core/types.js';
import { TOOL } from '../core/version.js';
import type { Chart } from '../core/chart.js';
import { listedSize, listSet } from '../storage/catalog.js';
import {
  backupHistory,
  HISTORY_LENGTH,
  readRecords,
  withRecord,
  writeRecord,
} from '../storage/history.js';

type Recorded = RestoreTestSettings | VerifySettings;
type Run<S> = (settings: S, ctx: RunContext) => Promise<ModeResult>;

/** `run`, leaving a record of how it went and drawing the set's trend in its report. */
export function recorded<S extends Recorded>(run: Run<S>): Run<S> {
  return async (settings, ctx) => {
    const started = ctx.now();
    const finish = async (result: Partial<ModeResult>, problem?: string) => {
      const record = recordOf(settings, started, ctx.now(), result, problem);
      // The trend is read while the record is written, and drawn with it once it is kept.
      const kept = keepRecord(record, ctx);
      const [, charts] = await Promise.all([
        kept,
        trendCharts(
          settings,
          ctx,
          kept.then((written) => (written ? record : undefined)),
        ),
      ]);
      return withCharts(result, charts);
    };
    let result: ModeResult;
    try {
      result = await run(settings, ctx);
    } catch (error) {
      if (ctx.signal.aborted || error instanceof CancelledError) throw error;
      const failure = error instanceof ModeFailure ? error : undefined;
      const partial = await finish(failure?.partial ?? {}, errorMessage(error));
      // The cause and finality go on with it: the retry policy judges the run's failure by them.
      throw new ModeFailure(errorMessage(error), partial, failure?.cause ?? error, failure?.final);
    }
    return finish(result) as Promise<ModeResult>;
  };
}

/** backup's run, its report showing the size of the set's last backups as listed. */
export function charted<S extends { name: string }>(run: Run<S>): Run<S> {
  return async (settings, ctx) => {
    const result = await run(settings, ctx);
    const chart = await drawing(ctx, async () => {
      const listing = await listSet(ctx.store, settings.name);
      const points = listing.backups.slice(0, HISTORY_LENGTH).flatMap((entry) => {
        const size = listedSize(entry);
        const time = idTime(entry.id);
        return size === undefined || !time
          ? []
          : [{ createdAt: time.toISOString(), sizeBytes: size }];
      });
      const chart = sizeChart(points.reverse());
      return chart ? [chart] : [];
    });
    return withCharts(result, chart) as ModeResult;
  };
}

function withCharts<R extends Partial<ModeResult>>(result: R, charts: Chart[]): R {
  return charts.length ? { ...result, charts: [...(result.charts ?? []), ...charts] } : result;
}

/** What the run found, as figures: none of an input's values, the problem's secrets redacted. */
function recordOf(
  settings: Recorded,
  started: Date,
  finished: Date,
  result: Partial<ModeResult>,
  problem: string | undefined,
): HistoryRecord {
  const backupId = result.outputs?.['backup-id'] ?? result.outputs?.['latest-id'];
  return {
    version: 1,
    mode: settings.mode,
    id: newBackupId(started),
    name: settings.name,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    ok: problem === undefined,
    ...(typeof backupId === 'string' ? { backupId } : {}),
    ...(problem === undefined
      ? {}
      : { problem: oneLine(redactor(settings.secrets)(problem)).slice(0, PROBLEM_MAX_CHARS) }),
    figures: figuresOf(settings, result),
    tool: { ...TOOL },
  };
}

function figuresOf(settings: Recorded, result: Partial<ModeResult>): RecordFigures {
  const figures: RecordFigures =
    settings.mode === 'verify-latest'
      ? {
          ageSeconds: outputNumber(result, 'age-seconds'),
          sizeBytes: outputNumber(result, 'size-bytes'),
        }
      : {
          restoreSeconds: outputNumber(result, 'restore-seconds'),
          tables: outputNumber(result, 'restored-tables'),
          rows: rowTotals(reportManifest(result, settings.name))?.rows,
          checksPassed: checkVerdicts(result)?.passed,
          checksFailed: checkVerdicts(result)?.failed,
        };
  return Object.fromEntries(
    Object.entries(figures).filter(([, value]) => value !== undefined),
  ) as RecordFigures;
}

/** Whether the record was written. */
async function keepRecord(record: HistoryRecord, ctx: RunContext): Promise<boolean> {
  try {
    const key = await writeRecord(ctx.store, record);
    ctx.log.info(`Recorded this run in the set's history: ${key}`);
    return true;
  } catch (error) {
    ctx.log.warning(
      `history: this run's record was not written (${errorMessage(error)}); the run's own result stands. A store role needs s3:PutObject on <prefix>/*/history/* (examples/iam/verifier.json)`,
    );
    return false;
  }
}

/** verify-latest: size and duration of the last backups; restore-test: its last tests'. */
function trendCharts(
  settings: Recorded,
  ctx: RunContext,
  kept: Promise<HistoryRecord | undefined>,
): Promise<Chart[]> {
  return drawing(ctx, async () => {
    const now = ctx.now();
    const listing = await listSet(ctx.store, settings.name);
    if (settings.mode === 'verify-latest') {
      return backupCharts(
        (await backupHistory(ctx.store, settings.name, listing.backups, now)).points,
      );
    }
    const { records } = await readRecords(
      ctx.store,
      settings.name,
      listing.records,
      'restore-test',
      now,
    );
    return restoreCharts(withRecord(records, await kept));
  });
}

async function drawing(ctx: RunContext, draw: () => Promise<Chart[]>): Promise<Chart[]> {
  try {
    return await draw();
  } catch (error) {
    ctx.log.warning(`history: the trend charts were not drawn (${errorMessage(error)})`);
    return [];
  }
}
