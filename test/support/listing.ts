/** What a directory store holds, as a user would list it. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Every file under a folder, relative, sorted; none when the folder does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}
