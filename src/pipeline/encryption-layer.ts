/** What every encryption method (age, gpg) provides to the pipeline, in and out of the store. */
import type { Readable } from 'node:stream';
import type { Filter } from './chain.js';

/** How a backup's objects are encrypted on their way into the store. */
export interface Sealer {
  /** A program that encrypts what the program before it writes, when this machine has one. */
  program(): Promise<Filter | undefined>;
  /** Encrypts a stream inside this process. */
  seal(input: Readable): Promise<Readable>;
  /** Releases what it holds (gpg's temporary home), once every object is stored. */
  close(): Promise<void>;
}

/** An object's bytes with the encryption layer undone; `close` releases what that took. */
export interface Opened {
  plain: Readable;
  close(): Promise<void>;
}
