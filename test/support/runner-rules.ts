/**
 * What GitHub does with a workflow that its own parser (@actions/workflow-parser) does not check:
 * each rule is one function, its source named above it, tested with a near miss in
 * test/unit/runner-rules.test.ts. The simulated caller repository (./caller-repo.ts) applies them as
 * GitHub would, and test/unit/workflows.test.ts holds every workflow, template and documented caller
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
 * `secrets: inherit` passes the caller's secrets only to a workflow of the same organization or
 * enterprise: called from another owner's repository it passes none, and no environment secret
 * reaches the called jobs either. Source: GitHub docs, "Reuse workflows", Passing inputs and
 * secrets ("Workflows that call reusable workflows in the same organization or enterprise can use
 * the inherit keyword to implicitly pass the secrets").
 */
export function inheritPasses(
  callerRepository: string,
  calledRepository: string,
  sameEnterprise = false,
): boolean {
  return sameEnterprise || ownerOf(callerRepository) === ownerOf(calledRepository);
}
const ownerOf = (repository: string) => repository.split('/')[0]!.toLowerCase();

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

/**
 * A job's matrix as the runner expands it, once its expressions are evaluated: the cross product
 * of its vectors, each a non-empty list ("Matrix vector '<name>' does not contain any values"), in
 * the order of the vectors given. Our workflows use no include or exclude, which are refused here
 * rather than simulated wrongly. Source: actions/runner, src/Sdk/WorkflowParser/Conversion/
 * WorkflowTemplateConverter.cs (ConvertToStrategy) and ObjectTemplating/MatrixBuilder.cs; the
 * parser (@actions/workflow-parser) checks only the literal parts before the run.
 */
export function matrixConfigurations(matrix: unknown): Record<string, unknown>[] {
  if (typeof matrix !== 'object' || matrix === null || Array.isArray(matrix))
    throw new Error('Unexpected value: matrix must be a mapping');
  let product: Record<string, unknown>[] = [{}];
  for (const [name, vector] of Object.entries(matrix)) {
    if (name === 'include' || name === 'exclude') throw new Error(`matrix ${name}: not simulated`);
    if (!Array.isArray(vector)) throw new Error(`Unexpected value: matrix vector '${name}'`);
    if (vector.length === 0) throw new Error(`Matrix vector '${name}' does not contain any values`);
    product = product.flatMap((configuration) =>
      vector.map((value: unknown) => ({ ...configuration, [name]: value })),
    );
  }
  return product;
}

/**
 * `strategy.max-parallel` once evaluated must be a number (an input of `type: string` holding
 * "2" is refused: "Unexpected value ... strategy max-parallel"); it is cut to a whole number, and
 * 0 or less means no limit (every configuration at once, `strategy.max-parallel` = job-total).
 * Source: as above, ConvertToStrategy (AssertNumber, (Int32) cast, `MaxParallel > 0`).
 */
export function maxParallelOf(value: unknown, configurations: number): number {
  if (value === undefined || value === null) return configurations;
  if (typeof value !== 'number')
    throw new Error(`Unexpected value '${String(value)}': strategy max-parallel must be a number`);
  const whole = Math.trunc(value);
  return whole > 0 ? whole : configurations;
}

/**
 * What `needs.<job>.result` says of a matrix job: one result for all its configurations, failure
 * when any failed, else cancelled when any was, else success; so a later job cannot tell which
 * configuration failed from `needs` (each must say so itself, e.g. by an artifact). With
 * `fail-fast` (the default) a failure cancels the configurations not yet finished. Source:
 * GitHub docs, "Running variations of jobs in a workflow" (handling failures: fail-fast);
 * leanprover-community/mathlib4#33738 ("The needs context returns overall status for the matrix
 * rather than the status for the specific matrix entry"); nektos/act#1519.
 */
export function matrixResult(
  results: readonly ('success' | 'failure' | 'cancelled' | 'skipped')[],
): 'success' | 'failure' | 'cancelled' | 'skipped' {
  if (results.includes('failure')) return 'failure';
  if (results.includes('cancelled')) return 'cancelled';
  return results.every((result) => result === 'skipped') ? 'skipped' : 'success';
}

/**
 * actions/upload-artifact@v4: an artifact's name is unique in a run; a second upload of one name
 * fails ("an artifact with this name already exists on the workflow run"), so jobs of a matrix
 * name theirs by their configuration, unless the step sets `overwrite: true`, which deletes the
 * earlier artifact first. A re-run of a job is the same run: its earlier attempt's artifact is
 * still there, so a step that uploads a fixed name fails on every re-run without `overwrite`.
 * Source: actions/upload-artifact README, v4 "Breaking Changes" (uploading to the same named
 * artifact multiple times is no longer possible) and its `overwrite` input ("If false, the action
 * will fail if an artifact for the given name already exists"); actions/upload-artifact#493 (the
 * 409 Conflict it answers); informedica/GenPRES#545 and datahub-project/datahub#17001 (re-runs
 * failing on it, fixed by `overwrite: true`).
 */
export function artifactNameTaken(
  name: string,
  uploaded: readonly string[],
  overwrite = false,
): string | undefined {
  return uploaded.includes(name) && !overwrite
    ? `Failed to CreateArtifact: an artifact with this name already exists on the workflow run: ${name}`
    : undefined;
}

/**
 * `job.services.<id>.ports` maps each published container port to its host port: `'5432'` alone
 * is published on a free host port GitHub picks, `'5433:5432'` on the one it names. Source: GitHub
 * docs, workflow syntax, jobs.<job_id>.services, "Example: Using localhost" ("When you specify
 * the container port but not the host port, the host port is randomly assigned to a free port";
 * github/docs#33621), and the job context's `services`.
 */
export function servicePorts(
  services: unknown,
  freePort: () => number,
): Record<string, { ports: Record<string, string> }> {
  const entries = Object.entries((services ?? {}) as Record<string, { ports?: unknown[] }>);
  return Object.fromEntries(
    entries.map(([id, service]) => {
      const published = (service.ports ?? []).map((p) => String(p).split(':'));
      return [
        id,
        {
          ports: Object.fromEntries(
            published.map((p) =>
              p.length === 1 ? [p[0]!, String(freePort())] : [p.at(-1)!, p.at(-2)!],
            ),
          ),
        },
      ];
    }),
  );
}
