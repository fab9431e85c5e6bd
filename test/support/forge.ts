/**
 * Writes backups straight into a directory store (a manifest and an object of chosen size and
 * time), so tests of listing-heavy modes can hold thousands of backups without running pg_dump.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newBackupId } from '../../src/core/ids.js';
import { serializeManifest, type Manifest } from '../../src/core/manifest.js';

export interface Forged {
  id: string;
  objectKey: string;
  manifestKey: string;
}

/** A valid manifest and object for `time`; `size` bytes of random data; the id's `suffix` chosen or random. */
export function forgeBackup(
  name: string,
  time: Date,
  size = 64,
  suffix?: string,
): { forged: Forged; files: Map<string, Buffer> } {
  const id = newBackupId(time, suffix === undefined ? undefined : () => Buffer.from(suffix, 'hex'));
  const bytes = randomBytes(size);
  const objectKey = `${name}/${id}.dump.zst`;
  const manifest: Manifest = {
    version: 1,
    id,
    name,
    createdAt: time.toISOString(),
    completedAt: time.toISOString(),
    source: { kind: 'postgres', database: name },
    format: 'pg_dump-custom',
    compression: 'zstd',
    encryption: 'none',
    object: { key: objectKey, size, sha256: createHash('sha256').update(bytes).digest('hex') },
    tool: { name: 'backup-action', version: 'forged' },
  };
  const manifestKey = `${name}/${id}.manifest.json`;
  const files = new Map([
    [objectKey, bytes],
    [manifestKey, Buffer.from(serializeManifest(manifest))],
  ]);
  return { forged: { id, objectKey, manifestKey }, files };
}

/** Forges one backup per time into a directory store. */
export async function forgeInDirectory(
  root: string,
  name: string,
  times: Date[],
  size = 64,
): Promise<Forged[]> {
  await mkdir(path.join(root, name), { recursive: true });
  const forged: Forged[] = [];
  for (const time of times) {
    const backup = forgeBackup(name, time, size);
    for (const [key, bytes] of backup.files) await writeFile(path.join(root, key), bytes);
    forged.push(backup.forged);
  }
  return forged;
}
