/**
 * Enough of IAM for the tests to prove the example policies: a path-style S3 request mapped to
 * the IAM action and resource AWS authorizes it as, and a policy document evaluated the way IAM
 * does (an explicit Deny wins, then any Allow, else denied), with `*`/`?` wildcards in actions and
 * resources and the StringLike/StringEquals conditions on `s3:prefix`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Authorization {
  action: string;
  resource: string;
  /** The request's condition keys (`s3:prefix` for a listing). */
  context: Record<string, string>;
}

type OneOrMore = string | string[];

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: OneOrMore;
  Resource: OneOrMore;
  Condition?: Record<string, Record<string, OneOrMore>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

/**
 * An example policy from examples/iam/, its `${bucket}` and `${prefix}` filled in (and the
 * copier's `${copy_bucket}` and `${copy_prefix}`, where it copies to).
 */
export async function examplePolicy(
  role: 'writer' | 'verifier' | 'pruner' | 'copier',
  bucket: string,
  prefix: string,
  copy: { bucket: string; prefix: string } = { bucket, prefix },
): Promise<PolicyDocument> {
  const text = await readFile(path.resolve('examples/iam', `${role}.json`), 'utf8');
  return JSON.parse(
    text
      .replaceAll('${copy_bucket}', copy.bucket)
      .replaceAll('${copy_prefix}', copy.prefix)
      .replaceAll('${bucket}', bucket)
      .replaceAll('${prefix}', prefix),
  ) as PolicyDocument;
}

/**
 * What a path-style request (`/bucket` or `/bucket/key`, with its query) needs. A multi-object
 * delete names its keys in the body: pass them, and each needs s3:DeleteObject. Throws for a
 * request this table does not know, so a new kind of request fails the test instead of passing.
 */
export function authorizationsFor(
  method: string,
  url: string,
  deleteKeys: readonly string[] = [],
): Authorization[] {
  const parsed = new URL(url, 'http://s3');
  const [, bucket = '', ...rest] = parsed.pathname.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const query = parsed.searchParams;
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  const object = (action: string): Authorization[] => [
    { action, resource: `${bucketArn}/${key}`, context: {} },
  ];
  if (key === '') {
    if (method === 'GET' && query.has('uploads')) {
      return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn, context: {} }];
    }
    if (method === 'GET' && query.get('list-type') === '2') {
      const context = { 's3:prefix': query.get('prefix') ?? '' };
      return [{ action: 's3:ListBucket', resource: bucketArn, context }];
    }
    if (method === 'POST' && query.has('delete')) {
      return deleteKeys.map((each) => ({
        action: 's3:DeleteObject',
        resource: `${bucketArn}/${each}`,
        context: {},
      }));
    }
  } else {
    if (method === 'GET' && query.has('uploadId')) return object('s3:ListMultipartUploadParts');
    if (method === 'GET' || method === 'HEAD') return object('s3:GetObject');
    if (method === 'PUT' && !query.has('tagging') && !query.has('acl')) {
      return object('s3:PutObject');
    }
    if (method === 'POST' && (query.has('uploads') || query.has('uploadId'))) {
      return object('s3:PutObject');
    }
    if (method === 'DELETE') {
      return object(query.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject');
    }
  }
  throw new Error(`no IAM mapping for ${method} ${url}`);
}

/** IAM's answer: an explicit Deny wins over any Allow; with neither, the request is denied. */
export function isAllowed(policy: PolicyDocument, request: Authorization): boolean {
  const applying = policy.Statement.filter((statement) => applies(statement, request));
  if (applying.some((statement) => statement.Effect === 'Deny')) return false;
  return applying.some((statement) => statement.Effect === 'Allow');
}

function applies(statement: Statement, request: Authorization): boolean {
  return (
    list(statement.Action).some((pattern) => matches(pattern, request.action, true)) &&
    list(statement.Resource).some((pattern) => matches(pattern, request.resource, false)) &&
    conditionsHold(statement.Condition ?? {}, request.context)
  );
}

function conditionsHold(
  conditions: NonNullable<Statement['Condition']>,
  context: Record<string, string>,
): boolean {
  return Object.entries(conditions).every(([operator, keys]) =>
    Object.entries(keys).every(([name, values]) => {
      const actual = context[name];
      // A key the request does not carry fails the condition (IAM's rule without ...IfExists).
      if (actual === undefined) return false;
      if (operator === 'StringLike') return list(values).some((v) => matches(v, actual, false));
      if (operator === 'StringEquals') return list(values).includes(actual);
      throw new Error(`condition operator ${operator} is not supported by the test front`);
    }),
  );
}

/** IAM's wildcards: `*` any run of characters, `?` one; actions compare case-insensitively. */
function matches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function list(value: OneOrMore): string[] {
  return typeof value === 'string' ? [value] : value;
}

/** S3's own AccessDenied body, as the SDK parses it into an AccessDenied error. */
export function accessDeniedXml(request: Authorization): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>User is not authorized to perform: ${request.action} on resource: "${request.resource}" because no identity-based policy allows the ${request.action} action</Message><RequestId>IAMFRONT</RequestId></Error>`;
}

/**
 * What examples/terraform makes for a repository: each role by name (the copier too, as with a
 * copy bucket), who may take it, for how long.
 */
export interface TerraformRole {
  subjects: string[];
  maxSessionSeconds: number;
}

/**
 * The roles examples/terraform creates for `repository`, its variables at their defaults (or as
 * given), read from its HCL: the role names, the trust's OIDC subjects and the maximum session.
 * The trust's expression is recognised, not evaluated: a change to it fails here, loudly.
 */
export async function terraformRoles(
  repository: string,
  given: Record<string, string | number> = {},
): Promise<Record<string, TerraformRole>> {
  const { parse } = await import('@cdktf/hcl2json');
  const read = async (file: string) =>
    (await parse(file, await readFile(path.resolve('examples/terraform', file), 'utf8'))) as Record<
      string,
      Record<string, Record<string, Record<string, unknown>[]>>
    >;
  const [main, variables] = await Promise.all([read('main.tf'), read('variables.tf')]);
  const declared = (variables.variable ?? {}) as unknown as Record<string, { default?: unknown }[]>;
  const vars = Object.fromEntries(
    Object.entries(declared).map(([k, v]) => [k, given[k] ?? v[0]?.default]),
  );
  const roles = Object.keys((main.locals as unknown as { roles: object }[])[0]!.roles);
  const role = main.resource!.aws_iam_role!.backup![0] as Record<string, string>;
  const trust = main.data!.aws_iam_policy_document!.github_trust![0] as {
    statement: { condition: { variable: string; values: string }[] }[];
  };
  const sub = trust.statement[0]!.condition.find((c) => c.variable.endsWith(':sub'))!.values;
  const expected =
    '${compact([ "repo:${var.github_repository}:${var.github_subject}", each.key == "verifier" && var.restore_environment != "" ? "repo:${var.github_repository}:environment:${var.restore_environment}" : "", ])}';
  if (
    sub.replace(/\s+/g, ' ') !== expected ||
    role.max_session_duration !== '${var.max_session_duration}'
  )
    throw new Error("examples/terraform's trust or session changed: terraformRoles must learn it");
  const branch = `repo:${repository}:${String(vars.github_subject)}`;
  const restore = vars.restore_environment
    ? `repo:${repository}:environment:${String(vars.restore_environment)}`
    : '';
  return Object.fromEntries(
    roles.map((name) => [
      role.name!.replace('${each.key}', name),
      {
        subjects: [branch, ...(name === 'verifier' && restore ? [restore] : [])],
        maxSessionSeconds: Number(vars.max_session_duration),
      },
    ]),
  );
}
