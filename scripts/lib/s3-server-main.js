// Runs s3rver in its own process (started by s3-server.js). s3rver signs listing continuation
// tokens with DES, which OpenSSL 3 offers only through its legacy provider: this process gets
// --openssl-legacy-provider, the tests' own processes do not.
// Usage: node --openssl-legacy-provider s3-server-main.js <dir> [bucket ...]
// S3RVER_KEYS=<id>:<secret> in its environment: those keys, and not s3rver's own, are accepted.
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

const [dir, ...buckets] = process.argv.slice(2);
const keys = process.env.S3RVER_KEYS;
if (keys) {
  const [id, secret] = keys.split(':');
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(id, secret);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0, // the OS picks a free port: no race between choosing and binding
  silent: true,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = async () => {
  const closed = server.close();
  // The SDK keeps connections alive; close() alone would wait for them.
  server.httpServer.closeAllConnections();
  await closed;
  process.exit(0);
};
process.on('SIGTERM', stop);
// The parent's end of stdin closes when the parent dies: never outlive it.
process.stdin.on('close', stop);
process.stdin.resume();
