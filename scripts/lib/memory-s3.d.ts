// Types for memory-s3.js, which stays plain JavaScript so `node scripts/*.js` runs it unbuilt.
import type { IncomingMessage } from 'node:http';

export interface MemoryS3 {
  /** e.g. http://127.0.0.1:40891; path-style, the bucket first. */
  endpoint: string;
  /** Stores an object directly, counting no request. */
  put(key: string, body: Buffer | string): void;
  /** The requests counted since the last take, by kind (ListObjects, GetObject, ...). */
  take(): Record<string, number>;
  stop(): Promise<void>;
}

/** What kind of S3 request this is, by its method and query. */
export function classify(req: IncomingMessage): string;
/** Serves `bucket` from memory on 127.0.0.1, counting every request. */
export function startMemoryS3(bucket: string): Promise<MemoryS3>;
