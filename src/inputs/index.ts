/**
 * Reads every input once, validates it, and builds the typed settings a mode runs from.
 * Nothing here touches the network, the database or the store: a bad input is found before any
 * work starts and reported as one line naming the input and what is accepted.
 */
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { Inputs, type InputSource } from './reader.js';
import { isValidSetName } from '../core/layout.js';
import { readDecryption, readEncryption } from './crypto.js';
import { readDatabaseUrl } from './database.js';
import { readChecks } from './checks.js';
import { clientSecrets, readClient } from './client.js';
import { isValidTimeZone } from '../retention/policy.js';
import { refusedPgDumpArgument } from '../postgres/dump-args.js';
import type {
  BackupSettings,
  CommonSettings,
  Mode,
  NotifyModeSettings,
  NotifySettings,
  PruneSettings,
  RestoreSettings,
  RestoreTestSettings,
  Settings,
  StorageLocation,
  VerifySettings,
} from '../core/settings.js';
import { MODES } from '../core/settings.js';

export type { InputSource };

/** Builds and validates the settings for the mode the inputs name. */
export async function readSettings(source: InputSource, cwd = process.cwd()): Promise<Settings> {
  const inputs = new Inputs(source);
  const mode = inputs.oneOf<Mode>('mode', MODES, 'backup');
  switch (mode) {
    case 'backup':
      return readBackup(inputs, cwd);
    case 'verify-latest':
      return readVerify(inputs, cwd);
    case 'restore-test':
      return readRestoreTest(inputs, cwd);
    case 'restore':
      return readRestore(inputs, cwd);
    case 'retention-prune':
      return readPrune(inputs, cwd);
    case 'notify':
      return readNotifyMode(inputs);
  }
}

/** The notify mode needs no storage: only the set's name, the channels and the result. */
function readNotifyMode(inputs: Inputs): NotifyModeSettings {
  const notify = readNotify(inputs);
  return {
    mode: 'notify',
    name: readName(inputs, undefined),
    notify,
    result: inputs.oneOf('result', ['success', 'failure', 'cancelled'] as const, 'failure'),
    message: inputs.optional('message'),
    secrets: notifySecrets(notify),
  };
}

function notifySecrets(notify: NotifySettings): string[] {
  return [
    notify.slackWebhookUrl,
    notify.webhookUrl,
    notify.heartbeatUrl,
    notify.githubToken,
  ].filter((secret): secret is string => Boolean(secret));
}

function readCommon(inputs: Inputs, cwd: string, defaultName: string | undefined): CommonSettings {
  const notify = readNotify(inputs);
  const client = readClient(inputs);
  const secrets = [...notifySecrets(notify), ...clientSecrets(client)];
  return {
    storage: readStorage(inputs, cwd),
    name: readName(inputs, defaultName),
    s3: readS3(inputs),
    notify,
    client,
    secrets,
  };
}

/** `s3://bucket/optional/prefix`, `file:///abs/path`, or a plain directory path. */
export function readStorage(inputs: Inputs, cwd: string): StorageLocation {
  const value = inputs.text('storage');
  const accepted = 'use s3://bucket/optional/prefix, file:///absolute/path or a directory path';
  if (value === '') throw new InputError('storage', `is required; ${accepted}`);
  if (value.startsWith('s3://')) {
    const [bucket = '', ...rest] = value.slice('s3://'.length).split('/');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new InputError('storage', `"${value}" has no valid bucket name; ${accepted}`);
    }
    const prefix = rest.filter((part) => part !== '').join('/');
    if (rest.some((part) => part === '..' || part === '.')) {
      throw new InputError('storage', `"${value}" has "." or ".." in its prefix; ${accepted}`);
    }
    return { kind: 's3', bucket, prefix };
  }
  if (value.startsWith('file://')) return directoryLocation(value, fileUrlPath(value, accepted));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new InputError('storage', `"${value}" has an unsupported scheme; ${accepted}`);
  }
  return directoryLocation(value, path.resolve(cwd, value));
}

/** The decoded path of a `file:///` URL; a host, a query or a fragment has no meaning here. */
function fileUrlPath(value: string, accepted: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !value.startsWith('file:///') || /[?#]/.test(value)) {
    throw new InputError(
      'storage',
      `"${value}" is not a file:/// URL with an absolute path (and no query or fragment); ${accepted}`,
    );
  }
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    throw new InputError('storage', `"${value}" has a malformed %-escape; ${accepted}`);
  }
}

/**
 * A store folder, spelled any way (a trailing slash, `.` and `..` segments) normalised to one
 * absolute path. The filesystem root is refused: every set would be a top-level folder (`/etc`
 * for a set named etc), and no key there is ours.
 */
function directoryLocation(value: string, dir: string): StorageLocation {
  if (dir.includes('\0')) {
    throw new InputError('storage', `"${value}" holds a NUL character, which no path can`);
  }
  const resolved = path.resolve(dir);
  if (resolved === path.parse(resolved).root) {
    throw new InputError(
      'storage',
      `"${value}" is the filesystem root; give backups a folder of their own, e.g. file:///var/backups`,
    );
  }
  return { kind: 'directory', path: resolved };
}

function readName(inputs: Inputs, defaultName: string | undefined): string {
  const given = inputs.text('name');
  const name = given || defaultName;
  if (!name) throw new InputError('name', 'is required here; use one path segment of [a-z0-9._-]');
  if (!isValidSetName(name)) {
    const shown = given ? `"${given}"` : `the default "${name}"`;
    throw new InputError('name', `${shown} is not accepted; use one path segment of [a-z0-9._-]`);
  }
  return name;
}

function readS3(inputs: Inputs) {
  const endpoint = inputs.optional('s3-endpoint');
  if (endpoint !== undefined && (!/^https?:\/\//i.test(endpoint) || !URL.canParse(endpoint))) {
    throw new InputError(
      's3-endpoint',
      `"${endpoint}" is not accepted; use an http:// or https:// URL`,
    );
  }
  const forcePathStyleText = inputs.text('s3-force-path-style');
  const sse = inputs.optional('s3-sse');
  if (sse !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse)) {
    throw new InputError('s3-sse', `"${sse}" is not accepted; use AES256, aws:kms or aws:kms:dsse`);
  }
  const storageClass = inputs.optional('s3-storage-class');
  if (storageClass !== undefined && !/^[A-Z_]+$/.test(storageClass)) {
    throw new InputError(
      's3-storage-class',
      `"${storageClass}" is not accepted; use an S3 storage class such as STANDARD_IA or GLACIER_IR`,
    );
  }
  const region = inputs.optional('s3-region');
  if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) {
    throw new InputError(
      's3-region',
      `"${region}" is not accepted; use a region name such as eu-west-1 or auto`,
    );
  }
  return {
    endpoint,
    region,
    forcePathStyle:
      forcePathStyleText === '' ? undefined : inputs.boolean('s3-force-path-style', true),
    storageClass,
    sse,
    sseKmsKeyId: inputs.optional('s3-sse-kms-key-id'),
    timeoutMs: inputs.duration('s3-timeout', '60s'),
  };
}

function readNotify(inputs: Inputs): NotifySettings {
  const githubToken = inputs.optional('github-token');
  const failureIssue = inputs.boolean('failure-issue', false);
  if (failureIssue && !githubToken) {
    throw new InputError('failure-issue', 'needs github-token (for example ${{ github.token }})');
  }
  return {
    on: inputs.oneOf('notify-on', ['failure', 'always', 'never'] as const, 'failure'),
    slackWebhookUrl: inputs.secretUrl('slack-webhook-url'),
    webhookUrl: inputs.secretUrl('webhook-url'),
    heartbeatUrl: inputs.secretUrl('heartbeat-url'),
    githubToken,
    failureIssue,
  };
}

/** The default set name from a database name: lowercased, anything outside [a-z0-9._-] as '-'. */
function nameFromDatabase(database: string | undefined): string | undefined {
  return database?.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
}

async function readBackup(inputs: Inputs, cwd: string): Promise<BackupSettings> {
  const source = inputs.oneOf('source', ['postgres', 'files'] as const, 'postgres');
  const given = source === 'postgres' ? readDatabaseUrl(inputs, 'database-url') : undefined;
  const database = given?.target;
  const common = readCommon(
    inputs,
    cwd,
    source === 'files' ? 'files' : nameFromDatabase(database?.database),
  );
  const compression = inputs.oneOf('compression', ['zstd', 'gzip', 'none'] as const, 'zstd');
  const maxLevel = compression === 'zstd' ? 19 : 9;
  const compressionLevel =
    compression === 'none'
      ? undefined
      : inputs.integer('compression-level', { min: 1, max: maxLevel });
  const encryption = await readEncryption(inputs);
  const settings: BackupSettings = {
    ...common,
    mode: 'backup',
    source,
    database,
    pgDumpArgs: readPgDumpArgs(inputs),
    files: source === 'files' ? readFiles(inputs, cwd) : undefined,
    compression,
    compressionLevel,
    encryption,
    rowCounts: inputs.oneOf('row-counts', ['exact', 'estimate', 'off'] as const, 'exact'),
  };
  addSecrets(settings, ...(given?.secrets ?? []), encryption?.passphrase);
  return settings;
}

/** pg_dump's output format and destination are the product's; everything else is the user's. */
function readPgDumpArgs(inputs: Inputs): string[] {
  const args = inputs.lines('pg-dump-args', { comments: false });
  const refused = refusedPgDumpArgument(args);
  if (refused !== undefined) {
    throw new InputError(
      'pg-dump-args',
      `${refused} (custom format to its own stream, database from database-url); give other pg_dump options, one per line`,
    );
  }
  return args;
}

function readFiles(inputs: Inputs, cwd: string) {
  const paths = inputs.lines('paths');
  if (paths.length === 0)
    throw new InputError('paths', 'is required with source: files; give one path or glob per line');
  const excludeFrom = inputs.optional('exclude-from');
  return {
    paths,
    exclude: inputs.lines('exclude'),
    excludeFrom: excludeFrom === undefined ? undefined : path.resolve(cwd, excludeFrom),
    cwd,
    skipUnreadable: inputs.boolean('skip-unreadable', false),
  };
}

async function readVerify(inputs: Inputs, cwd: string): Promise<VerifySettings> {
  const common = readCommon(inputs, cwd, undefined);
  const decryption = await readDecryption(inputs);
  const settings: VerifySettings = {
    ...common,
    mode: 'verify-latest',
    maxAgeMs: inputs.duration('max-age', '26h'),
    minSize: readSize(inputs, 'min-size'),
    maxShrink: readPercent(inputs, 'max-shrink', '50%'),
    deep: inputs.boolean('deep', true),
    decryption,
  };
  addSecrets(settings, ...decryption.identities, decryption.passphrase);
  return settings;
}

async function readRestoreTest(inputs: Inputs, cwd: string): Promise<RestoreTestSettings> {
  const given = inputs.optional('database-url')
    ? readDatabaseUrl(inputs, 'database-url', { databaseOptional: true })
    : undefined;
  const database = given?.target;
  const common = readCommon(inputs, cwd, undefined);
  const decryption = await readDecryption(inputs);
  const settings: RestoreTestSettings = {
    ...common,
    mode: 'restore-test',
    database,
    backupId: readBackupId(inputs),
    checks: await readChecks(inputs, cwd),
    jobs: readJobs(inputs),
    keepDatabase: inputs.boolean('keep-database', false),
    databaseSettings: inputs.boolean('restore-database-settings', true),
    decryption,
  };
  addSecrets(settings, ...(given?.secrets ?? []), ...decryption.identities, decryption.passphrase);
  return settings;
}

async function readRestore(inputs: Inputs, cwd: string): Promise<RestoreSettings> {
  const targetPathText = inputs.optional('target-path');
  const given = targetPathText === undefined ? readDatabaseUrl(inputs, 'database-url') : undefined;
  const database = given?.target;
  const common = readCommon(inputs, cwd, nameFromDatabase(database?.database));
  const decryption = await readDecryption(inputs);
  const confirm = inputs.text('confirm');
  if (confirm === '') {
    const what = database
      ? `the target database's name ("${database.database}")`
      : 'the target path';
    throw new InputError('confirm', `is required; set it to ${what} to allow the restore`);
  }
  const expected = database?.database ?? targetPathText;
  if (confirm !== expected) {
    throw new InputError(
      'confirm',
      `"${confirm}" does not match the target; set confirm: ${expected} to restore into it`,
    );
  }
  const settings: RestoreSettings = {
    ...common,
    mode: 'restore',
    database,
    targetPath: targetPathText === undefined ? undefined : path.resolve(cwd, targetPathText),
    backupId: readBackupId(inputs),
    confirm,
    clean: inputs.boolean('clean', false),
    databaseSettings: inputs.boolean('restore-database-settings', true),
    jobs: readJobs(inputs),
    decryption,
  };
  addSecrets(settings, ...(given?.secrets ?? []), ...decryption.identities, decryption.passphrase);
  return settings;
}

function readPrune(inputs: Inputs, cwd: string): PruneSettings {
  const count = (name: string) => inputs.integer(name, { min: 0, max: 100_000 });
  const policy = {
    last: count('keep-last'),
    hourly: count('keep-hourly'),
    daily: count('keep-daily'),
    weekly: count('keep-weekly'),
    monthly: count('keep-monthly'),
    yearly: count('keep-yearly'),
    withinMs:
      inputs.optional('keep-within') === undefined ? undefined : inputs.duration('keep-within'),
  };
  const hasRule = Object.values(policy).some((value) => value !== undefined && value > 0);
  if (!hasRule) {
    throw new InputError(
      'keep-last',
      'no keep rule given; set at least one of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly or keep-within, so that prune never deletes everything',
    );
  }
  const timeZone = inputs.text('timezone') || 'UTC';
  if (!isValidTimeZone(timeZone)) {
    throw new InputError(
      'timezone',
      `"${timeZone}" is not accepted; use an IANA name such as UTC or Europe/Berlin`,
    );
  }
  return {
    ...readCommon(inputs, cwd, undefined),
    mode: 'retention-prune',
    policy,
    timeZone,
    dryRun: inputs.boolean('dry-run', false),
    orphanGraceMs: inputs.duration('orphan-grace', '24h'),
  };
}

function readBackupId(inputs: Inputs): string {
  const value = inputs.text('backup-id') || 'latest';
  if (value !== 'latest' && !/^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(value)) {
    throw new InputError(
      'backup-id',
      `"${value}" is not accepted; use latest or an id such as 20260101T030000Z-a1b2c3`,
    );
  }
  return value;
}

function readJobs(inputs: Inputs): number {
  return (
    inputs.integer('jobs', { min: 1, max: 64 }) ??
    Math.max(1, Math.min(os.availableParallelism(), 8))
  );
}

/** Bytes, with an optional unit: `1048576`, `500KB`, `10MB`, `1GiB`. */
function readSize(inputs: Inputs, name: string): number | undefined {
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
function readPercent(inputs: Inputs, name: string, fallback: string): number {
  const value = inputs.text(name) || fallback;
  const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value);
  const percent = match ? Number(match[1]) : NaN;
  if (!(percent >= 0 && percent <= 100))
    throw new InputError(name, `"${value}" is not accepted; use a percentage from 0% to 100%`);
  return percent / 100;
}

function addSecrets(settings: CommonSettings, ...values: (string | undefined)[]): void {
  for (const value of values) if (value) settings.secrets.push(value);
}
