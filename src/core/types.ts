/** What every mode receives and returns; the edge turns results into outputs, summaries and notifications. */
import type { Chart } from './chart.js';
import type { Store } from './store.js';

export interface Logger {
  info(message: string): void;
  warning(message: string): void;
}

export interface RunContext {
  store: Store;
  log: Logger;
  /** The clock, injectable so tests of ages and schedules need not wait. */
  now: () => Date;
  /** Aborted when the run is cancelled (SIGINT/SIGTERM). */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
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
}

/**
 * A run that did its work and found something wrong carries what it learned, so that the
 * summary of a failed run still shows the figures (the tables that differ, the failed checks).
 */
export class ModeFailure extends Error {
  constructor(
    message: string,
    readonly partial: Partial<ModeResult>,
  ) {
    super(message);
    this.name = 'ModeFailure';
  }
}
