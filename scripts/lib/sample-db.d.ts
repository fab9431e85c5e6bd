// Types for sample-db.js, which stays plain JavaScript so `node scripts/*.js` runs it unbuilt.

/** Fills an empty database with deterministic sample data: `rows` orders (default 3000, at least 30). */
export function fillSampleDatabase(url: string, options?: { rows?: number }): Promise<void>;
/** Exact row counts of every ordinary table, partitions included, keyed "schema.table". */
export function tableRowCounts(url: string): Promise<Record<string, number>>;
/** An md5 of each ordinary table's rows in a fixed order, keyed "schema.table". */
export function tableChecksums(url: string): Promise<Record<string, string>>;
