/**
 * Where a folder really is: two spellings of one place (a symbolic link anywhere along the path,
 * a `..`) must compare equal wherever a folder is checked against another.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** The real path of a folder that may not exist yet: its deepest existing ancestor's, resolved. */
export async function realPathOf(given: string): Promise<string> {
  const missing: string[] = [];
  for (let at = path.resolve(given); ; at = path.dirname(at)) {
    try {
      return path.join(await realpath(at), ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(at) === at) throw error;
      missing.push(path.basename(at));
    }
  }
}
