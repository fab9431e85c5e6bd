/** A stored snapshot read as it passes on to where it goes (a check, a file). */
import { Transform } from 'node:stream';
import { RdbFormatError } from './rdb-error.js';
import type { RdbReader, RdbSummary } from './rdb.js';

/** The same bytes, each read by `reader` on its way: a flaw errors the stream. */
export function readWhilePassing(reader: RdbReader): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        reader.feed(chunk);
        done(null, chunk);
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/** What a stored snapshot holds; its object must end exactly where the snapshot does. */
export function storedSummary(reader: RdbReader): RdbSummary {
  const summary = reader.end();
  if (reader.trailing.length > 0) {
    throw new RdbFormatError('the backup holds bytes after its RDB snapshot ends');
  }
  return summary;
}
