/** What every mode receives and returns; the edge turns results into outputs, summaries and notifications. */
import type { StoreSettings } from './settings.js';
import type { Chart } from './chart.js';
import type { Store } from './store.js';

export interface Logger {
  info(message: string): void;
  warning(message: string): void;
}

export interface RunContext {
  /** The primary store: `storage`'s first line. */
  store: Store;
  /**
   * Opens another store of the run (a copy's destination, a later line of `storage`). The edge
   * always gives it; a context made for one store (a mode tested over it) may not.
   */
  open?(store: StoreSettings): Promise<Store>;
  log: Logger;
  /** The clock, injectable so tests of ages and schedules need not wait. */
  now: () => Date;
  /** Aborted when the run is cancelled (SIGINT/SIGTERM). */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** Waits between attempts (retries); rejects once `signal` aborts. Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Opens another store of the run; rejects where the context was made for its own store alone. */
export async function openOther(ctx: RunContext, store: StoreSettings): Promise<Store> {
  if (!ctx.open) throw new Error('this run cannot open stores other than its own');
  return ctx.open(store);
}

/** A table for the job summary (and the command line's plain-text report). */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

export interface ModeResult {
  /** One line: what happened, for the log's last line and for notifications. */
  headline: string;
  /** Step outputs, by their action.yml names. */
  outputs: Record<string, string | number>;
  /** Label/value pairs shown first in the summary. */
  facts: [string, string][];
  tables: Table[];
  /** Trends, drawn after the tables (Mermaid in the job summary). */
  charts?: Chart[];
  /** Everything worth keeping about the run, for the `report` output and webhooks. */
  details: Record<string, unknown>;
  /** A success someone should hear of (a night that was healed): told where failures are. */
  notice?: boolean;
}

/**
 * A run that did its work and found something wrong carries what it learned, so that the
 * summary of a failed run still shows the figures (the tables that differ, the failed checks).
 */
export class ModeFailure extends Error {
  /**
   * `cause`: the error the run failed on, when it threw one, so that its kind can be judged.
   * `final`: running the whole run again would not mend it, or would repeat what it did (a backup
   * already published): its own parts were already tried again where that helps.
   */
  constructor(
    message: string,
    readonly partial: Partial<ModeResult>,
    cause?: unknown,
    readonly final = false,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ModeFailure';
  }
}
