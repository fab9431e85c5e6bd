/**
 * The suite's own rules. A test that asserts nothing fails (vitest.config.ts). Each test file's
 * header names what it covers in a last paragraph, "Covers: " and paths that exist, so that a
 * moved module shows here. And no test is skipped but through requireInCI, which turns a missing
 * prerequisite into a failure under CI=true: no `.skip`, `.todo`, `.only` or `.runIf`, and every
 * `.skipIf` asks requireInCI. Fast and slow apart: test/unit runs without the database, the S3
 * server or the bundle (`npm run test:unit`), test/e2e with them.
 *
 * Covers: test, test/support/require-in-ci.ts, vitest.config.ts, package.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.js';

interface ProjectTest {
  name: string;
  include: string[];
  globalSetup?: string[];
}
interface Package {
  scripts: Record<string, string>;
}

const isTest = (file: string) => file.endsWith('.test.ts');
const FILES = ['unit', 'e2e'].flatMap((folder) =>
  readdirSync(path.join('test', folder))
    .filter(isTest)
    .map((name) => {
      const file = path.join('test', folder, name);
      return { file, folder, text: readFileSync(file, 'utf8') };
    }),
);

/** The files under test/ a file imports, and theirs, by relative import. */
function reached(file: string, seen = new Set<string>()): Set<string> {
  const text = readFileSync(file, 'utf8');
  for (const [, spec = ''] of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = path.join(path.dirname(file), spec).replace(/\.js$/, '.ts');
    if (target.startsWith('test/') && existsSync(target) && !seen.has(target)) {
      seen.add(target);
      reached(target, seen);
    }
  }
  return seen;
}

/** Why a unit file is not one: it reaches what the global setup provides, or runs the bundle. */
function slowParts(file: string): string[] {
  return [file, ...reached(file)].flatMap((each) => {
    const text = readFileSync(each, 'utf8');
    const parts: string[] = [];
    if (/\binject\(/.test(text)) parts.push(`${each} reads the global setup's servers`);
    const bundle = /['"`](?:\.\.\/)*dist\/[^'"`]*\.js['"`]/.test(text);
    if (bundle && /\b(?:spawn|execFile|fork)\w*\(/.test(text))
      parts.push(`${each} runs the bundle`);
    return parts;
  });
}

/** The paths a file's header says it covers, or undefined when it says none. */
function coveredBy(text: string): string[] | undefined {
  const header = /^(?:\/\*\*[^]*?\*\/|(?:\/\/.*\n)+)/.exec(text)?.[0] ?? '';
  const covers = /\n(?: \*|\/\/) Covers: ([^]*?)\.\s*(?:\*\/)?$/.exec(header.trimEnd())?.[1];
  return covers?.split(/[\s*/]*,[\s*/]*|\s*\n[\s*/]*/).map((entry) => entry.trim());
}

/** Skips that do not go through requireInCI, as `file:line`. */
function unguardedSkips(file: string, text: string): string[] {
  const skips = /\.(?:skip|todo|only|runIf)\b|\.skipIf\((?!\s*requireInCI\()/g;
  return [...text.matchAll(skips)].map(
    (match) => `${file}:${text.slice(0, match.index).split('\n').length} ${match[0]}`,
  );
}

describe('the test run', () => {
  it('fails a test that asserts nothing', () => {
    expect(config.test?.expect?.requireAssertions).toBe(true);
  });
});

describe('the test files', () => {
  it('are found, this one among them', () => {
    expect(FILES.map((f) => f.file)).toContain('test/unit/suite.test.ts');
    expect(FILES.length).toBeGreaterThan(50);
  });

  it('are each in test/unit or test/e2e, which the two projects run', () => {
    expect(
      readdirSync('test').filter(isTest),
      'a test file belongs in test/unit (no database, S3 server or bundle) or test/e2e',
    ).toEqual([]);
    const projects = (config.test?.projects ?? []) as { test: ProjectTest }[];
    expect(projects.map(({ test }) => [test.name, test.include, test.globalSetup])).toEqual([
      ['unit', ['test/unit/**/*.test.ts'], undefined],
      ['e2e', ['test/e2e/**/*.test.ts'], ['test/support/global-setup.ts']],
    ]);
    expect(config.test?.globalSetup).toBeUndefined();
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as Package).scripts;
    expect(scripts['test:unit']).toBe('vitest run --project unit');
  });

  it('in test/unit reach neither the database, the S3 server nor the bundle', () => {
    const unit = FILES.filter(({ folder }) => folder === 'unit');
    expect(unit.length).toBeGreaterThan(20);
    expect(unit.flatMap(({ file }) => slowParts(file))).toEqual([]);
    // ... and the check finds both in an end-to-end file.
    const e2e = slowParts('test/e2e/backup.test.ts').join('\n');
    expect(e2e).toMatch(/reads the global setup's servers/);
    expect(e2e).toMatch(/runs the bundle/);
  });

  it.each(FILES)(
    '$file names in its header what it covers, each path one that exists',
    ({ text }) => {
      const covered = coveredBy(text);
      expect(covered, 'a header whose last paragraph is "Covers: path, path."').toBeDefined();
      expect(covered!.filter((entry) => !existsSync(entry))).toEqual([]);
    },
  );

  it('skip nothing but through requireInCI', () => {
    const others = FILES.filter(({ file }) => !file.endsWith('/suite.test.ts'));
    expect(others.flatMap(({ file, text }) => unguardedSkips(file, text))).toEqual([]);
  });

  it('are held to it: a bare skip, or a skipIf that does not ask requireInCI, is found', () => {
    const found = unguardedSkips(
      'x.test.ts',
      ['it.skip("a", () => {});', 'describe.skipIf(!ok)("b", () => {});', 'it.todo("c");'].join(
        '\n',
      ),
    );
    expect(found).toHaveLength(3);
    for (const guarded of ['skipIf(requireInCI(missing))', 'skipIf(\n  requireInCI(missing),\n)']) {
      expect(unguardedSkips('x.test.ts', `describe.${guarded}("d", f);`)).toEqual([]);
    }
    expect(
      coveredBy('/**\n * Text.\n *\n * Covers: src/a.ts,\n * src/b.ts.\n */\nimport x;'),
    ).toEqual(['src/a.ts', 'src/b.ts']);
    expect(coveredBy('// Text.\n//\n// Covers: src/a.ts, src/b.ts.\nimport x;')).toEqual([
      'src/a.ts',
      'src/b.ts',
    ]);
    expect(coveredBy('/** Text without it. */\nimport x;')).toBeUndefined();
  });
});
