/**
 * Which lines of a SQL script (pg_restore's output) start outside any quoted text: a comment,
 * a function body or a name may hold a line that reads like a statement of its own. Follows
 * PostgreSQL's lexer for what spans lines: '…' (with '' inside), E'…' (with backslash escapes),
 * dollar quotes $tag$…$tag$, "…" names (with "" inside), and -- comments, which end with the line.
 * Pure.
 */

type Inside =
  | { kind: 'out' }
  | { kind: 'quote'; escapes: boolean }
  | { kind: 'name' }
  | { kind: 'dollar'; tag: string };

// Sticky, and characters looked at by index: a line of a hostile comment may be megabytes long.
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const WORD = /[A-Za-z0-9_$]/;

export class ScriptLines {
  private inside: Inside = { kind: 'out' };

  /** Whether `line` starts outside quoted text; reads it for the lines after it. */
  next(line: string): boolean {
    const startsOutside = this.inside.kind === 'out';
    this.read(line);
    return startsOutside;
  }

  private read(line: string): void {
    let at = 0;
    while (at < line.length) at = this.step(line, at);
  }

  /** Reads from `at` and returns where reading goes on. */
  private step(line: string, at: number): number {
    const inside = this.inside;
    if (inside.kind === 'dollar') {
      const end = line.indexOf(inside.tag, at);
      if (end < 0) return line.length;
      this.inside = { kind: 'out' };
      return end + inside.tag.length;
    }
    if (inside.kind === 'name') return this.closing(line, at, '"', false);
    if (inside.kind === 'quote') return this.closing(line, at, "'", inside.escapes);
    return this.outside(line, at);
  }

  private outside(line: string, at: number): number {
    const char = line[at];
    if (char === '-' && line[at + 1] === '-') return line.length;
    const before = line[at - 1] ?? '';
    if (char === '"') this.inside = { kind: 'name' };
    else if (char === "'") {
      // E'…' takes backslash escapes; an identifier ending in e (name') does not start one.
      const escapes = (before === 'E' || before === 'e') && !WORD.test(line[at - 2] ?? '');
      this.inside = { kind: 'quote', escapes };
    } else if (char === '$' && !/[A-Za-z0-9_]/.test(before)) {
      DOLLAR_TAG.lastIndex = at;
      const tag = DOLLAR_TAG.exec(line)?.[0];
      if (tag) {
        this.inside = { kind: 'dollar', tag };
        return at + tag.length;
      }
    }
    return at + 1;
  }

  /** Inside '…' or "…": the quote doubled stays inside; with escapes, a backslash takes the next. */
  private closing(line: string, at: number, quote: string, escapes: boolean): number {
    for (let i = at; i < line.length; i++) {
      if (escapes && line[i] === '\\') {
        i++;
        continue;
      }
      if (line[i] !== quote) continue;
      if (line[i + 1] === quote) {
        i++;
        continue;
      }
      this.inside = { kind: 'out' };
      return i + 1;
    }
    return line.length;
  }
}
