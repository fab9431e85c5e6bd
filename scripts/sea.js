// `npm run sea`: the command line as one executable per Linux architecture, with Node's
// single-executable applications: Node's own binary (the `node` devDependency's version, from the
// npm registry) with the command-line program injected, for hosts that have no Node.js.
//   npm run sea                                 x64 and arm64, into executables/
//   npm run sea -- --out DIR --arch x64         one architecture elsewhere
// Writes backup-action-linux-<arch>, its .sha256 (`sha256sum -c` reads it) and LICENSES.txt.
//
// Node 24 runs one CommonJS script from the blob, and its require() reaches only Node's own
// modules: ncc's dist/cli/ is ESM that loads chunks from disk, so esbuild bundles src/cli.ts again,
// whole, as CommonJS. The blob carries V8's code cache (startup as fast as the bundle, see
// docs/executable.md), which is specific to the architecture: each blob is made by the Node that
// will run it, under qemu for the other architecture. A startup snapshot (useSnapshot) would need
// the program rewritten around v8.startupSnapshot; the cache is most of its gain.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { inject } from 'postject';

/** Where Node looks for the blob: the fuse, and the ELF note's name. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

/** Each architecture: its GNU triplet (strip, the cross libraries) and qemu's name for it. */
const ARCHES = {
  x64: { triplet: 'x86_64-linux-gnu', qemu: 'qemu-x86_64' },
  arm64: { triplet: 'aarch64-linux-gnu', qemu: 'qemu-aarch64' },
};

const run = (file, args, options = {}) =>
  execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });

/** The `node` devDependency's version, which must be the major action.yml runs (node24). */
export function nodeVersion() {
  const version = createRequire(import.meta.url)('node/package.json').version;
  const wanted = /^\s*using:\s*['"]?node(\d+)/m.exec(readFileSync('action.yml', 'utf8'))?.[1];
  if (version.split('.')[0] !== wanted) {
    throw new Error(`sea: the node devDependency is ${version}, but action.yml runs node${wanted}`);
  }
  return version;
}

/** The command line as one CommonJS script. */
async function bundle(file) {
  await build({
    entryPoints: ['src/cli.ts'],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    logLevel: 'warning',
    // The whole program is compiled at start, where dist/cli/ loads its chunks when they are
    // needed: minified, its source and code cache are small enough to start in about the memory
    // the bundle takes (docs/benchmarks.md). Names are minified too: keeping them costs 0.7 MB, and
    // nothing it bundles reads a name of its own functions or classes beyond messages. Licences
    // are in LICENSES.txt.
    minify: true,
    legalComments: 'none',
    // ESM packages (fdir) call createRequire(import.meta.url), which CommonJS lacks.
    define: { 'import.meta.url': '__importMetaUrl' },
    banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
}

/** Node's binary and licence for `arch`, from the registry through npm (which checks the hash). */
function fetchNode(arch, version, work) {
  const dir = path.join(work, `node-${arch}`);
  mkdirSync(dir, { recursive: true });
  const [packed] = JSON.parse(
    run('npm', ['pack', `node-linux-${arch}@${version}`, '--json', '--pack-destination', dir]),
  );
  run('tar', [
    '-xzf',
    path.join(dir, packed.filename),
    '-C',
    dir,
    'package/bin/node',
    'package/LICENSE',
  ]);
  return { node: path.join(dir, 'package/bin/node'), license: path.join(dir, 'package/LICENSE') };
}

/** How to run a program built for `arch` here: itself, or under qemu with that arch's libraries. */
function runnerFor(arch) {
  if (arch === os.arch()) return (file, args, options) => run(file, args, options);
  const { qemu, triplet } = ARCHES[arch];
  return (file, args, options) => {
    try {
      return run(qemu, ['-L', `/usr/${triplet}`, file, ...args], options);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
      throw new Error(
        `sea: building for ${arch} on ${os.arch()} needs ${qemu} and /usr/${triplet} (Debian: qemu-user, libc6-${arch}-cross, libstdc++6-${arch}-cross)`,
      );
    }
  };
}

/** Strips the symbols and debug information (about 18 MB) from a copy of Node's binary. */
function strip(arch, from, to) {
  copyFileSync(from, to);
  const program = arch === os.arch() ? 'strip' : `${ARCHES[arch].triplet}-strip`;
  run(program, [to]);
}

async function buildOne(arch, { version, script, work, outDir }) {
  const { node, license } = fetchNode(arch, version, work);
  const runNode = runnerFor(arch);
  const blob = path.join(work, `${arch}.blob`);
  const config = path.join(work, `${arch}.json`);
  const settings = {
    main: path.basename(script),
    output: blob,
    disableExperimentalSEAWarning: true,
  };
  writeFileSync(config, JSON.stringify({ ...settings, useCodeCache: true }));
  // From the script's folder: its path as given is the file name that stack traces show.
  runNode(node, ['--experimental-sea-config', config], { cwd: path.dirname(script) });
  const name = `backup-action-linux-${arch}`;
  const file = path.join(outDir, name);
  strip(arch, node, file);
  await inject(file, SEA_RESOURCE, readFileSync(blob), { sentinelFuse: SEA_FUSE });
  chmodSync(file, 0o755);
  const shown = runNode(file, ['--version']).trim();
  if (shown !== `backup-action ${readPackage().version} (Node.js ${version})`) {
    throw new Error(`sea: ${name} --version printed "${shown}"`);
  }
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  writeFileSync(`${file}.sha256`, `${sha256}  ${name}\n`);
  return { arch, file, sha256, license };
}

const readPackage = () => JSON.parse(readFileSync('package.json', 'utf8'));

/** Builds the executables; returns each one's path and sha256. */
export async function buildExecutables({
  outDir = 'executables',
  arches = Object.keys(ARCHES),
} = {}) {
  for (const arch of arches) {
    if (!(arch in ARCHES)) throw new Error(`sea: --arch takes ${Object.keys(ARCHES).join(' or ')}`);
  }
  const version = nodeVersion();
  mkdirSync(outDir, { recursive: true });
  const work = path.resolve(outDir, '.work');
  rmSync(work, { recursive: true, force: true });
  try {
    const script = path.join(work, 'backup-action.cjs');
    await bundle(script);
    const built = [];
    for (const arch of arches) built.push(await buildOne(arch, { version, script, work, outDir }));
    const licenses = [
      readFileSync('dist/licenses.txt', 'utf8'),
      readFileSync(built[0].license, 'utf8'),
    ];
    writeFileSync(path.join(outDir, 'LICENSES.txt'), licenses.join('\n\nnode\n'));
    return built.map(({ arch, file, sha256 }) => ({ arch, file, sha256 }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, arch: { type: 'string', multiple: true } },
  });
  const built = await buildExecutables({ outDir: values.out, arches: values.arch });
  for (const { file, sha256 } of built) console.log(`${sha256}  ${file}`);
}
