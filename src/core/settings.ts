/** The typed settings every mode runs from, built and validated by `inputs.ts`. */
import type { Compression, Encryption } from './layout.js';
import type { PublicSigningKey, SigningKey } from './ssh-keys.js';

export const MODES = [
  'backup',
  'verify-latest',
  'restore-test',
  'restore',
  'retention-prune',
  'copy',
  'notify',
  'status',
] as const;
export type Mode = (typeof MODES)[number];

/** Where backups live: a bucket and key prefix, or a local directory. */
export type StorageLocation =
  { kind: 's3'; bucket: string; prefix: string } | { kind: 'directory'; path: string };

/** Access keys a store URL names (`credentials=NAME`), read from `NAME_ACCESS_KEY_ID` and the like. */
export interface StoreKeys {
  /** NAME, for messages: the variables are `NAME_ACCESS_KEY_ID`, `NAME_SECRET_ACCESS_KEY`, `NAME_SESSION_TOKEN`. */
  from: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Settings {
  /** A custom endpoint for S3-compatible stores (R2, B2, MinIO, Ceph); unset for AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing; defaults to on when an endpoint is given, as S3-compatible stores need. */
  forcePathStyle?: boolean;
  /** How long a connection may take to open, or sit idle, before the request fails (and is retried). */
  timeoutMs?: number;
  storageClass?: string;
  sse?: string;
  sseKmsKeyId?: string;
  /** The store's own keys; unset: the AWS SDK's default chain (the environment, a role, a profile). */
  keys?: StoreKeys;
  /** An IAM role assumed (STS AssumeRole) with the store's keys, or the default chain's. */
  roleArn?: string;
}

/** One store: where it is and, for S3, how to reach it. A `storage` or `copy-to` line. */
export interface StoreSettings {
  location: StorageLocation;
  s3: S3Settings;
}

/** `retries` and `retry-delay`: a run that fails for a transient reason is run again, whole. */
export interface RetrySettings {
  /** Runs after the first, at most. */
  retries: number;
  /** The wait before the first retry; each later one waits twice as long as the one before. */
  delayMs: number;
}

export interface NotifySettings {
  on: 'failure' | 'always' | 'never';
  slackWebhookUrl?: string;
  webhookUrl?: string;
  heartbeatUrl?: string;
  githubToken?: string;
  failureIssue: boolean;
  metrics: MetricsSettings;
}

/** `metrics-file` and `pushgateway-url`: where every run's metrics go, whatever notify-on says. */
export interface MetricsSettings {
  /** For node_exporter's textfile collector: an absolute path ending in `.prom`. */
  file?: string;
  /** A Pushgateway's base URL, credentials (if any) still in it: a secret. */
  pushgatewayUrl?: string;
}

/**
 * A PostgreSQL connection, parsed once from `database-url`: the pg driver and every program get
 * exactly these parts, so the database they reach is the one the guards checked.
 */
export interface DatabaseTarget {
  /** A host name, an address, or a Unix socket folder. */
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** libpq parameters that cannot change where the connection goes (TLS, timeouts). */
  params: Record<string, string>;
  /** A URL with the password replaced, safe for logs. */
  display: string;
}

/** age's keys: public-key recipients, or a passphrase. */
export interface AgeKeys {
  recipients: string[];
  passphrase?: string;
  /**
   * The recipients are a backup's own identity's, a secret: whoever holds one can seal objects that
   * pass for the passphrase holder's, so it never leaves the process (no program's arguments).
   */
  secret?: true;
}

/** OpenPGP public keys, which the gpg program encrypts to. */
export interface GpgKeys {
  /** The keys, armored (as `gpg --armor --export` writes them). */
  publicKeys: string;
  /** The fingerprint of each key: the backup is encrypted to every one. */
  recipients: string[];
}

/** How a backup is encrypted: with age, or with gpg. */
export type EncryptionKeys = ({ method: 'age' } & AgeKeys) | ({ method: 'gpg' } & GpgKeys);

/** The encryption layer a backup with these keys goes through. */
export function encryptionOf(keys: EncryptionKeys | undefined): Encryption {
  return keys?.method ?? 'none';
}

/**
 * A Redis server, parsed once from `redis-url`: redis-cli and the client get exactly these parts.
 * The password reaches redis-cli through its environment (REDISCLI_AUTH), never its arguments.
 */
export interface RedisTarget {
  host: string;
  port: number;
  /** An ACL user (Redis 6 and later); the `default` user when unset. */
  user?: string;
  password?: string;
  /** `rediss://`: TLS, with redis-cli's own options as the URL's parameters. */
  tls?: RedisTls;
  /** A URL with the password replaced, safe for logs. */
  display: string;
}

/** `rediss://…?cacert=…&cert=…&key=…&sni=…&insecure=true`, named as redis-cli names them. */
export interface RedisTls {
  cacert?: string;
  cert?: string;
  key?: string;
  sni?: string;
  /** Skip the server certificate's verification (a self-signed test server). */
  insecure: boolean;
}

/** How to open encrypted backups: age identities (private keys) or the passphrase, and gpg's. */
export interface Decryption {
  identities: string[];
  passphrase?: string;
  gpg?: GpgSecrets;
}

/**
 * `gpg-private-key` and `gpg-passphrase`: OpenPGP secret keys (armored) and the passphrase that
 * unlocks them, or the passphrase alone for a file made with `gpg --symmetric`.
 */
export interface GpgSecrets {
  privateKeys?: string;
  passphrase?: string;
}

/** The PostgreSQL client: `postgres-client`, `pg-bin-dir` and `pg-client-mirror`. */
export interface ClientSettings {
  /** `auto`: the local client when new enough, else install; `system`: never install; N: exactly major N. */
  choice: 'auto' | 'system' | number;
  /** A folder holding pg_dump/pg_restore to use instead of the ones on PATH. */
  pgBinDir?: string;
  /** The apt repository a client is installed from. */
  mirror: string;
}

export interface CommonSettings {
  /** The primary store: `storage`'s first line. */
  storage: StorageLocation;
  /** The backup set: one path segment of [a-z0-9._-]. */
  name: string;
  s3: S3Settings;
  /**
   * The stores on `storage`'s later lines, in order: copies a mode may read instead (verify-latest
   * checks each, restore and restore-test fall back on them). Empty in every other mode.
   */
  otherStores: StoreSettings[];
  retry: RetrySettings;
  notify: NotifySettings;
  /** Which pg_dump/pg_restore to run, and where to install one from. */
  client: ClientSettings;
  /** Every secret value found in the inputs, for the edge to mask. */
  secrets: string[];
}

/** What the modes that read backups share: the keys a backup must be signed by. */
export interface SignedReads {
  /** `signing-public-key`: a backup must be signed by one of these; empty: signatures are not checked. */
  signingPublicKeys: PublicSigningKey[];
}

/** What every backup shares, whatever its source: the layers its bytes go through. */
interface BackupBase extends CommonSettings {
  mode: 'backup';
  compression: Compression;
  compressionLevel?: number;
  /** Set when the backup is encrypted (the layer is `encryptionOf` these keys). */
  encryptionKeys?: EncryptionKeys;
  /** `copy-to`: the stores the backup is copied to once published. */
  copyTo: StoreSettings[];
  /** `copy-best-effort`: a copy that fails is a warning, not a failed run. */
  copyBestEffort: boolean;
  copyCheck: CopyCheck;
  /** `signing-key`: the backup's manifest is signed with it. */
  signingKey?: SigningKey;
}

/**
 * How a copy decides that a backup already at a destination is complete and equal: `listing`
 * from the destination's listing alone (every object at its recorded size, none written after its
 * manifest), which write-only credentials allow; `sha256` also reads every byte there back.
 */
export type CopyCheck = 'listing' | 'sha256';

/** The `copy` mode: complete backups from `storage` to each store of `copy-to`, byte for byte. */
export interface CopySettings extends CommonSettings, SignedReads {
  mode: 'copy';
  copyTo: StoreSettings[];
  /** `copy-last`: the newest N complete backups; unset: every one. */
  last?: number;
  copyCheck: CopyCheck;
}

/** How pg_dump is run, for a database or for each database of a server. */
export interface DumpSettings {
  /** Extra pg_dump arguments, one per line of the input, passed as separate arguments. */
  pgDumpArgs: string[];
  rowCounts: 'exact' | 'estimate' | 'off';
}

/** `source: postgres` without `databases`: the database of `database-url`. */
export interface DatabaseBackupSettings extends BackupBase, DumpSettings {
  kind: 'database';
  database: DatabaseTarget;
}

/** `databases`: the server of `database-url` (or a chosen part of it) as one backup. */
export interface ServerBackupSettings extends BackupBase, DumpSettings {
  kind: 'server';
  /** The connection the server is reached through. */
  database: DatabaseTarget;
  server: ServerSelection;
}

/** `source: files`: the tree of `paths`. */
export interface FilesBackupSettings extends BackupBase {
  kind: 'files';
  files: FilesSelection;
}

/** `source: redis`: every logical database of the Redis of `redis-url`, as one RDB snapshot. */
export interface RedisBackupSettings extends BackupBase {
  kind: 'redis';
  redis: RedisTarget;
}

/** A backup, by the kind of its source: each kind's module (src/kinds/) takes its own member. */
export type BackupSettings =
  DatabaseBackupSettings | ServerBackupSettings | FilesBackupSettings | RedisBackupSettings;

/** The source kinds: one module each under src/kinds/. */
export type KindName = BackupSettings['kind'];

/** `paths`, `exclude`, `exclude-from` and `skip-unreadable`. */
export interface FilesSelection {
  paths: string[];
  exclude: string[];
  excludeFrom?: string;
  /** Archive names are relative to this folder (the working directory). */
  cwd: string;
  /** List unreadable files and go on, instead of failing the run. */
  skipUnreadable: boolean;
}

/** `databases`, `exclude-databases`, `globals` and `jobs` of a server backup. */
export interface ServerSelection {
  /** `all`: every database that accepts connections but template0 and template1; or names and globs. */
  databases: 'all' | string[];
  /** Names and globs taken out of the selection. */
  exclude: string[];
  /** `auto` falls back to no role passwords where the server hides them; `true` fails there. */
  globals: 'auto' | 'true' | 'false';
  /** Databases dumped at once. */
  jobs: number;
}

export interface VerifySettings extends CommonSettings, SignedReads {
  mode: 'verify-latest';
  maxAgeMs: number;
  minSize?: number;
  /** The largest accepted drop in size against the previous backup, as a fraction (0.5 = 50%). */
  maxShrink: number;
  /** A database the previous server backup held and the newest does not: a warning, not a failure. */
  allowMissingDatabases: boolean;
  deep: boolean;
  decryption: Decryption;
}

/** What verify-latest holds a backup to against the previous one. */
export type VerifyLimits = Pick<VerifySettings, 'maxShrink' | 'allowMissingDatabases'>;

/** A user check after a restore: a table's row count against a bound, or a boolean SQL query. */
export type Check =
  | {
      kind: 'count';
      text: string;
      table: string;
      operator: '>=' | '>' | '=' | '<=' | '<';
      value: number;
    }
  | { kind: 'sql'; text: string; sql: string };

/** A check of a server backup names its database (`crm: public.contacts >= 100`). */
export type ServerCheck = Check & { database?: string };

/** A Redis key that must exist after the restore (`db0: exists user:1`). */
export interface KeyCheck {
  kind: 'exists';
  text: string;
  key: string;
  database?: string;
}

/** Any check the `checks` input takes; each kind runs the forms it knows and refuses the others. */
export type AnyCheck = ServerCheck | KeyCheck;

/**
 * The restore-test inputs that only some kinds use: which of them a run was given is known before
 * the manifest is read, and the backup's kind refuses any it does not use (kinds/accepts.ts).
 */
export const KIND_TEST_INPUTS = [
  'database-url',
  'pg-bin-dir',
  'postgres-client',
  'pg-client-mirror',
  'jobs',
  'keep-database',
  'restore-database-settings',
  'restore-globals',
  'allow-privileged-roles',
  'databases',
] as const;

export type KindTestInput = (typeof KIND_TEST_INPUTS)[number];

/** The inputs a PostgreSQL restore-test uses, of those only some kinds use. */
export const POSTGRES_TEST_INPUTS: readonly KindTestInput[] = KIND_TEST_INPUTS.filter(
  (name) => name !== 'databases',
);

export interface RestoreTestSettings extends CommonSettings, SignedReads {
  mode: 'restore-test';
  /**
   * The scratch server; its database is used only to create and drop the scratch database.
   * Optional: a files backup needs none, and the kind is known only once the manifest is read.
   */
  database?: DatabaseTarget;
  backupId: string;
  checks: AnyCheck[];
  jobs: number;
  keepDatabase: boolean;
  /** A server backup: apply its globals first, and drop the roles made once done. */
  restoreGlobals: boolean;
  /** With restoreGlobals: create SUPERUSER, REPLICATION, BYPASSRLS roles and memberships in roles the server had. */
  allowPrivilegedRoles: boolean;
  /** Apply the archive's database-level settings and comment (`restore-database-settings`). */
  databaseSettings: boolean;
  /** A server backup: which of its databases to test (names and globs; empty = all). */
  databases: string[];
  /** Those of KIND_TEST_INPUTS given a value of their own. */
  kindInputs: KindTestInput[];
  /**
   * Those of kindInputs whose value came only from the environment every service of a host shares
   * (BACKUP_ACTION_<INPUT>): one the backup's kind does not use is a warning, never a refusal.
   */
  sharedKindInputs: KindTestInput[];
  decryption: Decryption;
}

/** What every restore shares, whatever it restores into. */
interface RestoreBase extends CommonSettings, SignedReads {
  mode: 'restore';
  backupId: string;
  confirm: string;
  clean: boolean;
  decryption: Decryption;
}

/** `database-url`: a database backup into that database, a server backup onto that server. */
export interface DatabaseRestoreSettings extends RestoreBase {
  into: 'database';
  database: DatabaseTarget;
  jobs: number;
  /** A server backup: which of its databases to restore (names and globs; empty = all). */
  databases: string[];
  /** A server backup: the database each is restored into, when not one of the same name. */
  targetDatabases: Record<string, string>;
  /** A server backup: apply its roles first (roles that exist are left as they are). */
  restoreGlobals: boolean;
  /** With restoreGlobals: create SUPERUSER, REPLICATION, BYPASSRLS roles and memberships in roles the server had. */
  allowPrivilegedRoles: boolean;
  /** Apply the archive's database-level settings and comment (`restore-database-settings`). */
  databaseSettings: boolean;
}

/** `target-path`: a files backup into that folder. */
export interface PathRestoreSettings extends RestoreBase {
  into: 'path';
  targetPath: string;
}

/** `redis-url`: a Redis backup into that Redis. */
export interface RedisRestoreSettings extends RestoreBase {
  into: 'redis';
  redis: RedisTarget;
}

/** A restore, by what the inputs restore into; the backup's kind says which it needs. */
export type RestoreSettings = DatabaseRestoreSettings | PathRestoreSettings | RedisRestoreSettings;

/** What a restore goes into: each kind names the one it takes (src/kinds/kind.ts). */
export type RestoreInto = RestoreSettings['into'];

export interface PruneSettings extends CommonSettings {
  mode: 'retention-prune';
  policy: KeepPolicy;
  timeZone: string;
  dryRun: boolean;
  orphanGraceMs: number;
}

/** The `notify` mode: reports a result decided outside the action (a workflow's last job). */
export interface NotifyModeSettings {
  mode: 'notify';
  name: string;
  notify: NotifySettings;
  /** `healed`: the run failed, was mended (a fresh backup verified), and ends well, with a notice. */
  result: 'success' | 'healed' | 'failure' | 'cancelled';
  message?: string;
  secrets: string[];
}

/** The `status` mode: one set, every set of a store, or the sets of status reports (the fleet). */
export interface StatusSettings {
  mode: 'status';
  /** The set; '' for every set the source holds. */
  name: string;
  source: StatusSource;
  /** A newest backup older than this needs attention. */
  maxAgeMs: number;
  /** What retention-prune would do next, when keep-* inputs are given. */
  retention?: { policy: KeepPolicy; timeZone: string };
  /** The result of the runs this status follows (a nightly chain), decided outside the action. */
  outcome?: { result: 'success' | 'failure' | 'cancelled'; message?: string };
  notify: NotifySettings;
  secrets: string[];
}

/** Where `status` looks: a store, or a folder of the status reports of earlier runs. */
export type StatusSource =
  | { kind: 'store'; storage: StorageLocation; s3: S3Settings }
  | { kind: 'reports'; folder: string; sets: string[] }
  | { kind: 'sets'; sets: FleetSet[] };

/** One set of fleet.yml's `sets`, checked: each field as nightly.yml takes it. */
export type FleetSet = { name: string; storage: string } & Record<
  string,
  string | number | boolean | Record<string, string>
>;

export type Settings =
  | NotifyModeSettings
  | StatusSettings
  | BackupSettings
  | VerifySettings
  | RestoreTestSettings
  | RestoreSettings
  | PruneSettings
  | CopySettings;

/** Which backups `retention-prune` keeps; retention/policy.ts applies it. */
export interface KeepPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** milliseconds; keeps every backup created within this span before the NEWEST backup (restic's keep-within semantics) */
  withinMs?: number;
}
