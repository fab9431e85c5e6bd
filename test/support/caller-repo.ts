/**
 * A simulated caller repository: a workflow of another repository (a README caller, a template)
 * run the way GitHub runs it, down the whole chain of reusable workflows it calls. Every job's
 * `if`, `runs-on`, `environment`, `concurrency`, `timeout-minutes`, `env`, permissions, secrets and
 * every step's `if` and `with` are evaluated by GitHub's own evaluator (./github-parser.ts), with
 * the contexts GitHub gives a called workflow (`job.workflow_repository`, `job.workflow_sha` of
 * the called file, `github` of the caller), and the runner's rules (./runner-rules.ts) applied.
 * Each action step then runs through the real bundle (`node <checkout>/dist/index.js`, INPUT_*
 * variables) against the tests' PostgreSQL and S3 server. Only GitHub's side is simulated:
 * actions/checkout (the action's own files, or none), aws-actions/configure-aws-credentials (the
 * role's trust and session length, then the S3 server's keys) and service containers (the test
 * server stands in for the URL a job gives its service).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type {
  ActionStep,
  Job,
  ReusableWorkflowJob,
  Step,
  WorkflowJob,
} from '@actions/workflow-parser/model/workflow-template';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { runAction, type ActionRun } from './action.js';
import {
  asText,
  evaluateExpression,
  evaluateToken,
  mappingValue,
  parseWorkflowText,
  type Contexts,
  type StatusFunctions,
} from './github-parser.js';
import {
  artifactNameTaken,
  environmentSecretsVisible,
  inheritPasses,
  jobWorkflowContext,
  matrixConfigurations,
  matrixResult,
  MAX_WORKFLOW_DEPTH,
  maxParallelOf,
  permissionLevels,
  permissionsExceeding,
  selfReferenceError,
  selfReferenceRefError,
  stepConclusion,
  servicePorts,
} from './runner-rules.js';

/** What `OWNER/backup-action` stands for in the documented callers, and the commit `@v1` is. */
export const ACTION_REPOSITORY = 'OWNER/backup-action';
export const ACTION_SHA = 'a'.repeat(40);

type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface Role {
  /** The OIDC subjects its trust policy accepts (`repo:o/r:ref:refs/heads/main`, ...). */
  subjects: string[];
  maxSessionSeconds: number;
}

export interface CallerRepository {
  /** owner/name; `o/r` is the repository the tests' fake GitHub API serves issues for. */
  repository: string;
  secrets: Record<string, string>;
  environments?: Record<string, Record<string, string>>;
  event?: { name: string; inputs?: Record<string, unknown> };
  /** IAM roles by name (the simulated STS): who may take each, and for how long. */
  roles?: Record<string, Role>;
  /** What the simulated STS hands out: the tests' S3 server's keys. */
  credentials?: Record<string, string>;
  /** The runner's own variables (GITHUB_API_URL of the fake GitHub API). */
  runnerEnv?: Record<string, string>;
  /** A service container's URL as a job gives it, and the server that plays it. */
  services?: Record<string, string>;
  /** Cancel the run once a step of this job shows this text (the runner's SIGINT). */
  cancel?: { job: string; text: string };
  /** What happens to the world once a job (by path) has run: a backup lost, a database gone. */
  after?: Record<string, () => Promise<void>>;
}

export interface StepRecord {
  uses: string;
  inputs?: Record<string, string>;
  run?: ActionRun;
  outcome: Result;
  /** The outcome once continue-on-error is applied: what the job and later steps see. */
  conclusion?: Result;
  /** Outputs of a step that is not this action (configure-aws-credentials' credentials). */
  outputs?: Record<string, string>;
  error?: string;
}

export interface JobRecord {
  /** caller job / called job / ... (`nightly/backup/backup`). */
  path: string;
  result: Result;
  error?: string;
  runsOn?: unknown;
  environment?: unknown;
  concurrency?: unknown;
  timeoutMinutes?: unknown;
  services?: unknown;
  permissions: Record<string, string>;
  /** Secrets this job's expressions can read, by name. */
  secrets: string[];
  /** OIDC sessions it took: the role and how long the credentials last. */
  sessions: { role: string; seconds: number }[];
  steps: StepRecord[];
}

export interface RunRecord {
  jobs: JobRecord[];
  /** The run was cancelled (the runner's SIGINT reached a step). */
  cancelled: boolean;
  /** Each matrix job's strategy as the runner took it: its legs, at most how many at once. */
  strategies: { path: string; legs: number; maxParallel: number; failFast: boolean }[];
  /** The run's artifacts, by name: each file's name and bytes. */
  artifacts: Map<string, Map<string, Buffer>>;
}

interface Frame {
  /** The workflow file this frame runs: its repository, commit and path. */
  repository: string;
  sha: string;
  file: string;
  path: string;
  depth: number;
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Every call from the caller to here passed `secrets: inherit`. */
  inheritsAll: boolean;
  permissions: Record<string, string>;
  root: TemplateToken | undefined;
}

/** Runs one caller workflow; the record says what each job and step did. */
export async function runCaller(
  label: string,
  text: string,
  repo: CallerRepository,
): Promise<RunRecord> {
  const parsed = await parseWorkflowText(label, text, callerFiles);
  if (parsed.errors.length > 0) throw new Error(`${label}: ${parsed.errors.join('; ')}`);
  const record: RunRecord = { jobs: [], cancelled: false, strategies: [], artifacts: new Map() };
  const declared = mappingValue(parsed.root, 'permissions');
  const frame: Frame = {
    repository: repo.repository,
    sha: CALLER_SHA,
    file: `.github/workflows/${path.basename(label).replace(/\W+/g, '-')}.yml`,
    path: '',
    depth: 1,
    inputs: repo.event?.inputs ?? {},
    secrets: repo.secrets,
    inheritsAll: true,
    permissions: declared ? permissionLevels(evaluateToken(declared, {})) : DEFAULT_PERMISSIONS,
    root: parsed.root,
  };
  await new Simulation(repo, record).runJobs(parsed.template.jobs, frame);
  return record;
}

const CALLER_SHA = 'c'.repeat(40);

/** The host ports GitHub picks for a job's services, in order: the first is FIRST_FREE_PORT. */
export const FIRST_FREE_PORT = 49152;
function freePorts() {
  let next = FIRST_FREE_PORT;
  return () => next++;
}

/** A repository's GITHUB_TOKEN when no `permissions` says otherwise (the restricted default). */
const DEFAULT_PERMISSIONS = { contents: 'read', packages: 'read' };

/** `OWNER/backup-action/.github/workflows/X.yml@ref` and `$/...` are this repository's files. */
const callerFiles = async (ref: { path: string; repository?: string; owner?: string }) =>
  !ref.repository || `${ref.owner}/${ref.repository}` === ACTION_REPOSITORY
    ? readFile(ref.path, 'utf8').catch(() => undefined)
    : undefined;

class Simulation {
  constructor(
    private readonly repo: CallerRepository,
    private readonly record: RunRecord,
  ) {}

  async runJobs(jobs: WorkflowJob[], frame: Frame): Promise<Map<string, JobOutcome>> {
    const done = new Map<string, JobOutcome>();
    for (const job of ordered(jobs)) {
      const skipped: JobOutcome = { result: 'skipped', outputs: {} };
      const needs = Object.fromEntries(
        (job.needs ?? []).map((n) => [n.value, done.get(n.value) ?? skipped]),
      );
      done.set(job.id.value, await this.runJob(job, frame, needs));
    }
    return done;
  }

  private async runJob(
    job: WorkflowJob,
    frame: Frame,
    needs: Record<string, JobOutcome>,
  ): Promise<JobOutcome> {
    const where = frame.path ? `${frame.path}/${job.id.value}` : job.id.value;
    const results = Object.values(needs).map((n) => n.result);
    const status: StatusFunctions = {
      always: true,
      cancelled: this.record.cancelled,
      failure: results.includes('failure'),
      success: !this.record.cancelled && results.every((r) => r === 'success'),
    };
    const contexts = this.contexts(frame, { needs });
    if (!evaluateToken(job.if, contexts, status)) {
      const result: Result = this.record.cancelled ? 'cancelled' : 'skipped';
      this.record.jobs.push(emptyJob(where, result, frame.permissions));
      return { result, outputs: {} };
    }
    if (job.strategy) return this.runMatrix(job, frame, contexts, where);
    return this.runOne(job, frame, contexts, where);
  }

  private runOne(job: WorkflowJob, frame: Frame, contexts: Contexts, where: string) {
    return job.type === 'reusableWorkflowJob'
      ? this.runCall(job as ReusableWorkflowJob, frame, contexts, where)
      : this.runSteps(job as Job, frame, contexts, where);
  }

  /**
   * A matrix job: one leg per configuration (`<job>[<index>]`), each with its `matrix` and
   * `strategy` contexts, run one after another (which any max-parallel allows); one result for
   * all (runner-rules.ts). A failed leg cancels those not yet run, unless fail-fast is false.
   */
  private async runMatrix(
    job: WorkflowJob,
    frame: Frame,
    contexts: Contexts,
    where: string,
  ): Promise<JobOutcome> {
    const { github, inputs, vars, needs } = contexts;
    const strategy = (evaluateToken(job.strategy, { github, inputs, vars, needs }) ?? {}) as {
      matrix?: unknown;
      'fail-fast'?: boolean;
      'max-parallel'?: unknown;
    };
    let legs: Record<string, unknown>[];
    let maxParallel: number;
    try {
      legs = matrixConfigurations(strategy.matrix);
      maxParallel = maxParallelOf(strategy['max-parallel'], legs.length);
    } catch (error) {
      return this.fail(
        where,
        frame,
        `Error when evaluating 'strategy': ${(error as Error).message}`,
      );
    }
    const failFast = strategy['fail-fast'] ?? true;
    this.record.strategies.push({ path: where, legs: legs.length, maxParallel, failFast });
    const results: Result[] = [];
    for (const [index, matrix] of legs.entries()) {
      const leg = `${where}[${index}]`;
      if (failFast && results.includes('failure')) {
        this.record.jobs.push(emptyJob(leg, 'cancelled', frame.permissions));
        results.push('cancelled');
        continue;
      }
      const context = {
        ...contexts,
        matrix,
        strategy: {
          'fail-fast': failFast,
          'job-index': index,
          'job-total': legs.length,
          'max-parallel': maxParallel,
        },
      };
      results.push((await this.runOne(job, frame, context, leg)).result);
    }
    return { result: matrixResult(results), outputs: {} };
  }

  /** A job that calls a reusable workflow: the called file's jobs, in a frame of their own. */
  private async runCall(
    job: ReusableWorkflowJob,
    frame: Frame,
    contexts: Contexts,
    where: string,
  ): Promise<JobOutcome> {
    const uses = job.ref.value;
    const refused = selfReferenceError(uses) ?? selfReferenceRefError(uses);
    if (refused) return this.fail(where, frame, refused);
    if (frame.depth + 1 > MAX_WORKFLOW_DEPTH.github)
      return this.fail(where, frame, `${uses}: more than ${MAX_WORKFLOW_DEPTH.github} levels`);
    const called = resolveCall(uses, frame);
    const text = await readFile(called.file, 'utf8');
    const parsed = await parseWorkflowText(called.file, text);
    if (parsed.errors.length > 0) return this.fail(where, frame, parsed.errors.join('; '));
    const given = mappingValue(rawJob(frame.root, job.id.value), 'permissions');
    const effective = given ? permissionLevels(evaluateToken(given, {})) : frame.permissions;
    const inherit = job['inherit-secrets'] === true;
    // From another organization `inherit` passes nothing (runner-rules.ts).
    const inherited = inherit && inheritPasses(frame.repository, called.repository);
    const passed = inherit
      ? inherited
        ? frame.secrets
        : {}
      : ((evaluateToken(job['secret-values'], contexts) as Record<string, string> | undefined) ??
        {});
    const inner: Frame = {
      ...called,
      path: where,
      depth: frame.depth + 1,
      inputs: callInputs(job, contexts),
      secrets: Object.fromEntries(Object.entries(passed).map(([k, v]) => [k, asText(v)])),
      inheritsAll: frame.inheritsAll && inherited,
      permissions: effective,
      root: parsed.root,
    };
    const asked = mappingValue(parsed.root, 'permissions');
    if (asked) {
      const over = permissionsExceeding(effective, permissionLevels(evaluateToken(asked, {})));
      if (over.length > 0) return this.fail(where, frame, `${uses} asks for ${over.join(', ')}`);
    }
    const inside = await this.runJobs(parsed.template.jobs, inner);
    const results = [...inside.values()].map((o) => o.result);
    const result: Result = results.includes('failure')
      ? 'failure'
      : results.includes('cancelled')
        ? 'cancelled'
        : 'success';
    const jobs = Object.fromEntries(
      [...inside].map(([id, o]) => [id, { result: o.result, outputs: o.outputs }]),
    );
    const outputs = evaluateToken(
      mappingValue(mappingValue(mappingValue(parsed.root, 'on'), 'workflow_call'), 'outputs'),
      this.contexts(inner, { jobs }),
    ) as Record<string, { value?: unknown }> | undefined;
    return {
      result,
      outputs: Object.fromEntries(
        Object.entries(outputs ?? {}).map(([k, v]) => [k, asText(v.value)]),
      ),
    };
  }

  /** A job that runs steps on a runner. */
  private async runSteps(
    job: Job,
    frame: Frame,
    outer: Contexts,
    where: string,
  ): Promise<JobOutcome> {
    const raw = rawJob(frame.root, job.id.value);
    const asked = mappingValue(raw, 'permissions');
    const permissions = asked ? permissionLevels(evaluateToken(asked, {})) : frame.permissions;
    const record: JobRecord = {
      ...emptyJob(where, 'success', permissions),
      runsOn: evaluateToken(job['runs-on'], outer),
      environment: evaluateToken(job.environment, outer),
      concurrency: evaluateToken(job.concurrency, outer),
      timeoutMinutes: evaluateToken(mappingValue(raw, 'timeout-minutes'), outer),
      services: evaluateToken(job.services, outer),
    };
    this.record.jobs.push(record);
    const environment = environmentName(record.environment);
    const secrets = { ...frame.secrets };
    if (environment && environmentSecretsVisible(frame.depth > 1, frame.inheritsAll))
      Object.assign(secrets, this.repo.environments?.[environment] ?? {});
    record.secrets = Object.keys(secrets).filter((k) => secrets[k] !== '');
    const refused = job.steps
      .filter(isActionStep)
      .map((s) => selfReferenceError(s.uses.value) ?? selfReferenceRefError(s.uses.value))
      .find(Boolean);
    if (refused) return this.setUpFailed(record, refused);
    const jobContext = {
      ...jobWorkflowContext(frame.repository, frame.sha, frame.file),
      services: servicePorts(record.services, freePorts()),
    };
    // The job's own needs, matrix and strategy, which its steps read too.
    const base: Contexts = {
      ...outer,
      job: { ...jobContext, status: 'success' },
      secrets: { ...secrets, GITHUB_TOKEN: this.token(permissions) },
    };
    const env = stringValues(evaluateToken(job.env, base));
    const rawSteps = [
      ...((mappingValue(raw, 'steps') as Iterable<TemplateToken> | undefined) ?? []),
    ];
    const runner = new StepRunner(this, record, environment, base.github as Record<string, string>);
    const outputs = await runner.run(job, rawSteps, base, env);
    await this.repo.after?.[where]?.();
    return { result: record.result, outputs };
  }

  /** The contexts every expression of a frame sees, with the extra ones given. */
  contexts(frame: Frame, extra: Contexts): Contexts {
    return {
      github: this.github(frame),
      inputs: frame.inputs,
      secrets: frame.secrets,
      vars: {},
      env: {},
      runner: { os: 'Linux', arch: 'X64', temp: os.tmpdir() },
      strategy: {},
      matrix: {},
      needs: {},
      ...extra,
    };
  }

  private github(frame: Frame) {
    const [owner] = this.repo.repository.split('/');
    return {
      repository: this.repo.repository,
      repository_owner: owner,
      event_name: this.repo.event?.name ?? 'schedule',
      event: { inputs: this.repo.event?.inputs ?? {} },
      ref: 'refs/heads/main',
      sha: 'c'.repeat(40),
      server_url: 'https://github.com',
      api_url: this.repo.runnerEnv?.GITHUB_API_URL ?? 'https://api.github.com',
      run_id: '4242',
      run_attempt: '1',
      actor: 'someone',
      workflow: frame.file,
      token: this.token(frame.permissions),
    };
  }

  /** The job's GITHUB_TOKEN; the fake GitHub API refuses writes to issues without issues: write. */
  token(permissions: Record<string, string>): string {
    return permissions.issues === 'write' ? 'ghs_simulated_issues_write' : 'ghs_simulated_read';
  }

  get repository(): CallerRepository {
    return this.repo;
  }
  get run(): RunRecord {
    return this.record;
  }

  private fail(where: string, frame: Frame, error: string): JobOutcome {
    this.record.jobs.push({ ...emptyJob(where, 'failure', frame.permissions), error });
    return { result: 'failure', outputs: {} };
  }

  private setUpFailed(record: JobRecord, error: string): JobOutcome {
    record.result = 'failure';
    record.error = `Set up job: ${error}`;
    return { result: 'failure', outputs: {} };
  }
}

interface JobOutcome {
  result: Result;
  outputs: Record<string, string>;
}

/** The steps of one job, with the runner's `steps` context and step status functions. */
class StepRunner {
  private readonly workspace = mkdtemp(path.join(os.tmpdir(), 'sim-workspace-'));
  /** The job's RUNNER_TEMP (`runner.temp`): its steps share it, and it goes with the job. */
  private readonly temp = this.workspace.then(async (dir) => {
    const temp = path.join(dir, '.runner-temp');
    await mkdir(temp);
    return temp;
  });
  private readonly steps: Record<
    string,
    { outcome: Result; conclusion: Result; outputs: Record<string, string> }
  > = {};
  private readonly exported: Record<string, string> = {};

  constructor(
    private readonly sim: Simulation,
    private readonly record: JobRecord,
    private readonly environment: string | undefined,
    private readonly github: Record<string, string>,
  ) {}

  async run(
    job: Job,
    rawSteps: TemplateToken[],
    base: Contexts,
    env: Record<string, string>,
  ): Promise<Record<string, string>> {
    try {
      const runner = { ...(base.runner as object), temp: await this.temp };
      for (const [i, step] of job.steps.entries()) {
        if (!isActionStep(step))
          throw new Error(`${this.record.path}: a run step; callers run actions only`);
        const contexts = { ...base, runner, env, steps: this.steps };
        const stepEnv = { ...env, ...stringValues(evaluateToken(step.env, contexts)) };
        await this.step(step, mappingValue(rawSteps[i], 'with'), contexts, stepEnv);
      }
      return stringValues(evaluateToken(job.outputs, { ...base, steps: this.steps }));
    } finally {
      await rm(await this.workspace, { recursive: true, force: true });
    }
  }

  private async step(
    step: ActionStep,
    withs: TemplateToken | undefined,
    contexts: Contexts,
    env: Record<string, string>,
  ) {
    const failed = this.record.steps.some((s) => (s.conclusion ?? s.outcome) === 'failure');
    // A job that starts after the run was cancelled (an `always()` job) is not itself cancelled.
    const cancelled = this.record.steps.some((s) => s.outcome === 'cancelled');
    const status = { always: true, cancelled, failure: failed, success: !failed && !cancelled };
    const uses = step.uses.value;
    if (!evaluateToken(step.if, contexts, status)) {
      this.record.steps.push({ uses, outcome: 'skipped' });
      return;
    }
    const inputs = stringValues(evaluateToken(withs, contexts));
    const entry: StepRecord = { uses, inputs, outcome: 'success' };
    this.record.steps.push(entry);
    try {
      if (uses.startsWith('actions/checkout@')) await this.checkout(inputs);
      else if (uses.startsWith('aws-actions/configure-aws-credentials@'))
        entry.outputs = this.assumeRole(inputs);
      else if (uses.startsWith('actions/upload-artifact@')) await this.upload(inputs);
      else if (uses.startsWith('actions/download-artifact@')) await this.download(inputs);
      else await this.action(uses, inputs, { ...env, ...this.exported }, contexts, entry);
    } catch (error) {
      entry.outcome = 'failure';
      entry.error = (error as Error).message;
    }
    const given = step['continue-on-error'];
    const continues =
      typeof given === 'boolean' ? given : evaluateToken(given, contexts, status) === true;
    entry.conclusion = stepConclusion(entry.outcome, continues);
    if (entry.conclusion !== 'success' && this.record.result === 'success')
      this.record.result = entry.conclusion;
    this.steps[step.id] = {
      outcome: entry.outcome,
      conclusion: entry.conclusion,
      outputs: entry.run?.outputs ?? entry.outputs ?? {},
    };
  }

  /** actions/checkout: this repository's files at the commit asked for, or the caller's (none). */
  private async checkout(inputs: Record<string, string>) {
    const repository = inputs.repository || this.sim.repository.repository;
    const target = path.join(await this.workspace, inputs.path ?? '');
    await mkdir(target, { recursive: true });
    if (repository === this.sim.repository.repository) return; // the caller's files: no action here
    if (repository !== ACTION_REPOSITORY || inputs.ref !== ACTION_SHA)
      throw new Error(
        `checkout of ${repository}@${inputs.ref}: not the action's repository and commit`,
      );
    // The sparse cone keeps the top-level files and the folders named.
    await copyFile('action.yml', path.join(target, 'action.yml'));
    for (const folder of (inputs['sparse-checkout'] ?? 'dist').split('\n').filter(Boolean))
      await symlink(path.resolve(folder), path.join(target, folder));
  }

  /** actions/upload-artifact@v4: the file named, under a name no other upload of the run has, or over it. */
  private async upload(inputs: Record<string, string>) {
    const name = inputs.name ?? 'artifact';
    const overwrite = inputs.overwrite === 'true';
    const taken = artifactNameTaken(name, [...this.sim.run.artifacts.keys()], overwrite);
    if (taken) throw new Error(taken);
    const file = path.resolve(await this.workspace, inputs.path ?? '');
    this.sim.run.artifacts.set(name, new Map([[path.basename(file), await readFile(file)]]));
  }

  /** actions/download-artifact@v4: the run's artifacts whose name matches `pattern`, into `path`. */
  private async download(inputs: Record<string, string>) {
    const glob = inputs.pattern ?? inputs.name ?? '*';
    const pattern = new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`);
    const target = path.resolve(await this.workspace, inputs.path ?? '');
    for (const [name, files] of this.sim.run.artifacts) {
      if (!pattern.test(name)) continue;
      const folder = inputs['merge-multiple'] === 'true' ? target : path.join(target, name);
      await mkdir(folder, { recursive: true });
      for (const [file, bytes] of files) await writeFile(path.join(folder, file), bytes);
    }
  }

  /**
   * configure-aws-credentials: OIDC needs id-token: write, a role that trusts this job's subject.
   * The credentials go to the environment of later steps, and with output-credentials to the
   * step's outputs (output-env-credentials: false keeps them out of the environment).
   */
  private assumeRole(inputs: Record<string, string>): Record<string, string> {
    if (this.record.permissions['id-token'] !== 'write')
      throw new Error('Credentials could not be loaded: the job has no id-token: write permission');
    const roleName =
      /^arn:aws:iam::\d{12}:role\/(.+)$/.exec(inputs['role-to-assume'] ?? '')?.[1] ?? '';
    const role = this.sim.repository.roles?.[roleName];
    const subject = `repo:${this.sim.repository.repository}:${this.environment ? `environment:${this.environment}` : 'ref:refs/heads/main'}`;
    if (!role || !role.subjects.includes(subject))
      throw new Error(
        `Not authorized to perform sts:AssumeRoleWithWebIdentity (${roleName}, ${subject})`,
      );
    const seconds = Number(inputs['role-duration-seconds'] || 3600);
    if (seconds > role.maxSessionSeconds)
      throw new Error(
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    this.record.sessions.push({ role: roleName, seconds });
    const credentials = this.sim.repository.credentials ?? {};
    if (inputs['output-env-credentials'] !== 'false') Object.assign(this.exported, credentials);
    if (inputs['output-credentials'] !== 'true') return {};
    return {
      'aws-access-key-id': credentials.AWS_ACCESS_KEY_ID ?? '',
      'aws-secret-access-key': credentials.AWS_SECRET_ACCESS_KEY ?? '',
      'aws-session-token': credentials.AWS_SESSION_TOKEN ?? '',
    };
  }

  /** An action step: the action's own action.yml read as the runner reads it, then its bundle. */
  private async action(
    uses: string,
    inputs: Record<string, string>,
    env: Record<string, string>,
    contexts: Contexts,
    entry: StepRecord,
  ) {
    const dir = await this.actionFolder(uses);
    const action = parseYaml(await readFile(path.join(dir, 'action.yml'), 'utf8')) as ActionYml;
    if (action.runs.using !== 'node24') throw new Error(`runs.using ${action.runs.using}`);
    const given = { ...inputs };
    for (const [name, spec] of Object.entries(action.inputs))
      if (!(name in given) && spec.default !== undefined)
        given[name] = asText(expand(spec.default, contexts));
    for (const [name, value] of Object.entries(given))
      if (this.sim.repository.services?.[value]) given[name] = this.sim.repository.services[value]!;
    const cancel = this.sim.repository.cancel;
    let interrupted = false;
    const run = await runAction(given, {
      entry: path.join(dir, action.runs.main),
      runnerTemp: await this.temp,
      env: { ...this.runnerEnv(), ...this.sim.repository.runnerEnv, ...env },
      onStart:
        cancel?.job === this.record.path
          ? (child) =>
              child.stdout?.on('data', (chunk: Buffer) => {
                if (!chunk.toString().includes(cancel.text) || this.sim.run.cancelled) return;
                this.sim.run.cancelled = interrupted = true;
                child.kill('SIGINT');
              })
          : undefined,
    });
    entry.run = run;
    if (run.code !== 0) entry.outcome = interrupted ? 'cancelled' : 'failure';
  }

  /** Where the runner finds the action a step names: a folder of the workspace, or a download. */
  private async actionFolder(uses: string): Promise<string> {
    if (uses === `${ACTION_REPOSITORY}@v1`) return path.resolve('.');
    if (!uses.startsWith('./')) throw new Error(`${uses}: no such action in the simulation`);
    const dir = path.join(await this.workspace, uses);
    if (!existsSync(path.join(dir, 'action.yml')))
      throw new Error(
        `Can't find 'action.yml', 'action.yaml' or 'Dockerfile' under '${dir}'. Did you forget to run actions/checkout before running your local action?`,
      );
    return dir;
  }

  /** The variables the runner gives every step. */
  private runnerEnv(): Record<string, string> {
    return {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: this.github.repository!,
      GITHUB_RUN_ID: this.github.run_id!,
      GITHUB_SERVER_URL: this.github.server_url!,
      GITHUB_API_URL: this.github.api_url!,
      GITHUB_JOB: this.record.path.split('/').at(-1)!,
    };
  }
}

interface ActionYml {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; main: string };
}

/** `${{ expr }}` inside an action.yml default, evaluated as the runner does. */
function expand(value: string, contexts: Contexts): unknown {
  const whole = /^\$\{\{(.*)\}\}$/.exec(value.trim());
  return whole ? evaluateExpression(whole[1]!, contexts) : value;
}

/** The repository, commit and file a `uses:` of a job in this frame calls. */
function resolveCall(uses: string, frame: Frame) {
  if (uses.startsWith('$/') || uses.startsWith('./')) {
    const file = uses.replace(/^\$\/|^\.\//, '');
    return { repository: frame.repository, sha: frame.sha, file };
  }
  const m = /^([^/]+\/[^/]+)\/(.+)@(.+)$/.exec(uses);
  if (!m || m[1] !== ACTION_REPOSITORY || m[3] !== 'v1')
    throw new Error(`${uses}: not a workflow the simulation has`);
  return { repository: ACTION_REPOSITORY, sha: ACTION_SHA, file: m[2]! };
}

/** A call's inputs: the values passed, typed as the called workflow declares, or its defaults. */
function callInputs(job: ReusableWorkflowJob, contexts: Contexts): Record<string, unknown> {
  const declared = (evaluateToken(job['input-definitions'], contexts) ?? {}) as Record<
    string,
    { type: string; default?: unknown }
  >;
  const passed = (evaluateToken(job['input-values'], contexts) ?? {}) as Record<string, unknown>;
  const inputs: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = name in passed ? passed[name] : spec.default;
    inputs[name] = typed(value, spec.type, `${job.ref.value}: input ${name}`);
  }
  return inputs;
}

function typed(value: unknown, type: string, what: string): unknown {
  if (value === undefined || value === null)
    return type === 'boolean' ? false : type === 'number' ? 0 : '';
  if (type === 'string') return asText(value);
  if (typeof value !== type) throw new Error(`${what}: ${JSON.stringify(value)} is not a ${type}`);
  return value;
}

function environmentName(value: unknown): string | undefined {
  const name =
    typeof value === 'object' && value !== null ? (value as { name?: unknown }).name : value;
  return name ? String(name) : undefined;
}

function stringValues(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, asText(v)]),
  );
}

function emptyJob(where: string, result: Result, permissions: Record<string, string>): JobRecord {
  return { path: where, result, permissions, secrets: [], sessions: [], steps: [] };
}

/** The raw mapping of a job (for keys the converted template leaves out). */
function rawJob(root: TemplateToken | undefined, id: string) {
  return mappingValue(mappingValue(root, 'jobs'), id);
}

function isActionStep(step: Step): step is ActionStep {
  return 'uses' in step;
}

/** Jobs in an order that runs each after the jobs it needs. */
function ordered(jobs: WorkflowJob[]): WorkflowJob[] {
  const out: WorkflowJob[] = [];
  const pending = [...jobs];
  while (pending.length > 0) {
    const next = pending.findIndex((j) =>
      (j.needs ?? []).every((n) => out.some((o) => o.id.value === n.value)),
    );
    if (next < 0) throw new Error('a cycle in needs');
    out.push(...pending.splice(next, 1));
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
