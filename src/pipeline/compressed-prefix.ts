/**
 * The first bytes of what the zstd program compressed, read back from its output. Where programs
 * read pg_dump's output directly, Node never sees the archive itself; decompressing the start of
 * zstd's output is what still proves that a custom-format archive, not plain SQL, was stored.
 */
import { createZstdDecompress } from 'node:zlib';

/** What a source's bytes must begin with, and the one line that says they did not. */
export interface ExpectedPrefix {
  prefix: Buffer;
  failure: string;
}

/** Compressed bytes fed past this without an answer mean the start never decompressed. */
const MAX_FED = 8 << 20;

export class CompressedPrefix {
  private readonly inflate = createZstdDecompress();
  private seen = Buffer.alloc(0);
  private fed = 0;
  private settled = false;
  private resolveVerdict!: (matched: boolean) => void;
  private readonly verdict = new Promise<boolean>((resolve) => (this.resolveVerdict = resolve));

  constructor(private readonly expected: ExpectedPrefix) {
    const { prefix } = expected;
    this.inflate.on('data', (chunk: Buffer) => {
      this.seen = Buffer.concat([this.seen, chunk.subarray(0, prefix.length - this.seen.length)]);
      if (this.seen.length >= prefix.length) this.settle(this.seen.equals(prefix));
    });
    this.inflate.on('end', () => this.settle(false));
    this.inflate.on('error', () => this.settle(false));
  }

  /** Takes the next compressed bytes; copied, since the caller may reuse its buffer. */
  feed(chunk: Uint8Array): void {
    if (this.settled) return;
    this.fed += chunk.byteLength;
    if (this.fed > MAX_FED) {
      this.settle(false);
      return;
    }
    this.inflate.write(Buffer.from(chunk));
  }

  /** Once every byte was fed: throws the expected failure unless the output began with the prefix. */
  async check(): Promise<void> {
    if (!this.settled) this.inflate.end();
    if (!(await this.verdict)) throw new Error(this.expected.failure);
  }

  private settle(matched: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveVerdict(matched);
    this.inflate.destroy();
  }
}
