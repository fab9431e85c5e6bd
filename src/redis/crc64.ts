/**
 * CRC-64 as Redis computes it (the Jones polynomial, reflected, starting from 0): the checksum at
 * the end of an RDB file and of every DUMP payload. The 64-bit state is kept as two 32-bit halves
 * (BigInt arithmetic per byte would cost more than the rest of the parse), eight bytes a step
 * ("slicing by 8", eight tables of each half).
 */

const POLY_HI = 0x95ac9329; // 0xad93d23594c935a9, bits reversed
const POLY_LO = 0xac4bc9b5;

const HI = new Uint32Array(8 * 256);
const LO = new Uint32Array(8 * 256);
for (let index = 0; index < 256; index++) {
  let hi = 0;
  let lo = index;
  for (let bit = 0; bit < 8; bit++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (odd) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  HI[index] = hi;
  LO[index] = lo;
}
// Table k: the CRC of byte i followed by k zero bytes.
for (let k = 1; k < 8; k++) {
  for (let index = 0; index < 256; index++) {
    const hi = HI[(k - 1) * 256 + index]!;
    const lo = LO[(k - 1) * 256 + index]!;
    const slot = lo & 0xff;
    LO[k * 256 + index] = (((lo >>> 8) | (hi << 24)) ^ LO[slot]!) >>> 0;
    HI[k * 256 + index] = ((hi >>> 8) ^ HI[slot]!) >>> 0;
  }
}

export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(bytes: Uint8Array): this {
    let { hi, lo } = this;
    let index = 0;
    for (const end = bytes.length - 7; index < end; index += 8) {
      const a =
        lo ^
        (bytes[index]! |
          (bytes[index + 1]! << 8) |
          (bytes[index + 2]! << 16) |
          (bytes[index + 3]! << 24));
      const b =
        hi ^
        (bytes[index + 4]! |
          (bytes[index + 5]! << 8) |
          (bytes[index + 6]! << 16) |
          (bytes[index + 7]! << 24));
      lo =
        LO[7 * 256 + (a & 0xff)]! ^
        LO[6 * 256 + ((a >>> 8) & 0xff)]! ^
        LO[5 * 256 + ((a >>> 16) & 0xff)]! ^
        LO[4 * 256 + (a >>> 24)]! ^
        LO[3 * 256 + (b & 0xff)]! ^
        LO[2 * 256 + ((b >>> 8) & 0xff)]! ^
        LO[256 + ((b >>> 16) & 0xff)]! ^
        LO[b >>> 24]!;
      hi =
        HI[7 * 256 + (a & 0xff)]! ^
        HI[6 * 256 + ((a >>> 8) & 0xff)]! ^
        HI[5 * 256 + ((a >>> 16) & 0xff)]! ^
        HI[4 * 256 + (a >>> 24)]! ^
        HI[3 * 256 + (b & 0xff)]! ^
        HI[2 * 256 + ((b >>> 8) & 0xff)]! ^
        HI[256 + ((b >>> 16) & 0xff)]! ^
        HI[b >>> 24]!;
    }
    for (; index < bytes.length; index++) {
      const slot = (lo ^ bytes[index]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[slot]!;
      hi = (hi >>> 8) ^ HI[slot]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** The checksum as Redis stores it: 8 bytes, little-endian. */
  bytes(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32LE(this.lo, 0);
    out.writeUInt32LE(this.hi, 4);
    return out;
  }
}
