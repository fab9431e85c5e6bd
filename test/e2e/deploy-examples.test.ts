/**
 * The deployment examples (Dockerfile, examples/kubernetes, examples/systemd, examples/terraform)
 * are checked by the tools that would reject them, where they run here: systemd-analyze verify
 * (with the single executable the units run), the Kubernetes API schemas (kubernetes-models),
 * Terraform's HCL parser (@cdktf/hcl2json), .dockerignore's rules (the ignore package, same
 * syntax) and apt's package lists. `terraform fmt -check` and a real image build cannot run here;
 * examples/ansible has its own test (ansible-role.test.ts).
 *
 * Covers: Dockerfile, .dockerignore, examples/kubernetes, examples/systemd, examples/terraform.
 */
import { parse as parseHcl } from '@cdktf/hcl2json';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CronJob } from 'kubernetes-models/batch/v1';
import { Namespace, Secret } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import ignore from 'ignore';
import { parse as parseYaml } from 'yaml';
import { INPUT_NAMES } from '../../src/inputs/names.js';
import { executable } from '../support/executables.js';
import { requireInCI } from '../support/require-in-ci.js';

const run = promisify(execFile);
const INPUTS = new Set<string>(INPUT_NAMES);

/** The `--<input>-file PATH` pairs of an argument list, checked to name real inputs. */
function fileInputs(args: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  args.forEach((arg, i) => {
    const input = /^--(.+)-file$/.exec(arg)?.[1];
    if (input === undefined) return;
    expect(INPUTS, `${arg} names no input`).toContain(input);
    found.set(input, args[i + 1] ?? '');
  });
  return found;
}

/** The store `--copy-to` names: an s3:// URL with credentials=NAME, no key in it; returns NAME. */
function offsiteKeys(args: readonly string[]): string {
  const at = args.indexOf('--copy-to');
  expect(at, 'no --copy-to').toBeGreaterThan(0);
  const url = new URL(args[at + 1] ?? '');
  expect([url.protocol, url.username, url.password]).toEqual(['s3:', '', '']);
  const name = url.searchParams.get('credentials') ?? '';
  expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  return name;
}

describe('systemd units', () => {
  const dir = path.resolve('examples/systemd');

  it('pass systemd-analyze verify without a warning, with the executable they run present', async () => {
    const units = (await readdir(dir)).filter((name) => /\.(service|timer)$/.test(name));
    expect(units.sort()).toEqual([
      'backup-action-backup.service',
      'backup-action-backup.timer',
      'backup-action-prune.service',
      'backup-action-prune.timer',
      'backup-action-verify.service',
      'backup-action-verify.timer',
    ]);
    const exe = await executable('x64');
    const copy = await mkdtemp(path.join(os.tmpdir(), 'units-'));
    try {
      // The units run the single executable where a release's install puts it: here, npm run sea's.
      for (const unit of units) {
        const text = await readFile(path.join(dir, unit), 'utf8');
        if (unit.endsWith('.service'))
          expect(text).toMatch(/^ExecStart=\/usr\/local\/bin\/backup-action /m);
        await writeFile(
          path.join(copy, unit),
          text.replaceAll('/usr/local/bin/backup-action ', `${exe} `),
        );
      }
      const { stdout, stderr } = await run(
        'systemd-analyze',
        ['verify', '--man=no', ...units.map((unit) => path.join(copy, unit))],
        { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'info' } },
      );
      // An unknown or misspelled directive is only a warning: none may appear.
      expect(`${stdout}${stderr}`.trim()).toBe('');
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }, 600_000);

  it('load every secret as a credential, read with --<input>-file, sandboxed, on a persistent jittered timer', async () => {
    for (const kind of ['backup', 'verify', 'prune']) {
      const service = await readFile(path.join(dir, `backup-action-${kind}.service`), 'utf8');
      const timer = await readFile(path.join(dir, `backup-action-${kind}.timer`), 'utf8');
      for (const line of [
        'DynamicUser=yes',
        'ProtectSystem=strict',
        'PrivateTmp=yes',
        'NoNewPrivileges=yes',
      ]) {
        expect(service.split('\n')).toContain(line);
      }
      const loaded = new Set([...service.matchAll(/^LoadCredential=([^:]+):/gm)].map((m) => m[1]));
      const args = service
        .replace(/\\\n/g, ' ')
        .split('\n')
        .filter((line) => line.startsWith('ExecStart='))
        .flatMap((line) => line.split(/\s+/));
      const files = fileInputs(args);
      expect(files.size).toBeGreaterThan(0);
      for (const file of files.values()) {
        const credential = /^\$\{CREDENTIALS_DIRECTORY\}\/(.+)$/.exec(file)?.[1];
        expect(loaded, `${file} is not a loaded credential`).toContain(credential);
      }
      expect(files.has('heartbeat-url'), `${kind} pings no heartbeat`).toBe(true);
      expect(timer).toMatch(/^Persistent=true$/m);
      expect(timer).toMatch(/^RandomizedDelaySec=\S+$/m);
    }
  });

  it('the backup copies each backup off-site right after it, the keys in the environment its URL names', async () => {
    const service = await readFile(path.join(dir, 'backup-action-backup.service'), 'utf8');
    const args = service.replace(/\\\n/g, ' ').replaceAll('"', '').split(/\s+/);
    // copy-to of the backup mode: the copy runs once the backup is published.
    expect(args[args.indexOf('ExecStart=/usr/local/bin/backup-action') + 1]).toBe('backup');
    const name = offsiteKeys(args);
    // The keys come from the EnvironmentFile, never from the command line.
    expect(service).toMatch(/^EnvironmentFile=/m);
    expect(service).toContain(`${name}_ACCESS_KEY_ID and ${name}_SECRET_ACCESS_KEY`);
  });
});

describe('Kubernetes manifests', () => {
  const dir = path.resolve('examples/kubernetes');
  const CRONJOBS = ['backup-cronjob.yaml', 'verify-cronjob.yaml', 'prune-cronjob.yaml'];
  const load = async (file: string) =>
    parseYaml(await readFile(path.join(dir, file), 'utf8')) as Record<string, unknown>;

  it('validate against the Kubernetes API schemas, and kustomization lists them all', async () => {
    const kustomization = (await load('kustomization.yaml')) as { resources: string[] };
    const manifests = (await readdir(dir)).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
    );
    expect(kustomization.resources.sort()).toEqual(manifests.sort());
    const models = { CronJob, Namespace, Secret } as const;
    for (const file of manifests) {
      const doc = await load(file);
      const Model = models[doc.kind as keyof typeof models];
      expect(Model, `${file}: ${String(doc.kind)}`).toBeDefined();
      expect(() => new Model(doc as never).validate(), file).not.toThrow();
    }
  });

  it('run one at a time, bounded, non-root on a read-only root with a writable /tmp, secrets as files', async () => {
    const secret = (await load('secret.yaml')) as { stringData: Record<string, string> };
    for (const file of CRONJOBS) {
      const job = new CronJob((await load(file)) as never);
      const spec = job.spec!;
      expect(spec.concurrencyPolicy).toBe('Forbid');
      expect(spec.startingDeadlineSeconds).toBeGreaterThan(0);
      expect(spec.successfulJobsHistoryLimit).toBeGreaterThan(0);
      expect(spec.failedJobsHistoryLimit).toBeGreaterThan(0);
      expect(spec.jobTemplate.spec?.activeDeadlineSeconds).toBeGreaterThan(0);
      const pod = spec.jobTemplate.spec!.template.spec!;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      const [main] = pod.containers;
      expect(main?.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(main?.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(main?.resources?.limits?.memory).toBeDefined();
      const tmp = main?.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
      expect(pod.volumes?.find((volume) => volume.name === tmp?.name)?.emptyDir).toBeDefined();
      const secrets = main?.volumeMounts?.find((mount) => mount.mountPath === '/secrets');
      expect(pod.volumes?.find((v) => v.name === secrets?.name)?.secret?.secretName).toBe(
        'backup-action',
      );
      const args = [...(main?.args ?? [])].flatMap((arg) => arg.split(/\s+/));
      const files = fileInputs(args);
      expect(files.size, file).toBeGreaterThan(0);
      for (const value of files.values()) {
        expect(Object.keys(secret.stringData)).toContain(value.replace(/^\/secrets\//, ''));
      }
      // No secret on a command line: database URLs with a password are files.
      expect(args.join(' ')).not.toMatch(/:\/\/[^@\s/]+:[^@\s]+@/);
    }
    const verify = new CronJob((await load('verify-cronjob.yaml')) as never);
    const pod = verify.spec!.jobTemplate.spec!.template.spec!;
    // The scratch server is a native sidecar: it starts first and stops when the job's container ends.
    const [sidecar] = pod.initContainers ?? [];
    expect(sidecar?.restartPolicy).toBe('Always');
    expect(sidecar?.image).toMatch(/^postgres:\d+$/);
    expect(pod.containers[0]?.args?.join(' ')).toMatch(
      /restore-test .*--database-url postgres:\/\/postgres@127\.0\.0\.1/,
    );
  });

  it('the backup copies each backup off-site right after it, the keys from the secret by the name its URL gives', async () => {
    const secret = (await load('secret.yaml')) as { stringData: Record<string, string> };
    const job = new CronJob((await load('backup-cronjob.yaml')) as never);
    const [main] = job.spec!.jobTemplate.spec!.template.spec!.containers;
    expect(main?.args?.[0]).toBe('backup');
    const name = offsiteKeys([...(main?.args ?? [])]);
    for (const variable of [`${name}_ACCESS_KEY_ID`, `${name}_SECRET_ACCESS_KEY`]) {
      const ref = main?.env?.find((e) => e.name === variable)?.valueFrom?.secretKeyRef;
      expect(ref?.name, variable).toBe('backup-action');
      expect(Object.keys(secret.stringData)).toContain(ref?.key);
    }
  });

  it("run the program the image holds, by its ENTRYPOINT's path: the image has no Node.js", async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const entrypoint = /^ENTRYPOINT \["([^"]+)"\]$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toBe('/usr/local/bin/backup-action');
    const modes = ['backup', 'verify-latest', 'restore-test', 'restore', 'retention-prune'];
    const programs: string[] = [];
    for (const file of CRONJOBS) {
      const [main] = new CronJob((await load(file)) as never).spec!.jobTemplate.spec!.template.spec!
        .containers;
      const args = main?.args ?? [];
      if (!main?.command) {
        // The image's ENTRYPOINT runs; the first argument is the mode.
        expect(modes, file).toContain(args[0]);
        programs.push(entrypoint!);
        continue;
      }
      expect(main.command, file).toEqual(['/bin/sh', '-c']);
      for (const command of args.join(' ').split('&&')) {
        const [program, mode] = command.trim().split(/\s+/);
        expect(program, file).toBe(entrypoint);
        expect(modes, file).toContain(mode);
        programs.push(program!);
      }
    }
    expect(programs).toHaveLength(4);
  });

  it('prune weekly with a key of their own that may delete, mounting no other secret', async () => {
    const prune = new CronJob((await load('prune-cronjob.yaml')) as never);
    const pod = prune.spec!.jobTemplate.spec!.template.spec!;
    const [main] = pod.containers;
    expect(main?.args?.[0]).toBe('retention-prune');
    expect(main?.args?.join(' ')).toMatch(/--keep-daily \d+ --keep-weekly \d+ --keep-monthly \d+/);
    const keys = (main?.env ?? []).flatMap((one) => one.valueFrom?.secretKeyRef?.key ?? []);
    expect(keys).toEqual(['prune-aws-access-key-id', 'prune-aws-secret-access-key']);
    const mounted = pod.volumes?.find((volume) => volume.secret)?.secret?.items ?? [];
    expect(mounted.map((item) => item.key)).toEqual(['prune-heartbeat-url']);
    // After the nightly backup (02:17) and verify (06:17) of the other CronJobs: Sunday 04:17.
    expect(prune.spec?.schedule).toBe('17 4 * * 0');
  });
});

/**
 * The first hashicorp/aws release where aws_iam_openid_connect_provider's `thumbprint_list` is
 * optional: hashicorp/terraform-provider-aws#37255 (".changelog/37255.txt", merged December 2024).
 */
const THUMBPRINT_OPTIONAL = [5, 81, 0];
/** The lowest version a `>=`, `~>` or `=` constraint allows, as [major, minor, patch]. */
function lowestAllowed(constraint: string): number[] {
  const m = /^\s*(>=|~>|=)?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(constraint);
  expect(m, constraint).not.toBeNull();
  return [Number(m![2]), Number(m![3] ?? 0), Number(m![4] ?? 0)];
}
const compareVersions = (a: number[], b: number[]) =>
  a.map((n, i) => n - b[i]!).find((d) => d !== 0) ?? 0;

describe('Terraform', () => {
  const dir = path.resolve('examples/terraform');
  const hcl = async (file: string) =>
    (await parseHcl(file, await readFile(path.join(dir, file), 'utf8'))) as Record<
      string,
      Record<string, Record<string, unknown[]>>
    >;

  it('parses, and makes the bucket the README describes', async () => {
    const main = await hcl('main.tf');
    for (const file of ['variables.tf', 'outputs.tf', 'versions.tf', 'copies.tf'])
      await expect(hcl(file)).resolves.toBeDefined();
    const resources = main.resource!;
    const text = JSON.stringify(resources);
    expect(JSON.stringify(resources.aws_s3_bucket_versioning)).toContain('"status":"Enabled"');
    const block = resources.aws_s3_bucket_public_access_block!.backups![0] as Record<
      string,
      unknown
    >;
    for (const setting of [
      'block_public_acls',
      'block_public_policy',
      'ignore_public_acls',
      'restrict_public_buckets',
    ]) {
      expect(block[setting]).toBe(true);
    }
    expect(resources.aws_s3_bucket_server_side_encryption_configuration).toBeDefined();
    expect(text).toContain('"days_after_initiation":1');
    expect(text).toContain('"transition"');
    expect(resources.aws_s3_bucket_object_lock_configuration).toBeDefined();
    // The trust is one repository and one branch or environment, never a wildcard.
    expect(JSON.stringify(main.data)).toContain(
      'repo:${var.github_repository}:${var.github_subject}',
    );
  });

  it('requires an AWS provider that accepts the OIDC provider without thumbprint_list', async () => {
    const providers = await hcl('main.tf').then(
      (m) => m.resource!.aws_iam_openid_connect_provider!,
    );
    const withoutThumbprints = Object.values(providers)
      .flat()
      .filter((p) => !('thumbprint_list' in (p as object)));
    expect(withoutThumbprints.length).toBeGreaterThan(0);
    const terraform = (await hcl('versions.tf')).terraform as unknown as {
      required_providers: { aws: { version: string } }[];
    }[];
    const constraint = terraform[0]!.required_providers[0]!.aws.version;
    expect(lowestAllowed(constraint)).toEqual(THUMBPRINT_OPTIONAL);
    // The near miss: what the example required before.
    expect(compareVersions(lowestAllowed('>= 5.0'), THUMBPRINT_OPTIONAL)).toBeLessThan(0);
    expect(compareVersions(lowestAllowed('~> 5.81'), THUMBPRINT_OPTIONAL)).toBe(0);
  });

  it('gives each role the JSON policy the IAM tests run the modes under', async () => {
    const main = await hcl('main.tf');
    const policy = JSON.stringify(main.resource!.aws_iam_policy);
    expect(policy).toContain(
      'templatefile(\\"${path.module}/../iam/${each.key}.json\\", local.policy_vars)',
    );
    const locals = main.locals as unknown as {
      roles: Record<string, string>;
      policy_vars: Record<string, string>;
    }[];
    const names = Object.keys(locals[0]?.roles ?? {}).sort();
    expect(names).toEqual(['copier', 'pruner', 'verifier', 'writer']);
    const given = Object.keys(locals[0]?.policy_vars ?? {});
    expect(given.sort()).toEqual(['bucket', 'copy_bucket', 'copy_prefix', 'prefix']);
    for (const role of names) {
      const text = await readFile(path.resolve('examples/iam', `${role}.json`), 'utf8');
      expect(() => JSON.parse(text) as unknown).not.toThrow();
      // templatefile() fails on a variable it is not given: only those of policy_vars exist.
      const variables = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
      for (const variable of variables) expect(given, role).toContain(variable);
    }
    // The copier's second bucket, its reads and writes there granted by the bucket too.
    const copies = await hcl('copies.tf');
    const bucketPolicy = JSON.stringify(copies.data);
    expect(bucketPolicy).toContain('"s3:PutObject","s3:AbortMultipartUpload"');
    expect(bucketPolicy).not.toMatch(/s3:Delete/);
  });
});

/** The Debian packages the Dockerfile installs, as its `apt-get install` names them. */
const DEBIAN_PACKAGES =
  /install -y --no-install-recommends ([a-z0-9 .+-]+);/
    .exec(await readFile('Dockerfile', 'utf8'))?.[1]
    ?.trim()
    .split(/\s+/) ?? [];

/** What apt's lists say of them, or why apt cannot say here (no apt, or no lists: apt-get update). */
const aptShown = await run('apt-cache', ['show', '--no-all-versions', ...DEBIAN_PACKAGES]).then(
  ({ stdout }) => ({ text: stdout, missing: undefined }),
  (error: Error) => ({
    text: '',
    missing: `apt-cache cannot check the Dockerfile's packages (apt-get update): ${error.message}`,
  }),
);

describe('Dockerfile', () => {
  const stages = async () =>
    (await readFile('Dockerfile', 'utf8')).split(/^(?=FROM )/m).filter((s) => s.startsWith('FROM'));

  it('runs the single executable of its platform as a non-root user, with no Node.js image', async () => {
    const text = await readFile('Dockerfile', 'utf8');
    expect(text).not.toMatch(/^FROM node/im);
    const [pick, final] = await stages();
    expect(pick).toMatch(/^FROM debian:bookworm-slim AS executable$/m);
    expect(final).toMatch(/^FROM debian:bookworm-slim$/m);
    // Docker's platform names to those of `npm run sea`, each checked against its .sha256.
    const arches = Object.fromEntries(
      [...(pick ?? '').matchAll(/^\s+(\w+)\) arch=(\w+) ;;/gm)].map((m) => [m[1], m[2]]),
    );
    expect(arches).toEqual({ amd64: 'x64', arm64: 'arm64' });
    expect(pick).toContain('sha256sum -c "backup-action-linux-$arch.sha256"');
    expect(pick).toContain('install -m 0755 "backup-action-linux-$arch" /backup-action');
    expect(final).toMatch(
      /^COPY --from=executable \/backup-action \/usr\/local\/bin\/backup-action$/m,
    );
    const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(final ?? '')?.[1] ?? '[]') as string[];
    expect(entrypoint).toEqual(['/usr/local/bin/backup-action']);
    const user = /^USER (\S+)$/m.exec(final ?? '')?.[1] ?? '';
    expect(user.split(':')[0]).toMatch(/^[1-9]\d*$/);
  });

  it('gets from the build context exactly what npm run sea writes, and nothing else', async () => {
    const dockerignore = ignore().add(await readFile('.dockerignore', 'utf8'));
    const exe = await executable('x64');
    const written = await readdir(path.dirname(exe));
    for (const file of written.filter((f) => !f.startsWith('.'))) {
      expect(dockerignore.ignores(`executables/${file}`), file).toBe(false);
    }
    expect(written).toEqual(
      expect.arrayContaining([
        'backup-action-linux-x64',
        'backup-action-linux-x64.sha256',
        'LICENSES.txt',
      ]),
    );
    for (const file of [
      'src/cli.ts',
      'dist/cli/index.js',
      'node_modules/x',
      'executables/.work/x.blob',
    ])
      expect(dockerignore.ignores(file), file).toBe(true);
    // Every COPY source from the context is let in.
    const copied = (await readFile('Dockerfile', 'utf8')).matchAll(/^COPY (?!--from)(\S+)/gm);
    for (const [, source = ''] of copied) expect(dockerignore.ignores(source), source).toBe(false);
  }, 600_000);

  it("installs Debian's packages by apt's names, and PostgreSQL's clients by their repository's", async () => {
    const text = await readFile('Dockerfile', 'utf8');
    expect(DEBIAN_PACKAGES).toEqual(expect.arrayContaining(['zstd', 'age', 'gnupg', 'libstdc++6']));
    const majors = /^ARG PG_MAJORS="([\d ]+)"$/m.exec(text)?.[1]?.split(' ').map(Number) ?? [];
    expect(majors.length).toBeGreaterThan(0);
    expect(text).toContain('"postgresql-client-$major"');
    expect(text).toMatch(/apt\.postgresql\.org\/pub\/repos\/apt \$\{VERSION_CODENAME\}-pgdg main/);
  });

  it.skipIf(requireInCI(aptShown.missing))(
    "installs Debian packages that exist in apt's lists",
    () => {
      const found = [...aptShown.text.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]);
      expect(found.sort()).toEqual([...DEBIAN_PACKAGES].sort());
    },
  );
});
