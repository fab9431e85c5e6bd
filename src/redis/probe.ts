/**
 * What a restore asks the target before anything is written or flushed, with the commands the
 * restore itself sends: RESTORE of the snapshot's own keys and values (with an expiry already
 * past, so Redis checks the user's right to the key, the payload's RDB version and its bytes,
 * then creates nothing), SELECT of each database, and FUNCTION RESTORE of an empty payload
 * (which checks the right and the version and changes nothing). Each answers undefined when the
 * target takes it, else the target's refusal.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { errorMessage } from '../core/errors.js';
import type { RedisConnection } from './connection.js';
import { RdbReader, type RdbEntry } from './rdb.js';
import { dumpPayload } from './replay.js';

/** Keys tried per database: the first ones, in case some already exist in the target. */
const FIRST_KEYS = 8;

export interface KeyRefusal {
  db: number;
  key?: Buffer;
  message: string;
}

/** A value's bytes as the snapshot holds them: a string (type 0) of one byte. */
const PROBE_VALUE = Buffer.from([0, 1, 0x78]);

/**
 * A first look, before the download: a key of the action's own name. A NOPERM here proves
 * nothing about the backup's keys (a user may be limited to their pattern), so it is left to
 * `keysRefusal`, which asks with the snapshot's own key names.
 */
export async function versionRefusal(
  target: RedisConnection,
  rdbVersion: number,
): Promise<string | undefined> {
  const refusal = await refusalOf(target, [
    'RESTORE',
    `backup-action:probe:${randomUUID()}`,
    '1',
    dumpPayload(PROBE_VALUE, rdbVersion),
    'ABSTTL',
  ]);
  return refusal !== undefined && /NOPERM/.test(refusal) ? undefined : refusal;
}

/** FUNCTION RESTORE of no library, APPEND: changes nothing. */
export function functionsRefusal(
  target: RedisConnection,
  rdbVersion: number,
): Promise<string | undefined> {
  return refusalOf(target, [
    'FUNCTION',
    'RESTORE',
    dumpPayload(Buffer.alloc(0), rdbVersion),
    'APPEND',
  ]);
}

/**
 * Per database of the snapshot: its first keys and the first key of each value type (a module
 * type among them), each restored already expired; a key the target holds (BUSYKEY: the right to
 * it was checked) is passed over for the next.
 */
export async function keysRefusal(
  target: RedisConnection,
  file: string,
  rdbVersion: number,
): Promise<KeyRefusal | undefined> {
  for (const [db, entries] of await sampleEntries(file)) {
    const selected = await refusalOf(target, ['SELECT', String(db)]);
    if (selected !== undefined) return { db, message: selected };
    for (const entry of entries) {
      const payload = dumpPayload(entry.value, rdbVersion);
      const refusal = await refusalOf(target, ['RESTORE', entry.key, '1', payload, 'ABSTTL']);
      if (refusal !== undefined && !/BUSYKEY/.test(refusal)) {
        return { db, key: entry.key, message: refusal };
      }
    }
  }
  await target.call(['SELECT', '0']);
  return undefined;
}

async function sampleEntries(file: string): Promise<Map<number, RdbEntry[]>> {
  const sample = new Map<number, RdbEntry[]>();
  const types = new Set<string>();
  const reader = new RdbReader({
    entry: (entry) => {
      const kept = sample.get(entry.db) ?? [];
      const type = `${entry.db}:${entry.value[0]}`;
      if (kept.length < FIRST_KEYS || !types.has(type)) kept.push(entry);
      types.add(type);
      sample.set(entry.db, kept);
    },
  });
  for await (const chunk of createReadStream(file)) reader.feed(chunk as Buffer);
  reader.end();
  return sample;
}

async function refusalOf(
  target: RedisConnection,
  command: Parameters<RedisConnection['call']>[0],
): Promise<string | undefined> {
  try {
    await target.call(command);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}
