/**
 * The RDB reader, CRC-64, LZF and DUMP payloads on bytes made here to Redis's format (src/rdb.c):
 * every type of value and opcode, the stream split at every offset, cut at every offset, a
 * flipped bit, bytes after the end, versions too new; no I/O. Snapshots written by a real Redis
 * are read in test/e2e/redis.test.ts. Of src/redis/replay.ts, the DUMP payload and printable names.
 *
 * Covers: src/redis/rdb.ts, src/redis/rdb-error.ts, src/redis/crc64.ts, src/redis/lzf.ts,
 * src/redis/replay.ts.
 */
import { describe, expect, it } from 'vitest';
import { Crc64 } from '../../src/redis/crc64.js';
import { lzfDecompress } from '../../src/redis/lzf.js';
import { RdbFormatError, RdbReader, type RdbEntry } from '../../src/redis/rdb.js';
import { dumpPayload, printable } from '../../src/redis/replay.js';

const b = (...bytes: number[]) => Buffer.from(bytes);

/** rdbSaveLen: 6, 14 or 32 bits. */
function len(n: number): Buffer {
  if (n < 64) return b(n);
  if (n < 16384) return b(0x40 | (n >> 8), n & 0xff);
  const out = Buffer.alloc(5);
  out[0] = 0x80;
  out.writeUInt32BE(n, 1);
  return out;
}

const str = (text: string | Buffer) => {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return Buffer.concat([len(bytes.length), bytes]);
};
const le64 = (n: number) => {
  const out = Buffer.alloc(8);
  out.writeBigInt64LE(BigInt(n));
  return out;
};

/** A key entry: its type byte, its key, its value's bytes. */
const entry = (type: number, key: Buffer, value: Buffer) => Buffer.concat([b(type), key, value]);

const EXPIRE_AT = 4_102_444_800_000; // 2100-01-01
const VALUES = {
  string: Buffer.concat([str('a value')]),
  intString: b(0xc1, 0x39, 0x30), // 12345 as int16
  list: Buffer.concat([len(2), str('x'), str('y')]),
  zsetText: Buffer.concat([len(2), str('a'), b(3), Buffer.from('1.5'), str('b'), b(253)]),
  zsetBinary: Buffer.concat([len(1), str('a'), Buffer.alloc(8, 1)]),
  hash: Buffer.concat([len(1), str('f'), str('v')]),
  quicklist2: Buffer.concat([len(2), len(2), str('packed'), len(1), str('plain')]),
  listpackHash: str('listpack bytes'),
  hashWithTtl: Buffer.concat([le64(EXPIRE_AT), len(1), len(5), str('f'), str('v')]),
  listpackHashWithTtl: Buffer.concat([le64(EXPIRE_AT), str('listpack')]),
  module: Buffer.concat([
    len(12345),
    len(2),
    len(7),
    len(5),
    str('data'),
    len(4),
    Buffer.alloc(8),
    len(3),
    Buffer.alloc(4),
    len(0),
  ]),
  stream3: Buffer.concat([
    len(1),
    str(Buffer.alloc(16)),
    str('listpack'), // one listpack
    len(3),
    len(1),
    len(0),
    len(1),
    len(0),
    len(0),
    len(0),
    len(3), // length, ids, entries added
    len(1),
    str('group'),
    len(1),
    len(0),
    len(2), // a group: last id, entries read
    len(1),
    Buffer.alloc(16),
    le64(1),
    len(1), // one pending entry
    len(1),
    str('alice'),
    le64(1),
    le64(2),
    len(1),
    Buffer.alloc(16), // one consumer
  ]),
  streamOld: Buffer.concat([len(0), len(0), len(0), len(0), len(0)]),
};

function snapshot(version = 10): { bytes: Buffer; entries: RdbEntry[] } {
  const intKey = b(0xc0, 123); // "123" as int8
  const lzfKey = Buffer.concat([b(0xc3), len(4), len(8), b(0x00, 0x61, 0xa0, 0x00)]); // "aaaaaaaa"
  const body = [
    b(0xfa),
    str('redis-ver'),
    str('7.0.15'),
    b(0xfa),
    str('redis-bits'),
    b(0xc0, 64),
    b(0xf7),
    len(99),
    len(2),
    len(1),
    len(5),
    str('aux'),
    len(0), // module aux data
    b(0xf5),
    str("#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
    b(0xfe),
    len(0),
    b(0xfb),
    len(3),
    len(1),
    b(0xfc),
    le64(EXPIRE_AT),
    entry(0, str('with-ttl'), VALUES.string),
    entry(0, intKey, VALUES.intString),
    b(0xf8),
    len(10),
    entry(1, lzfKey, VALUES.list),
    b(0xfe),
    len(5),
    b(0xf4),
    len(1),
    len(2),
    len(0),
    b(0xf9),
    b(7),
    entry(3, str('z1'), VALUES.zsetText),
    entry(5, str('z2'), VALUES.zsetBinary),
    entry(4, str('h'), VALUES.hash),
    entry(18, str('q'), VALUES.quicklist2),
    entry(16, str('lp'), VALUES.listpackHash),
    entry(24, str('httl'), VALUES.hashWithTtl),
    entry(25, str('lpttl'), VALUES.listpackHashWithTtl),
    entry(7, str('m'), VALUES.module),
    entry(21, str('s3'), VALUES.stream3),
    entry(15, str('s1'), VALUES.streamOld),
    b(0xfd),
    Buffer.from([0, 0, 0, 0]),
    entry(0, str('old-ttl'), VALUES.string),
  ];
  const head = Buffer.concat([
    Buffer.from(`REDIS${String(version).padStart(4, '0')}`),
    ...body,
    b(0xff),
  ]);
  const bytes = Buffer.concat([head, new Crc64().update(head).bytes()]);
  const entries: RdbEntry[] = [
    {
      db: 0,
      key: Buffer.from('with-ttl'),
      expireAt: EXPIRE_AT,
      value: Buffer.concat([b(0), VALUES.string]),
    },
    { db: 0, key: Buffer.from('123'), value: Buffer.concat([b(0), VALUES.intString]) },
    { db: 0, key: Buffer.from('aaaaaaaa'), value: Buffer.concat([b(1), VALUES.list]) },
  ];
  return { bytes, entries };
}

function readAll(bytes: Buffer, chunk = bytes.length, handlers = {}) {
  const reader = new RdbReader(handlers);
  let belongs = 0;
  for (let at = 0; at < bytes.length; at += chunk)
    belongs += reader.feed(bytes.subarray(at, at + chunk));
  return { reader, belongs, summary: reader.end() };
}

const failure = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
};

describe('the RDB reader', () => {
  it('counts each database’s keys and expiring keys, and reads the version, the writer and the functions', () => {
    const { summary, belongs } = readAll(snapshot().bytes);
    expect(summary).toEqual({
      version: 10,
      redisVersion: '7.0.15',
      databases: [
        { db: 0, keys: 3, expires: 1 },
        { db: 5, keys: 11, expires: 1 },
      ],
      functions: 1,
      checksummed: true,
    });
    expect(belongs).toBe(snapshot().bytes.length);
  });

  it('reads the same whatever the chunks: split at every offset, and one byte at a time', () => {
    const { bytes } = snapshot();
    const whole = readAll(bytes).summary;
    expect(readAll(bytes, 1).summary).toEqual(whole);
    for (let at = 1; at < bytes.length; at++) {
      const reader = new RdbReader();
      reader.feed(bytes.subarray(0, at));
      reader.feed(bytes.subarray(at));
      expect(reader.end()).toEqual(whole);
    }
  });

  it('a snapshot cut at any offset fails, naming how far it got', () => {
    const { bytes } = snapshot();
    for (let at = 0; at < bytes.length; at++) {
      const reader = new RdbReader();
      reader.feed(bytes.subarray(0, at));
      expect(failure(() => reader.end()).message).toMatch(
        /^the snapshot ends after \d+ bytes, in the middle \(no end marker and checksum\)$/,
      );
    }
  });

  it('a flipped bit anywhere fails: the checksum, or the format first', () => {
    const { bytes } = snapshot();
    for (const at of [20, 60, bytes.length - 40, bytes.length - 9]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ 0x10;
      const error = failure(() => readAll(damaged));
      expect(error).toBeInstanceOf(RdbFormatError);
    }
    const value = Buffer.from(bytes);
    const at = value.indexOf('a value') + 2;
    value[at] = value[at]! ^ 1;
    expect(failure(() => readAll(value)).message).toMatch(
      /^its checksum does not match its bytes \(stored [0-9a-f]{16}, computed [0-9a-f]{16}\) \(at byte \d+\)$/,
    );
  });

  it('a zero checksum (rdbchecksum no) is read as unchecked', () => {
    const { bytes } = snapshot();
    bytes.fill(0, bytes.length - 8);
    expect(readAll(bytes).summary.checksummed).toBe(false);
  });

  it('keeps bytes after the end apart: they are not the snapshot’s', () => {
    const { bytes } = snapshot();
    const mark = Buffer.from('912a22a8f02f4c2b3f58106290a1af118801bbe8');
    const { belongs, reader } = readAll(Buffer.concat([bytes, mark]), 1000);
    expect(belongs).toBe(bytes.length);
    expect(Buffer.concat(reader.trailing).equals(mark)).toBe(true);
  });

  it('hands a restore each key decoded (integer and LZF keys) with its value’s bytes and expiry', () => {
    const entries: RdbEntry[] = [];
    const libraries: Buffer[] = [];
    readAll(snapshot().bytes, 7, {
      entry: (one: RdbEntry) => entries.push(one),
      library: (raw: Buffer) => libraries.push(raw),
    });
    expect(entries.slice(0, 3)).toEqual(snapshot().entries);
    expect(entries.map((one) => one.key.toString())).toContain('s3');
    expect(entries.at(-1)).toMatchObject({ db: 5, expireAt: 0 });
    expect(libraries).toHaveLength(1);
    expect(libraries[0]![0]).toBe(0xf5);
  });

  it('refuses what it cannot read, in one line', () => {
    const refuse = (bytes: Buffer) => failure(() => readAll(bytes)).message;
    expect(refuse(snapshot(13).bytes)).toMatch(
      /^RDB version 13 is newer than this program reads \(up to 12, Redis 8\)/,
    );
    expect(refuse(Buffer.from('PGDMP-not-redis-at-all'))).toMatch(/^not an RDB snapshot/);
    const unknownType = Buffer.concat([Buffer.from('REDIS0010'), b(0xfe, 0, 42), str('k')]);
    expect(refuse(unknownType)).toMatch(/^unknown value type 42 \(at byte \d+\)$/);
    const preGaModule = Buffer.concat([Buffer.from('REDIS0010'), b(6), str('k')]);
    expect(refuse(preGaModule)).toMatch(
      /module value in the format of Redis 4\.0 release candidates/,
    );
  });
});

describe('CRC-64 and DUMP payloads', () => {
  it('computes Redis’s CRC-64 (its own test vector), in pieces or whole', () => {
    expect(new Crc64().update(Buffer.from('123456789')).bytes().reverse().toString('hex')).toBe(
      'e9c6d914c4b8d9ca',
    );
    const text = Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing elit'.repeat(9));
    const pieces = new Crc64();
    for (let at = 0; at < text.length; at += 5) pieces.update(text.subarray(at, at + 5));
    expect(pieces.bytes()).toEqual(new Crc64().update(text).bytes());
  });

  it('makes the payload Redis 7.0 DUMPs for the string "1"', () => {
    // DUMP of a key holding "1" on Redis 7.0.15: type, int8 1, RDB version 10, CRC-64.
    expect(dumpPayload(b(0x00, 0xc0, 0x01), 10).toString('hex')).toBe('00c0010a002678e7b6d10111fc');
  });

  it('names keys printably', () => {
    expect(printable(Buffer.from('user:1'))).toBe('"user:1"');
    expect(printable(b(0, 255))).toBe('0x00ff');
  });
});

describe('LZF', () => {
  it('expands literals and back references, overlapping ones included', () => {
    expect(lzfDecompress(b(0x04, ...Buffer.from('hello')), 5).toString()).toBe('hello');
    expect(lzfDecompress(b(0x00, 0x61, 0xa0, 0x00), 8).toString()).toBe('aaaaaaaa');
    expect(lzfDecompress(b(0x01, 0x61, 0x62, 0xe0, 0x03, 0x01), 14).toString()).toBe(
      'ababababababab',
    );
  });

  it('refuses bytes that do not expand to the length they claim', () => {
    expect(() => lzfDecompress(b(0x04, 0x61), 5)).toThrow(RdbFormatError);
    expect(() => lzfDecompress(b(0x00, 0x61, 0xa0, 0x05), 8)).toThrow(RdbFormatError);
    expect(() => lzfDecompress(b(0x00, 0x61), 2)).toThrow(RdbFormatError);
  });
});
