/**
 * A local directory as a store. Writes go to a hidden temporary name beside the final one and are
 * renamed into place, so a crash never leaves a half-written file under a final name. Nothing
 * under the root is followed through a symbolic link: anyone who can write the store could point
 * one at files of the machine's, which a pruner running as root would otherwise delete.
 */
import { createReadStream, type Dirent } from 'node:fs';
import {
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { diskFullError } from '../core/errors.js';
import { isBackupId } from '../core/ids.js';
import { release } from '../process/owned.js';
import {
  readUpTo,
  type FileSink,
  type IncompleteUpload,
  type Store,
  type StoredObject,
  type UploadOptions,
} from '../core/store.js';

/** A key runs through a symbolic link in the store: it is not followed. */
export class LinkInStore extends Error {
  constructor(readonly link: string) {
    super(`${link} in the store is a symbolic link: not followed`);
    this.name = 'LinkInStore';
  }
}

export class DirectoryStore implements Store {
  /** Absolute, without a trailing separator, however the folder was spelled. */
  readonly root: string;
  private readonly linksSaid = new Set<string>();

  constructor(
    root: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.root = path.resolve(root);
  }

  get description(): string {
    return this.root;
  }

  private file(key: string): string {
    const file = path.resolve(this.root, key);
    const inside = path.relative(this.root, file);
    const outside = inside === '..' || inside.startsWith(`..${path.sep}`);
    if (inside === '' || outside || path.isAbsolute(inside)) {
      throw new Error(`key escapes the store: ${key}`);
    }
    return file;
  }

  /**
   * The key's file, once no component of it under the root is a symbolic link (each is lstat'ed;
   * the root itself may be one). A component that does not exist yet ends the check.
   */
  private async real(key: string): Promise<string> {
    const file = this.file(key);
    const parts = path.relative(this.root, file).split(path.sep);
    for (let depth = 1; depth <= parts.length; depth++) {
      const info = await lstat(path.join(this.root, ...parts.slice(0, depth))).catch(absent);
      if (!info) break;
      if (info.isSymbolicLink()) throw new LinkInStore(parts.slice(0, depth).join('/'));
    }
    return file;
  }

  /** The key's file; undefined, said once, where a symbolic link is on its way. */
  private async unlinked(key: string): Promise<string | undefined> {
    return this.real(key).catch((error: unknown) => this.skipLink(error));
  }

  /** A folder's directory (`''` is the root); undefined, said once, through a symbolic link. */
  private async folderPath(folder: string): Promise<string | undefined> {
    return folder === '' ? this.root : this.unlinked(folder);
  }

  /** Says once per link that it was skipped; rethrows anything else. */
  private skipLink(error: unknown): undefined {
    if (!(error instanceof LinkInStore)) throw error;
    if (!this.linksSaid.has(error.link)) {
      this.linksSaid.add(error.link);
      this.warn(
        `${error.link} in the store ${this.root} is a symbolic link: skipped, not followed`,
      );
    }
    return undefined;
  }

  /** `<name>/.<id>.dump.zst.partial-<random>`: hidden, and never matching the layout. */
  private temporary(key: string): string {
    const file = this.file(key);
    return path.join(
      path.dirname(file),
      `.${path.basename(file)}.partial-${randomBytes(4).toString('hex')}`,
    );
  }

  async upload(
    key: string,
    body: Readable,
    options: UploadOptions = {},
  ): Promise<{ size: number }> {
    const sink = await this.fileSink(key);
    try {
      await pipeline(body, fileWriter(sink.file), { signal: options.signal });
      return await sink.commit();
    } catch (error) {
      await sink.discard();
      throw diskFullError(error, `the store folder ${this.root}`) ?? error;
    }
  }

  async fileSink(key: string): Promise<FileSink> {
    const final = await this.real(key);
    const temp = this.temporary(key);
    const file = await inFolder(path.dirname(temp), () => open(temp, 'wx+'));
    return {
      file,
      async commit() {
        await file.close();
        const { size } = await lstat(temp);
        await rename(temp, final);
        return { size };
      },
      async discard() {
        await file.close().catch(() => undefined);
        await rm(temp, { force: true });
      },
    };
  }

  /**
   * Writes and removes a hidden probe file in the set's folder. Folders it had to make are removed
   * again (only while empty: a backup starting beside it may be using them), so a run that fails
   * later leaves the store as it found it.
   */
  async checkWritable(prefix: string): Promise<void> {
    await this.real(`${prefix}write-check`);
    const probe = this.temporary(`${prefix}write-check`);
    const folder = path.dirname(probe);
    let made: string | undefined;
    try {
      await inFolder(
        folder,
        () => writeFile(probe, '', { flag: 'wx' }),
        (top) => (made = made && made.length < top.length ? made : top),
      );
      await rm(probe, { force: true });
    } finally {
      if (made) await removeEmptyUpTo(folder, made);
    }
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    const final = await this.real(key);
    const temp = this.temporary(key);
    try {
      await inFolder(path.dirname(temp), () => writeFile(temp, body, { flag: 'wx' }));
      await rename(temp, final);
    } catch (error) {
      await rm(temp, { force: true });
      throw diskFullError(error, `the store folder ${this.root}`) ?? error;
    }
  }

  async download(key: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const file = await this.real(key);
    const info = await lstat(file);
    if (!info.isFile()) throw new Error(`${key} in the store is not a file`);
    return createReadStream(file, { highWaterMark: 1 << 20, signal: options.signal });
  }

  async read(key: string, maxBytes: number): Promise<Buffer> {
    return readUpTo(await this.download(key), key, maxBytes);
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const file = await this.unlinked(key);
    const info = file === undefined ? undefined : await lstat(file).catch(absent);
    return info?.isFile() ? { key, size: info.size, modified: info.mtime } : undefined;
  }

  /**
   * Lists files under the folder named by `prefix` (up to its last `/`) whose keys start with it,
   * in key order; a symbolic link is said and neither listed nor descended into.
   */
  async *list(prefix: string): AsyncIterable<StoredObject> {
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const dir = await this.folderPath(folder);
    if (dir === undefined) return;
    const found: StoredObject[] = [];
    await this.walk(folder, dir, prefix, found);
    yield* found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async walk(
    folder: string,
    dir: string,
    prefix: string,
    found: StoredObject[],
  ): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(absent);
    for (const entry of entries ?? []) {
      const key = folder + entry.name;
      const under = key.startsWith(prefix);
      if (entry.isSymbolicLink()) {
        if (under || prefix.startsWith(`${key}/`)) this.skipLink(new LinkInStore(key));
      } else if (entry.isDirectory() && (under || prefix.startsWith(`${key}/`))) {
        await this.walk(`${key}/`, path.join(dir, entry.name), prefix, found);
      } else if (entry.isFile() && under) {
        const info = await lstat(path.join(dir, entry.name)).catch(absent);
        if (info?.isFile()) found.push({ key, size: info.size, modified: info.mtime });
      }
    }
  }

  /** A key through a symbolic link is said and left: nothing is deleted through a link. */
  async delete(keys: readonly string[]): Promise<void> {
    const folders = new Set<string>();
    for (const key of keys) {
      const file = await this.unlinked(key);
      if (file === undefined) continue;
      await rm(file, { force: true });
      folders.add(path.dirname(file));
    }
    for (const folder of folders) await this.removeEmptyIdFolder(folder);
  }

  /**
   * A server backup's objects live in a folder of the backup's id (`<name>/<id>/`), which goes
   * once its last file does. Only such a folder, and only while empty: never the set's folder.
   */
  private async removeEmptyIdFolder(folder: string): Promise<void> {
    if (folder === this.root || !isBackupId(path.basename(folder))) return;
    await rmdir(folder).catch(() => undefined);
  }

  /**
   * Temporary files a crashed run left behind, in the set's folder and in its backups' id
   * folders (a server backup's objects); their age is their modification time.
   */
  async *incompleteUploads(prefix: string): AsyncIterable<IncompleteUpload> {
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const entries = await this.entriesOf(folder);
    const idFolders = entries
      .filter((entry) => entry.isDirectory() && isBackupId(entry.name))
      .map((entry) => `${folder}${entry.name}/`);
    yield* this.partialsIn(folder, entries, prefix);
    for (const idFolder of idFolders) {
      yield* this.partialsIn(idFolder, await this.entriesOf(idFolder), prefix);
    }
  }

  private async entriesOf(folder: string): Promise<Dirent[]> {
    const dir = await this.folderPath(folder);
    const entries =
      dir === undefined ? [] : await readdir(dir, { withFileTypes: true }).catch(absent);
    return (entries ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async *partialsIn(
    folder: string,
    entries: readonly Dirent[],
    prefix: string,
  ): AsyncIterable<IncompleteUpload> {
    for (const entry of entries) {
      const { name } = entry;
      const match = /^\.(.+)\.partial-[0-9a-f]{8}$/.exec(name);
      if (!match || !(folder + (match[1] ?? '')).startsWith(prefix)) continue;
      if (!entry.isFile()) {
        if (entry.isSymbolicLink()) this.skipLink(new LinkInStore(folder + name));
        continue;
      }
      const info = await lstat(this.file(folder + name)).catch(absent);
      if (info)
        yield { key: folder + (match[1] ?? ''), uploadId: folder + name, initiated: info.mtime };
    }
  }

  async abortUpload(upload: IncompleteUpload): Promise<void> {
    const file = await this.real(upload.uploadId);
    await rm(file, { force: true });
    await this.removeEmptyIdFolder(path.dirname(file));
  }
}

/** undefined for a path that does not exist; any other error is thrown. */
function absent(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

/** Writes to `file`, releasing each owned piece once it is on disk: the store is its last user. */
function fileWriter(file: FileHandle): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    writev(pieces, done) {
      const buffers = pieces.map(({ chunk }) => chunk as Buffer);
      writeAll(file, buffers).then(() => {
        for (const buffer of buffers) release(buffer);
        done();
      }, done);
    },
  });
}

/**
 * A short write is not an error yet: the rest is written again, so a full disk shows as the
 * ENOSPC the next write returns, not as a count of bytes.
 */
async function writeAll(file: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers.filter((buffer) => buffer.length > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest);
    if (bytesWritten === 0) throw new Error('a write reached the disk with none of its bytes');
    let skip = bytesWritten;
    while (rest.length > 0 && skip >= (rest[0]?.length ?? 0)) {
      skip -= rest[0]?.length ?? 0;
      rest = rest.slice(1);
    }
    if (skip > 0 && rest[0]) rest = [rest[0].subarray(skip), ...rest.slice(1)];
  }
}

/**
 * Makes `folder`, then creates a file in it. A write check beside it removes the folders it made
 * while they are empty, so the folder can vanish between the two steps: it is made again.
 */
async function inFolder<T>(
  folder: string,
  create: () => Promise<T>,
  onMade: (top: string) => void = () => undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const made = await mkdir(folder, { recursive: true });
    if (made) onMade(made);
    try {
      return await create();
    } catch (error) {
      const vanished = (error as NodeJS.ErrnoException).code === 'ENOENT';
      if (!vanished || attempt >= 5) throw error;
    }
  }
}

/** Removes `folder` and its parents up to and including `top`, stopping at the first not empty. */
async function removeEmptyUpTo(folder: string, top: string): Promise<void> {
  for (let dir = folder; ; dir = path.dirname(dir)) {
    const removed = await rmdir(dir).then(
      () => true,
      () => false,
    );
    if (!removed || dir === top || dir === path.dirname(dir)) return;
  }
}
