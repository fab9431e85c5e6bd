/** A mode's RunContext, as the edge makes one, for tests that call a mode directly over a store. */
import type { RunContext } from '../../src/core/types.js';
import type { Store } from '../../src/storage/index.js';

export interface ContextOptions {
  /** The clock, stopped here; the machine's when not given. */
  now?: Date;
  /** Where the lines logged go. */
  infos?: string[];
  warnings?: string[];
}

export function runContext(store: Store, options: ContextOptions = {}): RunContext {
  const { now, infos = [], warnings = [] } = options;
  return {
    store,
    log: { info: (line) => infos.push(line), warning: (line) => warnings.push(line) },
    now: () => now ?? new Date(),
    signal: new AbortController().signal,
    env: {},
  };
}
