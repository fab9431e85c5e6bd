/**
 * The first error pg_restore printed, as one printable line. pg_restore quotes names raw: a table
 * named with a line break splits its message over several lines of stderr, and ESC in a name would
 * reach the log. So the message is taken with the lines it was split into (up to the next line
 * that starts a message of its own), and every control character in it is escaped. Pure.
 */
import { printableText } from '../core/database-names.js';

/** How an error begins: `pg_restore: error: …` (12 and later), or a server's `ERROR:` in it. */
const ERROR_START = /^pg_restore: error: |ERROR:/;
/** A line that starts pg_restore's next message, or the details it adds after the error. */
const NEXT_MESSAGE =
  /^(pg_restore: |\s*Command was: |(DETAIL|HINT|CONTEXT|QUERY|WARNING|ERROR): |LINE \d+: )/;
/** More lines than a name's line breaks make is more output, not the same message. */
const MOST_LINES = 20;

export class FirstError {
  private readonly lines: string[] = [];
  private done = false;

  /** Reads one line of pg_restore's stderr. */
  add(line: string): void {
    if (this.done) return;
    if (this.lines.length === 0) {
      if (ERROR_START.test(line)) this.lines.push(line);
      return;
    }
    if (NEXT_MESSAGE.test(line) || this.lines.length >= MOST_LINES) this.done = true;
    else this.lines.push(line);
  }

  /** `COPY failed for table "t\nx": new row …`, or undefined when no error was printed. */
  get text(): string | undefined {
    if (this.lines.length === 0) return undefined;
    const message = this.lines
      .join('\n')
      .replace(/^pg_restore: error: /, '')
      .replace(/(could not execute query: )?ERROR:\s+/, '')
      .trim();
    return printableText(message);
  }
}
