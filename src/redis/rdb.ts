/**
 * An RDB snapshot read as it streams past, without holding it: the header, the AUX fields, and
 * every key entry of every logical database, counted, with the file's own CRC-64 checked at its
 * end. Values are skipped by their lengths, never decoded; a restore asks for each entry's raw
 * value bytes, which are exactly a DUMP payload's body (redis/payload.ts).
 *
 * The format is Redis's (src/rdb.h and rdb.c): versions up to 12 (Redis 7.4 and 8). A stream cut
 * anywhere, a type this reader does not know, or bytes that break the format, fail with one line
 * naming the offset.
 */
import { Crc64 } from './crc64.js';
import { lzfDecompress } from './lzf.js';
import { RdbFormatError } from './rdb-error.js';

export { RdbFormatError };

/** The newest RDB format this reader knows (Redis 7.4 and 8.0 write it). */
export const NEWEST_RDB_VERSION = 12;

export interface RdbDatabase {
  db: number;
  /** Key entries in the snapshot. */
  keys: number;
  /** Of those, the keys with a time to live. */
  expires: number;
}

/** What a snapshot holds, as its own bytes say. */
export interface RdbSummary {
  version: number;
  /** The `redis-ver` AUX field: the Redis that wrote the snapshot. */
  redisVersion?: string;
  /** Every logical database with keys, by number. */
  databases: RdbDatabase[];
  /** Function libraries (Redis 7 and later), each the source of one library. */
  functions: number;
  /** False when the writer had `rdbchecksum no` (the stored checksum is zero). */
  checksummed: boolean;
}

/** One key as a restore needs it. */
export interface RdbEntry {
  db: number;
  key: Buffer;
  /** Unix time in milliseconds, when the key expires. */
  expireAt?: number;
  /** The value's type byte and encoding, as DUMP writes them (without DUMP's footer). */
  value: Buffer;
}

export interface RdbHandlers {
  /** Each key, with its value's bytes: only asked for by a restore (it costs a copy per value). */
  entry?(entry: RdbEntry): void;
  /** Each function library's bytes (the opcode and its source), as FUNCTION DUMP writes them. */
  library?(raw: Buffer): void;
}

type Want = { take: number } | { skip: number };
type Read<T> = Generator<Want, T, Buffer | undefined>;

const OPCODE = {
  slotInfo: 244,
  function2: 245,
  functionPreGa: 246,
  moduleAux: 247,
  idle: 248,
  freq: 249,
  aux: 250,
  resizeDb: 251,
  expireMs: 252,
  expireSeconds: 253,
  selectDb: 254,
  eof: 255,
} as const;

const MODULE_OPCODE = { eof: 0, sint: 1, uint: 2, float: 3, double: 4, string: 5 } as const;

/**
 * Feed it the stream's chunks in order, then call `end()`: it throws RdbFormatError at the first
 * flaw. `feed` returns how many bytes of the chunk belong to the snapshot (the rest follows its
 * end: redis-cli writes the replication stream's end mark there).
 */
export class RdbReader {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private consumed = 0;
  private want: Want | undefined;
  private finished = false;
  private readonly crc = new Crc64();
  private capture: Buffer[] | undefined;
  private readonly parse: Read<RdbSummary>;
  private summary: RdbSummary | undefined;
  private rdbVersion = 0;
  /** Bytes after the snapshot's end. */
  readonly trailing: Buffer[] = [];

  constructor(private readonly handlers: RdbHandlers = {}) {
    this.parse = this.snapshot();
    this.step(undefined);
  }

  /** The snapshot's RDB version, once its header is read (0 before). */
  get version(): number {
    return this.rdbVersion;
  }

  /** Bytes of the snapshot read so far. */
  get offset(): number {
    return this.consumed;
  }

  feed(chunk: Buffer): number {
    if (this.finished) {
      this.trailing.push(chunk);
      return 0;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.pump();
    if (!this.finished) return chunk.length;
    // Only the last chunk can hold bytes past the end: every earlier one was read through.
    const past = this.queued;
    if (past > 0) this.trailing.push(chunk.subarray(chunk.length - past));
    this.queue.length = 0;
    this.queued = 0;
    return chunk.length - past;
  }

  /** The snapshot's summary, once every byte of it arrived. */
  end(): RdbSummary {
    if (!this.summary) {
      throw new RdbFormatError(
        `the snapshot ends after ${this.consumed} bytes, in the middle (no end marker and checksum)`,
      );
    }
    return this.summary;
  }

  private step(value: Buffer | undefined): void {
    try {
      const next = this.parse.next(value);
      if (next.done) {
        this.summary = next.value;
        this.finished = true;
        this.want = undefined;
      } else {
        this.want = next.value;
      }
    } catch (error) {
      if (error instanceof RdbFormatError) {
        throw new RdbFormatError(`${error.message} (at byte ${this.consumed})`);
      }
      throw error;
    }
  }

  private pump(): void {
    while (this.want) {
      const want = this.want;
      if ('skip' in want) {
        const skipped = this.consume(want.skip, false);
        if (skipped < want.skip) {
          want.skip -= skipped;
          return;
        }
        this.step(undefined);
      } else {
        if (this.queued < want.take) return;
        this.step(this.take(want.take));
      }
    }
  }

  private take(bytes: number): Buffer {
    const first = this.queue[0]!;
    if (first.length >= bytes) {
      const out = first.subarray(0, bytes);
      this.consume(bytes, true);
      return out;
    }
    const parts: Buffer[] = [];
    let left = bytes;
    for (const chunk of this.queue) {
      if (left === 0) break;
      const part = chunk.subarray(0, left);
      parts.push(part);
      left -= part.length;
    }
    this.consume(bytes, true);
    return Buffer.concat(parts, bytes);
  }

  /** Consumes up to `bytes` queued bytes (all of them, when `whole`); returns how many. */
  private consume(bytes: number, whole: boolean): number {
    let left = whole ? bytes : Math.min(bytes, this.queued);
    const count = left;
    while (left > 0) {
      const chunk = this.queue[0]!;
      const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
      this.crc.update(part);
      this.capture?.push(Buffer.from(part));
      if (part === chunk) this.queue.shift();
      else this.queue[0] = chunk.subarray(left);
      left -= part.length;
    }
    this.queued -= count;
    this.consumed += count;
    return count;
  }

  private *snapshot(): Read<RdbSummary> {
    const header = (yield { take: 9 })!;
    const magic = header.subarray(0, 5).toString('latin1');
    const digits = header.subarray(5).toString('latin1');
    if (magic !== 'REDIS' || !/^\d{4}$/.test(digits)) {
      throw new RdbFormatError('not an RDB snapshot (it does not begin with REDIS and a version)');
    }
    const version = Number(digits);
    if (version < 1 || version > NEWEST_RDB_VERSION) {
      throw new RdbFormatError(
        `RDB version ${version} is newer than this program reads (up to ${NEWEST_RDB_VERSION}, Redis 8)`,
      );
    }
    this.rdbVersion = version;
    const counts = new Map<number, RdbDatabase>();
    const state = { db: 0, redisVersion: undefined as string | undefined, functions: 0 };
    let expireAt: number | undefined;
    for (;;) {
      const type = yield* this.byte();
      switch (type) {
        case OPCODE.eof:
          return {
            version,
            ...(state.redisVersion === undefined ? {} : { redisVersion: state.redisVersion }),
            databases: [...counts.values()].sort((a, b) => a.db - b.db),
            functions: state.functions,
            checksummed: yield* this.checksum(version),
          };
        case OPCODE.selectDb:
          state.db = yield* this.length();
          continue;
        case OPCODE.resizeDb:
          yield* this.length();
          yield* this.length();
          continue;
        case OPCODE.slotInfo:
          for (let index = 0; index < 3; index++) yield* this.length();
          continue;
        case OPCODE.expireMs:
          expireAt = Number((yield* this.bytes(8)).readBigInt64LE());
          continue;
        case OPCODE.expireSeconds:
          expireAt = (yield* this.bytes(4)).readInt32LE() * 1000;
          continue;
        case OPCODE.freq:
          yield { skip: 1 };
          continue;
        case OPCODE.idle:
          yield* this.length();
          continue;
        case OPCODE.aux: {
          const name = (yield* this.string()).toString('latin1');
          const value = (yield* this.string()).toString('utf8');
          if (name === 'redis-ver') state.redisVersion = value;
          continue;
        }
        case OPCODE.moduleAux:
          yield* this.length(); // module id
          yield* this.moduleValue(2); // when_opcode, when, then the module's value
          continue;
        case OPCODE.function2:
          yield* this.library();
          state.functions++;
          continue;
        case OPCODE.functionPreGa:
          throw new RdbFormatError(
            'it holds functions in the format of Redis 7.0 release candidates',
          );
        default: {
          const db = counts.get(state.db) ?? { db: state.db, keys: 0, expires: 0 };
          counts.set(state.db, db);
          yield* this.keyEntry(type, state.db, expireAt);
          db.keys++;
          if (expireAt !== undefined) db.expires++;
          expireAt = undefined;
        }
      }
    }
  }

  private *keyEntry(type: number, db: number, expireAt: number | undefined): Read<void> {
    const key = yield* this.string();
    if (!this.handlers.entry) {
      yield* this.value(type);
      return;
    }
    const value = yield* this.captured(type);
    this.handlers.entry({ db, key, value, ...(expireAt === undefined ? {} : { expireAt }) });
  }

  /** The value's type byte and bytes, copied as they pass. */
  private *captured(type: number): Read<Buffer> {
    this.capture = [Buffer.of(type)];
    try {
      yield* this.value(type);
      return Buffer.concat(this.capture);
    } finally {
      this.capture = undefined;
    }
  }

  private *library(): Read<void> {
    if (!this.handlers.library) {
      yield* this.skipString();
      return;
    }
    this.capture = [Buffer.of(OPCODE.function2)];
    try {
      yield* this.skipString();
      this.handlers.library(Buffer.concat(this.capture));
    } finally {
      this.capture = undefined;
    }
  }

  private *checksum(version: number): Read<boolean> {
    if (version < 5) return false;
    const expected = this.crc.bytes();
    const stored = yield* this.bytes(8);
    if (stored.every((byte) => byte === 0)) return false;
    if (!stored.equals(expected)) {
      throw new RdbFormatError(
        `its checksum does not match its bytes (stored ${stored.toString('hex')}, computed ${expected.toString('hex')})`,
      );
    }
    return true;
  }

  /** Skips one value of RDB type `type` (rdbLoadObject's layouts). */
  private *value(type: number): Read<void> {
    switch (type) {
      case 0: // string
        return yield* this.skipString();
      case 1: // list
      case 2: // set
      case 14: // quicklist of ziplists
        return yield* this.repeat(1, () => this.skipString());
      case 3: // sorted set, scores as text
        return yield* this.repeat(1, () => this.pairWith(() => this.textDouble()));
      case 4: // hash
        return yield* this.repeat(2, () => this.skipString());
      case 5: // sorted set, binary scores
        return yield* this.repeat(1, () => this.pairWith(() => this.skip(8)));
      case 7: // module value, self-describing
        yield* this.length();
        return yield* this.moduleValue(0);
      case 9: // zipmap, ziplists, intset and listpacks: one blob each
      case 10:
      case 11:
      case 12:
      case 13:
      case 16:
      case 17:
      case 20:
      case 23:
        return yield* this.skipString();
      case 25: // hash listpack with field expiry: its earliest expiry, then the listpack
        yield* this.skip(8);
        return yield* this.skipString();
      case 18: // quicklist 2: a container kind before each node
        return yield* this.repeat(1, () => this.lengthThen(() => this.skipString()));
      case 15:
      case 19:
      case 21:
        return yield* this.stream(type);
      case 22: // hash with field expiry (7.4 release candidates): ttl, field, value
        return yield* this.repeat(1, () => this.hashFieldWithTtl());
      case 24: // hash with field expiry: earliest expiry, then ttl, field, value
        yield* this.skip(8);
        return yield* this.repeat(1, () => this.hashFieldWithTtl());
      case 6:
        throw new RdbFormatError(
          'it holds a module value in the format of Redis 4.0 release candidates',
        );
      default:
        throw new RdbFormatError(`unknown value type ${type}`);
    }
  }

  private *stream(type: number): Read<void> {
    yield* this.repeat(2, () => this.skipString()); // listpacks: master id, listpack
    const ids = type >= 19 ? 8 : 3; // length, last id; then first id, max deleted id, entries added
    for (let index = 0; index < ids; index++) yield* this.length();
    const groups = yield* this.length();
    for (let group = 0; group < groups; group++) {
      yield* this.skipString(); // name
      for (let index = 0; index < (type >= 19 ? 3 : 2); index++) yield* this.length();
      const pending = yield* this.length();
      for (let entry = 0; entry < pending; entry++) {
        yield* this.skip(16 + 8); // id, delivery time
        yield* this.length(); // delivery count
      }
      const consumers = yield* this.length();
      for (let consumer = 0; consumer < consumers; consumer++) {
        yield* this.skipString();
        yield* this.skip(type >= 21 ? 16 : 8); // seen time (and active time)
        const owned = yield* this.length();
        yield* this.skip(owned * 16);
      }
    }
  }

  private *hashFieldWithTtl(): Read<void> {
    yield* this.length();
    yield* this.skipString();
    yield* this.skipString();
  }

  /** A module's value: typed items until its end marker; `items` leading items come untyped. */
  private *moduleValue(untyped: number): Read<void> {
    for (let index = 0; index < untyped; index++) yield* this.length();
    for (;;) {
      const opcode = yield* this.length();
      switch (opcode) {
        case MODULE_OPCODE.eof:
          return;
        case MODULE_OPCODE.sint:
        case MODULE_OPCODE.uint:
          yield* this.length();
          break;
        case MODULE_OPCODE.float:
          yield* this.skip(4);
          break;
        case MODULE_OPCODE.double:
          yield* this.skip(8);
          break;
        case MODULE_OPCODE.string:
          yield* this.skipString();
          break;
        default:
          throw new RdbFormatError(`unknown module value opcode ${opcode}`);
      }
    }
  }

  /** A count, then `per` items of `item` for each. */
  private *repeat(per: number, item: () => Read<void>): Read<void> {
    const count = yield* this.length();
    for (let index = 0; index < count * per; index++) yield* item();
  }

  private *pairWith(score: () => Read<void>): Read<void> {
    yield* this.skipString();
    yield* score();
  }

  private *lengthThen(item: () => Read<void>): Read<void> {
    yield* this.length();
    yield* item();
  }

  /** A score written as text: its length, or 253-255 for NaN and the infinities. */
  private *textDouble(): Read<void> {
    const length = yield* this.byte();
    if (length < 253) yield* this.skip(length);
  }

  private *byte(): Read<number> {
    return (yield { take: 1 })![0]!;
  }

  private *bytes(count: number): Read<Buffer> {
    return (yield { take: count })!;
  }

  private *skip(count: number): Read<void> {
    if (count > 0) yield { skip: count };
  }

  /** A length (rdbLoadLen); an encoded string's marker is not a length here. */
  private *length(): Read<number> {
    const { length, encoding } = yield* this.lengthOrEncoding();
    if (encoding !== undefined)
      throw new RdbFormatError('a string encoding where a length belongs');
    return length;
  }

  private *lengthOrEncoding(): Read<{ length: number; encoding?: number }> {
    const first = yield* this.byte();
    switch (first >> 6) {
      case 0:
        return { length: first & 0x3f };
      case 1:
        return { length: ((first & 0x3f) << 8) | (yield* this.byte()) };
      case 3:
        return { length: 0, encoding: first & 0x3f };
    }
    if (first === 0x80) return { length: (yield* this.bytes(4)).readUInt32BE() };
    if (first === 0x81) {
      const length = (yield* this.bytes(8)).readBigUInt64BE();
      if (length > BigInt(Number.MAX_SAFE_INTEGER))
        throw new RdbFormatError('a length beyond 2^53');
      return { length: Number(length) };
    }
    throw new RdbFormatError(`unknown length encoding 0x${first.toString(16)}`);
  }

  /** A string's bytes, decoded: integers as their decimal text, LZF expanded. */
  private *string(): Read<Buffer> {
    const { length, encoding } = yield* this.lengthOrEncoding();
    switch (encoding) {
      case undefined:
        return yield* this.bytes(length);
      case 0:
        return Buffer.from(String((yield* this.bytes(1)).readInt8()));
      case 1:
        return Buffer.from(String((yield* this.bytes(2)).readInt16LE()));
      case 2:
        return Buffer.from(String((yield* this.bytes(4)).readInt32LE()));
      case 3: {
        const compressed = yield* this.length();
        const plain = yield* this.length();
        return lzfDecompress(yield* this.bytes(compressed), plain);
      }
      default:
        throw new RdbFormatError(`unknown string encoding ${encoding}`);
    }
  }

  private *skipString(): Read<void> {
    const { length, encoding } = yield* this.lengthOrEncoding();
    switch (encoding) {
      case undefined:
        return yield* this.skip(length);
      case 0:
      case 1:
        return yield* this.skip(encoding + 1);
      case 2:
        return yield* this.skip(4);
      case 3: {
        const compressed = yield* this.length();
        yield* this.length();
        return yield* this.skip(compressed);
      }
      default:
        throw new RdbFormatError(`unknown string encoding ${encoding}`);
    }
  }
}
