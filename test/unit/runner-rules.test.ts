/**
 * The runner's rules that GitHub's parser does not know (test/support/runner-rules.ts), each held
 * to a near miss: the form the runner takes passes, the one it refuses fails. The tag rule runs
 * release.yml's own "Move the major tag" step against a git remote whose pre-receive hook refuses
 * what GitHub refuses.
 *
 * Covers: test/support/runner-rules.ts, .github/workflows/release.yml.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asText,
  evaluateToken,
  mappingValue,
  parseWorkflowText,
} from '../support/github-parser.js';
import {
  artifactNameTaken,
  matrixConfigurations,
  matrixResult,
  maxParallelOf,
  environmentSecretsVisible,
  inheritPasses,
  MAX_WORKFLOW_DEPTH,
  permissionsExceeding,
  selfReferenceError,
  selfReferenceRefError,
  stepConclusion,
  servicePorts,
  tagPushRefused,
} from '../support/runner-rules.js';
import { bySource, CALLERS } from '../support/workflow-sources.js';

const exec = promisify(execFile);

describe('a self-repository reference names a path (actions/runner TryParseSelfRepository)', () => {
  it.each(['$/', '$//', '$///'])('refuses %s, which GitHub’s parser accepts', async (uses) => {
    expect(selfReferenceError(uses)).toBe(
      `Expected format {org}/{repo}[/path]@ref. Actual '${uses}'`,
    );
    const workflow = `on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: ${uses}\n`;
    expect((await parseWorkflowText('self.yml', workflow)).errors).toEqual([]);
  });

  it.each(['$/a', '$//a', '$/.github/actions/x', '$/.github/workflows/x.yml', './', 'o/r@v1'])(
    'takes %s',
    (uses) => {
      expect(selfReferenceError(uses)).toBeUndefined();
    },
  );

  it('and takes no ref (GitHub docs, Reuse workflows)', () => {
    expect(selfReferenceRefError('$/.github/workflows/x.yml@v1')).toMatch(
      /must not include an @ref/,
    );
    expect(selfReferenceRefError('$/.github/workflows/x.yml')).toBeUndefined();
    expect(selfReferenceRefError('o/r/.github/workflows/x.yml@v1')).toBeUndefined();
  });
});

describe("a called job's environment secrets need `secrets: inherit` (actions/runner#1490)", () => {
  it('reaches a job of the caller itself, and a called job only when every call inherits', () => {
    expect(environmentSecretsVisible(false, false)).toBe(true);
    expect(environmentSecretsVisible(true, true)).toBe(true);
    expect(environmentSecretsVisible(true, false)).toBe(false);
  });
});

describe("a service's published ports (GitHub docs, jobs.<job_id>.services)", () => {
  it('puts a bare container port on a free host port, and a mapped one where it says', () => {
    let next = 40000;
    const free = () => next++;
    expect(servicePorts({ postgres: { ports: ['5432'] }, redis: { ports: [6379] } }, free)).toEqual(
      {
        postgres: { ports: { '5432': '40000' } },
        redis: { ports: { '6379': '40001' } },
      },
    );
    expect(servicePorts({ postgres: { ports: ['5432:5432'] } }, free)).toEqual({
      postgres: { ports: { '5432': '5432' } },
    });
    expect(servicePorts(undefined, free)).toEqual({});
  });
});

describe('`secrets: inherit` passes secrets within one organization or enterprise (GitHub docs, Reuse workflows)', () => {
  it("passes them to a workflow of the caller's own owner or enterprise, and none to another's", () => {
    expect(inheritPasses('acme/app', 'acme/backup-action')).toBe(true);
    expect(inheritPasses('Acme/app', 'acme/backup-action')).toBe(true);
    expect(inheritPasses('acme/app', 'other/backup-action', true)).toBe(true);
    expect(inheritPasses('acme/app', 'other/backup-action')).toBe(false);
    expect(inheritPasses('acme-dev/app', 'acme/backup-action')).toBe(false);
  });
});

describe('a called workflow gets at most what its caller grants (GitHub docs, Reuse workflows)', () => {
  it('lists what a job asks beyond the grant, and nothing at or below it', () => {
    const grant = { contents: 'read', 'id-token': 'write' };
    expect(permissionsExceeding(grant, { contents: 'read' })).toEqual([]);
    expect(permissionsExceeding(grant, { contents: 'none', 'id-token': 'write' })).toEqual([]);
    expect(permissionsExceeding(grant, { contents: 'write' })).toEqual(['contents: write']);
    expect(permissionsExceeding(grant, { issues: 'read' })).toEqual(['issues: read']);
  });
});

describe('ten levels of workflows on github.com, four on Enterprise Server (GitHub docs)', () => {
  /** The longest chain a workflow starts: itself and the workflows it calls, and theirs. */
  function depth(uses: string | undefined): number {
    const file = /\.github\/workflows\/[\w-]+\.yml/.exec(uses ?? '')?.[0];
    if (!file) return 0;
    const called = bySource(file).template.jobs.map((j) =>
      depth((j as { ref?: { value: string } }).ref?.value),
    );
    return 1 + Math.max(0, ...called);
  }

  it("holds for every documented caller on both (but the fleet's); nightly.yml's chain uses Enterprise Server's four", () => {
    const chainOf = (c: (typeof CALLERS)[number]) =>
      1 +
      Math.max(
        0,
        ...c.template.jobs.map((j) => depth((j as { ref?: { value: string } }).ref?.value)),
      );
    const fleets = CALLERS.filter((c) => /fleet\.yml@/.test(c.text));
    const chains = CALLERS.filter((c) => !fleets.includes(c)).map(chainOf);
    expect(Math.max(...chains)).toBe(MAX_WORKFLOW_DEPTH.enterpriseServer);
    // fleet.yml adds a level to nightly.yml's chain: github.com only (docs/history.md says so).
    expect(fleets.length).toBeGreaterThan(0);
    for (const fleet of fleets) {
      expect(chainOf(fleet)).toBe(MAX_WORKFLOW_DEPTH.enterpriseServer + 1);
      expect(chainOf(fleet)).toBeLessThanOrEqual(MAX_WORKFLOW_DEPTH.github);
    }
    // A workflow of yours that calls nightly.yml, called in turn: one level too many there only.
    const wrapped = 2 + depth('OWNER/backup-action/.github/workflows/nightly.yml@v1');
    expect(wrapped).toBeGreaterThan(MAX_WORKFLOW_DEPTH.enterpriseServer);
    expect(wrapped).toBeLessThanOrEqual(MAX_WORKFLOW_DEPTH.github);
  });
});

describe('a matrix job, as the runner expands it (actions/runner WorkflowTemplateConverter)', () => {
  it('is the cross product of its vectors, each of which must hold values', () => {
    const sets = [{ name: 'shop' }, { name: 'crm' }];
    expect(matrixConfigurations({ set: sets })).toEqual([{ set: sets[0] }, { set: sets[1] }]);
    expect(matrixConfigurations({ a: [1, 2], b: ['x'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'x' },
    ]);
    expect(() => matrixConfigurations({ set: [] })).toThrow(
      "Matrix vector 'set' does not contain any values",
    );
    expect(() => matrixConfigurations({ set: 'shop' })).toThrow(/matrix vector 'set'/);
  });

  it('takes max-parallel as a number only; 0 or less is no limit, a fraction is cut', () => {
    expect(maxParallelOf(2, 5)).toBe(2);
    expect(maxParallelOf(2.9, 5)).toBe(2);
    expect(maxParallelOf(0, 5)).toBe(5);
    expect(maxParallelOf(-1, 5)).toBe(5);
    expect(maxParallelOf(undefined, 5)).toBe(5);
    expect(() => maxParallelOf('2', 5)).toThrow(/must be a number/);
  });

  it('has one result for all its legs in `needs`: failure when any failed', () => {
    expect(matrixResult(['success', 'failure'])).toBe('failure');
    expect(matrixResult(['success', 'cancelled'])).toBe('cancelled');
    expect(matrixResult(['success', 'success'])).toBe('success');
    expect(matrixResult(['skipped'])).toBe('skipped');
  });

  it('refuses a second artifact of one name in a run (actions/upload-artifact v4)', () => {
    expect(artifactNameTaken('a', ['b'])).toBeUndefined();
    expect(artifactNameTaken('a', ['a'])).toMatch(/409|already exists/);
    expect(artifactNameTaken('a', ['a'], true)).toBeUndefined();
  });
});

describe("GitHub's parser knows which contexts a call's `with:` and `secrets:` may read", () => {
  const fleet = (secretsIn: 'with' | 'secrets') => `on: workflow_dispatch
jobs:
  a:
    strategy:
      matrix:
        set: [{"name": "shop", "secrets": {"DATABASE_URL": "SHOP_URL"}}]
    uses: ./.github/workflows/nightly.yml
    with:
      name: \${{ matrix.set.name }}
      storage: s3://b/p
      ${secretsIn === 'with' ? 'checks: ${{ secrets[matrix.set.secrets.DATABASE_URL] }}' : 'checks: x'}
    secrets:
      DATABASE_URL: \${{ secrets[matrix.set.secrets.DATABASE_URL] }}
`;
  it('a secret looked up by a matrix name in `secrets:` parses; the same in `with:` is refused', async () => {
    expect((await parseWorkflowText('ok.yml', fleet('secrets'))).errors).toEqual([]);
    expect((await parseWorkflowText('refused.yml', fleet('with'))).errors.join('\n')).toMatch(
      /Unrecognized named-value: 'secrets'/,
    );
  });
});

describe('a tag moved with the GITHUB_TOKEN to changed workflows is refused (GitHub changelog 2023-11-02)', () => {
  it('is refused only without the workflows scope, and only when the workflows differ', () => {
    expect(tagPushRefused(false, 'a', 'b')).toBe(true);
    expect(tagPushRefused(false, 'a', 'a')).toBe(false);
    expect(tagPushRefused(true, 'a', 'b')).toBe(false);
  });

  let dir: string;
  let origin: string;
  let first: string;
  let second: string;
  const git = (cwd: string, args: string[], env: Record<string, string> = {}) =>
    exec('git', args, { cwd, env: { ...process.env, ...env } }).then((r) => r.stdout.trim());
  // A person's push carries the workflows scope.
  const maintainer = { SIM_TOKEN_SCOPES: 'workflows' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tag-rule-'));
    origin = path.join(dir, 'origin.git');
    await exec('git', ['init', '-q', '--bare', '-b', 'main', origin]);
    // GitHub's side: the rule of runner-rules.ts, run by the remote on every push.
    const hook = path.join(origin, 'hooks', 'pre-receive');
    await writeFile(
      hook,
      preReceive(process.execPath, path.resolve('test/support/runner-rules.ts')),
    );
    await chmod(hook, 0o755);
    const work = path.join(dir, 'work');
    await exec('git', ['clone', '-q', origin, work]);
    await git(work, ['config', 'user.email', 'm@example.com']);
    await git(work, ['config', 'user.name', 'maintainer']);
    const commit = async (content: string, tag: string) => {
      await mkdir(path.join(work, '.github/workflows'), { recursive: true });
      await writeFile(path.join(work, '.github/workflows/x.yml'), content);
      await git(work, ['add', '-A']);
      await git(work, ['commit', '-qm', tag]);
      await git(work, ['tag', '-a', tag, '-m', tag]);
      await git(work, ['push', '-q', 'origin', 'main', `refs/tags/${tag}`], maintainer);
      return git(work, ['rev-parse', 'HEAD']);
    };
    first = await commit('on: push\n', 'v1.0.0');
    second = await commit('on: pull_request\n', 'v1.1.0');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** release.yml's own step, as GitHub's parser reads it, with its env evaluated. */
  async function moveStep(releaseToken: string) {
    const release = bySource('.github/workflows/release.yml');
    const job = mappingValue(mappingValue(release.root, 'jobs'), 'release');
    const steps = [
      ...(mappingValue(job, 'steps') as unknown as Iterable<Parameters<typeof mappingValue>[0]>),
    ];
    const step = steps.find(
      (s) => String(evaluateToken(mappingValue(s, 'name'), {})) === 'Move the major tag',
    );
    const contexts = {
      secrets: { RELEASE_TOKEN: releaseToken },
      github: { event: { repository: { default_branch: 'main' } } },
    };
    return {
      script: String(evaluateToken(mappingValue(step, 'run'), contexts)),
      env: Object.fromEntries(
        Object.entries((evaluateToken(mappingValue(step, 'env'), contexts) ?? {}) as object).map(
          ([k, v]) => [k, asText(v)],
        ),
      ),
    };
  }

  async function release(
    tag: string,
    sha: string,
    releaseToken: string,
    script?: (s: string) => string,
  ) {
    const clone = await mkdtemp(path.join(dir, 'release-'));
    await exec('git', ['clone', '-q', origin, clone]);
    const step = await moveStep(releaseToken);
    const env = {
      ...step.env,
      GITHUB_REF_NAME: tag,
      GITHUB_SHA: sha,
      ...(releaseToken ? maintainer : {}),
    };
    const result = await exec('bash', ['-e', '-c', script ? script(step.script) : step.script], {
      cwd: clone,
      env: { ...process.env, ...env },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout + e.stderr,
      }),
    );
    const v1 = await git(origin, ['rev-parse', '--verify', '-q', 'refs/tags/v1^{commit}']).catch(
      () => '',
    );
    return { ...result, v1 };
  }

  it("release.yml moves v1 to main's tip with the RELEASE_TOKEN", async () => {
    const moved = await release('v1.1.0', second, 'token-with-workflows-scope');
    expect(moved.code, moved.out).toBe(0);
    expect(moved.v1).toBe(second);
  });

  it('with the GITHUB_TOKEN instead, a move over changed workflows is refused and v1 stays (why release.yml requires RELEASE_TOKEN)', async () => {
    const refused = await release('v1.0.0', first, '');
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/refusing to allow a GitHub App to create or update workflow/);
    expect(refused.v1).toBe(second);
  });

  it('moves it over changed workflows with the RELEASE_TOKEN, and again on a re-run', async () => {
    for (const attempt of ['run', 're-run']) {
      const moved = await release('v1.0.0', first, 'token-with-workflows-scope');
      expect(moved.code, `${attempt}: ${moved.out}`).toBe(0);
      expect(moved.v1).toBe(first);
    }
  });
});

/** A pre-receive hook applying tagPushRefused to every tag pushed, as GitHub does. */
function preReceive(node: string, rules: string): string {
  return `#!${node}
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
const { tagPushRefused } = await import(${JSON.stringify(rules)});
const git = (...args) => execFileSync('git', args, { encoding: 'utf8' }).trim();
const tree = (rev) => { try { return git('rev-parse', rev + ':.github/workflows'); } catch { return ''; } };
for (const line of readFileSync(0, 'utf8').trim().split('\\n')) {
  const [, next, ref] = line.split(' ');
  if (!ref.startsWith('refs/tags/') || /^0+$/.test(next)) continue;
  const commit = git('rev-parse', next + '^{commit}');
  if (tagPushRefused(process.env.SIM_TOKEN_SCOPES === 'workflows', tree(commit), tree('refs/heads/main'))) {
    console.error('refusing to allow a GitHub App to create or update workflow .github/workflows/x.yml without workflows permission');
    process.exit(1);
  }
}
`;
}

describe('continue-on-error (GitHub docs: steps[*].continue-on-error, steps.<id>.conclusion)', () => {
  it('lets a failed step conclude in success, and nothing else', () => {
    expect(stepConclusion('failure', true)).toBe('success');
    // The near miss: without it the failure stands, and a cancel is never turned into success.
    expect(stepConclusion('failure', false)).toBe('failure');
    expect(stepConclusion('cancelled', true)).toBe('cancelled');
    expect(stepConclusion('success', true)).toBe('success');
  });
});
