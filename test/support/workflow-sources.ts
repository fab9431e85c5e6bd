/**
 * Every workflow users run or copy, and the project's own: the reusable workflows and CI of
 * .github/workflows/, the templates of workflow-templates/, and every workflow (a YAML block with
 * `jobs:`) in README.md and the docs/ pages, each parsed by GitHub's own parser.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseWorkflowText, type ParsedWorkflow } from './github-parser.js';

export const REUSABLE_DIR = '.github/workflows';
export const TEMPLATES_DIR = 'workflow-templates';

export type Kind = 'reusable' | 'own' | 'template' | 'guide';
export interface Source extends ParsedWorkflow {
  kind: Kind;
}

/** README.md and the pages under docs/, where most documented workflows and steps live. */
export const GUIDES = [
  'README.md',
  ...(await readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)),
];

/** Every ```yaml block of the guides, labelled by file and position. */
export const GUIDE_BLOCKS = (
  await Promise.all(
    GUIDES.map(async (file) =>
      [...(await readFile(file, 'utf8')).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => ({
        label: `${file} yaml block ${i + 1}`,
        text: m[1]!,
      })),
    ),
  )
).flat();

async function filesOf(dir: string, kind: (file: string) => Kind) {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.yml')).sort();
  return Promise.all(
    names.map(async (name) => {
      const label = path.join(dir, name);
      return { label, text: await readFile(label, 'utf8'), kind: kind(name) };
    }),
  );
}

const listed = [
  ...(await filesOf(REUSABLE_DIR, (f) => (/^(ci|release)\.yml$/.test(f) ? 'own' : 'reusable'))),
  ...(await filesOf(TEMPLATES_DIR, () => 'template')),
  ...GUIDE_BLOCKS.filter(({ text }) => /^jobs:/m.test(text)).map((b) => ({
    ...b,
    kind: 'guide' as const,
  })),
];

export const SOURCES: Source[] = await Promise.all(
  listed.map(async ({ label, text, kind }) => ({
    ...(await parseWorkflowText(label, text)),
    kind,
  })),
);

/** Workflows users run or copy: everything but the project's own CI and release. */
export const DOCUMENTED = SOURCES.filter((s) => s.kind !== 'own');
/** Workflows of users' repositories that call ours or run the action: templates and guides. */
export const CALLERS = SOURCES.filter((s) => s.kind === 'template' || s.kind === 'guide');
export const REUSABLE = SOURCES.filter((s) => s.kind === 'reusable');

export const bySource = (file: string) => {
  const found = SOURCES.find((s) => s.label === file);
  if (!found) throw new Error(`no workflow ${file}`);
  return found;
};
