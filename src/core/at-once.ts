/**
 * Work on several items `jobs` at a time, all or nothing: the first failure aborts the signal the
 * others were given and starts no more, and once every started one has settled it is the error
 * thrown, prefixed with the item's name (the others' are the stop it set off). The run's own
 * cancellation stops them the same way; it, and a bad input (a key that opens nothing), are
 * thrown as they came: neither is the item's doing.
 */
import { errorMessage, InputError } from './errors.js';

export interface AtOnce {
  /** How many run together: `jobs`, or fewer when there are fewer items. */
  lanes: number;
  /** The share of `jobs` each lane may use inside it (a pg_restore's own --jobs), at least 1. */
  share: number;
}

/** `jobs` spread over `count` items: as many lanes as items allow, the rest inside each one. */
export function spreadJobs(jobs: number, count: number): AtOnce {
  const lanes = Math.max(1, Math.min(jobs, count));
  return { lanes, share: Math.max(1, Math.floor(jobs / lanes)) };
}

export async function eachAtOnce<T>(
  items: readonly T[],
  lanes: number,
  outer: AbortSignal,
  name: (item: T) => string,
  work: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const relay = () => stop.abort(outer.reason);
  outer.addEventListener('abort', relay, { once: true });
  if (outer.aborted) relay();
  let first: { error: unknown } | undefined;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stop.signal.aborted) {
      const item = items[next++] as T;
      try {
        await work(item, stop.signal);
      } catch (error) {
        first ??= { error: named(error, name(item), outer) };
        stop.abort(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  } finally {
    outer.removeEventListener('abort', relay);
  }
  if (first) throw first.error;
  outer.throwIfAborted();
}

function named(error: unknown, name: string, outer: AbortSignal): unknown {
  if (outer.aborted || error instanceof InputError) return error;
  return new Error(`${name}: ${errorMessage(error)}`, { cause: error });
}

/** How the jobs were spent, for a summary: `2 databases at once, 1 job each` or `4 job(s)`. */
export function jobsLine({ lanes, share }: AtOnce): string {
  return lanes > 1 ? `${lanes} databases at once, ${share} job(s) each` : `${share} job(s)`;
}
