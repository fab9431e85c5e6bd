/**
 * Bad inputs, each with the input its one-line error must name: checked by the input reader's
 * unit tests and, through the real action, by the fault suite (which also checks that the store
 * received no request).
 */
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
/** A real-shaped age identity (not a key anyone uses): refused wherever a public key belongs. */
export const IDENTITY =
  'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX';
export const DB = 'postgresql://app:pa%3Ass@db.example.com:5432/Shop_Main';
const NOT_A_KEY =
  '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----';

const base = { storage: '/b', 'database-url': DB };
export const BAD_INPUTS: [string, Record<string, string>, string][] = [
  ['unknown mode', { ...base, mode: 'backups' }, 'mode'],
  [
    'a Redis URL that selects one database',
    { storage: '/b', source: 'redis', 'redis-url': 'redis://cache:6379/2' },
    'redis-url',
  ],
  [
    'a Redis restore confirmed with another address',
    { storage: '/b', mode: 'restore', 'redis-url': 'redis://cache:6379', confirm: 'cache' },
    'confirm',
  ],
  [
    'a database pattern with a range out of order',
    { ...base, databases: 'shop\n[z-a]*' },
    'databases',
  ],
  [
    'an excluded pattern with a range out of order',
    { ...base, databases: 'all', 'exclude-databases': '[9-0]' },
    'exclude-databases',
  ],
  [
    'a restore pattern with a range out of order',
    { ...base, mode: 'restore', confirm: 'Shop_Main', databases: '[z-a]' },
    'databases',
  ],
  ...(['databases', 'target-database', 'restore-globals'] as const).map(
    (input): [string, Record<string, string>, string] => [
      `${input} with target-path (a files backup has no databases)`,
      {
        storage: '/b',
        mode: 'restore',
        name: 'site',
        'target-path': '/srv/site',
        confirm: '/srv/site',
        [input]: input === 'restore-globals' ? 'true' : 'shop',
      },
      input,
    ],
  ),
  ['unknown compression', { ...base, compression: 'lz4' }, 'compression'],
  ['compression level out of range', { ...base, 'compression-level': '25' }, 'compression-level'],
  ['non-numeric level', { ...base, 'compression-level': 'max' }, 'compression-level'],
  ['missing storage', { 'database-url': DB }, 'storage'],
  ['unsupported storage scheme', { ...base, storage: 'gs://bucket/x' }, 'storage'],
  ['relative file URL', { ...base, storage: 'file://relative/path' }, 'storage'],
  ['file URL of the filesystem root', { ...base, storage: 'file:///' }, 'storage'],
  ['file URL of the root, spelled with ..', { ...base, storage: 'file:///tmp/..' }, 'storage'],
  ['the filesystem root as a path', { ...base, storage: '/' }, 'storage'],
  ['file URL with a NUL byte', { ...base, storage: 'file:///a%00b' }, 'storage'],
  ['file URL with a malformed escape', { ...base, storage: 'file:///a%zzb' }, 'storage'],
  ['file URL with a query', { ...base, storage: 'file:///backups?x=1' }, 'storage'],
  ['bad bucket name', { ...base, storage: 's3://B!/x' }, 'storage'],
  ['dot-dot in prefix', { ...base, storage: 's3://bucket/../x' }, 'storage'],
  ['name with a slash', { ...base, name: 'a/b' }, 'name'],
  ['name dot-dot', { ...base, name: '..' }, 'name'],
  ['name with upper case', { ...base, name: 'Shop' }, 'name'],
  ['malformed database URL', { ...base, 'database-url': 'not a url' }, 'database-url'],
  [
    'database URL with another scheme',
    { ...base, 'database-url': 'mysql://u:p@h/db' },
    'database-url',
  ],
  [
    'database URL with no database',
    { ...base, 'database-url': 'postgres://u:p@h:5432' },
    'database-url',
  ],
  ['missing database URL', { storage: '/b' }, 'database-url'],
  ['bad age recipient', { ...base, 'age-recipients': 'age1notakey' }, 'age-recipients'],
  [
    'recipients and passphrase',
    { ...base, 'age-recipients': RECIPIENT, 'encryption-passphrase': 'x' },
    'encryption-passphrase',
  ],
  [
    'gpg recipients with age recipients',
    { ...base, 'gpg-recipients': NOT_A_KEY, 'age-recipients': RECIPIENT },
    'gpg-recipients',
  ],
  ['gpg recipients that hold no key', { ...base, 'gpg-recipients': NOT_A_KEY }, 'gpg-recipients'],
  [
    'a gpg recipients file that does not exist',
    { ...base, 'gpg-recipients': '/nonexistent/backup-keys.asc' },
    'gpg-recipients',
  ],
  [
    'a gpg private key that is not armored',
    { ...base, mode: 'verify-latest', name: 'x', 'gpg-private-key': 'not a key at all' },
    'gpg-private-key',
  ],
  [
    "age's passphrase with gpg's",
    {
      ...base,
      mode: 'verify-latest',
      name: 'x',
      'gpg-passphrase': 'gpg-side',
      'encryption-passphrase': 'age-side',
    },
    'encryption-passphrase',
  ],
  ['unknown row-counts', { ...base, 'row-counts': 'some' }, 'row-counts'],
  ['pg-dump-args taking the output', { ...base, 'pg-dump-args': '--file=/tmp/x' }, 'pg-dump-args'],
  ['bad s3 endpoint', { ...base, 's3-endpoint': 'minio:9000' }, 's3-endpoint'],
  ['unknown postgres-client', { ...base, 'postgres-client': 'latest' }, 'postgres-client'],
  ['postgres-client too old', { ...base, 'postgres-client': '9' }, 'postgres-client'],
  ['bad pg-client-mirror', { ...base, 'pg-client-mirror': 'apt.example.com' }, 'pg-client-mirror'],
  ['bad s3-sse', { ...base, 's3-sse': 'kms' }, 's3-sse'],
  ['bad boolean', { ...base, 's3-force-path-style': 'maybe' }, 's3-force-path-style'],
  ['bad notify-on', { ...base, 'notify-on': 'sometimes' }, 'notify-on'],
  ['bad webhook URL', { ...base, 'webhook-url': 'hooks.example.com/x' }, 'webhook-url'],
  ['failure-issue without a token', { ...base, 'failure-issue': 'true' }, 'failure-issue'],
  ['bad max-age', { ...base, mode: 'verify-latest', name: 'x', 'max-age': '26 hours' }, 'max-age'],
  [
    'bad max-shrink',
    { ...base, mode: 'verify-latest', name: 'x', 'max-shrink': '150%' },
    'max-shrink',
  ],
  ['bad min-size', { ...base, mode: 'verify-latest', name: 'x', 'min-size': 'big' }, 'min-size'],
  [
    'bad age identity',
    { ...base, mode: 'verify-latest', name: 'x', 'age-identity': 'AGE-SECRET-KEY-1NOPE' },
    'age-identity',
  ],
  [
    'bad backup id',
    { ...base, mode: 'restore-test', name: 'x', 'backup-id': 'yesterday' },
    'backup-id',
  ],
  [
    'check in neither form',
    { ...base, mode: 'restore-test', name: 'x', checks: 'orders should be big' },
    'checks',
  ],
  ['zero jobs', { ...base, mode: 'restore-test', name: 'x', jobs: '0' }, 'jobs'],
  ['restore without confirm', { ...base, mode: 'restore' }, 'confirm'],
  [
    'negative keep count',
    { ...base, mode: 'retention-prune', name: 'x', 'keep-daily': '-1' },
    'keep-daily',
  ],
  [
    'non-numeric keep count',
    { ...base, mode: 'retention-prune', name: 'x', 'keep-last': 'ten' },
    'keep-last',
  ],
  ['policy with no rule', { ...base, mode: 'retention-prune', name: 'x' }, 'keep-last'],
  [
    'bad keep-within',
    { ...base, mode: 'retention-prune', name: 'x', 'keep-within': '7 days' },
    'keep-within',
  ],
  [
    'bad timezone',
    { ...base, mode: 'retention-prune', name: 'x', 'keep-last': '3', timezone: 'Mars/Olympus' },
    'timezone',
  ],
  // A folder store of their own: a test may point storage /b at its S3 server.
  ['copy-to the source itself', { ...base, storage: '/d', 'copy-to': '/d' }, 'copy-to'],
  [
    'copy-to a folder inside the source',
    { ...base, storage: '/d', 'copy-to': '/d/offsite' },
    'copy-to',
  ],
  [
    'copy-to a store that holds the source',
    { ...base, storage: '/b/x', 'copy-to': '/b' },
    'copy-to',
  ],
  [
    'copy-to the same AWS bucket and prefix, another region',
    { ...base, storage: 's3://bkt/db', 'copy-to': 's3://bkt/db/?region=eu-west-1' },
    'copy-to',
  ],
  [
    'copy-to inside the source bucket prefix',
    { ...base, mode: 'copy', name: 'x', storage: 's3://bkt/db', 'copy-to': 's3://bkt/db/off' },
    'copy-to',
  ],
  [
    'copy-to in a mode that makes no copies',
    { ...base, mode: 'verify-latest', name: 'x', 'copy-to': '/c' },
    'copy-to',
  ],
  ['copy without copy-to', { storage: '/b', mode: 'copy', name: 'x' }, 'copy-to'],
  ['two copy-to lines that are one store', { ...base, 'copy-to': '/c\n/c/' }, 'copy-to'],
  ['copy-last with backup', { ...base, 'copy-to': '/c', 'copy-last': '2' }, 'copy-last'],
  [
    'bad copy-last',
    { storage: '/b', mode: 'copy', name: 'x', 'copy-to': '/c', 'copy-last': '0' },
    'copy-last',
  ],
  ['bad copy-check', { ...base, 'copy-to': '/c', 'copy-check': 'md5' }, 'copy-check'],
  [
    'bad copy-best-effort',
    { ...base, 'copy-to': '/c', 'copy-best-effort': 'maybe' },
    'copy-best-effort',
  ],
  ['several stores for a backup', { ...base, storage: '/b\n/c' }, 'storage'],
  [
    'an unknown store URL parameter (a key pasted in)',
    { ...base, storage: 's3://bkt/db?secret-access-key=wJalrXUtnFEMIK7MDENG' },
    'storage',
  ],
  ['keys in an s3 URL', { ...base, storage: 's3://AKIAX:wJalrXUtnFEMIK7@bkt/db' }, 'storage'],
  [
    'keys in a store endpoint',
    { ...base, 'copy-to': 's3://bkt2/db?endpoint=https://AKIAX:wJalrXUt@r2.example.com' },
    'copy-to',
  ],
  [
    'credentials named but not in the environment',
    { ...base, 'copy-to': 's3://bkt2/db?credentials=BACKUP_ACTION_TEST_NOT_SET' },
    'copy-to',
  ],
  [
    'a bad storage-class on a copy-to line',
    { ...base, 'copy-to': 's3://bkt2/db?storage-class=cold' },
    'copy-to',
  ],
  ['a bad role ARN', { ...base, 'copy-to': 's3://bkt2/db?role-arn=copier' }, 'copy-to'],
  ['negative retries', { ...base, retries: '-1' }, 'retries'],
  ['bad retry-delay', { ...base, 'retry-delay': 'a while' }, 'retry-delay'],
  // 25 days overflow Node's timer, which then fires at once: refused, as is anything above 6h.
  ['a retry-delay of 25 days', { ...base, 'retry-delay': '25d' }, 'retry-delay'],
  ['a retry-delay just above 6h', { ...base, 'retry-delay': '6h1s' }, 'retry-delay'],
  [
    'bad orphan-grace',
    { ...base, mode: 'retention-prune', name: 'x', 'keep-last': '3', 'orphan-grace': 'soon' },
    'orphan-grace',
  ],
  // Given to a backup, a key that only decrypts would leave the backup in plaintext.
  ...(
    [
      ['age-identity', IDENTITY],
      ['gpg-private-key', '-----BEGIN PGP PRIVATE KEY BLOCK-----'],
      ['gpg-passphrase', 'gpg-side'],
    ] as const
  ).map(([input, value]): [string, Record<string, string>, string] => [
    `${input} given to a backup that nothing encrypts`,
    { ...base, [input]: value },
    input,
  ]),
  ['a private key as an age recipient', { ...base, 'age-recipients': IDENTITY }, 'age-recipients'],
  [
    'a private key, lower-cased, among recipients',
    { ...base, 'age-recipients': `${RECIPIENT}\n${IDENTITY.toLowerCase()}` },
    'age-recipients',
  ],
  ['paths with source postgres', { ...base, paths: '/srv/site' }, 'paths'],
  [
    'paths with source redis',
    { storage: '/b', source: 'redis', 'redis-url': 'redis://cache:6379', paths: '/srv' },
    'paths',
  ],
  [
    'target-path together with database-url',
    { ...base, mode: 'restore', 'target-path': '/srv/site', confirm: '/srv/site' },
    'target-path',
  ],
  [
    'an exclude-from file that does not exist',
    { storage: '/b', source: 'files', paths: '/srv', 'exclude-from': '/nonexistent/excludes' },
    'exclude-from',
  ],
];
