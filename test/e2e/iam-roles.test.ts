/**
 * Every mode under its role's policy from examples/iam/, through a front that enforces the policy
 * the way IAM does: the policies are proven enough for the modes, and the writer proven unable to
 * read or delete what it wrote, the copier unable to read, delete or write outside what it copies.
 * Also what the modes do where the store keeps objects (Object Lock) or holds them in a class that
 * cannot be read without a restore.
 *
 * Covers: examples/iam, src/storage/s3.ts, src/storage/s3-upload.ts, src/modes/retention-prune.ts,
 * src/modes/copy.ts.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction } from '../support/action.js';
import { freshDatabase, multipartDatabase, type FreshDatabase } from '../support/db.js';
import {
  S3_ENV,
  testDatabaseUrl,
  testS3Bucket,
  testS3ClientConfig,
  testS3Endpoint,
} from '../support/env.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { authorizationsFor, examplePolicy, isAllowed, terraformRoles } from '../support/iam.js';
import { REUSABLE, SOURCES } from '../support/workflow-sources.js';

const PREFIX = 'iam-roles';
const bucket = () => testS3Bucket();
const direct = () => new S3Client(testS3ClientConfig());
const throughFront = () =>
  new S3Client({ ...testS3ClientConfig(), endpoint: proxy.endpoint, maxAttempts: 1 });

let db: FreshDatabase;
let proxy: FaultProxy;

beforeAll(async () => {
  db = await freshDatabase('iam_roles');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(
    `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g`,
  );
  await client.end();
  proxy = await startFaultProxy(testS3Endpoint());
});

afterAll(async () => {
  await proxy.close();
  await db.drop();
});

beforeEach(() => {
  proxy.policy = undefined;
  proxy.onDelete = undefined;
  proxy.faults = [];
  proxy.denied.length = 0;
});

async function keys(set: string): Promise<string[]> {
  const listing = await direct().send(
    new ListObjectsV2Command({ Bucket: bucket(), Prefix: `${PREFIX}/${set}/` }),
  );
  return (listing.Contents ?? []).map((item) => item.Key ?? '').sort();
}

function run(set: string, inputs: Record<string, string>) {
  return runAction(
    {
      storage: `s3://${bucket()}/${PREFIX}`,
      's3-endpoint': proxy.endpoint,
      name: set,
      ...inputs,
    },
    { env: S3_ENV },
  );
}

const backup = (set: string) => run(set, { 'database-url': db.url, compression: 'zstd' });

async function as(role: 'writer' | 'verifier' | 'pruner') {
  proxy.policy = await examplePolicy(role, bucket(), PREFIX);
  proxy.denied.length = 0;
}

describe('the test front evaluates policies as IAM does', () => {
  it('maps requests to actions and resources, with the listing prefix as a condition key', async () => {
    const writer = await examplePolicy('writer', 'b', 'p');
    const [list] = authorizationsFor('GET', '/b?list-type=2&prefix=p%2Fdb%2F');
    expect(list).toEqual({
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::b',
      context: { 's3:prefix': 'p/db/' },
    });
    expect(isAllowed(writer, list!)).toBe(true);
    // The condition holds the writer to its prefix: another prefix, or the whole bucket, is refused.
    expect(isAllowed(writer, authorizationsFor('GET', '/b?list-type=2&prefix=other%2F')[0]!)).toBe(
      false,
    );
    expect(isAllowed(writer, authorizationsFor('GET', '/b?list-type=2')[0]!)).toBe(false);
    expect(
      isAllowed(writer, authorizationsFor('PUT', '/b/p/db/x.dump?partNumber=1&uploadId=u')[0]!),
    ).toBe(true);
    expect(isAllowed(writer, authorizationsFor('PUT', '/b/elsewhere/x.dump')[0]!)).toBe(false);
    expect(isAllowed(writer, authorizationsFor('HEAD', '/b/p/db/x.dump')[0]!)).toBe(false);
    const deletes = authorizationsFor('POST', '/b?delete', ['p/db/a.dump', 'p/db/a.manifest.json']);
    expect(deletes.map((d) => d.action)).toEqual(['s3:DeleteObject', 's3:DeleteObject']);
    // The pruner reads manifests, not the data.
    const pruner = await examplePolicy('pruner', 'b', 'p');
    expect(isAllowed(pruner, authorizationsFor('GET', '/b/p/db/a.manifest.json')[0]!)).toBe(true);
    expect(isAllowed(pruner, authorizationsFor('GET', '/b/p/db/a.dump.zst')[0]!)).toBe(false);
    // The verifier writes its runs' history records, and nothing a backup is made of.
    const verifier = await examplePolicy('verifier', 'b', 'p');
    const put = (key: string) => authorizationsFor('PUT', `/b/p/${key}`)[0]!;
    const run = '20260101T000000Z-abcdef';
    expect(isAllowed(verifier, put(`db/history/${run}.restore-test.json`))).toBe(true);
    expect(isAllowed(verifier, put(`db/${run}.manifest.json`))).toBe(false);
    expect(isAllowed(verifier, put(`db/${run}.dump.zst`))).toBe(false);
    // An explicit Deny wins over an Allow.
    const denying = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow' as const, Action: 's3:*', Resource: '*' },
        { Effect: 'Deny' as const, Action: 's3:Delete*', Resource: 'arn:aws:s3:::b/p/*' },
      ],
    };
    expect(isAllowed(denying, authorizationsFor('DELETE', '/b/p/x')[0]!)).toBe(false);
    expect(isAllowed(denying, authorizationsFor('DELETE', '/b/q/x')[0]!)).toBe(true);
    expect(() => authorizationsFor('GET', '/b?acl')).toThrow(/no IAM mapping/);
  });
});

describe('each mode under its role', () => {
  it('writer: backs up, and cannot read or delete what it wrote', async () => {
    await as('writer');
    proxy.requests.length = 0;
    const done = await backup('roles');
    expect(done.code, done.stdout).toBe(0);
    expect(proxy.denied).toEqual([]);
    // The store is checked before the dump with a request the writer's policy allows.
    expect(proxy.requests[0]).toBe(
      `GET /${bucket()}/?list-type=2&max-keys=1&prefix=${PREFIX}%2Froles%2F`,
    );
    const objectKey = `${PREFIX}/roles/${done.outputs['backup-id']}.dump.zst`;
    expect(await keys('roles')).toContain(objectKey);

    const front = throughFront();
    for (const command of [
      new GetObjectCommand({ Bucket: bucket(), Key: objectKey }),
      new DeleteObjectCommand({ Bucket: bucket(), Key: objectKey }),
      new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: [{ Key: objectKey }] } }),
    ]) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      await expect(front.send(command as any)).rejects.toMatchObject({ name: 'AccessDenied' });
    }
    await expect(
      front.send(new HeadObjectCommand({ Bucket: bucket(), Key: objectKey })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(await keys('roles')).toContain(objectKey);
  });

  it('writer: a backup failing after its upload fails for its own reason and says the pruner sweeps the object', async () => {
    await as('writer');
    proxy.faults = [
      { kind: 'status', status: 400, code: 'InvalidArgument', count: 1, match: /manifest\.json/ },
    ];
    const failed = await backup('leftover');
    expect(failed.code).not.toBe(0);
    // The run fails for the refused manifest (the front's message), not for the refused cleanup.
    expect(lastErrorLine(failed)).toBe('injected');
    expect(failed.stdout).toMatch(
      /::warning::could not delete leftover\/\S+\.dump\.zst after the failed backup \(User is not authorized to perform: s3:DeleteObject.*\); retention-prune's orphan sweep removes it once older than orphan-grace/,
    );
    expect(proxy.denied).toHaveLength(1);
    expect(proxy.denied[0]).toMatch(/^s3:DeleteObject /);
    const left = await keys('leftover');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/\.dump\.zst$/);

    // ... and the pruner's sweep removes it, under the pruner's policy, once older than the grace.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await as('pruner');
    const pruned = await run('leftover', {
      mode: 'retention-prune',
      'keep-last': '1',
      'orphan-grace': '1s',
    });
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(proxy.denied).toEqual([]);
    expect(await keys('leftover')).toEqual([]);
  });

  it('writer: a multipart backup; a failed one whose abort is refused fails for its own reason', async () => {
    const big = await multipartDatabase('iam_roles_big');
    try {
      const multipart = (set: string) => run(set, { 'database-url': big.url, compression: 'none' });
      await as('writer');
      const done = await multipart('multipart');
      expect(done.code, done.stdout).toBe(0);
      expect(proxy.requests.some((r) => /^PUT .*partNumber=2&/.test(r))).toBe(true);
      expect(proxy.denied).toEqual([]);

      // The same writer without s3:AbortMultipartUpload, and the second part refused for good
      // (there is one whatever size the parts are given).
      const writer = await examplePolicy('writer', bucket(), PREFIX);
      for (const statement of writer.Statement) {
        if (Array.isArray(statement.Action)) {
          statement.Action = statement.Action.filter((a) => a !== 's3:AbortMultipartUpload');
        }
      }
      proxy.policy = writer;
      proxy.faults = [
        {
          kind: 'status',
          status: 400,
          code: 'InvalidPart',
          count: 1,
          match: /^PUT .*partNumber=2&/,
        },
      ];
      const failed = await multipart('unaborted');
      expect(failed.code, failed.stdout).not.toBe(0);
      expect(lastErrorLine(failed)).toBe('injected');
      expect(failed.stdout).toMatch(
        /::warning::could not abort the incomplete upload of unaborted\/\S+ \(User is not authorized to perform: s3:AbortMultipartUpload.*\); retention-prune's sweep aborts it once older than orphan-grace/,
      );
      expect(await keys('unaborted')).toEqual([]);
    } finally {
      await big.drop();
    }
  });

  it('verifier: verify-latest (deep) and restore-test', async () => {
    proxy.policy = undefined;
    expect((await backup('verified')).code).toBe(0);
    await as('verifier');
    const verified = await run('verified', { mode: 'verify-latest', deep: 'true' });
    expect(verified.code, verified.stdout).toBe(0);
    const tested = await run('verified', {
      mode: 'restore-test',
      'database-url': testDatabaseUrl(),
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(proxy.denied).toEqual([]);
  });

  it('pruner: retention-prune deletes what the policy does not keep', async () => {
    expect((await backup('pruned')).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const newest = await backup('pruned');
    expect(newest.code).toBe(0);
    await as('pruner');
    const pruned = await run('pruned', { mode: 'retention-prune', 'keep-last': '1' });
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(pruned.outputs.deleted).toBe('1');
    expect(proxy.denied).toEqual([]);
    expect((await keys('pruned')).every((key) => key.includes(newest.outputs['backup-id']!))).toBe(
      true,
    );
  });
});

describe('the copier: reads the source, may only write the copy bucket', () => {
  const COPY_BUCKET = 'iam-copies';
  const COPY_PREFIX = 'offsite';
  const copyTo = () => `s3://${COPY_BUCKET}/${COPY_PREFIX}`;
  const asCopier = async () => {
    proxy.policy = await examplePolicy('copier', bucket(), PREFIX, {
      bucket: COPY_BUCKET,
      prefix: COPY_PREFIX,
    });
    proxy.denied.length = 0;
  };

  beforeAll(async () => {
    await direct()
      .send(new CreateBucketCommand({ Bucket: COPY_BUCKET }))
      .catch(() => undefined);
  });

  it('copies every backup, each request allowed; then cannot read, delete or write where it must not', async () => {
    expect((await backup('copied')).code).toBe(0);
    await asCopier();
    const copied = await run('copied', { mode: 'copy', 'copy-to': copyTo() });
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.outputs.copied).toBe('1');
    expect(proxy.denied).toEqual([]);
    // A second copy sees, from the listing alone, that the backup is there.
    const again = await run('copied', { mode: 'copy', 'copy-to': copyTo() });
    expect(again.outputs.copied).toBe('0');
    expect(proxy.denied).toEqual([]);

    const listing = await direct().send(
      new ListObjectsV2Command({ Bucket: COPY_BUCKET, Prefix: `${COPY_PREFIX}/copied/` }),
    );
    const copies = (listing.Contents ?? []).map((item) => item.Key!);
    expect(copies).toHaveLength(2);
    const [object] = copies.filter((key) => key.endsWith('.dump.zst'));
    const source = (await keys('copied')).find((key) => key.endsWith('.dump.zst'))!;
    const front = throughFront();
    for (const command of [
      new GetObjectCommand({ Bucket: COPY_BUCKET, Key: object }),
      new DeleteObjectCommand({ Bucket: COPY_BUCKET, Key: object }),
      new DeleteObjectsCommand({ Bucket: COPY_BUCKET, Delete: { Objects: [{ Key: object }] } }),
      new PutObjectCommand({ Bucket: bucket(), Key: source, Body: 'overwritten' }),
      new DeleteObjectCommand({ Bucket: bucket(), Key: source }),
      new ListObjectsV2Command({ Bucket: COPY_BUCKET, Prefix: 'elsewhere/' }),
    ]) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      await expect(front.send(command as any)).rejects.toMatchObject({ name: 'AccessDenied' });
    }
    expect(await keys('copied')).toContain(source);
  });

  it('copy-check: sha256 needs a read the copier is refused, and says so', async () => {
    expect((await backup('checked')).code).toBe(0);
    await asCopier();
    expect((await run('checked', { mode: 'copy', 'copy-to': copyTo() })).code).toBe(0);
    const checked = await run('checked', {
      mode: 'copy',
      'copy-to': copyTo(),
      'copy-check': 'sha256',
      retries: '0',
    });
    expect(checked.code).not.toBe(0);
    expect(lastErrorLine(checked)).toMatch(
      /copy-check: sha256 reads every backup at the destination back, and it could not \(User is not authorized to perform: s3:GetObject.*\); give read access there, or use copy-check: listing/,
    );
  });
});

describe('the store keeps or archives objects', () => {
  it('Object Lock: a backup the store refuses to delete is reported, kept whole, and the prune goes on', async () => {
    const first = await backup('app.locked');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await backup('app.locked');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await backup('app.locked')).code).toBe(0);
    const lockedId = first.outputs['backup-id']!;
    // As S3 answers a multi-object delete in a bucket with retention: per key, in a 200.
    proxy.onDelete = async (named) => {
      const errors = named.filter((key) => key.includes(lockedId));
      const free = named.filter((key) => !key.includes(lockedId));
      if (free.length > 0) {
        await direct().send(
          new DeleteObjectsCommand({
            Bucket: bucket(),
            Delete: { Objects: free.map((Key) => ({ Key })) },
          }),
        );
      }
      return `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${errors
        .map(
          (key) =>
            `<Error><Key>${key}</Key><Code>AccessDenied</Code><Message>Access Denied because object protected by object lock.</Message></Error>`,
        )
        .join('')}</DeleteResult>`;
    };
    await as('pruner');
    const pruned = await run('app.locked', { mode: 'retention-prune', 'keep-last': '1' });
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(pruned.stdout).toMatch(
      /::warning::the store refused to delete 1 key\(s\).*object lock/i,
    );
    // The locked backup stays whole (manifest and object); the other old one is gone.
    const left = await keys('app.locked');
    expect(left.filter((key) => key.includes(lockedId))).toHaveLength(2);
    expect(left.some((key) => key.includes(second.outputs['backup-id']!))).toBe(false);
    expect(pruned.outputs.deleted).toBe('1');
  });

  it('an object in an archive class is reported with the fix, not as a damaged backup', async () => {
    expect((await backup('archived')).code).toBe(0);
    // What S3 answers a GET of a GLACIER or DEEP_ARCHIVE object that was not restored.
    proxy.faults = [
      {
        kind: 'status',
        status: 403,
        code: 'InvalidObjectState',
        count: 2,
        match: /^GET .*\.dump\.zst/,
      },
    ];
    // verify-latest reads no database: it is given none.
    const modes: Record<string, string>[] = [
      { mode: 'verify-latest' },
      { mode: 'restore-test', 'database-url': testDatabaseUrl() },
    ];
    for (const inputs of modes) {
      const failed = await run('archived', inputs);
      expect(failed.code).not.toBe(0);
      expect(failed.stdout).toMatch(
        /::error::.*archive storage class.*not damaged.*restore-object/,
      );
      expect(failed.stdout).not.toMatch(/checksum|sha256 mismatch/i);
    }
  });
});

describe("examples/terraform's roles, as the workflows and templates take them", () => {
  const MAIN = 'repo:acme/infra:ref:refs/heads/main';

  it('are the writer, verifier, pruner and copier the templates name, for their jobs', async () => {
    const roles = await terraformRoles('acme/infra');
    expect(Object.keys(roles).sort()).toEqual([
      'backup-action-copier',
      'backup-action-pruner',
      'backup-action-verifier',
      'backup-action-writer',
    ]);
    const named = SOURCES.flatMap((s) =>
      [...s.text.matchAll(/role\/(backup-action-[a-z]+)/g)].map((m) => m[1]),
    );
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(Object.keys(roles)).toContain(name);
  });

  it("trust the branch's jobs, and the verifier also the restore environment the templates and docs/workflows.md name", async () => {
    const roles = await terraformRoles('acme/infra');
    expect(roles['backup-action-writer']!.subjects).toEqual([MAIN]);
    expect(roles['backup-action-pruner']!.subjects).toEqual([MAIN]);
    expect(roles['backup-action-verifier']!.subjects).toEqual([
      MAIN,
      'repo:acme/infra:environment:production-restore',
    ]);
    const restoring = SOURCES.filter((x) => /environment: production-restore/.test(x.text));
    expect(restoring.map((s) => s.label)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/manual-restore/),
        expect.stringMatching(/^docs\/workflows\.md /),
      ]),
    );
    for (const s of restoring) expect(s.label).toMatch(/manual-restore|^docs\/workflows\.md /);
    // Without a restore environment the verifier trusts the branch alone (the near miss).
    const none = await terraformRoles('acme/infra', { restore_environment: '' });
    expect(none['backup-action-verifier']!.subjects).toEqual([MAIN]);
  });

  it("allow sessions as long as the workflows' longest role-duration-seconds, within AWS's 12 hours", async () => {
    const roles = await terraformRoles('acme/infra');
    const durations = REUSABLE.map(
      (s) =>
        (
          parseYaml(s.text) as {
            on: { workflow_call: { inputs: Record<string, { default?: number }> } };
          }
        ).on.workflow_call.inputs['role-duration-seconds']?.default,
    ).filter((d): d is number => d !== undefined);
    expect(durations.length).toBeGreaterThan(0);
    for (const role of Object.values(roles)) {
      expect(role.maxSessionSeconds).toBeGreaterThanOrEqual(Math.max(...durations));
      expect(role.maxSessionSeconds).toBeLessThanOrEqual(43_200);
    }
  });
});
