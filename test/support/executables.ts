/**
 * The single executables (`npm run sea`), built once for each content of what goes into them and
 * kept in the temporary folder, so that the test files that run them share one build.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildExecutables, type Arch } from '../../scripts/sea.js';

/** What the executables are built from: a change to any of these builds them again. */
const SOURCES = 'src';
const FILES = ['scripts/sea.js', 'package.json', 'package-lock.json', 'action.yml'];

async function inputsHash(): Promise<string> {
  const hash = createHash('sha256');
  const sources = (await readdir(SOURCES, { recursive: true }))
    .filter((file) => file.endsWith('.ts') || file.endsWith('.json'))
    .map((file) => path.join(SOURCES, file))
    .sort();
  for (const file of [...sources, ...FILES]) hash.update(file).update(await readFile(file));
  return hash.digest('hex').slice(0, 16);
}

/** The path of backup-action-linux-<arch> (its .sha256 beside it), built if not yet built. */
export async function executable(arch: Arch): Promise<string> {
  const dir = path.join(os.tmpdir(), `backup-action-sea-${arch}-${await inputsHash()}`);
  const file = path.join(dir, `backup-action-linux-${arch}`);
  if (existsSync(file)) return file;
  const building = await mkdtemp(`${dir}.building-`);
  try {
    await buildExecutables({ outDir: building, arches: [arch] });
    // Another test file may have finished the same build first: then its copy is used.
    await rename(building, dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return file;
}
