/**
 * Text for a log that the GitHub runner must show, never obey. The runner reads any line of a
 * step's output whose start, after leading whitespace, is `::` (a workflow command) or `##[` (the
 * older form) as a command: `::stop-commands::`, `::add-mask::`, `::warning::` and the rest
 * (actions/runner, ActionCommand.TryParseV2 and TryParse). A database, role, table or object name
 * is whatever its owner typed, so every line we print is made inert here: one that would be a
 * command gets a visible `> ` in front. .NET's trim also takes U+0085, which `\s` does not. Pure.
 */
const COMMAND_START = /^[\s\u0085]*(::|##\[)/;

export function inertLines(text: string): string {
  return text
    .split(/(\r\n|\r|\n)/)
    .map((part) => (COMMAND_START.test(part) ? `> ${part}` : part))
    .join('');
}
