/**
 * What GitHub does with a workflow that its own parser (@actions/workflow-parser) does not check:
 * each rule is one function, its source named above it, tested with a near miss in
 * test/runner-rules.test.ts. The simulated caller repository (./caller-repo.ts) applies them as
 * GitHub would, and test/workflows.test.ts holds every workflow, template and documented caller
 * to them.
 */

/**
 * A self-repository reference is `$/<path>`: the runner trims every slash after `$/` and refuses
 * what is left empty, at job set-up ("Expected format {org}/{repo}[/path]@ref. Actual '$/'").
 * Source: actions/runner, PipelineConstants.TryParseSelfRepository (PR #4457, "add dollar-self
 * action reference syntax").
 */
export function selfReferenceError(uses: string): string | undefined {
  if (!uses.startsWith('$/')) return undefined;
  if (uses.slice(2).replace(/^\/+/, '') !== '') return undefined;
  return `Expected format {org}/{repo}[/path]@ref. Actual '${uses}'`;
}

/**
 * A `$/` reference takes no `@ref`: it is the running commit. Source: GitHub docs, "Reuse
 * workflows" (`$/.github/workflows/{filename}`: "A `$/` reference must not include an `@{ref}`
 * suffix").
 */
export function selfReferenceRefError(uses: string): string | undefined {
  return uses.startsWith('$/') && uses.includes('@')
    ? `'${uses}': a $/ reference must not include an @ref`
    : undefined;
}

/**
 * A called workflow's job that runs in an `environment` sees that environment's secrets only when
 * every call on the way to it passes `secrets: inherit`; secrets named one by one are all it gets.
 * Source: actions/runner#1490 ("Environment Secrets are not available on Reusable Workflow";
 * `secrets: inherit` the workaround, confirmed by later reports).
 */
export function environmentSecretsVisible(calledJob: boolean, everyCallInherits: boolean): boolean {
  return !calledJob || everyCallInherits;
}

/**
 * A called workflow's GITHUB_TOKEN has at most what its caller grants: a job asking for more
 * fails the whole run before it starts. Source: GitHub docs, "Reuse workflows" ("The
 * GITHUB_TOKEN permissions passed from the caller workflow can be only downgraded by the called
 * workflow").
 */
export function permissionsExceeding(
  granted: Record<string, string>,
  asked: Record<string, string>,
): string[] {
  return Object.entries(asked)
    .filter(([scope, level]) => LEVEL[level]! > LEVEL[granted[scope] ?? 'none']!)
    .map(([scope, level]) => `${scope}: ${level}`);
}
const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 };

/** A `permissions` value (a mapping, read-all, write-all) as one level per scope. */
export function permissionLevels(value: unknown): Record<string, string> {
  if (value === 'read-all' || value === 'write-all') {
    const level = value.slice(0, -4);
    return Object.fromEntries(SCOPES.map((scope) => [scope, level]));
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
}
const SCOPES = ['actions', 'checks', 'contents', 'deployments', 'id-token', 'issues', 'packages'];

/**
 * A ref (a tag too) pushed with a token that lacks the `workflows` scope is refused when its
 * commit's `.github/workflows/` differs from the default branch's tip ("refusing to allow a
 * GitHub App to create or update workflow ... without `workflows` permission"), and the
 * GITHUB_TOKEN can never be given that scope: `workflows` is no key of `permissions` (GitHub's
 * parser: "Unexpected value 'workflows'"; github/docs#41140, closed unchanged). Source: GitHub
 * changelog 2023-11-02, "enforcing workflow scope when creating a release", and the refusals
 * reported with it (cloudposse/atmos#2962, gofrolist/molecule-action#642).
 */
export function tagPushRefused(
  tokenHasWorkflowsScope: boolean,
  taggedWorkflowsTree: string,
  defaultBranchWorkflowsTree: string,
): boolean {
  return !tokenHasWorkflowsScope && taggedWorkflowsTree !== defaultBranchWorkflowsTree;
}

/**
 * A chain of workflows is at most ten deep on github.com, four on GitHub Enterprise Server, the
 * caller included. Source: GitHub docs, "Reuse workflows", Nesting reusable workflows ("a maximum
 * of ten levels", four where `ifversion` is not fpt or ghec; github/docs#41320).
 */
export const MAX_WORKFLOW_DEPTH = { github: 10, enterpriseServer: 4 } as const;

/**
 * `job.workflow_repository` and `job.workflow_sha` name the workflow file that defines the job
 * (the called workflow's repository and commit, never the caller's). Source: GitHub docs,
 * contexts reference (the job context), as @actions/languageservice describes them; on GitHub
 * Enterprise Server they may be missing, and an empty `repository` makes actions/checkout take
 * the caller's own repository.
 */
export function jobWorkflowContext(repository: string, sha: string, path: string) {
  return {
    workflow_repository: repository,
    workflow_sha: sha,
    workflow_file_path: path,
    workflow_ref: `${repository}/${path}@${sha}`,
  };
}

/**
 * A step with `continue-on-error: true` that fails lets its job go on as if it had succeeded: its
 * outcome is failure, its conclusion (what `success()` and the job's result see) success.
 * Source: GitHub docs, "Workflow syntax" (`jobs.<job_id>.steps[*].continue-on-error`: "Prevents a
 * job from failing when a step fails") and "Contexts" (`steps.<step_id>.outcome`, "before
 * continue-on-error is applied", and `.conclusion`, "after").
 */
export function stepConclusion<R extends string>(
  outcome: R,
  continueOnError: boolean,
): R | 'success' {
  return outcome === 'failure' && continueOnError ? 'success' : outcome;
}
