/**
 * A Redis server's snapshot as a backup's bytes: `redis-cli --rdb -` asks the server for the RDB
 * it sends a new replica (SYNC), and writes it to its stdout as it arrives. Every byte passes the
 * RDB reader on its way to the store, which counts each logical database's keys, checks the
 * snapshot's own checksum, and keeps only the snapshot: the end mark that redis-cli writes after
 * a diskless transfer is not part of it.
 */
import { Transform } from 'node:stream';
import type { RedisTarget } from '../core/settings.js';
import type { ObjectSource, SourceFacts } from '../pipeline/source.js';
import {
  failureLine,
  start,
  stopIfRunning,
  type Ended,
  type Program,
} from '../process/programs.js';
import { cliConnectionArgs, cliEnv } from './programs.js';
import { RdbFormatError, RdbReader, type RdbSummary } from './rdb.js';

/** What redis-cli appends after a diskless transfer: the 40 hex digits that mark its end. */
const END_MARK = /^[0-9a-f]{40}$/;

export function openSnapshot(cli: Program, target: RedisTarget): ObjectSource {
  const { child, exit } = start(cli, [...cliConnectionArgs(target), '--rdb', '-'], cliEnv(target));
  const reader = new RdbReader();
  let summary: (value: RdbSummary) => void = () => undefined;
  const read = new Promise<RdbSummary>((resolve) => (summary = resolve));
  const output = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        const belongs = reader.feed(chunk);
        done(null, belongs === chunk.length ? chunk : chunk.subarray(0, belongs));
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      exit.then(
        (ended) => {
          try {
            if (ended.code !== 0) throw new Error(cliFailure(target, ended, reader.offset));
            summary(wholeSnapshot(reader));
            done();
          } catch (error) {
            done(error as Error);
          }
        },
        (error: Error) => done(new Error(`redis-cli could not run: ${error.message}`)),
      );
    },
  });
  child.stdout.on('error', (error) => output.destroy(error));
  child.stdout.pipe(output);
  let failed: (error: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined);
  output.on('error', failed);
  return {
    output,
    async finished(): Promise<SourceFacts> {
      const { version, databases, redisVersion } = await Promise.race([read, failure]);
      return { rdb: { version, databases, ...(redisVersion ? { redisVersion } : {}) } };
    },
    close: async () => {
      stopIfRunning(child);
      await exit.catch(() => undefined);
    },
  };
}

/** The snapshot ended whole, and nothing but redis-cli's end mark came after it. */
function wholeSnapshot(reader: RdbReader): RdbSummary {
  const summary = reader.end();
  const after = Buffer.concat(reader.trailing).toString('latin1');
  if (after !== '' && !END_MARK.test(after)) {
    throw new RdbFormatError(`${after.length} unexpected bytes follow the snapshot's end`);
  }
  return summary;
}

/** redis-cli's failure in one line, with what to do where the cause is known. */
function cliFailure(target: RedisTarget, ended: Ended, received: number): string {
  const { stderr } = ended;
  const broke = /I\/O Error reading RDB payload[^\n]*/.exec(stderr)?.[0];
  if (broke) {
    return `the snapshot from ${target.display} broke off after ${received} bytes (redis-cli: ${broke})`;
  }
  if (/SYNC with master failed: -ERR unknown command/i.test(stderr)) {
    return `${target.display} refuses SYNC, the command a replica (and redis-cli --rdb) reads a snapshot with: managed services (ElastiCache, MemoryDB, Memorystore, Azure Cache for Redis, Upstash) disable it; use the provider's own snapshot export there (docs/redis.md)`;
  }
  if (/SYNC with master failed: -NOPERM/i.test(stderr)) {
    return `${target.display}: the user${target.user === undefined ? '' : ` ${target.user}`} may not run SYNC; grant it +sync +psync +replconf +info +ping (ACL SETUSER), or back up with a user that may`;
  }
  return failureLine('redis-cli --rdb', ended);
}
