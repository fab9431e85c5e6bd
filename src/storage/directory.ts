/**
 * A local directory as a store. Writes go to a hidden temporary name beside the final one and are
 * renamed into place, so a crash never leaves a half-written file under a final name.
 */
import { createReadStream, type Dirent } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
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

export class DirectoryStore implements Store {
  /** Absolute, without a trailing separator, however the folder was spelled. */
  readonly root: string;

  constructor(root: string) {
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
    const temp = this.temporary(key);
    const final = this.file(key);
    const file = await inFolder(path.dirname(temp), () => open(temp, 'wx+'));
    return {
      file,
      async commit() {
        await file.close();
        const { size } = await stat(temp);
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
    const temp = this.temporary(key);
    try {
      await inFolder(path.dirname(temp), () => writeFile(temp, body, { flag: 'wx' }));
      await rename(temp, this.file(key));
    } catch (error) {
      await rm(temp, { force: true });
      throw diskFullError(error, `the store folder ${this.root}`) ?? error;
    }
  }

  async download(key: string): Promise<Readable> {
    const file = this.file(key);
    await stat(file);
    return createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async read(key: string, maxBytes: number): Promise<Buffer> {
    return readUpTo(await this.download(key), key, maxBytes);
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const info = await stat(this.file(key));
      return info.isFile() ? { key, size: info.size, modified: info.mtime } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Lists files under the folder named by `prefix` (up to its last `/`) whose keys start with it. */
  async *list(prefix: string): AsyncIterable<StoredObject> {
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const dir = folder === '' ? this.root : this.file(folder);
    let entries: string[];
    try {
      entries = await readdir(dir, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries.sort()) {
      const key = folder + entry.split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const object = await this.stat(key);
      if (object) yield object;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.file(key), { force: true });
    const folders = new Set(keys.map((key) => path.dirname(this.file(key))));
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
    try {
      const entries = await readdir(folder === '' ? this.root : this.file(folder), {
        withFileTypes: true,
      });
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private async *partialsIn(
    folder: string,
    entries: readonly Dirent[],
    prefix: string,
  ): AsyncIterable<IncompleteUpload> {
    for (const { name } of entries) {
      const match = /^\.(.+)\.partial-[0-9a-f]{8}$/.exec(name);
      if (!match || !(folder + (match[1] ?? '')).startsWith(prefix)) continue;
      const info = await stat(this.file(folder + name)).catch(() => undefined);
      if (info)
        yield { key: folder + (match[1] ?? ''), uploadId: folder + name, initiated: info.mtime };
    }
  }

  async abortUpload(upload: IncompleteUpload): Promise<void> {
    const file = this.file(upload.uploadId);
    await rm(file, { force: true });
    await this.removeEmptyIdFolder(path.dirname(file));
  }
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
