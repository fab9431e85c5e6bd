/**
 * Every documented caller (the workflows of the README and docs/, the templates) run from a simulated
 * caller repository (test/support/caller-repo.ts): the whole chain resolved as GitHub resolves it
 * for a repository that is not this one, every job evaluated by GitHub's own evaluator, each
 * action step run through the real bundle against the tests' PostgreSQL and S3 server, and an
 * HTTP recorder standing for Slack, the heartbeat and GitHub's issues API. The world is what the
 * README tells a user to set up: the databases its checks name, its secrets, its IAM roles (as
 * examples/terraform and step 1 make them); the bucket is the test S3 server, the age key the
 * test's own. Then the failure paths: a failed backup alerts exactly once, so does a cancelled
 * run, and a restore caller without `secrets: inherit`, or in another organization than
 * OWNER/backup-action's (where `inherit` passes nothing), gets no DATABASE_URL.
 *
 * Covers: .github/workflows, workflow-templates, README.md, docs/workflows.md, action.yml,
 * test/support/caller-repo.ts.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { lastErrorLine, runAction } from '../support/action.js';
import {
  FIRST_FREE_PORT,
  runCaller,
  type CallerRepository,
  type RunRecord,
} from '../support/caller-repo.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import {
  S3_ENV,
  testDatabaseUrl,
  testS3Bucket,
  testS3ClientConfig,
  testS3Endpoint,
} from '../support/env.js';
import { terraformRoles, type TerraformRole } from '../support/iam.js';
import { startRecorder, type Recorder } from '../support/recorder.js';
import { CALLERS, type Source } from '../support/workflow-sources.js';

/** The age recipient the documented callers show; the world puts its own key in its place. */
const DOCUMENTED_RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
/** The service-container URLs the workflows give restore-test, and the server playing them. */
const SERVICE_URLS = [
  // verify.yml's service, on the free host port GitHub picks for it.
  `postgresql://postgres:scratch@127.0.0.1:${FIRST_FREE_PORT}/postgres`,
  'postgresql://postgres:scratch@localhost:5432/postgres',
];
const MAIN = 'repo:o/r:ref:refs/heads/main';

let recorder: Recorder;
let shop: FreshDatabase;
let server: PgCluster;
let scratch: PgCluster;
let identity: string;
let recipient: string;
let roles: Record<string, TerraformRole>;

beforeAll(async () => {
  roles = await terraformRoles('o/r');
  recorder = await startRecorder();
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
  // The database the single-database callers back up, with the tables their checks name.
  shop = await freshDatabase('workflow_runs_shop');
  await withClient(shop.url, async (client) => {
    await client.query('CREATE TABLE public.users AS SELECT g AS id FROM generate_series(1, 3) g');
    await client.query('CREATE SCHEMA sales');
    await client.query(
      `CREATE TABLE sales.orders AS SELECT g AS id, now() - g * interval '1 minute' AS created_at
       FROM generate_series(1, 1200) g`,
    );
  });
  // The README's whole server (shop, crm and a scratch database it leaves out), and the restore
  // test's own scratch server: clusters of their own, so `databases: all` races nothing.
  [server, scratch] = await Promise.all([startCluster(), startCluster()]);
  for (const [name, table, rows] of [
    ['shop', 'public.orders', 1000],
    ['crm', 'public.contacts', 100],
    ['scratch_tmp', 'public.junk', 1],
  ] as const) {
    await withClient(server.url, (c) => c.query(`CREATE DATABASE ${name}`));
    await withClient(withDatabase(server.url, name), (c) =>
      c.query(`CREATE TABLE ${table} AS SELECT g AS id FROM generate_series(1, ${rows}) g`),
    );
  }
}, 180_000);

afterAll(async () => {
  await recorder?.close();
  await shop?.drop();
  await Promise.all([server?.stop(), scratch?.stop()]);
});

/**
 * The caller as a user of this world has it: the bucket is the test's, the age key too, and the
 * documented off-site and archive stores folders of the test bucket beside the set's, on the
 * test server (with the parameters the caller gives them, its endpoint aside).
 */
function localize(text: string, prefix: string): string {
  return text
    .replace(/^(\s*)s3-endpoint: .*\n/gm, '')
    .replace(
      /s3:\/\/my-(offsite|archive)\/postgres(?:\?(\S*))?/g,
      (_whole, which: string, query = '') => {
        const kept = query
          .split('&')
          .filter((part: string) => part !== '' && !part.startsWith('endpoint='));
        const params = [`endpoint=${testS3Endpoint()}`, ...kept].join('&');
        return `s3://${testS3Bucket()}/${prefix}-${which}?${params}`;
      },
    )
    .replace(
      /^(\s*)storage: s3:\/\/my-backups\/postgres$/gm,
      `$1storage: s3://${testS3Bucket()}/${prefix}\n$1s3-endpoint: ${testS3Endpoint()}`,
    )
    .replaceAll(
      '"storage": "s3://my-backups/postgres"',
      `"storage": "s3://${testS3Bucket()}/${prefix}", "s3-endpoint": "${testS3Endpoint()}"`,
    )
    .replaceAll(DOCUMENTED_RECIPIENT, recipient)
    .replace(
      /group: backup-action s3:\/\/my-backups\/postgres /g,
      `group: backup-action s3://${testS3Bucket()}/${prefix} `,
    );
}

/** The repository: the README's secrets, its environments, and the roles step 1 and Terraform make. */
function repository(extra: Partial<CallerRepository> = {}): CallerRepository {
  const alerts = {
    SLACK_WEBHOOK_URL: `${recorder.url}/slack/T000/B000/secretslackpath`,
    HEARTBEAT_URL: `${recorder.url}/ping/secret-uuid-1234`,
  };
  return {
    repository: 'o/r',
    secrets: {
      DATABASE_URL: shop.url,
      AGE_IDENTITY: identity,
      ...S3_ENV,
      // The off-site store's keys (copy-to's credentials=COPY): the test server's.
      COPY_ACCESS_KEY_ID: S3_ENV.AWS_ACCESS_KEY_ID,
      COPY_SECRET_ACCESS_KEY: S3_ENV.AWS_SECRET_ACCESS_KEY,
      ...alerts,
    },
    // examples/terraform's three roles, and the one role of README step 1.
    roles: { ...roles, backups: { subjects: [MAIN], maxSessionSeconds: 4 * 3600 } },
    credentials: S3_ENV,
    runnerEnv: { GITHUB_API_URL: `${recorder.url}/api` },
    services: Object.fromEntries(SERVICE_URLS.map((url) => [url, testDatabaseUrl()])),
    ...extra,
  };
}

/** A set of its own in the test bucket. */
const freshPrefix = () => `workflow-runs-${randomBytes(4).toString('hex')}`;

/** A backup of `shop` already in the set, for the callers that verify or restore one. */
async function seed(prefix: string) {
  const made = await runAction(
    {
      name: 'shop',
      storage: `s3://${testS3Bucket()}/${prefix}`,
      's3-endpoint': testS3Endpoint(),
      'database-url': shop.url,
      'age-recipients': recipient,
    },
    { env: S3_ENV },
  );
  expect(made.code, made.stdout).toBe(0);
}

interface Case {
  /** What the caller's repository holds beyond the defaults. */
  repo(prefix: string): Promise<Partial<CallerRepository>>;
  /** It reads a backup the set already has. */
  seeded: boolean;
}
const restoreTarget = async () => {
  const target = await freshDatabase('workflow_runs_target');
  cleanup.push(() => target.drop());
  return target;
};
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of cleanup) await drop();
});

/** A repository of the organization that holds OWNER/backup-action (a fork of it, say). */
const SAME_ORGANIZATION = 'OWNER/app';

/** Each documented caller's world, by what it calls or runs. */
function caseOf(source: Source): Case {
  const text = source.text;
  if (/fleet\.yml@/.test(text))
    return {
      seeded: false,
      // fleet.yml needs `secrets: inherit`: its documented caller is in OWNER's organization.
      repo: async () => ({
        secrets: { ...repository().secrets, ...fleetSecrets() },
        repository: SAME_ORGANIZATION,
      }),
    };
  if (/^\s+databases: all\b/m.test(text))
    return {
      seeded: false,
      repo: async () => ({
        secrets: { ...repository().secrets, DATABASE_URL: server.url },
        services: Object.fromEntries(SERVICE_URLS.map((url) => [url, scratch.url])),
      }),
    };
  if (/mode: restore$|restore\.yml@/m.test(text))
    return {
      seeded: true,
      repo: async () => {
        const target = await restoreTarget();
        const environment = {
          DATABASE_URL: target.url,
          RESTORE_DATABASE_URL: target.url,
          ...S3_ENV,
        };
        return {
          event: {
            name: 'workflow_dispatch',
            inputs: { 'backup-id': 'latest', confirm: target.name, clean: false },
          },
          environments: { production: environment, 'production-restore': environment },
          // restore.yml needs `secrets: inherit`: its documented caller is in OWNER's organization.
          ...(/restore\.yml@/.test(text) ? { repository: SAME_ORGANIZATION } : {}),
        };
      },
    };
  return {
    seeded: /verify\.yml@|copy\.yml@|mode: restore-test/.test(text),
    repo: async () => ({}),
  };
}

/** The docs' fleet names each set's database by a secret of its own. */
const fleetSecrets = (crm = shop.url) => ({ SHOP_DATABASE_URL: shop.url, CRM_DATABASE_URL: crm });

/** Requests the recorder got since `from`, by kind. */
function sent(from: number) {
  const paths = recorder.requests.slice(from).map((r) => r.path);
  return {
    slack: paths.filter((p) => p.startsWith('/slack/')).length,
    fail: paths.filter((p) => p.endsWith('/fail')).length,
    pings: paths.filter((p) => /^\/ping\/secret-uuid-1234$/.test(p)).length,
  };
}

const actionSteps = (run: RunRecord) =>
  run.jobs.flatMap((job) => job.steps.filter((s) => s.run).map((s) => ({ job, step: s })));

describe.each(CALLERS)('$label, run from another repository', (source) => {
  let run: RunRecord;
  let before: number;
  const prefix = freshPrefix();

  beforeAll(async () => {
    const world = caseOf(source);
    if (world.seeded) await seed(prefix);
    before = recorder.requests.length;
    run = await runCaller(
      source.label,
      localize(source.text, prefix),
      repository(await world.repo(prefix)),
    );
  }, 240_000);

  it('runs every job to success, each action step through the bundle exiting 0', () => {
    const failed = run.jobs.filter((j) => j.result === 'failure' || j.result === 'cancelled');
    expect(
      failed.map((j) => [
        j.path,
        j.error,
        ...j.steps
          .filter((s) => s.outcome !== 'success')
          .map((s) => s.error ?? lastErrorLine(s.run!)),
      ]),
    ).toEqual([]);
    const steps = actionSteps(run);
    expect(steps.length).toBeGreaterThan(0);
    for (const { job, step } of steps)
      expect(step.run!.code, `${job.path}: ${step.run!.stdout.slice(-2000)}`).toBe(0);
  });

  it('touches the set only from its one group, `backup-action <storage> <name>`, queued', () => {
    // notify, and status over the fleet's sets or reports, touch no store.
    const store = actionSteps(run).filter(
      ({ step }) => (step.inputs?.mode ?? 'backup') !== 'notify' && !step.inputs?.sets,
    );
    expect(store.length).toBeGreaterThan(0);
    for (const { job, step } of store)
      expect(job.concurrency, job.path).toEqual({
        // The primary store: the first line, where storage lists the copies too.
        group: `backup-action ${step.inputs!.storage!.trim().split('\n')[0]} ${step.inputs!.name}`,
        'cancel-in-progress': false,
        queue: 'max',
      });
  });

  it('gets OIDC credentials, where it uses them, that outlast the job, from a role that trusts it', () => {
    const sessions = run.jobs.flatMap((job) => job.sessions.map((s) => ({ job, ...s })));
    const oidc = /role-arn:|role-to-assume:/.test(source.text);
    expect(sessions.length > 0).toBe(oidc);
    for (const session of sessions)
      expect(session.seconds, session.job.path).toBeGreaterThanOrEqual(
        Number(session.job.timeoutMinutes) * 60,
      );
  });

  it('alerts no one, and pings the heartbeat once from each job that reports the run', () => {
    const alerts = sent(before);
    expect([alerts.slack, alerts.fail]).toEqual([0, 0]);
    const reporters = actionSteps(run).filter(({ step }) => step.inputs?.['heartbeat-url']);
    expect(alerts.pings).toBe(reporters.length);
  });
});

/** A caller run whose DATABASE_URL names a database the server does not have. */
const failingBackup = (label: string, text: string) =>
  runCaller(
    label,
    text,
    repository({
      secrets: {
        ...repository().secrets,
        DATABASE_URL: withDatabase(shop.url, 'no_such_database'),
      },
    }),
  );
/** Each job's result, by path. */
const resultsOf = (run: RunRecord) => Object.fromEntries(run.jobs.map((j) => [j.path, j.result]));

/** The one documented caller that matches, by where it lives and what it calls. */
function theCaller(label: RegExp, text: RegExp): Source {
  const found = CALLERS.filter((c) => label.test(c.label) && text.test(c.text));
  expect(found.map((c) => c.label)).toHaveLength(1);
  return found[0]!;
}

describe('failure paths', () => {
  /** The README's step 4, and docs/workflows.md's backup + verify composition. */
  const nightly = () => theCaller(/^README\.md yaml block 1$/, /nightly\.yml@v1/);
  const composed = () => theCaller(/^docs\/workflows\.md /, /notify\.yml@v1/);

  it('a failed backup in nightly.yml alerts exactly once, from the notify job; verify and prune never run', async () => {
    const before = recorder.requests.length;
    // And on a self-hosted runner, named by a plain label.
    const { label, text: documented } = nightly();
    const text = localize(documented, freshPrefix()).replace(
      '# runs-on: self-hosted',
      'runs-on: self-hosted',
    );
    expect(text).toMatch(/^ +runs-on: self-hosted #/m);
    const run = await failingBackup(label, text);
    expect(resultsOf(run)).toMatchObject({
      'nightly/backup/backup': 'failure',
      'nightly/verify': 'skipped',
      'nightly/prune': 'skipped',
      'nightly/notify/notify': 'failure',
    });
    expect(sent(before)).toEqual({ slack: 1, fail: 1, pings: 0 });
    for (const job of run.jobs.filter((j) => j.steps.length > 0))
      expect(job.runsOn, job.path).toBe('self-hosted');
  }, 240_000);

  it("docs/workflows.md's backup + verify composition alerts once when the backup fails, and opens one issue", async () => {
    const before = recorder.requests.length;
    const issues = recorder.issues.length;
    const { label, text } = composed();
    const run = await failingBackup(label, localize(text, freshPrefix()));
    expect(resultsOf(run)).toMatchObject({
      'backup/backup': 'failure',
      verify: 'skipped',
      'notify/notify': 'failure',
    });
    expect(sent(before)).toEqual({ slack: 1, fail: 1, pings: 0 });
    expect(recorder.issues.slice(issues)).toHaveLength(1);
  }, 240_000);

  it('a run cancelled during the backup reports "cancelled" once, from the notify job', async () => {
    const before = recorder.requests.length;
    const { label, text } = nightly();
    const run = await runCaller(
      label,
      localize(text, freshPrefix()),
      repository({
        cancel: { job: 'nightly/backup/backup', text: '' },
      }),
    );
    expect(run.cancelled).toBe(true);
    expect(resultsOf(run)).toMatchObject({
      'nightly/backup/backup': 'cancelled',
      'nightly/verify': 'cancelled',
      'nightly/prune': 'cancelled',
      'nightly/notify/notify': 'failure',
    });
    const notify = run.jobs.find((j) => j.path === 'nightly/notify/notify')!;
    expect(notify.steps.at(-1)?.inputs?.result).toBe('cancelled');
    expect(sent(before)).toEqual({ slack: 1, fail: 1, pings: 0 });
  }, 240_000);

  it('the fleet of two sets, one failing: each set runs its own chain, and one alert names the failing one', async () => {
    const fleet = CALLERS.find((c) => /fleet\.yml@v1/.test(c.text))!;
    const before = recorder.requests.length;
    const run = await runCaller(
      fleet.label,
      localize(fleet.text, freshPrefix()),
      repository({
        secrets: {
          ...repository().secrets,
          ...fleetSecrets(withDatabase(shop.url, 'no_such_database')),
        },
        repository: SAME_ORGANIZATION,
      }),
    );
    expect(run.strategies).toEqual([
      { path: 'fleet/nightly', legs: 2, maxParallel: 2, failFast: false },
    ]);
    expect(resultsOf(run)).toMatchObject({
      'fleet/sets': 'success',
      'fleet/nightly[0]/backup/backup': 'success',
      'fleet/nightly[0]/verify/verify': 'success',
      'fleet/nightly[0]/prune/prune': 'success',
      'fleet/nightly[0]/status': 'success',
      'fleet/nightly[1]/backup/backup': 'failure',
      'fleet/nightly[1]/verify': 'skipped',
      'fleet/nightly[1]/status': 'failure',
      'fleet/fleet': 'failure',
    });
    // Each leg kept its status report; the last job read both.
    expect([...run.artifacts.keys()].sort()).toEqual([
      'backup-action-status-crm',
      'backup-action-status-shop',
    ]);
    const alerts = recorder.requests.slice(before).filter((r) => r.path.startsWith('/slack/'));
    expect(alerts).toHaveLength(1);
    expect(sent(before)).toEqual({ slack: 1, fail: 1, pings: 0 });
    const text = (JSON.parse(alerts[0]!.body) as { text: string }).text;
    expect(text).toMatch(
      /1 of 2 set\(s\) in the fleet need attention: crm \(nightly run: backup failure/,
    );
    expect(text).not.toMatch(/shop \(/);
    const table = run.jobs.find((j) => j.path === 'fleet/fleet')!.steps.at(-1)!.run!.summary;
    expect(table).toMatch(/\| shop \| ✅ ok \| \d{8}T\d{6}Z-[0-9a-f]{6} \|/);
    expect(table).toMatch(/\| crm \| ❌ nightly run: backup failure/);
  }, 480_000);

  it('a fleet naming one set twice fails in its first job, in one line, before any leg ran; one alert', async () => {
    const fleet = CALLERS.find((c) => /fleet\.yml@v1/.test(c.text))!;
    const twice = localize(fleet.text, freshPrefix()).replace('{"name": "crm"', '{"name": "shop"');
    expect(twice).not.toContain('"crm"');
    const before = recorder.requests.length;
    const run = await runCaller(
      fleet.label,
      twice,
      repository({
        secrets: { ...repository().secrets, ...fleetSecrets() },
        repository: SAME_ORGANIZATION,
      }),
    );
    expect(resultsOf(run)).toEqual({
      'fleet/sets': 'failure',
      'fleet/nightly': 'skipped',
      'fleet/fleet': 'skipped',
    });
    expect(run.strategies).toEqual([]);
    const check = run.jobs.find((j) => j.path === 'fleet/sets')!.steps.at(-1)!.run!;
    expect(lastErrorLine(check)).toMatch(
      /^Input "sets": names the set "shop" twice; each set needs a name of its own/,
    );
    expect(sent(before)).toEqual({ slack: 1, fail: 0, pings: 0 });
  }, 240_000);

  it('a restore caller without `secrets: inherit` gets no DATABASE_URL from the environment (the near miss)', async () => {
    const caller = theCaller(/^docs\/workflows\.md /, /restore\.yml@v1/);
    const prefix = freshPrefix();
    await seed(prefix);
    const world = await caseOf(caller).repo(prefix);
    const named = localize(caller.text, prefix).replace(/^ {4}secrets: inherit.*$/m, '');
    expect(named).not.toMatch(/secrets: inherit/);
    const run = await runCaller(caller.label, named, repository(world));
    const restore = run.jobs.find((j) => j.path === 'restore/restore')!;
    expect(restore.secrets).not.toContain('DATABASE_URL');
    expect(restore.result).toBe('failure');
    expect(restore.steps.at(-1)?.run?.stdout).toMatch(/::error::.*database-url/);
  }, 240_000);

  /** docs/copies.md's nightly caller, with an off-site copy. */
  const copies = () => theCaller(/^docs\/copies\.md /, /nightly\.yml@v1/);

  /** Deletes the data objects (not the manifests) of the set's newest backup: it is torn. */
  const tearNewest = (prefix: string) => async () => {
    const client = new S3Client(testS3ClientConfig());
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/shop/` }),
    );
    const keys = (listed.Contents ?? []).map((item) => item.Key!).sort();
    const newest = keys.filter((key) => key.endsWith('.manifest.json')).at(-1)!;
    const id = newest.slice(`${prefix}/shop/`.length, -'.manifest.json'.length);
    const objects = keys.filter((key) => key.includes(id) && key !== newest);
    expect(objects.length).toBeGreaterThan(0);
    await client.send(
      new DeleteObjectsCommand({
        Bucket: testS3Bucket(),
        Delete: { Objects: objects.map((Key) => ({ Key })) },
      }),
    );
  };

  it('nightly.yml heals a newest backup lost after the copy: one fresh backup, copied, verified, one notice', async () => {
    const before = recorder.requests.length;
    const prefix = freshPrefix();
    const { label, text } = copies();
    const run = await runCaller(
      label,
      localize(text, prefix),
      repository({ after: { 'nightly/copy/copy': tearNewest(prefix) } }),
    );
    expect(resultsOf(run)).toMatchObject({
      'nightly/backup/backup': 'success',
      'nightly/copy/copy': 'success',
      'nightly/verify/verify': 'success',
      'nightly/heal-backup/backup': 'success',
      'nightly/heal-copy/copy': 'success',
      'nightly/heal-verify/verify': 'success',
      'nightly/prune/prune': 'success',
      'nightly/notify/notify': 'success',
    });
    const verify = run.jobs.find((j) => j.path === 'nightly/verify/verify')!;
    const latest = verify.steps.find((s) => s.inputs?.mode === 'verify-latest')!;
    expect([latest.outcome, latest.conclusion]).toEqual(['failure', 'success']);
    expect(latest.run?.outputs.problem).toBe('missing');
    const notify = run.jobs.find((j) => j.path === 'nightly/notify/notify')!.steps.at(-1)!;
    expect(notify.inputs?.result).toBe('healed');
    expect(notify.inputs?.message).toMatch(
      /^healed: verify-latest found the newest backup missing \(torn backup .*\); a fresh backup was made, copied and verified$/,
    );
    // One notice, no alert; the heartbeat hears of a success.
    expect(sent(before)).toEqual({ slack: 1, fail: 0, pings: 1 });
    const slack = recorder.requests.slice(before).find((r) => r.path.startsWith('/slack/'))!;
    expect(slack.body).toMatch(
      /:warning: backup-action notify of shop needed attention: shop: healed/,
    );
  }, 360_000);

  it('nightly.yml that cannot heal (the database gone) fails after healing: exactly one alert', async () => {
    const before = recorder.requests.length;
    const prefix = freshPrefix();
    const doomed = await freshDatabase('workflow_runs_doomed');
    await withClient(doomed.url, (c) => c.query('CREATE TABLE public.users AS SELECT 1 AS id'));
    const { label, text } = nightly();
    const run = await runCaller(
      label,
      localize(text, prefix),
      repository({
        secrets: { ...repository().secrets, DATABASE_URL: doomed.url },
        after: {
          'nightly/backup/backup': tearNewest(prefix),
          'nightly/verify/verify': () => doomed.drop(),
        },
      }),
    );
    expect(resultsOf(run)).toMatchObject({
      'nightly/verify/verify': 'success',
      'nightly/heal-backup/backup': 'failure',
      'nightly/heal-verify': 'skipped',
      'nightly/prune': 'skipped',
      'nightly/notify/notify': 'failure',
    });
    const notify = run.jobs.find((j) => j.path === 'nightly/notify/notify')!.steps.at(-1)!;
    expect(notify.inputs?.result).toBe('failure');
    expect(notify.inputs?.message).toMatch(
      /^failed after healing: verify-latest found the newest backup missing \(.*\); then backup failure, copy skipped, verify skipped$/,
    );
    expect(sent(before)).toEqual({ slack: 1, fail: 1, pings: 0 });
  }, 360_000);

  it('the same restore caller in another organization gets no DATABASE_URL, `secrets: inherit` or not', async () => {
    const caller = theCaller(/^docs\/workflows\.md /, /restore\.yml@v1/);
    expect(caller.text).toMatch(/^ {4}secrets: inherit$/m);
    const prefix = freshPrefix();
    await seed(prefix);
    const world = await caseOf(caller).repo(prefix);
    expect(world.repository).toBe(SAME_ORGANIZATION);
    const run = await runCaller(
      caller.label,
      localize(caller.text, prefix),
      repository({ ...world, repository: 'o/r' }),
    );
    const restore = run.jobs.find((j) => j.path === 'restore/restore')!;
    expect(restore.secrets).toEqual([]);
    expect(restore.result).toBe('failure');
    expect(restore.steps.at(-1)?.run?.stdout).toMatch(/::error::.*database-url/);
  }, 240_000);
});
