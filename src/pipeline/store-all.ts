/**
 * Several objects of one backup stored `jobs` at a time, all or none: the first failure stops
 * the others and deletes every object already stored, so a failed run leaves nothing half made.
 */
import { CancelledError, errorMessage } from '../core/errors.js';
import { formatBytes, formatCount } from '../core/format.js';
import { deleteStored, storeObject, type LayerOptions, type StoredObject } from './publish.js';
import type { ObjectSource } from './source.js';

export interface ObjectPart {
  /** What the object is, in log lines and in the failure (`database "shop"`, `globals`). */
  label: string;
  key: string;
  /** Starts the producer; `signal` is aborted when another part failed or the run is cancelled. */
  open(signal: AbortSignal): Promise<ObjectSource>;
}

export async function storeAll(
  parts: readonly ObjectPart[],
  options: LayerOptions & { jobs: number },
): Promise<StoredObject[]> {
  const outer = options.signal;
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  outer.addEventListener('abort', onAbort, { once: true });
  if (outer.aborted) onAbort();
  const stored: StoredObject[] = [];
  const results: StoredObject[] = new Array<StoredObject>(parts.length);
  let failure: Error | undefined;
  let next = 0;
  const several = options.jobs > 1 && parts.length > 1;
  const worker = async () => {
    for (let index = next++; index < parts.length && !inner.signal.aborted; index = next++) {
      const part = parts[index]!;
      try {
        options.log.info(`${capitalised(part.label)}: storing as ${part.key}`);
        const source = await part.open(inner.signal);
        const result = await storeObject(part.key, source, {
          ...options,
          signal: inner.signal,
          ...(several ? { label: capitalised(part.label) } : {}),
        });
        stored.push(result);
        results[index] = result;
        options.log.info(`${capitalised(part.label)}: ${describeStored(result)}`);
      } catch (error) {
        // The first failure is the cause; the others' are the stop it set off.
        failure ??= new Error(`${part.label}: ${errorMessage(error)}`);
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
    throw outer.aborted ? new CancelledError() : failure;
  }
  return results;
}

function describeStored({ object, facts }: StoredObject): string {
  const counts = facts.rowCounts && Object.values(facts.rowCounts);
  const rows = counts
    ? ` (${formatCount(counts.length)} tables, ${formatCount(counts.reduce((sum, n) => sum + n, 0))} rows)`
    : '';
  return `${formatBytes(object.size)} stored${rows}`;
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
