/**
 * LZF decompression (liblzf's format, which Redis uses for long strings in an RDB): needed only
 * for keys and AUX fields, the strings a reader must know; values pass through untouched.
 */
import { RdbFormatError } from './rdb-error.js';

export function lzfDecompress(input: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  let from = 0;
  let to = 0;
  const broken = () => new RdbFormatError('a compressed string that does not expand to its length');
  while (from < input.length) {
    const control = input[from++]!;
    if (control < 32) {
      // A literal run of control + 1 bytes.
      const end = from + control + 1;
      if (end > input.length || to + control + 1 > length) throw broken();
      out.set(input.subarray(from, end), to);
      to += control + 1;
      from = end;
      continue;
    }
    // A back reference: length in the top 3 bits (7 means one more byte), offset in the rest.
    let run = control >> 5;
    if (run === 7) {
      if (from >= input.length) throw broken();
      run += input[from++]!;
    }
    if (from >= input.length) throw broken();
    const back = to - ((control & 0x1f) << 8) - input[from++]! - 1;
    run += 2;
    if (back < 0 || to + run > length) throw broken();
    // Byte by byte: the copy may overlap what it writes.
    for (let index = 0; index < run; index++) out[to++] = out[back + index]!;
  }
  if (to !== length) throw broken();
  return out;
}
