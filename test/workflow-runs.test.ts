/**
 * The reusable workflows' jobs, run as GitHub runs them, through the real bundle against the test
 * PostgreSQL, s3rver and an HTTP recorder: each job's `env:` and each action step's `with:` are
 * evaluated from the inputs and secrets its caller passes (with the workflow's defaults), and
 * nested calls are followed. What a workflow change can break in the action's hands (an input
 * name or value, a secret not passed, an alert from the wrong job) fails here as it would on
 * GitHub. Jobs whose `if` or `with` need the run's job results (`needs.*`) are left to the test.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillSampleDatabase } from '../scripts/lib/sample-db.js';
import { runAction, type ActionRun } from './support/action.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { S3_ENV, testDatabaseUrl, testS3Bucket, testS3Endpoint } from './support/env.js';
import { startRecorder, type Recorder } from './support/recorder.js';

type Step = { id?: string; if?: string; uses?: string; with?: Record<string, unknown> };
type Job = {
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
};
type Workflow = {
  on: { workflow_call: { inputs?: Record<string, { default?: unknown }> } };
  jobs: Record<string, Job>;
};
type Context = { inputs: Record<string, unknown>; secrets: Record<string, string> };
/** What ran: each step by job path (`nightly/backup`), and the jobs left to the test. */
type Ran = { steps: { job: string; step: string; run: ActionRun }[]; deferred: string[] };

/** verify.yml's scratch server is its `postgres` service; here the test server plays it. */
const SERVICE_URL = 'postgresql://postgres:scratch@127.0.0.1:5432/postgres';

function evaluate(value: unknown, ctx: Context): string {
  const text = String(value).replace(
    /\$\{\{ (inputs|secrets)\.([\w-]+) \}\}/g,
    (_, kind: string, key: string) =>
      String((kind === 'inputs' ? ctx.inputs[key] : ctx.secrets[key]) ?? ''),
  );
  if (text.includes('${{')) throw new Error(`cannot evaluate ${String(value)}`);
  return text === SERVICE_URL ? testDatabaseUrl() : text;
}
const needsRun = (job: Job) =>
  job.if !== undefined || JSON.stringify(job.with ?? {}).includes('needs.');

async function runWorkflow(
  file: string,
  passed: Record<string, unknown>,
  secrets: Record<string, string>,
  ran: Ran = { steps: [], deferred: [] },
  prefix = path.basename(file, '.yml'),
): Promise<Ran> {
  const workflow = parse(await readFile(file, 'utf8')) as Workflow;
  const defaults = Object.entries(workflow.on.workflow_call.inputs ?? {}).map(
    ([key, spec]) => [key, spec.default] as const,
  );
  const ctx: Context = { inputs: { ...Object.fromEntries(defaults), ...passed }, secrets };
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const where = `${prefix}/${id}`;
    if (needsRun(job)) {
      ran.deferred.push(where);
      continue;
    }
    // A job after a failed one is skipped, as `needs` does without `always()`.
    if (ran.steps.some((s) => s.run.code !== 0)) continue;
    if (job.uses) {
      const nested = path.join('.github/workflows', path.basename(job.uses));
      const withs = Object.entries(job.with ?? {}).map(([k, v]) => [k, evaluate(v, ctx)]);
      const passedSecrets = Object.entries(job.secrets ?? {}).map(([k, v]) => [
        k,
        evaluate(v, ctx),
      ]);
      await runWorkflow(
        nested,
        Object.fromEntries(withs),
        Object.fromEntries(passedSecrets),
        ran,
        where,
      );
      continue;
    }
    const env = Object.fromEntries(
      Object.entries(job.env ?? {}).map(([k, v]) => [k, evaluate(v, ctx)]),
    );
    for (const step of job.steps ?? []) {
      if (step.uses !== '$/') {
        // The only other steps: OIDC credentials, which these runs (with keys) never ask for.
        expect(step.if, `${where}: ${step.uses}`).toBe("inputs.aws-role-arn != ''");
        expect(ctx.inputs['aws-role-arn']).toBe('');
        continue;
      }
      const inputs = Object.entries(step.with ?? {}).map(([k, v]) => [k, evaluate(v, ctx)]);
      const run = await runAction(Object.fromEntries(inputs), { env });
      ran.steps.push({ job: where, step: step.id ?? String(step.with?.mode), run });
      if (run.code !== 0) break;
    }
  }
  return ran;
}

let db: FreshDatabase;
let recorder: Recorder;
let identity: string;
let recipient: string;
const where = () => ({
  storage: `s3://${testS3Bucket()}/workflow-runs-${randomBytes(4).toString('hex')}`,
  's3-endpoint': testS3Endpoint(),
});
const alerts = () => ({
  SLACK_WEBHOOK_URL: `${recorder.url}/slack/T000/B000/secretslackpath`,
  HEARTBEAT_URL: `${recorder.url}/ping/secret-uuid-1234`,
});

beforeAll(async () => {
  recorder = await startRecorder();
  db = await freshDatabase('workflow_runs');
  await fillSampleDatabase(db.url, { rows: 60 });
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
});

afterAll(async () => {
  await recorder.close();
  await db.drop();
});

describe('nightly.yml, called with keys, age and every alert secret', () => {
  let ran: Ran;
  let sentBefore: number;
  const storage = where();

  beforeAll(async () => {
    sentBefore = recorder.requests.length;
    ran = await runWorkflow(
      '.github/workflows/nightly.yml',
      { name: 'shop', ...storage, 'age-recipients': recipient, checks: 'public.customers >= 1' },
      { DATABASE_URL: db.url, AGE_IDENTITY: identity, ...S3_ENV, ...alerts() },
    );
  }, 180_000);

  it('backs up, verifies, restores into the scratch server and prunes, each step succeeding', () => {
    const steps = ran.steps.map((s) => [s.job, s.step, s.run.code]);
    expect(steps).toEqual([
      ['nightly/backup/backup', 'backup', 0],
      ['nightly/verify/verify', 'latest', 0],
      ['nightly/verify/verify', 'restore', 0],
      ['nightly/prune/prune', 'retention-prune', 0],
    ]);
    const [backup, latest, restore, prune] = ran.steps.map((s) => s.run);
    expect(latest!.outputs['latest-id']).toBe(backup!.outputs['backup-id']);
    expect(Number(restore!.outputs['restored-tables'])).toBeGreaterThan(0);
    expect(prune!.outputs['kept']).toBe('1');
  });

  it('alerts from no inner job: the notify jobs are the only ones left, with verify.yml’s off', () => {
    expect(recorder.requests.length).toBe(sentBefore);
    expect(ran.deferred).toEqual(['nightly/verify/notify', 'nightly/notify']);
  });

  it('restore.yml then restores that backup into a database named in confirm', async () => {
    const target = await freshDatabase('workflow_restore');
    try {
      const restore = await runWorkflow(
        '.github/workflows/restore.yml',
        { name: 'shop', ...storage, environment: 'production-restore', confirm: target.name },
        { DATABASE_URL: target.url, AGE_IDENTITY: identity, ...S3_ENV },
      );
      expect(restore.steps.map((s) => [s.job, s.run.code])).toEqual([['restore/restore', 0]]);
      expect(Number(restore.steps[0]!.run.outputs['restored-tables'])).toBeGreaterThan(0);
    } finally {
      await target.drop();
    }
  }, 120_000);
});

describe('a passphrase instead of age keys', () => {
  it('backup.yml encrypts with it, and verify.yml verifies and restores with it', async () => {
    const storage = where();
    const secrets = { ENCRYPTION_PASSPHRASE: 'correct horse battery staple 42', ...S3_ENV };
    const backup = await runWorkflow(
      '.github/workflows/backup.yml',
      { name: 'shop', ...storage },
      { DATABASE_URL: db.url, ...secrets },
    );
    const verify = await runWorkflow(
      '.github/workflows/verify.yml',
      { name: 'shop', ...storage, notify: false },
      secrets,
    );
    const steps = [...backup.steps, ...verify.steps].map((s) => [s.step, s.run.code]);
    expect(steps).toEqual([
      ['backup', 0],
      ['latest', 0],
      ['restore', 0],
    ]);
    expect(backup.steps[0]!.run.report?.['facts']).toContainEqual(['Encryption', 'age']);
  }, 180_000);
});

describe('verify.yml alone, on a set with no backup', () => {
  let ran: Ran;
  let sentBefore: number;
  const storage = where();

  beforeAll(async () => {
    sentBefore = recorder.requests.length;
    ran = await runWorkflow(
      '.github/workflows/verify.yml',
      { name: 'never-backed-up', ...storage },
      { AGE_IDENTITY: identity, ...S3_ENV, ...alerts() },
    );
  }, 120_000);

  it('fails at verify-latest, does not run restore-test, and its job sends nothing', () => {
    expect(ran.steps.map((s) => [s.step, s.run.code === 0])).toEqual([['latest', false]]);
    expect(recorder.requests.length).toBe(sentBefore);
    expect(ran.deferred).toEqual(['verify/notify']);
  });

  it('its notify job (notify.yml) then alerts once and sends the heartbeat /fail', async () => {
    const notify = await runWorkflow(
      '.github/workflows/notify.yml',
      { name: 'never-backed-up', result: 'failure', message: 'verify-latest failure' },
      alerts(),
    );
    expect(notify.steps.map((s) => s.run.code === 0)).toEqual([false]);
    const sent = recorder.requests.slice(sentBefore).map((r) => r.path);
    expect(sent.filter((p) => p.startsWith('/slack/'))).toHaveLength(1);
    expect(sent.filter((p) => p.endsWith('/fail'))).toHaveLength(1);
  });
});
