/**
 * Installing a PostgreSQL client without root: `postgresql-client-N` and `libpq5` from an apt
 * repository (the PostgreSQL project's by default), each checked against the index's SHA256,
 * unpacked with `dpkg-deb -x`, and kept in the runner's tool cache under their exact version, so
 * a later run on the same cache downloads nothing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { Logger } from '../../core/types.js';
import { onPath } from '../../process/programs.js';
import { newestPackage, parsePackageIndex, type AptPackage } from './apt-index.js';

const run = promisify(execFile);
const TOOL = 'postgresql-client';
const DEB_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** Where an installed client lives: its bin folder and the folder of its own libpq. */
export interface InstalledClient {
  binDir: string;
  libDir: string;
  version: string;
}

export interface InstallOptions {
  /** The apt repository's root URL. */
  mirror: string;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/** Loaded only when a client is looked for or installed: it brings an HTTP stack most runs never use. */
const toolCache = () => import('@actions/tool-cache');

/** A cached client of this major, newest first; no network. */
export async function cachedClient(
  major: number,
  env: NodeJS.ProcessEnv,
): Promise<InstalledClient | undefined> {
  useToolCache(env);
  const tc = await toolCache();
  const versions = tc
    .findAllVersions(TOOL, os.arch())
    .filter((version) => version.split('.')[0] === String(major))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  const newest = versions[0];
  return newest ? located(tc.find(TOOL, newest, os.arch()), major, newest) : undefined;
}

/** Downloads, verifies, unpacks and caches postgresql-client-`major` with its libpq5. */
export async function installClient(
  major: number,
  options: InstallOptions,
): Promise<InstalledClient> {
  const target = await linuxTarget(major);
  useToolCache(options.env);
  const suite = `${target.codename}-pgdg`;
  const mirror = repository(options.mirror);
  const index = await readIndex(mirror, suite, target.arch, major);
  const wanted = [`postgresql-client-${major}`, 'libpq5'].map((name) => {
    const found = newestPackage(index, name);
    if (!found) {
      throw new Error(
        `${name} is not in ${mirror.shown} (${suite} main ${target.arch}); ` +
          `point pg-client-mirror at a repository that has it, or install it and set pg-bin-dir`,
      );
    }
    return found;
  });
  const client = wanted[0]!;
  options.log.info(
    `installing ${wanted.map((p) => `${p.name} ${p.version}`).join(' and ')} from ${mirror.shown}`,
  );
  const staging = await mkdtemp(path.join(os.tmpdir(), 'pg-client-'));
  try {
    for (const pkg of wanted) await unpack(mirror, pkg, staging, major);
    const version = cacheVersion(client.version);
    const cached = await (await toolCache()).cacheDir(staging, TOOL, version, os.arch());
    return located(cached, major, version);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** tool-cache needs a cache folder: the runner's, or one in the user's cache outside Actions. */
function useToolCache(env: NodeJS.ProcessEnv): void {
  process.env.RUNNER_TOOL_CACHE ??=
    env.RUNNER_TOOL_CACHE ??
    path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'backup-action', 'tools');
}

async function linuxTarget(major: number): Promise<{ codename: string; arch: string }> {
  const arch = DEB_ARCH[os.arch()];
  const fix = `install PostgreSQL ${major}'s client yourself and set pg-bin-dir (or postgres-client: system)`;
  if (process.platform !== 'linux' || !arch || !(await onPath('dpkg-deb'))) {
    throw new Error(
      `postgresql-client-${major} can be installed only on Linux (x64, arm64) with dpkg-deb; this is ${process.platform} ${os.arch()}: ${fix}`,
    );
  }
  const release = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const codename = /^(?:VERSION_CODENAME|UBUNTU_CODENAME)=["']?([a-z]+)/m.exec(release)?.[1];
  if (!codename) {
    throw new Error(`cannot tell this Linux distribution's codename from /etc/os-release: ${fix}`);
  }
  return { codename, arch };
}

interface Repository {
  /** The root URL without credentials. */
  base: string;
  /** What logs and messages show: the root without credentials. */
  shown: string;
  /** `Basic …` when the URL carried credentials (fetch refuses URLs that do). */
  authorization?: string;
}

function repository(mirror: string): Repository {
  const url = new URL(mirror);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  const base = url.href.replace(/\/+$/, '');
  const authorization =
    user || password ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : undefined;
  return { base, shown: base, ...(authorization ? { authorization } : {}) };
}

async function readIndex(
  mirror: Repository,
  suite: string,
  arch: string,
  major: number,
): Promise<AptPackage[]> {
  const index = `${mirror.base}/dists/${suite}/main/binary-${arch}/Packages`;
  const headers = mirror.authorization ? { authorization: mirror.authorization } : undefined;
  const compressed = await reaching(`${index}.gz`, major, (url) => fetch(url, { headers }));
  if (compressed.ok) {
    return parsePackageIndex(gunzipSync(Buffer.from(await compressed.arrayBuffer())).toString());
  }
  const plain = await reaching(index, major, (url) => fetch(url, { headers }));
  if (!plain.ok) {
    throw new Error(`cannot read the package index ${index}(.gz): HTTP ${plain.status}`);
  }
  return parsePackageIndex(await plain.text());
}

/** Downloads one package, checks its SHA256 against the index, and unpacks it into `into`. */
async function unpack(
  mirror: Repository,
  pkg: AptPackage,
  into: string,
  major: number,
): Promise<void> {
  const url = `${mirror.base}/${pkg.filename}`;
  const dest = path.join(into, '..', `${path.basename(into)}.deb`);
  const tc = await toolCache();
  const file = await reaching(url, major, () => tc.downloadTool(url, dest, mirror.authorization));
  try {
    const sha256 = await fileSha256(file);
    if (sha256 !== pkg.sha256) {
      throw new Error(
        `${pkg.name} ${pkg.version} from ${url} has sha256 ${sha256}, but the package index says ${pkg.sha256}; refusing it`,
      );
    }
    await run('dpkg-deb', ['-x', file, into]);
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * `request(url)`, where a repository that cannot be reached (fetch says only "fetch failed"; the
 * reason, ECONNREFUSED or ENOTFOUND, is in its cause) is one line naming the URL, the reason, and
 * the ways to do without it. `url` holds no credentials.
 */
async function reaching<T>(url: string, major: number, request: (url: string) => Promise<T>) {
  try {
    return await request(url);
  } catch (error) {
    const reason = networkReason(error);
    if (reason === undefined) throw error;
    throw new Error(
      `cannot reach the package repository at ${url} (${reason}) to install postgresql-client-${major}: ` +
        `set pg-client-mirror to a mirror this machine can reach, postgres-client: system to use the client on PATH, ` +
        `or pg-bin-dir to the bin folder of a PostgreSQL ${major} client`,
    );
  }
}

/** The system's reason when `error` is a failure to connect or to be answered, else undefined. */
function networkReason(error: unknown): string | undefined {
  const cause = error instanceof TypeError && error.cause instanceof Error ? error.cause : error;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
  return error instanceof TypeError && error.message === 'fetch failed'
    ? (cause as Error).message
    : undefined;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `15.18-0+deb12u1` → `15.18.0-0.deb12u1`: tool-cache keys folders by semantic version. */
export function cacheVersion(debianVersion: string): string {
  const withoutEpoch = debianVersion.replace(/^\d+:/, '');
  const dash = withoutEpoch.lastIndexOf('-');
  const upstream = dash < 0 ? withoutEpoch : withoutEpoch.slice(0, dash);
  const revision = dash < 0 ? '' : withoutEpoch.slice(dash + 1);
  const [major = '0', minor = '0', patch = '0'] = upstream
    .split(/[.~+]/)
    .filter((p) => /^\d+$/.test(p));
  const tag = revision.replace(/[^0-9A-Za-z]+/g, '.').replace(/^\.|\.$/g, '');
  return `${major}.${minor}.${patch}${tag ? `-${tag}` : ''}`;
}

/** The bin folder and libpq folder inside an unpacked client. */
async function located(root: string, major: number, version: string): Promise<InstalledClient> {
  const lib = path.join(root, 'usr', 'lib');
  const entries = await readdir(lib, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const files = entry.isDirectory() ? await readdir(path.join(lib, entry.name)) : [];
    if (files.includes('libpq.so.5')) {
      return {
        binDir: path.join(lib, 'postgresql', String(major), 'bin'),
        libDir: path.join(lib, entry.name),
        version,
      };
    }
  }
  throw new Error(
    `the cached client in ${root} has no libpq.so.5; remove that folder and run again`,
  );
}
