/**
 * The file tree a files backup holds: `paths` (globs allowed) expanded and walked, `exclude` and
 * `exclude-from` applied with gitignore semantics. Archive names are relative to the working
 * directory, or, for paths outside it, the absolute path without its leading `/` (as `tar` does),
 * so no name is ever absolute or holds `..`.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { glob, isDynamicPattern } from 'tinyglobby';

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
}

/** Every entry to archive, in a stable order (sorted by archive name). Missing paths throw. */
export async function walkTree(options: WalkOptions): Promise<Tree> {
  const rules = await excludeRules(options);
  const tree = { entries: new Map<string, TreeEntry>(), special: [] as string[] };
  for (const root of await expandPaths(options)) await visit(root, options.cwd, rules, tree);
  const entries = [...tree.entries.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  return { entries, special: tree.special };
}

async function expandPaths(options: WalkOptions): Promise<string[]> {
  const roots: string[] = [];
  for (const pattern of options.paths) {
    if (!isDynamicPattern(pattern)) {
      roots.push(path.resolve(options.cwd, pattern));
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
    if (matches.length === 0) throw new Error(`paths: "${pattern}" matches nothing`);
    roots.push(...matches.map((match) => path.resolve(match)));
  }
  return roots;
}

async function visit(
  file: string,
  cwd: string,
  rules: Ignore,
  tree: { entries: Map<string, TreeEntry>; special: string[] },
): Promise<void> {
  const name = archiveName(file, cwd);
  const info = await lstat(file);
  const type: EntryType | undefined = info.isSymbolicLink()
    ? 'symlink'
    : info.isDirectory()
      ? 'directory'
      : info.isFile()
        ? 'file'
        : undefined;
  if (name !== '' && rules.ignores(type === 'directory' ? `${name}/` : name)) return;
  if (!type) {
    tree.special.push(name);
    return;
  }
  // The working directory itself has no name in the archive; its contents do.
  if (name !== '') tree.entries.set(name, { name, file, type });
  if (type !== 'directory') return;
  for (const child of (await readdir(file)).sort())
    await visit(path.join(file, child), cwd, rules, tree);
}
