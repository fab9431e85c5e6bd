/**
 * The layers of src/, each importing only from the layers below it (or from itself), so that no
 * folder needs one that needs it back. Type imports, export-from and dynamic imports count: a
 * cycle through types still ties the folders' changes together.
 *
 * Covers: src.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { MODES } from '../../src/core/settings.js';

/** Top to bottom; a unit is a folder of src/ or a file directly in it. */
const LAYERS: readonly (readonly string[])[] = [
  ['index.ts', 'main.ts', 'cli.ts'],
  ['run.ts'],
  ['modes'],
  ['kinds'],
  ['inputs', 'verify', 'restore', 'retention', 'files', 'history', 'copy'],
  ['pipeline', 'postgres', 'redis', 'storage', 'notify'],
  ['process'],
  ['core'],
];

const layerOf = new Map(LAYERS.flatMap((units, index) => units.map((unit) => [unit, index])));

interface Edge {
  file: string;
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Imports name the built `.js`; the unit is the `.ts` source. */
function unitOf(file: string): string {
  const first = path.relative('src', file).split(path.sep)[0] ?? file;
  return first.replace(/\.js$/, '.ts');
}

/** Every import of one file that stays inside src/, as unit-to-unit edges. */
function edgesOf(file: string): Edge[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.normalize(path.join(path.dirname(file), spec)))
    .filter((target) => !path.relative('src', target).startsWith('..'))
    .map((target) => ({ file, from: unitOf(file), to: unitOf(target) }))
    .filter((edge) => edge.from !== edge.to);
}

/** Imports that go up a layer (within a layer, only cycles are barred), or name a unit no layer holds. */
function upward(edges: readonly Edge[]): string[] {
  return edges
    .filter((edge) => !((layerOf.get(edge.from) ?? Infinity) <= (layerOf.get(edge.to) ?? -1)))
    .map((edge) => `${edge.file} imports ${edge.to} (${edge.from} may not)`);
}

/** One unit path per cycle found between units, e.g. `a → b → a`. */
function cycles(edges: readonly Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const found: string[] = [];
  const done = new Set<string>();
  const visit = (unit: string, trail: string[]): void => {
    const at = trail.indexOf(unit);
    if (at >= 0) {
      found.push([...trail.slice(at), unit].join(' → '));
      return;
    }
    if (done.has(unit)) return;
    for (const to of next.get(unit) ?? []) visit(to, [...trail, unit]);
    done.add(unit);
  };
  for (const unit of next.keys()) visit(unit, []);
  return found;
}

const files = sourceFiles('src');
const edges = files.flatMap(edgesOf);

describe('the layers of src/', () => {
  it('place every folder and top-level file of src/', () => {
    const units = new Set(files.map(unitOf));
    expect([...units].filter((unit) => !layerOf.has(unit))).toEqual([]);
  });

  it('import only downwards', () => {
    expect(edges.length).toBeGreaterThan(50);
    expect(upward(edges)).toEqual([]);
  });

  // Issue 29: a mode is one kind-agnostic file; what several modes share lives a layer down.
  it('keep modes/ to one file per mode and the registry', () => {
    const allowed = new Set([...MODES.map((mode) => `${mode}.ts`), 'index.ts']);
    const held = readdirSync(path.join('src', 'modes'));
    expect(held).toContain('index.ts');
    expect(held.filter((name) => !allowed.has(name))).toEqual([]);
  });

  it('have no cycle between folders', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('see type, export-from and dynamic imports, and report each kind of breach', () => {
    const file = path.join('src', 'core', 'example.ts');
    const text = [
      "import type { Store } from '../storage/index.js';",
      "export { run } from '../run.js';",
      "const modes = await import('../modes/index.js');",
    ].join('\n');
    const found = ts
      .preProcessFile(text, true, true)
      .importedFiles.map(({ fileName }) => unitOf(path.join(path.dirname(file), fileName)));
    expect(found).toEqual(['storage', 'run.ts', 'modes']);
    expect(upward([{ file, from: 'core', to: 'storage' }])).toHaveLength(1);
    expect(
      cycles([
        { file, from: 'pipeline', to: 'storage' },
        { file, from: 'storage', to: 'pipeline' },
      ]),
    ).toEqual(['pipeline → storage → pipeline']);
  });
});
