/**
 * The parsers every mode's reader shares: where the store is, the set's name, S3 and notification
 * settings, and the unit parsers (sizes, percentages, jobs, backup ids). Nothing here touches the
 * network, the database or the store: a bad input is found before any work starts and reported as
 * one line naming the input and what is accepted.
 */
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { isValidSetName } from '../core/layout.js';
import { patternProblem } from '../core/name-glob.js';
import type { CommonSettings, NotifySettings, StorageLocation } from '../core/settings.js';
import { clientSecrets, DEFAULT_CLIENT, readClient } from './client.js';
import { metricsSecrets, readMetrics, type ReadPart } from './metrics.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';

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
 * `postgres: false` for a source that runs no PostgreSQL program: its client inputs are then not
 * read (so a given one is named as unused) and the default client stands in, never used.
 */
export function readCommon(
  inputs: Inputs,
  cwd: string,
  defaultName: string | undefined,
  { postgres = true } = {},
): CommonSettings {
  const notify = readNotify(inputs, cwd);
  const client = postgres ? readClient(inputs) : { ...DEFAULT_CLIENT };
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

export function readS3(inputs: Inputs): CommonSettings['s3'] {
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

/** Database names and shell-style patterns, one per line, each one that can be matched. */
export function readNamePatterns(inputs: Inputs, name: InputName): string[] {
  const lines = inputs.lines(name);
  for (const line of lines) {
    const problem = patternProblem(line);
    if (problem) throw new InputError(name, problem);
  }
  return lines;
}
