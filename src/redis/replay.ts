/**
 * A snapshot written into a live Redis, key by key, as RESTORE commands: each key's value bytes
 * in the RDB are exactly a DUMP payload's body, so the payload is made from the snapshot itself
 * (its bytes, the snapshot's RDB version, and a CRC-64), with the key's expiry as an absolute
 * time. Nothing is decoded or re-encoded, the target needs only the ordinary commands that
 * managed services allow, and it takes the payload if it reads the snapshot's RDB version.
 * Function libraries go the same way through FUNCTION RESTORE.
 *
 * Commands go out in batches (a few thousand keys or a few megabytes), each awaited before the
 * next is read from the file: memory stays bounded whatever the snapshot's size.
 */
import { createReadStream } from 'node:fs';
import { errorMessage } from '../core/errors.js';
import type { RedisConnection, RedisArgument } from './connection.js';
import { Crc64 } from './crc64.js';
import { RdbReader, type RdbEntry, type RdbSummary } from './rdb.js';

const BATCH_KEYS = 2000;
const BATCH_BYTES = 8 << 20;

export interface Replayed {
  /** Keys sent to the target (those already expired are dropped by Redis on arrival). */
  keys: number;
  libraries: number;
}

/** A DUMP payload: the value's bytes, the RDB version (2 bytes), their CRC-64 (8 bytes). */
export function dumpPayload(value: Buffer, rdbVersion: number): Buffer {
  const footer = Buffer.alloc(2);
  footer.writeUInt16LE(rdbVersion);
  const body = Buffer.concat([value, footer]);
  return Buffer.concat([body, new Crc64().update(body).bytes()]);
}

/**
 * FLUSH: the target's own libraries go (clean: true on a target that held some), in the same
 * FUNCTION RESTORE the pre-check tried; APPEND: the target held none.
 */
export type FunctionPolicy = 'FLUSH' | 'APPEND';

export async function replaySnapshot(
  file: string,
  target: RedisConnection,
  options: { functions: FunctionPolicy; signal: AbortSignal },
): Promise<{ summary: RdbSummary; replayed: Replayed }> {
  const pending: RdbEntry[] = [];
  const libraries: Buffer[] = [];
  const reader = new RdbReader({
    entry: (entry) => pending.push(entry),
    library: (raw) => libraries.push(raw),
  });
  const batch = new Batch(target);
  for await (const chunk of createReadStream(file, { signal: options.signal })) {
    reader.feed(chunk as Buffer);
    for (const entry of pending.splice(0)) await batch.add(entry, reader.version);
  }
  const summary = reader.end();
  await batch.flush();
  if (libraries.length > 0 || options.functions === 'FLUSH') {
    const payload = dumpPayload(Buffer.concat(libraries), summary.version);
    await target
      .call(['FUNCTION', 'RESTORE', payload, options.functions])
      .catch((error: unknown) => {
        throw new Error(
          `FUNCTION RESTORE of ${libraries.length} librar(ies) failed: ${errorMessage(error)}`,
        );
      });
  }
  return { summary, replayed: { keys: batch.sent, libraries: libraries.length } };
}

/** RESTORE commands in flight together, on the database each key belongs to. */
class Batch {
  private calls: Promise<unknown>[] = [];
  private bytes = 0;
  private db = 0;
  sent = 0;

  constructor(private readonly target: RedisConnection) {}

  async add(entry: RdbEntry, version: number): Promise<void> {
    if (entry.db !== this.db) {
      await this.flush();
      await this.target.call(['SELECT', String(entry.db)]);
      this.db = entry.db;
    }
    const args: RedisArgument[] = [
      'RESTORE',
      entry.key,
      String(entry.expireAt ?? 0),
      dumpPayload(entry.value, version),
    ];
    if (entry.expireAt !== undefined) args.push('ABSTTL');
    this.calls.push(
      this.target.call(args).catch((error: unknown) => {
        throw new Error(restoreFailure(entry, errorMessage(error)));
      }),
    );
    this.bytes += entry.value.length;
    if (this.calls.length >= BATCH_KEYS || this.bytes >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    const calls = this.calls;
    this.calls = [];
    this.bytes = 0;
    const results = await Promise.allSettled(calls);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    this.sent += calls.length;
  }
}

function restoreFailure(entry: RdbEntry, message: string): string {
  const key = printable(entry.key);
  if (/BUSYKEY/.test(message)) {
    return `db${entry.db} key ${key} already exists in the target (written there since the check?): ${message}`;
  }
  if (/payload version or checksum/i.test(message)) {
    return `the target refuses db${entry.db} key ${key}: it reads an older RDB format than this backup's (restore into a Redis at least as new as the one backed up): ${message}`;
  }
  return `RESTORE of db${entry.db} key ${key} failed: ${message}`;
}

/** A key for a message: as text when it is printable, else its first bytes in hex. */
export function printable(key: Buffer): string {
  const text = key.toString('utf8');
  if (/^[\x20-\x7e]{1,80}$/.test(text)) return JSON.stringify(text);
  return `0x${key.subarray(0, 32).toString('hex')}${key.length > 32 ? '…' : ''}`;
}
