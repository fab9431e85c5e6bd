/**
 * The file tree a files backup holds: `paths` (globs allowed) expanded and walked, `exclude` and
 * `exclude-from` applied with gitignore semantics. Archive names are relative to the working
 * directory, or, for paths outside it, the absolute path without its leading `/` (as `tar` does),
 * so no name is ever absolute or holds `..`. A local store inside `paths` is left out (with its
 * temporary files), or each backup would hold all the earlier ones.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { glob, isDynamicPattern } from 'tinyglobby';
import { InputError } from '../core/errors.js';
import { printableName } from '../core/database-names.js';

export type EntryType = 'file' | 'directory' | 'symlink';

export interface TreeEntry {
  /** The name in the archive: POSIX separators, relative. */
  name: string;
  /** Where it is on disk. */
  file: string;
  type: EntryType;
}

export interface WalkOptions {
  paths: string[];
  exclude: string[];
  excludeFrom?: string;
  cwd: string;
  /** Folders or files that cannot be read are listed in `skipped` instead of failing the walk. */
  skipUnreadable: boolean;
  /** The store's folder, when it is a local one: never archived. */
  store?: string;
}

const UNREADABLE = new Set(['EACCES', 'EPERM', 'EIO']);

/** The error code when `error` means "cannot be read", else undefined. */
export function unreadableCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && UNREADABLE.has(code) ? code : undefined;
}

export function unreadableError(file: string, code: string): Error {
  return new Error(
    `${printableName(file)} cannot be read (${code}); fix its permissions, exclude it, or set skip-unreadable: true`,
  );
}

export function archiveName(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  if (relative === '') return '';
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const name = inside ? relative : file.replace(/^\/+/, '');
  return name.split(path.sep).join('/');
}

export async function excludeRules(options: WalkOptions): Promise<Ignore> {
  const rules = ignore().add(options.exclude);
  if (options.excludeFrom) rules.add(await readFile(options.excludeFrom, 'utf8'));
  return rules;
}

export interface Tree {
  entries: TreeEntry[];
  /** Sockets, FIFOs and devices: not archived (tar could not restore them usefully either). */
  special: string[];
  /** Folders (contents skipped) and entries that could not be read, with skip-unreadable. */
  skipped: { name: string; code: string }[];
  /** The store's archive name, when it lay inside `paths` and was left out. */
  store?: string;
}

interface Walk extends Omit<Tree, 'entries'> {
  found: Map<string, TreeEntry>;
  options: WalkOptions;
  rules: Ignore;
  /** The store folder's identity: a folder is the store when device and inode match. */
  storeId?: Stats;
}

/** Every entry to archive, in a stable order (sorted by archive name). Missing paths throw. */
export async function walkTree(options: WalkOptions): Promise<Tree> {
  const walk: Walk = {
    special: [],
    skipped: [],
    found: new Map(),
    options,
    rules: await excludeRules(options),
    storeId: options.store ? await stat(options.store).catch(() => undefined) : undefined,
  };
  for (const root of await expandPaths(options)) await visit(root, walk);
  const entries = [...walk.found.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  return { entries, special: walk.special, skipped: walk.skipped, store: walk.store };
}

async function expandPaths(options: WalkOptions): Promise<string[]> {
  const roots: string[] = [];
  for (const pattern of options.paths) {
    if (!isDynamicPattern(pattern)) {
      const root = path.resolve(options.cwd, pattern);
      await lstat(root).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        throw new InputError(
          'paths',
          `"${pattern}" does not exist (in ${options.cwd}); give existing paths or globs, one per line`,
        );
      });
      roots.push(root);
      continue;
    }
    const matches = await glob(pattern, {
      cwd: options.cwd,
      absolute: true,
      dot: true,
      onlyFiles: false,
      followSymbolicLinks: false,
      expandDirectories: false,
    });
    if (matches.length === 0) {
      throw new InputError('paths', `"${pattern}" matches nothing (in ${options.cwd})`);
    }
    roots.push(...matches.map((match) => path.resolve(match)));
  }
  return roots;
}

async function visit(file: string, walk: Walk): Promise<void> {
  const name = archiveName(file, walk.options.cwd);
  const info = await readable(file, name, walk, () => lstat(file));
  if (!info) return;
  const type: EntryType | undefined = info.isSymbolicLink()
    ? 'symlink'
    : info.isDirectory()
      ? 'directory'
      : info.isFile()
        ? 'file'
        : undefined;
  if (name !== '' && walk.rules.ignores(type === 'directory' ? `${name}/` : name)) return;
  if (!type) {
    walk.special.push(name);
    return;
  }
  if (type === 'directory' && info.dev === walk.storeId?.dev && info.ino === walk.storeId.ino) {
    walk.store = name === '' ? '.' : name;
    return;
  }
  // The working directory itself has no name in the archive; its contents do.
  if (name !== '') walk.found.set(name, { name, file, type });
  if (type !== 'directory') return;
  const children = await readable(file, name, walk, () => readdir(file));
  for (const child of (children ?? []).sort()) await visit(path.join(file, child), walk);
}

/** `read()`'s result; undefined when it cannot be read and skip-unreadable lists it. */
async function readable<T>(
  file: string,
  name: string,
  walk: Walk,
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    const code = unreadableCode(error);
    if (code === undefined) throw error;
    if (!walk.options.skipUnreadable) throw unreadableError(file, code);
    walk.skipped.push({ name: name === '' ? '.' : name, code });
    return undefined;
  }
}
