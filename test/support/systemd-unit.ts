/**
 * A oneshot service run the way systemd runs it, for machines where systemd is not running (a
 * container, CI): its ExecStart= lines in order, as its User=, with its LoadCredential= files
 * copied into a credentials folder only that user reads ($CREDENTIALS_DIRECTORY), its
 * Environment= and EnvironmentFile=, and the quoting, % specifiers and $ variables of
 * systemd.service(5) and systemd.syntax(7). Only what the units here use is supported: anything
 * else fails the run, so that no directive is silently skipped.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Directives that change nothing a test can see here (sandboxing, scheduling, documentation). */
const INERT = new Set([
  'Description',
  'Wants',
  'After',
  'Type',
  'Group',
  'CacheDirectory',
  'TimeoutStartSec',
  'Nice',
  'IOSchedulingClass',
  'ProtectSystem',
  'ReadWritePaths',
  'ProtectHome',
  'PrivateTmp',
  'PrivateDevices',
  'NoNewPrivileges',
  'ProtectKernelTunables',
  'ProtectKernelModules',
  'ProtectControlGroups',
  'RestrictAddressFamilies',
  'RestrictNamespaces',
  'LockPersonality',
  'CapabilityBoundingSet',
]);

export interface Unit {
  user: string;
  credentials: [id: string, file: string][];
  environment: Record<string, string>;
  environmentFiles: string[];
  unsetEnvironment: string[];
  execStart: string[][];
}

/** Splits a command line into its words: "quoted" (C escapes) or bare, $$ and %% undone. */
export function splitCommand(line: string, specifiers: Record<string, string>): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const [, quoted, bare] of line.matchAll(pattern)) {
    const raw =
      quoted === undefined
        ? (bare ?? '')
        : quoted.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
    words.push(
      raw.replace(/%(.)/g, (_, c: string) => {
        if (c === '%') return '%';
        const value = specifiers[c];
        if (value === undefined) throw new Error(`unit: specifier %${c} is not supported`);
        return value;
      }),
    );
  }
  return words;
}

/** Reads a unit's [Service] directives; one this helper cannot honour throws. */
export function parseUnit(text: string, specifiers: Record<string, string>): Unit {
  const unit: Unit = {
    user: '',
    credentials: [],
    environment: {},
    environmentFiles: [],
    unsetEnvironment: [],
    execStart: [],
  };
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!match) continue;
    const [, key = '', value = ''] = match;
    if (key === 'User') unit.user = value;
    else if (key === 'LoadCredential') {
      const [id = '', ...file] = value.split(':');
      unit.credentials.push([id, file.join(':')]);
    } else if (key === 'Environment') {
      for (const pair of splitCommand(value, specifiers)) {
        const [name = '', ...rest] = pair.split('=');
        unit.environment[name] = rest.join('=');
      }
    } else if (key === 'EnvironmentFile') unit.environmentFiles.push(value);
    else if (key === 'UnsetEnvironment') unit.unsetEnvironment.push(...value.split(/\s+/));
    else if (key === 'ExecStart') unit.execStart.push(splitCommand(value, specifiers));
    else if (!INERT.has(key)) {
      throw new Error(`unit: ${key}= is not supported by this runner`);
    }
  }
  return unit;
}

/** An EnvironmentFile's variables: KEY=value or KEY="value" lines, # comments. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|(.*))$/.exec(line.trim());
    if (match?.[1]) found[match[1]] = match[2]?.replace(/\\(.)/g, '$1') ?? match[3] ?? '';
  }
  return found;
}

export interface ServiceRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a unit installed under `root` (its paths are the server's, taken under `root`): each
 * ExecStart= in turn, as its User=, stopping at the first that fails, as systemd does, with
 * `inherited` as the service manager's own environment.
 */
export async function runService(
  root: string,
  unitFile: string,
  inherited: Record<string, string> = {},
): Promise<ServiceRun[]> {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'unit-cache-'));
  const credentials = await mkdtemp(path.join(os.tmpdir(), 'unit-credentials-'));
  try {
    const unit = parseUnit(await readFile(unitFile, 'utf8'), { C: cache });
    const { stdout: ids } = await run('id', ['-u', unit.user]);
    const { stdout: gids } = await run('id', ['-g', unit.user]);
    const [uid, gid] = [Number(ids), Number(gids)];
    await chown(cache, uid, gid);
    for (const [id, file] of unit.credentials) {
      const copy = path.join(credentials, id);
      await copyFile(path.join(root, file), copy);
      await chown(copy, uid, gid);
      await chmod(copy, 0o400);
    }
    await chown(credentials, uid, gid);
    await chmod(credentials, 0o500);
    let environment = { ...unit.environment };
    for (const entry of unit.environmentFiles) {
      const file = path.join(root, entry.replace(/^-/, ''));
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (entry.startsWith('-') && error.code === 'ENOENT') return '';
        throw error;
      });
      environment = { ...environment, ...parseEnvironmentFile(text) };
    }
    const variables: Record<string, string> = { CREDENTIALS_DIRECTORY: credentials };
    const env: Record<string, string> = {
      ...inherited,
      PATH: process.env.PATH ?? '',
      ...variables,
      ...environment,
    };
    for (const name of unit.unsetEnvironment) delete env[name];
    const runs: ServiceRun[] = [];
    for (const [program = '', ...args] of unit.execStart) {
      const expanded = args.map((arg) =>
        arg
          .replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => variables[name] ?? '')
          .replace(/\$\$/g, '$'),
      );
      const result = await run(
        'runuser',
        ['-u', unit.user, '--', path.join(root, program), ...expanded],
        {
          env,
          timeout: 300_000,
        },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: typeof error.code === 'number' ? error.code : -1,
          stdout: error.stdout ?? '',
          stderr: error.stderr ?? '',
        }),
      );
      runs.push(result);
      if (result.code !== 0) break;
    }
    return runs;
  } finally {
    await rm(cache, { recursive: true, force: true });
    await rm(credentials, { recursive: true, force: true });
  }
}
