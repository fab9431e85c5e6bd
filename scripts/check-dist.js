// Fails when the committed dist/ is not what the sources build to (GitHub runs dist/ as committed).
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from './build.js';

const fresh = mkdtempSync(path.join(os.tmpdir(), 'check-dist-'));
try {
  build(fresh);
  const files = (dir) =>
    readdirSync(dir, { recursive: true }).filter(
      (f) => f.endsWith('.js') || f.endsWith('.txt') || f.endsWith('.json'),
    );
  const stale = [...new Set([...files(fresh), ...files('dist')])].filter((file) => {
    const committed = path.join('dist', file);
    const built = path.join(fresh, file);
    return (
      !existsSync(committed) ||
      !existsSync(built) ||
      !readFileSync(committed).equals(readFileSync(built))
    );
  });
  if (stale.length > 0) {
    console.error(
      `dist/ is stale: ${stale.join(', ')} differ from a fresh build. Run "npm run build" and commit dist/.`,
    );
    process.exitCode = 1;
  } else {
    console.log('dist/ is current');
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
