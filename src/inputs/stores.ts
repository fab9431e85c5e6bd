/**
 * Store URLs: `storage` (one store, or several, one per line, where a mode may read from any
 * copy) and `copy-to`. A line is a location and, for S3, settings of its own as URL parameters,
 * named as the s3-* inputs without `s3-` (`endpoint`, `region`, `force-path-style`, `timeout`,
 * `storage-class`, `sse`, `sse-kms-key-id`). A store inherits the s3-* inputs; a parameter given
 * empty clears one (`endpoint=` is AWS). Keys are never written in a URL, which is logged: a line
 * names them (`credentials=NAME` reads NAME_ACCESS_KEY_ID, NAME_SECRET_ACCESS_KEY and
 * NAME_SESSION_TOKEN from the environment) and may name a role to assume (`role-arn=`).
 */
import path from 'node:path';
import { DURATION_HELP, parseDuration } from '../core/duration.js';
import { InputError } from '../core/errors.js';
import { overlapOf, storeLabel } from '../core/locations.js';
import type { S3Settings, StorageLocation, StoreSettings } from '../core/settings.js';
import type { InputName } from './names.js';
import { valueLines, type Inputs } from './reader.js';

const ACCEPTED = 'use s3://bucket/optional/prefix, file:///absolute/path or a directory path';

/** Says what is wrong, naming the input (and the line, among several); never returns. */
type Fail = (detail: string) => never;

/** The s3-* inputs, each with its parameter on a store URL: the same check for both spellings. */
const FIELDS = {
  endpoint: { input: 's3-endpoint', set: (s3, v, fail) => (s3.endpoint = endpoint(v, fail)) },
  region: { input: 's3-region', set: (s3, v, fail) => (s3.region = region(v, fail)) },
  'force-path-style': {
    input: 's3-force-path-style',
    set: (s3, v, fail) => (s3.forcePathStyle = v === '' ? undefined : boolean(v, fail)),
  },
  timeout: { input: 's3-timeout', set: (s3, v, fail) => (s3.timeoutMs = duration(v, fail)) },
  'storage-class': {
    input: 's3-storage-class',
    set: (s3, v, fail) => (s3.storageClass = storageClass(v, fail)),
  },
  sse: { input: 's3-sse', set: (s3, v, fail) => (s3.sse = sse(v, fail)) },
  'sse-kms-key-id': {
    input: 's3-sse-kms-key-id',
    set: (s3, v) => (s3.sseKmsKeyId = v || undefined),
  },
} satisfies Record<string, S3Field>;

interface S3Field {
  input: InputName;
  /** Sets the setting from `value` ('' clears it). */
  set(s3: S3Settings, value: string, fail: Fail): unknown;
}

/** The parameters only a store URL takes: whose keys, and which role. */
const URL_ONLY = ['credentials', 'role-arn'] as const;

/** The S3 settings of the s3-* inputs: what every store of the run starts from. */
export function readS3(inputs: Inputs): S3Settings {
  const s3: S3Settings = { timeoutMs: duration('60s', () => undefined as never) };
  for (const field of Object.values(FIELDS)) {
    const value = inputs.text(field.input);
    if (value !== '') field.set(s3, value, (detail) => fail(field.input, detail));
  }
  return s3;
}

/**
 * The stores an input lists, one per line, each on `base` with its own parameters applied. With
 * `several` false a second line is refused; stores that are one place, or nested, are refused.
 */
export function readStores(
  inputs: Inputs,
  input: 'storage' | 'copy-to',
  cwd: string,
  base: S3Settings,
  several: boolean,
): StoreSettings[] {
  const lines = valueLines(inputs.text(input));
  if (lines.length > 1 && !several) {
    throw new InputError(
      input,
      'takes one store here; several (one per line) are for verify-latest, restore-test and restore, and copies are made with copy-to',
    );
  }
  const stores = lines.map(({ number, text }) => {
    const say: Fail = (detail) =>
      fail(input, lines.length > 1 ? `line ${number}: ${detail}` : detail);
    return readStore(text, cwd, base, inputs.env, say);
  });
  refuseOverlaps(input, stores, stores);
  return stores;
}

/**
 * Refuses two stores of `stores` that are one place, or one inside the other, naming them as
 * given. `real`: the same stores (index for index) as compared, their folders at their real paths.
 */
export function refuseOverlaps(
  input: InputName,
  stores: readonly StoreSettings[],
  against: readonly StoreSettings[],
  what = 'another store it lists',
  real = { stores, against },
): void {
  for (const [i, store] of stores.entries()) {
    for (const [j, other] of against.entries()) {
      if (stores === against && j <= i) continue;
      const overlap = overlapOf(real.stores[i]!, real.against[j]!);
      if (!overlap) continue;
      const [a, b] = [storeLabel(store.location), storeLabel(other.location)];
      const [realA, realB] = [
        storeLabel(real.stores[i]!.location),
        storeLabel(real.against[j]!.location),
      ];
      const really = realA !== a || realB !== b ? ` (really ${realA} and ${realB})` : '';
      const how =
        overlap === 'same'
          ? `is the same place as ${what} (${b})`
          : overlap === 'inside'
            ? `is inside ${what} (${b})`
            : `holds ${what} (${b}) inside it`;
      throw new InputError(
        input,
        `${a} ${how}${really}: a copy there would read back what it writes; give a store of its own`,
      );
    }
  }
}

function readStore(
  line: string,
  cwd: string,
  base: S3Settings,
  env: NodeJS.ProcessEnv,
  fail: Fail,
): StoreSettings {
  if (!line.startsWith('s3://')) return { location: otherLocation(line, cwd, fail), s3: base };
  const query = line.indexOf('?');
  const url = query < 0 ? line : line.slice(0, query);
  const location = s3Location(url, fail);
  if (query < 0) return { location, s3: base };
  return { location, s3: withParameters(base, line.slice(query + 1), env, fail) };
}

function s3Location(value: string, fail: Fail): StorageLocation {
  const [bucket = '', ...rest] = value.slice('s3://'.length).split('/');
  // Keys in the URL (s3://KEY:SECRET@bucket) would be echoed: say so without showing it.
  if (bucket.includes('@')) fail(`names credentials in the URL, which is logged; ${keysHelp()}`);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    fail(`"${shown(value)}" has no valid bucket name; ${ACCEPTED}`);
  }
  if (rest.some((part) => part === '..' || part === '.')) {
    fail(`"${shown(value)}" has "." or ".." in its prefix; ${ACCEPTED}`);
  }
  return { kind: 's3', bucket, prefix: rest.filter((part) => part !== '').join('/') };
}

function withParameters(
  base: S3Settings,
  query: string,
  env: NodeJS.ProcessEnv,
  fail: Fail,
): S3Settings {
  const s3: S3Settings = { ...base };
  const seen = new Set<string>();
  for (const [key, value] of new URLSearchParams(query)) {
    if (seen.has(key)) fail(`${parameter(key)} is given twice`);
    seen.add(key);
    // A parameter's value is never quoted: a key pasted into any of them must not reach the log.
    const say: Fail = (detail) =>
      fail(
        `parameter ${key}: ${value ? detail.replaceAll(`"${value}"`, 'the value given') : detail}`,
      );
    if (key === 'credentials') s3.keys = value === '' ? undefined : keysFrom(value, env, say);
    else if (key === 'role-arn') s3.roleArn = roleArn(value, say);
    else if (Object.hasOwn(FIELDS, key)) FIELDS[key as keyof typeof FIELDS].set(s3, value, say);
    else {
      const known = [...Object.keys(FIELDS), ...URL_ONLY].join(', ');
      // The value is not echoed: a key pasted into the URL must not reach the log.
      fail(`${parameter(key)} is not accepted; a store URL takes ${known}`);
    }
  }
  return s3;
}

/**
 * A parameter as it may be quoted: by its name when it looks like one; a key pasted where the
 * name goes (`?AKIA…=…`) is not shown.
 */
function parameter(key: string): string {
  return /^[a-z][a-z-]{0,30}$/.test(key) ? `parameter ${key}` : 'a parameter';
}

/**
 * A line as it may be quoted in a refusal: without its parameters (credentials=, role-arn=, or a
 * key pasted among them) and without anything before an `@` in its host part.
 */
function shown(line: string): string {
  return line.replace(/[?#].*$/s, '').replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1…@');
}

function keysHelp(): string {
  return 'name them instead: credentials=NAME reads NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY from the environment';
}

function keysFrom(name: string, env: NodeJS.ProcessEnv, fail: Fail): S3Settings['keys'] {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
    // Not quoted: a key given here instead of a name must not reach the log.
    fail(
      'is not a name of A-Z, 0-9 and _, such as OFFSITE: it names the environment variables that hold the keys',
    );
  }
  const read = (suffix: string) => env[`${name}_${suffix}`]?.trim() || undefined;
  const accessKeyId = read('ACCESS_KEY_ID');
  const secretAccessKey = read('SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) {
    const missing = accessKeyId ? 'SECRET_ACCESS_KEY' : 'ACCESS_KEY_ID';
    fail(`${name}_${missing} is not set in the environment; ${keysHelp()}`);
  }
  return { from: name, accessKeyId, secretAccessKey, sessionToken: read('SESSION_TOKEN') };
}

function roleArn(value: string, fail: Fail): string | undefined {
  if (value === '') return undefined;
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(value)) {
    // Not quoted, as credentials= is not: what was pasted here may be a key.
    fail('is not a role ARN; use one such as arn:aws:iam::123456789012:role/copier');
  }
  return value;
}

function endpoint(value: string, fail: Fail): string | undefined {
  if (value === '') return undefined;
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) {
    fail(`"${shown(value)}" is not accepted; use an http:// or https:// URL`);
  }
  const { username, password } = new URL(value);
  if (username || password) fail(`names credentials in the URL, which is logged; ${keysHelp()}`);
  return value;
}

function region(value: string, fail: Fail): string | undefined {
  if (value !== '' && !/^[a-z0-9-]+$/.test(value)) {
    fail(`"${value}" is not accepted; use a region name such as eu-west-1 or auto`);
  }
  return value || undefined;
}

function boolean(value: string, fail: Fail): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'yes') return true;
  if (lower === 'false' || lower === 'no') return false;
  return fail(`"${value}" is not accepted; use true or false`);
}

function duration(value: string, fail: Fail): number {
  return parseDuration(value || '60s') ?? fail(`"${value}" is not accepted; use ${DURATION_HELP}`);
}

function storageClass(value: string, fail: Fail): string | undefined {
  if (value !== '' && !/^[A-Z_]+$/.test(value)) {
    fail(
      `"${value}" is not accepted; use an S3 storage class such as STANDARD_IA, GLACIER_IR or DEEP_ARCHIVE`,
    );
  }
  return value || undefined;
}

function sse(value: string, fail: Fail): string | undefined {
  if (value !== '' && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(value)) {
    fail(`"${value}" is not accepted; use AES256, aws:kms or aws:kms:dsse`);
  }
  return value || undefined;
}

function fail(input: InputName, detail: string): never {
  throw new InputError(input, detail);
}

/** A `file:///` URL or a plain directory path; any other scheme is refused. */
function otherLocation(value: string, cwd: string, fail: Fail): StorageLocation {
  if (value.startsWith('file://')) return directoryLocation(value, fileUrlPath(value, fail), fail);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    fail(`"${shown(value)}" has an unsupported scheme; ${ACCEPTED}`);
  }
  return directoryLocation(value, path.resolve(cwd, value), fail);
}

/** The decoded path of a `file:///` URL; a host, a query or a fragment has no meaning here. */
function fileUrlPath(value: string, fail: Fail): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !value.startsWith('file:///') || /[?#]/.test(value)) {
    fail(
      `"${shown(value)}" is not a file:/// URL with an absolute path (and no query or fragment: a folder takes no settings); ${ACCEPTED}`,
    );
  }
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return fail(`"${shown(value)}" has a malformed %-escape; ${ACCEPTED}`);
  }
}

/**
 * A store folder, spelled any way (a trailing slash, `.` and `..` segments) normalised to one
 * absolute path. The filesystem root is refused: every set would be a top-level folder (`/etc`
 * for a set named etc), and no key there is ours.
 */
function directoryLocation(value: string, dir: string, fail: Fail): StorageLocation {
  if (dir.includes('\0')) fail(`"${value}" holds a NUL character, which no path can`);
  const resolved = path.resolve(dir);
  if (resolved === path.parse(resolved).root) {
    fail(
      `"${value}" is the filesystem root; give backups a folder of their own, e.g. file:///var/backups`,
    );
  }
  return { kind: 'directory', path: resolved };
}
