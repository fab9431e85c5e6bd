// Bundles the action (dist/index.js) and the command-line program (dist/cli/index.js) with ncc.
// Usage: node scripts/build.js [outDir]   (default: dist)
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';

export function build(outDir) {
  // ncc leaves chunks of an earlier build in place; a chunk no longer used must not stay behind.
  rmSync(outDir, { recursive: true, force: true });
  const ncc = path.resolve('node_modules/.bin/ncc');
  const run = (args) => execFileSync(ncc, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  run(['build', 'src/index.ts', '-o', outDir, '--license', 'licenses.txt', '-q']);
  run(['build', 'src/cli.ts', '-o', path.join(outDir, 'cli'), '-q']);
}

if (import.meta.url === `file://${process.argv[1]}`) build(process.argv[2] ?? 'dist');
