/** Every input the action declares (action.yml); the command line accepts exactly these. */
export const INPUT_NAMES = [
  'mode',
  'storage',
  'name',
  's3-endpoint',
  's3-region',
  's3-force-path-style',
  's3-timeout',
  's3-storage-class',
  's3-sse',
  's3-sse-kms-key-id',
  'source',
  'database-url',
  'pg-dump-args',
  'pg-bin-dir',
  'postgres-client',
  'pg-client-mirror',
  'paths',
  'exclude',
  'exclude-from',
  'skip-unreadable',
  'redis-url',
  'compression',
  'compression-level',
  'age-recipients',
  'encryption-passphrase',
  'gpg-recipients',
  'row-counts',
  'databases',
  'exclude-databases',
  'globals',
  'max-age',
  'min-size',
  'max-shrink',
  'deep',
  'age-identity',
  'gpg-private-key',
  'gpg-passphrase',
  'backup-id',
  'checks',
  'checks-file',
  'jobs',
  'keep-database',
  'confirm',
  'clean',
  'restore-database-settings',
  'target-path',
  'target-database',
  'restore-globals',
  'keep-last',
  'keep-hourly',
  'keep-daily',
  'keep-weekly',
  'keep-monthly',
  'keep-yearly',
  'keep-within',
  'timezone',
  'dry-run',
  'orphan-grace',
  'result',
  'message',
  'status-reports',
  'sets',
  'notify-on',
  'slack-webhook-url',
  'webhook-url',
  'heartbeat-url',
  'github-token',
  'failure-issue',
  'metrics-file',
  'pushgateway-url',
] as const;

export type InputName = (typeof INPUT_NAMES)[number];

/**
 * Inputs that stand alone on the command line (`--dry-run` means true): the true/false ones. Any
 * other needs a value, so that `--storage --name x` is not read as a store named "true".
 */
export const FLAG_INPUTS: ReadonlySet<string> = new Set<InputName>([
  'clean',
  'deep',
  'dry-run',
  'failure-issue',
  'keep-database',
  'restore-database-settings',
  'restore-globals',
  's3-force-path-style',
  'skip-unreadable',
]);

/**
 * action.yml's defaults. The runner sets INPUT_<name> to its default for every input that has one,
 * so a value equal to it says nothing about what the workflow gave. test/action-yml.test.ts keeps
 * this in step with action.yml.
 */
export const INPUT_DEFAULTS: Readonly<Partial<Record<InputName, string>>> = {
  mode: 'backup',
  's3-timeout': '60s',
  source: 'postgres',
  'postgres-client': 'auto',
  'pg-client-mirror': 'https://apt.postgresql.org/pub/repos/apt',
  'skip-unreadable': 'false',
  compression: 'zstd',
  'row-counts': 'exact',
  globals: 'auto',
  'max-age': '26h',
  'max-shrink': '50%',
  deep: 'true',
  'backup-id': 'latest',
  'keep-database': 'false',
  clean: 'false',
  'restore-globals': 'false',
  'restore-database-settings': 'true',
  timezone: 'UTC',
  'dry-run': 'false',
  'orphan-grace': '24h',
  'notify-on': 'failure',
  'github-token': '${{ github.token }}',
  'failure-issue': 'false',
};

/** Whether an input's value says something: not empty, and not the default the runner fills in. */
export function isGiven(name: InputName, value: string): boolean {
  const text = value.trim();
  return text !== '' && text !== INPUT_DEFAULTS[name];
}
