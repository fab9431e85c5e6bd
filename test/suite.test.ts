/**
 * The suite's own rules. A test that asserts nothing fails (vitest.config.ts). Each test file's
 * header names what it covers in a last paragraph, "Covers: " and paths that exist, so that a
 * moved module shows here. And no test is skipped but through requireInCI, which turns a missing
 * prerequisite into a failure under CI=true: no `.skip`, `.todo`, `.only` or `.runIf`, and every
 * `.skipIf` asks requireInCI.
 *
 * Covers: test, test/support/require-in-ci.ts, vitest.config.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../vitest.config.js';

const FILES = readdirSync('test')
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => ({ file, text: readFileSync(path.join('test', file), 'utf8') }));

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
    expect(FILES.map((f) => f.file)).toContain('suite.test.ts');
    expect(FILES.length).toBeGreaterThan(50);
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
    const others = FILES.filter(({ file }) => file !== 'suite.test.ts');
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
