// `npm run bench`: times this product's backups and restore-tests against pg_dump itself and the
// usual script, on a throwaway cluster and s3rver (the program is in ./bench/, see main.ts).
//
//   npm run bench                                   default: a 300 MB database, 3 rounds
//   npm run bench -- --size-mb 50 --rounds 3        a quick run
//   npm run bench -- --startup                      the single executable's start against the
//                                                   bundle's (--executable PATH, --rounds N: 15)
//   npm run bench -- --copy                         the copy mode against a bare GetObject →
//                                                   PutObject stream (--object-mb N: 1024, --rounds N: 3)
//   npm run bench -- --servers                      restore-test of a server backup of many small
//                                                   databases, jobs 1 against jobs 2 (--databases N: 100)
//   npm run bench -- --levels                       zstd -1 to -5 and --adapt against peers'
//                                                   pg_dump -Fc on three databases (--size-mb N each;
//                                                   --regression FILE adds PostgreSQL's regression
//                                                   database, from scripts/regression-db.sh)
//   npm run bench -- --restore                      restore and restore-test against pg_restore
//                                                   --jobs 2 of the same archive, on PostgreSQL 15
//                                                   and 18, the bench's database and a schema-heavy one
//   options: --cli PATH (another bundle, e.g. /tmp/bench-cli/index.js), --backups N (20000),
//            --skip-requests, --skip-double, --docs (write the tables into docs/benchmarks.md;
//            --readme is the same), --render (print, and with --docs write, the tables of the
//            last results again)
//
// No shell anywhere: every program is spawned with an argument list; the password travels in
// PGPASSWORD / BACKUP_ACTION_DATABASE_URL, never on a command line.
//
// This entry stays JavaScript so that an older Node says what it lacks instead of failing on the
// TypeScript it cannot run.
if (!process.features.typescript) {
  throw new Error(
    `bench: needs Node 22.18+ to run TypeScript (and zstd); this is ${process.version}: use npm run bench`,
  );
}
await import('./bench/main.ts');
