/**
 * Database names PostgreSQL's own tools cannot carry through a backup. A line break in a name
 * (CR or LF) is refused by pg_dumpall ("shell command argument contains a newline or carriage
 * return", 15 and 18 alike) and by pg_restore --create whenever it writes a script ("database name
 * contains a newline or carriage return"), which is how a restore reads the database's owner,
 * settings and privileges. Other control characters pass through those tools unharmed. Pure.
 */

/** Whether pg_restore --create cannot write `name` into a script. */
export const hasLineBreak = (name: string): boolean => /[\r\n]/.test(name);

/** Why a database so named can be dumped but never restored, for the one line that refuses it. */
export const LINE_BREAK_WHY =
  'its name holds a line break, which pg_dumpall and pg_restore --create refuse to write ("database name contains a newline or carriage return")';

/**
 * What a name may hold that a log line must not show raw: control characters (a line break would
 * split the line and could start a workflow command; ESC drives the terminal) and the Unicode
 * ones that break or reorder a line.
 */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const EACH_UNPRINTABLE = new RegExp(UNPRINTABLE.source, 'gu');

/** One character of UNPRINTABLE as JSON writes it (`\n`, `\t`, `\u001b`), or as `\u2028`. */
function escaped(char: string): string {
  // JSON escapes C0 controls; DEL, C1 and the line and direction marks are left to this.
  const json = JSON.stringify(char).slice(1, -1);
  return json === char ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : json;
}

/**
 * `name` quoted, each character of UNPRINTABLE escaped (`\n`, `\t`, `\u001b`, `\u2028`): one
 * printable line that names it exactly.
 */
export function quotedName(name: string): string {
  return JSON.stringify(name).replace(EACH_UNPRINTABLE, escaped);
}

/**
 * A program's message for a log line, each character of UNPRINTABLE in it escaped in place: what
 * pg_restore says of a table named with a line break or ESC quotes the name raw, and a program's
 * message cannot be told apart into names and words.
 */
export function printableText(text: string): string {
  return text.replace(EACH_UNPRINTABLE, escaped);
}

/** `name` for a log line: as it is when it holds nothing of UNPRINTABLE, else quoted. */
export function printableName(name: string): string {
  return UNPRINTABLE.test(name) ? quotedName(name) : name;
}

/** The names of `names` that hold a line break, each quoted, or undefined. */
export function lineBreakNames(names: readonly string[]): string | undefined {
  const found = names.filter(hasLineBreak);
  return found.length > 0 ? found.map(quotedName).join(', ') : undefined;
}

/**
 * The way out for such a database in an older backup: without --create pg_restore never writes
 * the name, and restores the database's contents into another one (checked on 15 and 18).
 */
export const LINE_BREAK_BY_HAND =
  'its contents restore by hand: download its archive and run pg_restore --dbname=NEWDB on it, without --create (docs/storage.md#a-database-named-with-a-line-break)';

/**
 * A restore or restore-test of a backup holding such a database (made before backups refused
 * them) fails before any work, in one line naming it, rather than part-way through.
 */
export function refuseUnrestorable(id: string, names: readonly (string | undefined)[]): void {
  const found = lineBreakNames(names.filter((name) => name !== undefined));
  if (found === undefined) return;
  throw new Error(
    `backup ${id} holds the database ${found}, which cannot be restored: ${LINE_BREAK_WHY}; nothing was restored; ${LINE_BREAK_BY_HAND}`,
  );
}

/**
 * The server's own templates: every server has them before any restore. pg_dumpall leaves
 * template0 out (it accepts no connections) and writes template1's objects into the template1 it
 * restores onto; a backup here leaves both out, and takes every other template like any database.
 * No restore replaces either: a `clean` one would drop the template every CREATE DATABASE copies.
 */
export const SERVER_TEMPLATES: readonly string[] = ['template0', 'template1'];

/** Why a restore into `name` is refused, or undefined when it may be a target. */
export function ownTemplateRefusal(name: string): string | undefined {
  return SERVER_TEMPLATES.includes(name)
    ? `${quotedName(name)} is one of the server's own templates (${SERVER_TEMPLATES.join(', ')}), which no restore replaces; restore into another database`
    : undefined;
}
