/**
 * Several objects of one backup stored `jobs` at a time, all or none: the first failure stops
 * the others and deletes every object already stored, so a failed run leaves nothing half made.
 */
import { CancelledError, errorMessage } from '../core/errors.js';
import { formatBytes, formatCount } from '../core/format.js';
import { deleteStored, storeObject, type LayerOptions, type StoredObject } from './store-object.js';
import type { ObjectSource } from './source.js';

export interface ObjectPart {
  /**
   * What the object is, in log lines and in the failure (`database "shop"`, `globals`), among
   * several; the only object of a backup has none: the run's own lines say what it is.
   */
  label?: string;
  key: string;
  /** Starts the producer; `signal` is aborted when another part failed or the run is cancelled. */
  open(signal: AbortSignal): Promise<ObjectSource>;
}

/** Each part with its object as stored: `parts` and the result match one to one, in order. */
export type StoredParts<P extends readonly ObjectPart[]> = {
  -readonly [I in keyof P]: P[I] & StoredObject;
};

export async function storeAll<const P extends readonly ObjectPart[]>(
  parts: P,
  options: LayerOptions & { jobs: number },
): Promise<StoredParts<P>> {
  const outer = options.signal;
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  outer.addEventListener('abort', onAbort, { once: true });
  if (outer.aborted) onAbort();
  const stored: StoredObject[] = [];
  const results: (ObjectPart & StoredObject)[] = [];
  let failure: { error: unknown } | undefined;
  let next = 0;
  const several = options.jobs > 1 && parts.length > 1;
  const worker = async () => {
    for (let index = next++; index < parts.length && !inner.signal.aborted; index = next++) {
      const part = parts[index]!;
      const label = part.label && capitalised(part.label);
      try {
        if (label) options.log.info(`${label}: storing as ${part.key}`);
        const source = await part.open(inner.signal);
        const result = await storeObject(part.key, source, {
          ...options,
          signal: inner.signal,
          ...(several ? { label } : {}),
        });
        stored.push(result);
        results[index] = { ...part, ...result };
        if (label) options.log.info(`${label}: ${describeStored(result)}`);
      } catch (error) {
        // The first failure is the cause; the others' are the stop it set off.
        failure ??= {
          error: part.label
            ? new Error(`${part.label}: ${errorMessage(error)}`, { cause: error })
            : error,
        };
        inner.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.jobs, parts.length) }, worker));
  } finally {
    outer.removeEventListener('abort', onAbort);
  }
  if (failure || outer.aborted) {
    await deleteStored(
      stored.map((result) => result.object.key),
      options,
    );
    throw outer.aborted ? new CancelledError() : failure?.error;
  }
  // Every part was stored (or the run failed above), each at its own index.
  return results as StoredParts<P>;
}

function describeStored({ object, facts }: StoredObject): string {
  const counts = facts.rowCounts && Object.values(facts.rowCounts);
  const rows = counts
    ? ` (${formatCount(counts.length)} tables, ${formatCount(counts.reduce((sum, n) => sum + n, 0))} rows)`
    : '';
  return `${formatBytes(object.size)} stored${rows}`;
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
