/** What a backup source (a database dump, a directory tree) hands to the publishing pipeline. */
import type { Readable } from 'node:stream';
import type { ArchiveFormat } from '../layout.js';
import type { FileStats, Manifest } from '../manifest.js';

export interface SourceFacts {
  rowCounts?: Record<string, number>;
  rowCountsMode?: 'exact' | 'estimate';
  files?: FileStats;
}

export interface ArchiveSource {
  format: ArchiveFormat;
  manifestSource: Manifest['source'];
  dump?: Manifest['dump'];
  /** The archive's bytes. Errors (rather than ends) when the producer fails. */
  output: Readable;
  /** Resolves once the producer finished successfully, with what the manifest records about it. */
  finished(): Promise<SourceFacts>;
  /** Stops the producer if it still runs and releases connections; safe to call twice. */
  close(): Promise<void>;
}
