/**
 * Reads a server backup's globals (decrypted and decompressed) as the SQL `pg_dumpall
 * --globals-only` writes: UTF-8 throughout, its cluster-dump header first and its "complete"
 * footer last, as a dump cut short has none. Streamed: only the two ends are kept.
 */
import type { Readable } from 'node:stream';
import { UnreadableArchiveError } from '../core/errors.js';

const HEADER = '--\n-- PostgreSQL database cluster dump\n--\n';
const FOOTER = '--\n-- PostgreSQL database cluster dump complete\n--';
/** The footer comes after at most a `\unrestrict` line and blank lines. */
const TAIL_CHARS = 4096;

export interface GlobalsContents {
  /** Bytes of SQL. */
  bytes: number;
  /** `CREATE ROLE` statements. */
  roles: number;
}

export async function checkGlobals(sql: Readable): Promise<GlobalsContents> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let head = '';
  let tail = '';
  let line = '';
  let bytes = 0;
  let roles = 0;
  const take = (text: string): void => {
    if (head.length < HEADER.length) head += text.slice(0, HEADER.length - head.length);
    tail = (tail + text).slice(-TAIL_CHARS);
    const lines = (line + text).split('\n');
    line = lines.pop() ?? '';
    roles += lines.filter((each) => each.startsWith('CREATE ROLE ')).length;
  };
  try {
    for await (const chunk of sql) {
      const buffer = chunk as Buffer;
      bytes += buffer.length;
      take(decoder.decode(buffer, { stream: true }));
    }
    take(decoder.decode());
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new UnreadableArchiveError(`the globals are not UTF-8 text (byte ${bytes} or before)`);
  }
  const problem = globalsProblem(head, tail);
  if (problem)
    throw new UnreadableArchiveError(`the globals are not a pg_dumpall dump: ${problem}`);
  return { bytes, roles };
}

function globalsProblem(head: string, tail: string): string | undefined {
  if (head.length === 0) return 'they are empty';
  if (head !== HEADER)
    return 'they do not start with its "PostgreSQL database cluster dump" header';
  if (!tail.trimEnd().endsWith(FOOTER)) {
    return 'they do not end with its "cluster dump complete" footer (cut short?)';
  }
  return undefined;
}
