/**
 * The shared implementation behind both entry points (the action and the command line): read and
 * check the inputs, run the mode, and hand the edge a report with every secret redacted.
 */
import { CancelledError, errorMessage, InputError } from './core/errors.js';
import type { InputName } from './inputs/names.js';
import type { InputSource } from './inputs/reader.js';
import { givenSecrets } from './inputs/given-secrets.js';
import { readRefusalNotice, readRun, runMode } from './modes/index.js';
import { notifyEnd, notifyStart } from './notify/index.js';
import { ModeFailure, type Logger, type ModeResult, type RunContext } from './core/types.js';
import { redactor, reportJson, type RunReport } from './core/report.js';
import { attemptsFact, retrying, type FailedAttempt } from './core/retry.js';
import type { CommonSettings, Settings, StoreSettings } from './core/settings.js';
import { openStore } from './storage/index.js';

/** What an entry point provides: where lines, outputs and the summary go. */
export interface Edge {
  info(line: string): void;
  warning(line: string): void;
  error(line: string): void;
  /** Registers a secret with the runner's log masking. */
  mask(secret: string): void;
  setOutput(name: string, value: string): void;
  writeSummary(report: RunReport): Promise<void>;
  /** Keeps the whole report (JSON) in a file, returning its path; an edge without outputs has none. */
  saveReport?(json: string): Promise<string | undefined>;
}

export interface ExecuteOptions {
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  now?: () => Date;
  cwd?: string;
  /**
   * Inputs whose value came from an environment a host's services share (the command line's
   * BACKUP_ACTION_<INPUT>): one the mode does not use is a warning there, not a refusal.
   */
  shared?: (name: InputName) => boolean;
  /** Waits between attempts; injectable so tests of retries need not wait. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export async function execute(
  source: InputSource,
  edge: Edge,
  options: ExecuteOptions,
): Promise<RunReport> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const warnings: string[] = [];
  let redact = (text: string) => text;
  const log: Logger = {
    info: (message) => edge.info(redact(message)),
    warning: (message) => {
      warnings.push(redact(message));
      edge.warning(redact(message));
    },
  };
  let settings: Settings | undefined;
  let report: RunReport;
  const failed: FailedAttempt[] = [];
  const given = givenSecrets(source);
  for (const secret of given) edge.mask(secret);
  redact = redactor(given);
  try {
    const read = await readRun(source, options.cwd, options.env, options.shared);
    settings = read.settings;
    for (const secret of settings.secrets) edge.mask(secret);
    redact = redactor([...given, ...settings.secrets]);
    for (const line of read.unused) log.warning(line);
    for (const warning of await notifyStart(settings.notify)) log.warning(warning);
    const open = ({ location, s3 }: StoreSettings) =>
      openStore(location, s3, log.warning, options.env);
    const context = async (
      common: Pick<CommonSettings, 'storage' | 's3'>,
    ): Promise<RunContext> => ({
      store: await open({ location: common.storage, s3: common.s3 }),
      open,
      log,
      now,
      signal: options.signal,
      env: options.env,
      sleep: options.sleep,
    });
    const chosen = settings;
    const run = () => runMode(chosen, context);
    const result =
      'retry' in chosen
        ? await retrying('the run', run, chosen.retry, { ...options, log }, failed)
        : await run();
    report = withAttempts(
      buildReport(source, settings, startedAt, now(), warnings, result),
      failed,
    );
  } catch (error) {
    const failure = failureReport(
      source,
      settings,
      startedAt,
      now(),
      warnings,
      error,
      options.signal,
    );
    report = withAttempts(failure, failed);
  }
  // A run refused for bad input alerts too, on every notification input that can be read.
  const notice = settings ?? readRefusalNotice(source, options.cwd);
  const safe = redactDeep({ ...report, name: report.name ?? notice.name }, redact);
  for (const warning of await notifyEnd(safe, notice.notify, options.env)) {
    edge.warning(redact(warning));
    safe.warnings.push(redact(warning));
  }
  for (const [name, value] of Object.entries(safe.outputs)) edge.setOutput(name, String(value));
  const reportFile = await edge.saveReport?.(JSON.stringify(safe)).catch((error: unknown) => {
    edge.warning(`could not write the report file: ${errorMessage(error)}`);
    return undefined;
  });
  if (reportFile) edge.setOutput('report-file', reportFile);
  edge.setOutput('report', reportJson(safe, reportFile));
  await edge
    .writeSummary(safe)
    .catch((error: unknown) =>
      edge.warning(`could not write the job summary: ${errorMessage(error)}`),
    );
  if (safe.ok) edge.info(safe.headline);
  else edge.error(safe.error ?? safe.headline);
  return safe;
}

/** The attempts, in the summary and the report, when there was more than one. */
function withAttempts(report: RunReport, failed: FailedAttempt[]): RunReport {
  const fact = attemptsFact(failed, report.ok);
  if (fact === undefined) return report;
  return {
    ...report,
    facts: [...report.facts, ['Attempts', fact]],
    details: { ...report.details, attempts: failed },
  };
}

function buildReport(
  source: InputSource,
  settings: Settings | undefined,
  startedAt: Date,
  finishedAt: Date,
  warnings: string[],
  result: Partial<ModeResult>,
  error?: string,
): RunReport {
  return {
    mode: settings?.mode ?? (source('mode').trim() || 'backup'),
    name: settings?.name,
    ok: error === undefined,
    headline: error ?? result.headline ?? '',
    ...(error === undefined ? {} : { error }),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    outputs: result.outputs ?? {},
    facts: result.facts ?? [],
    tables: result.tables ?? [],
    ...(result.charts?.length ? { charts: result.charts } : {}),
    warnings,
    details: result.details ?? {},
    ...(error === undefined && result.notice ? { notice: true } : {}),
  };
}

function failureReport(
  source: InputSource,
  settings: Settings | undefined,
  startedAt: Date,
  finishedAt: Date,
  warnings: string[],
  error: unknown,
  signal: AbortSignal,
): RunReport {
  const partial = error instanceof ModeFailure ? error.partial : {};
  const cancelled = signal.aborted || error instanceof CancelledError;
  const message = cancelled
    ? 'the run was cancelled; nothing was published'
    : error instanceof InputError
      ? error.message
      : errorMessage(error);
  return buildReport(source, settings, startedAt, finishedAt, warnings, partial, message);
}

function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, redact)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)]),
    ) as T;
  }
  return value;
}
