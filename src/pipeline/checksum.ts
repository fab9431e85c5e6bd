/** An object's stored bytes against what its manifest records of them. */
import type { ObjectRecord } from '../core/manifest.js';

export class ChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumError';
  }
}

export interface StoredBytes {
  bytes: number;
  sha256: string;
}

export function checkAgainst(object: ObjectRecord, actual: StoredBytes): void {
  const { key, size, sha256 } = object;
  if (actual.bytes !== size) {
    throw new ChecksumError(`${key} holds ${actual.bytes} bytes, but its manifest records ${size}`);
  }
  if (actual.sha256 !== sha256) {
    throw new ChecksumError(
      `sha256 of ${key} is ${actual.sha256}, but its manifest records ${sha256}`,
    );
  }
}
