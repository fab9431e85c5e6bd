/**
 * The SSH wire encoding (RFC 4251 §5) that OpenSSH's key files and signatures are made of:
 * big-endian uint32s, and strings as a uint32 length followed by that many bytes.
 */

/** Thrown when bytes end early or hold what the reader does not expect. */
export class WireError extends Error {}

/** Reads wire values in order from a buffer, refusing to read past its end. */
export class WireReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  uint32(): number {
    if (this.offset + 4 > this.bytes.length) throw new WireError('it ends early');
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bytesOf(length: number): Buffer {
    if (length > this.bytes.length - this.offset) throw new WireError('it ends early');
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): Buffer {
    return this.bytesOf(this.uint32());
  }

  text(): string {
    return this.string().toString('latin1');
  }

  get done(): boolean {
    return this.offset === this.bytes.length;
  }
}

/** One wire string: its length, then its bytes. */
export function wireString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

export function wireUint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}
