/**
 * The README is a guide read in five minutes: at most 20 KB; the quick start's commands are the
 * ones that exist, its test command the one CI runs; the five-step setup; one step per mode (and
 * per source kind; copy's is on docs/copies.md, which it links) that runs that mode and links the
 * page that says the rest. docs/inputs.md's
 * tables are action.yml's: this fails when they drift.
 *
 * Covers: README.md, docs/inputs.md, docs/copies.md, scripts/readme-tables.js, src/core/settings.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { INPUTS_PAGE, withTables } from '../../scripts/readme-tables.js';
import { MODES } from '../../src/core/settings.js';

const action: unknown = parse(await readFile('action.yml', 'utf8'));
const readme = await readFile('README.md', 'utf8');

/** The text of the README's `## <title>` section, up to the next one. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

it('docs/inputs.md documents exactly the inputs and outputs of action.yml (npm run readme regenerates them)', async () => {
  const page = await readFile(INPUTS_PAGE, 'utf8');
  expect(page).toContain('<!-- tables:start -->');
  expect(page).toBe(withTables(page, action));
});

describe('the README', () => {
  it('is at most 20 KB', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(20_000);
  });

  it('keeps what a newcomer reads first, in this order', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual([
      'Quick start',
      'Using it from your repository',
      'The modes, one step each',
      'Credentials',
      'Where to go next',
    ]);
  });

  it('gives the two quick-start commands, scripts that exist, the test command the one .ci/run runs', async () => {
    const block = /```sh\n([^]*?)```/.exec(section('Quick start'))?.[1];
    expect(block).toBe('npm ci && npm run demo\nnpm test\n');
    const scripts = (
      JSON.parse(await readFile('package.json', 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.demo).toBe('node scripts/demo.js');
    expect(scripts.test).toBeDefined();
    const ci = (await readFile('.ci/run', 'utf8')).trimEnd().split('\n').at(-1);
    expect(block!.trimEnd().split('\n').at(-1)).toBe(ci);
  });

  it('sets up in five numbered steps, the caller among them', () => {
    const setup = section('Using it from your repository');
    const steps = [...setup.matchAll(/^\*\*(\d)\. /gm)].map((m) => Number(m[1]));
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    expect(setup).toMatch(/uses: OWNER\/backup-action\/\.github\/workflows\/nightly\.yml@v1/);
  });

  /** Each paragraph of the modes section that links a docs page, with the step shown after it. */
  const examples = [
    ...section('The modes, one step each').matchAll(
      /^\*\*([^*]+)\*\*[^]*?\]\((docs\/[\w-]+\.md)[#\w-]*\)[^]*?```yaml\n([^]*?)```/gm,
    ),
  ].map(([, title, page, block]) => ({
    title: title!,
    page: page!,
    step: (
      parse(block!.replace(/^ {6}/gm, '')) as { uses: string; with: Record<string, unknown> }[]
    )[0]!,
  }));

  /**
   * Modes the README leaves to a page of their own, which its table links (the README stays a
   * five-minute read): there, a step runs that mode.
   */
  const ELSEWHERE: Partial<Record<(typeof MODES)[number], string>> = {
    status: 'docs/history.md',
    copy: 'docs/copies.md',
  };

  it('shows one step per mode, each running that mode and linking a page that exists', () => {
    const shownHere = MODES.filter((mode) => !ELSEWHERE[mode]);
    // One per mode, and one for each source kind beyond a single database.
    expect(examples.length).toBe(shownHere.length + 2);
    for (const mode of shownHere) {
      const shown = examples.filter(
        (e) => e.title === `\`${mode}\`` || e.title.startsWith(`\`${mode}\` `),
      );
      expect(
        shown.map((e) => e.step.with.mode ?? 'backup'),
        mode,
      ).toEqual([mode]);
    }
    for (const { page, step } of examples) {
      expect(step.uses).toBe('OWNER/backup-action@v1');
      expect(existsSync(page), page).toBe(true);
    }
  });

  it.each(Object.entries(ELSEWHERE))(
    'links the page of `%s`, where a step runs that mode',
    async (mode, page) => {
      expect(section('Where to go next')).toContain(`](${page})`);
      const steps = [...(await readFile(page, 'utf8')).matchAll(/```yaml\n([^]*?)```/g)].map(
        // A step inside a job's steps is indented as deep as its first line.
        ([, block]) =>
          parse(block!.replace(new RegExp(`^${/^ */.exec(block!)![0]}`, 'gm'), '')) as unknown,
      );
      expect(steps).toContainEqual([
        expect.objectContaining({
          uses: 'OWNER/backup-action@v1',
          with: expect.objectContaining({ mode }) as unknown,
        }),
      ]);
    },
  );

  it('shows a whole server and a directory, each linking its page', () => {
    const server = examples.find((e) => e.step.with.databases === 'all');
    expect(server?.page).toBe('docs/server-backups.md');
    const files = examples.find((e) => e.step.with.source === 'files');
    expect(files?.page).toBe('docs/directory-backups.md');
  });
});
