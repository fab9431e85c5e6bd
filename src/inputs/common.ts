/**
 * The parsers every mode's reader shares: where the store is, the set's name, S3 and notification
 * settings, and the unit parsers (sizes, percentages, jobs, backup ids). Nothing here touches the
 * network, the database or the store: a bad input is found before any work starts and reported as
 * one line naming the input and what is accepted.
 */
import os from 'node:os';
import { InputError } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { isValidSetName } from '../core/layout.js';
import { literalPattern, patternProblem } from '../core/name-glob.js';
import { MAX_RETRY_DELAY_MS } from '../core/retry.js';
import type {
  CommonSettings,
  NotifySettings,
  RetrySettings,
  StoreSettings,
} from '../core/settings.js';
import { clientSecrets, DEFAULT_CLIENT, readClient } from './client.js';
import { metricsSecrets, readMetrics, type ReadPart } from './metrics.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';
import { readS3, readStores } from './stores.js';

export function notifySecrets(notify: NotifySettings): string[] {
  return [
    notify.slackWebhookUrl,
    notify.webhookUrl,
    notify.heartbeatUrl,
    notify.githubToken,
    ...metricsSecrets(notify.metrics),
  ].filter((secret): secret is string => Boolean(secret));
}

/**
 * What every mode that works on a store reads. `severalStores`: `storage` may list more than one
 * store (the modes that read from any copy). `postgres: false` for a source that runs no
 * PostgreSQL program: its client inputs are then not read (so a given one is named as unused) and
 * the default client stands in, never used.
 */
export function readCommon(
  inputs: Inputs,
  cwd: string,
  defaultName: string | undefined,
  { severalStores = false, postgres = true } = {},
): CommonSettings {
  const notify = readNotify(inputs, cwd);
  const client = postgres ? readClient(inputs) : { ...DEFAULT_CLIENT };
  const [primary, ...otherStores] = readStorage(inputs, cwd, severalStores);
  const stores = [primary, ...otherStores];
  const secrets = [...notifySecrets(notify), ...clientSecrets(client), ...storeSecrets(stores)];
  return {
    storage: primary.location,
    name: readName(inputs, defaultName),
    s3: primary.s3,
    otherStores,
    retry: readRetry(inputs),
    notify,
    client,
    secrets,
  };
}

/** `storage`: required, its first line the primary store. */
export function readStorage(
  inputs: Inputs,
  cwd: string,
  several: boolean,
): [StoreSettings, ...StoreSettings[]] {
  const [primary, ...others] = readStores(inputs, 'storage', cwd, readS3(inputs), several);
  if (!primary) {
    throw new InputError(
      'storage',
      'is required; use s3://bucket/optional/prefix, file:///absolute/path or a directory path',
    );
  }
  return [primary, ...others];
}

/** The keys stores name (`credentials=NAME`), for the edge to mask. */
export function storeSecrets(stores: readonly StoreSettings[]): string[] {
  return stores.flatMap(({ s3 }) =>
    s3.keys
      ? [s3.keys.secretAccessKey, ...(s3.keys.sessionToken ? [s3.keys.sessionToken] : [])]
      : [],
  );
}

function readRetry(inputs: Inputs): RetrySettings {
  return {
    retries: inputs.integer('retries', { min: 0, max: 10 }) ?? 2,
    delayMs: readRetryDelay(inputs),
  };
}

function readRetryDelay(inputs: Inputs): number {
  const ms = inputs.duration('retry-delay', '30s');
  if (ms > MAX_RETRY_DELAY_MS) {
    const most = formatDuration(MAX_RETRY_DELAY_MS);
    throw new InputError(
      'retry-delay',
      `"${inputs.text('retry-delay')}" is too long; use a duration from 1s to ${most} (each wait doubles the one before, up to ${most})`,
    );
  }
  return ms;
}

export function readName(inputs: Inputs, defaultName: string | undefined): string {
  const given = inputs.text('name');
  const name = given || defaultName;
  if (!name) throw new InputError('name', 'is required here; use one path segment of [a-z0-9._-]');
  if (!isValidSetName(name)) {
    const shown = given ? `"${given}"` : `the default "${name}"`;
    throw new InputError('name', `${shown} is not accepted; use one path segment of [a-z0-9._-]`);
  }
  return name;
}

/**
 * `readable: true` (a run refused for bad input): each notification input that cannot be read is
 * left out rather than failing the whole, so a mistyped one does not silence the others; an
 * unreadable notify-on counts as always, so the refusal itself is still sent.
 */
export function readNotify(
  inputs: Inputs,
  cwd = process.cwd(),
  { readable = false } = {},
): NotifySettings {
  const read: ReadPart = (part, fallback) => {
    if (!readable) return part();
    try {
      return part();
    } catch {
      return fallback;
    }
  };
  const githubToken = inputs.optional('github-token');
  return {
    on: read(
      () => inputs.oneOf('notify-on', ['failure', 'always', 'never'] as const, 'failure'),
      'always',
    ),
    slackWebhookUrl: read(() => inputs.secretUrl('slack-webhook-url'), undefined),
    webhookUrl: read(() => inputs.secretUrl('webhook-url'), undefined),
    heartbeatUrl: read(() => inputs.secretUrl('heartbeat-url'), undefined),
    githubToken,
    failureIssue: read(() => readFailureIssue(inputs, githubToken), false),
    metrics: readMetrics(inputs, cwd, read),
  };
}

function readFailureIssue(inputs: Inputs, githubToken: string | undefined): boolean {
  const failureIssue = inputs.boolean('failure-issue', false);
  if (failureIssue && !githubToken) {
    throw new InputError('failure-issue', 'needs github-token (for example ${{ github.token }})');
  }
  return failureIssue;
}

/** The default set name from a database name: lowercased, anything outside [a-z0-9._-] as '-'. */
export function nameFromDatabase(database: string | undefined): string | undefined {
  return database?.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
}

export function readBackupId(inputs: Inputs): string {
  const value = inputs.text('backup-id') || 'latest';
  if (value !== 'latest' && !/^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(value)) {
    throw new InputError(
      'backup-id',
      `"${value}" is not accepted; use latest or an id such as 20260101T030000Z-a1b2c3`,
    );
  }
  return value;
}

/**
 * `restore-globals`, and what it may create beyond the databases: `allow-privileged-roles` is read
 * only with it, so that given alone it is named as unused.
 */
export function readRestoreGlobals(inputs: Inputs): {
  restoreGlobals: boolean;
  allowPrivilegedRoles: boolean;
} {
  const restoreGlobals = inputs.boolean('restore-globals', false);
  if (!restoreGlobals) inputs.notUsed('allow-privileged-roles', 'restore-globals is false');
  const allowPrivilegedRoles = restoreGlobals && inputs.boolean('allow-privileged-roles', false);
  return { restoreGlobals, allowPrivilegedRoles };
}

export function readJobs(inputs: Inputs): number {
  return (
    inputs.integer('jobs', { min: 1, max: 64 }) ??
    Math.max(1, Math.min(os.availableParallelism(), 8))
  );
}

/** Bytes, with an optional unit: `1048576`, `500KB`, `10MB`, `1GiB`. */
export function readSize(inputs: Inputs, name: InputName): number | undefined {
  const value = inputs.text(name);
  if (value === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$/i.exec(value);
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    tib: 1024 ** 4,
  };
  const bytes = match ? Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? NaN) : NaN;
  if (!Number.isFinite(bytes))
    throw new InputError(
      name,
      `"${value}" is not accepted; use bytes such as 1048576, 500KB, 10MB or 1GiB`,
    );
  return Math.round(bytes);
}

/** A percentage `50%` (or `50`), as a fraction. */
export function readPercent(inputs: Inputs, name: InputName, fallback: string): number {
  const value = inputs.text(name) || fallback;
  const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value);
  const percent = match ? Number(match[1]) : NaN;
  if (!(percent >= 0 && percent <= 100))
    throw new InputError(name, `"${value}" is not accepted; use a percentage from 0% to 100%`);
  return percent / 100;
}

export function addSecrets(settings: CommonSettings, ...values: (string | undefined)[]): void {
  for (const value of values) if (value) settings.secrets.push(value);
}

/**
 * Database names and shell-style patterns, one per line, each one that can be matched. A line in
 * double quotes (`""` for a quote, as in SQL) is a name exactly: `"all"`, `"shop*"`.
 */
export function readNamePatterns(inputs: Inputs, name: InputName): string[] {
  return inputs.lines(name).map((line) => {
    const quoted = /^"((?:[^"]|"")+)"$/.exec(line)?.[1];
    if (quoted !== undefined) return literalPattern(quoted.replace(/""/g, '"'));
    const problem = patternProblem(line);
    if (problem) throw new InputError(name, problem);
    return line;
  });
}

/**
 * `databases`: `all` standing alone (every database), or names and patterns (readNamePatterns);
 * empty when not given. The database named all is `"all"`.
 */
export function readDatabases(inputs: Inputs): 'all' | string[] {
  const lines = inputs.lines('databases');
  if (!lines.includes('all')) return readNamePatterns(inputs, 'databases');
  if (lines.length > 1) {
    throw new InputError(
      'databases',
      'all stands alone; give all, or names and globs one per line (exclude-databases leaves some out; "all" in double quotes is the database named all)',
    );
  }
  return 'all';
}

/** `databases` of a server backup restored or tested: empty (or `all`) for every database. */
export function readChosenDatabases(inputs: Inputs): string[] {
  const chosen = readDatabases(inputs);
  return chosen === 'all' ? [] : chosen;
}
