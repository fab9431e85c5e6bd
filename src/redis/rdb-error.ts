/** Bytes that are not a well-formed RDB snapshot: a cut stream, a flaw, or a format too new. */
export class RdbFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RdbFormatError';
  }
}
