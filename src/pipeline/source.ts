/** What a backup source (a database dump, a directory tree) hands to the publishing pipeline. */
import type { Readable } from 'node:stream';
import type { FileStats, RdbRecord } from '../core/manifest.js';
import type { ExpectedPrefix } from './compressed-prefix.js';

export interface SourceFacts {
  rowCounts?: Record<string, number>;
  rowCountsMode?: 'exact' | 'estimate';
  files?: FileStats;
  /** A Redis snapshot's figures, and the Redis that wrote it (its `redis-ver` field). */
  rdb?: RdbRecord & { redisVersion?: string };
}

export interface DirectOutput {
  stdout: Readable;
  succeeded: Promise<void>;
  /** What the bytes must begin with, checked from the compressor's output where Node sees it. */
  expected?: ExpectedPrefix;
}

/** The bytes of one stored object, from whatever produces them (pg_dump, pg_dumpall, a tar writer). */
export interface ObjectSource {
  /** Roughly how large the archive will be (a database's size on disk), for sizing upload parts. */
  sizeEstimate?: number;
  /** The archive's bytes. Errors (rather than ends) when the producer fails. */
  readonly output: Readable;
  /**
   * When the producer is a program: its own stdout, for a compressor program to read directly,
   * so that the archive's bytes never pass through Node. Its end says nothing of success; that
   * is `succeeded`, which rejects with the reason when the producer fails. Use this or `output`.
   */
  direct?(): DirectOutput;
  /** Resolves once the producer finished successfully, with what the manifest records about it. */
  finished(): Promise<SourceFacts>;
  /** Stops the producer if it still runs and releases connections; safe to call twice. */
  close(): Promise<void>;
}
