export const id = 837;
export const ids = [837];
export const modules = {

/***/ 74296:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   cc: () => (/* binding */ CancelledError),
/* harmony export */   dz: () => (/* binding */ InputError),
/* harmony export */   f4: () => (/* binding */ FinalError),
/* harmony export */   gJ: () => (/* binding */ errorMessage),
/* harmony export */   sU: () => (/* binding */ UnreadableArchiveError),
/* harmony export */   vB: () => (/* binding */ diskFullError)
/* harmony export */ });
/** Error kinds the edge reports differently: bad input, a failed check, and cancellation. */
/** A bad input, found before any work starts. Its message is one line naming the input. */
class InputError extends Error {
    input;
    constructor(input, detail) {
        super(`Input "${input}": ${detail}`);
        this.input = input;
        this.name = 'InputError';
    }
}
/** The run was cancelled (SIGINT/SIGTERM), as GitHub does when a run is cancelled. */
class CancelledError extends Error {
    constructor(message = 'the run was cancelled') {
        super(message);
        this.name = 'CancelledError';
    }
}
/**
 * A failure that running the whole run again must not follow: the retry would fail for another
 * reason (a restore that wrote into its empty target would be refused as not empty) and hide this
 * one. It keeps the message of the error it stands for, and that error as its cause.
 */
class FinalError extends Error {
    constructor(cause) {
        super(errorMessage(cause), { cause });
        this.name = 'FinalError';
    }
}
/**
 * A full disk (ENOSPC, or EDQUOT for a quota) as one line naming where it happened, or undefined
 * for any other error.
 */
function diskFullError(error, where, detail = '') {
    const code = error.code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT')
        return undefined;
    return new Error(`${where} ran out of disk space (${code})${detail}`, { cause: error });
}
/** The message of anything thrown, on one line, for logs and summaries. */
function errorMessage(error) {
    const text = error instanceof Error ? error.message : String(error);
    return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
/** Bytes that decrypt and decompress but are not an archive its tools can read. */
class UnreadableArchiveError extends Error {
    constructor(message) {
        super(message);
        this.name = 'UnreadableArchiveError';
    }
}


/***/ }),

/***/ 96228:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   B4: () => (/* binding */ formatCount),
/* harmony export */   CE: () => (/* binding */ formatRate),
/* harmony export */   Xo: () => (/* binding */ formatSeconds),
/* harmony export */   z3: () => (/* binding */ formatBytes)
/* harmony export */ });
/** Numbers as people read them in logs and summaries. */
function formatBytes(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = bytes;
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
function formatSeconds(seconds) {
    return `${seconds.toFixed(seconds >= 100 ? 0 : 1)} s`;
}
function formatRate(bytes, seconds) {
    return `${formatBytes(seconds > 0 ? bytes / seconds : 0)}/s`;
}
/** `1234567` as `1,234,567`. Grouped by hand: toLocaleString loads ICU's locale data first, 30 ms. */
function formatCount(count) {
    return String(Math.trunc(count)).replace(/\B(?=(\d{3})+$)/g, ',');
}


/***/ }),

/***/ 4230:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Vc: () => (/* binding */ readUpTo),
/* harmony export */   Xs: () => (/* binding */ ObjectTooLarge),
/* harmony export */   c_: () => (/* binding */ DeleteRefused),
/* harmony export */   oN: () => (/* binding */ ArchivedObject)
/* harmony export */ });
/** An object holds more than a reader accepts; it was not read past the limit. */
class ObjectTooLarge extends Error {
    key;
    maxBytes;
    constructor(key, maxBytes) {
        super(`${key} holds more than ${maxBytes} bytes`);
        this.key = key;
        this.maxBytes = maxBytes;
        this.name = 'ObjectTooLarge';
    }
}
/**
 * Collects at most `maxBytes` of `stream`, destroying it (which ends the transfer) as soon as it
 * yields more, so a huge object costs one chunk of memory, not its size.
 */
async function readUpTo(stream, key, maxBytes) {
    const chunks = [];
    let total = 0;
    try {
        for await (const chunk of stream) {
            total += chunk.length;
            if (total > maxBytes)
                throw new ObjectTooLarge(key, maxBytes);
            chunks.push(chunk);
        }
    }
    finally {
        stream.destroy();
    }
    return Buffer.concat(chunks, total);
}
/** The object is in an archive storage class: it must be restored before it can be read. */
class ArchivedObject extends Error {
    key;
    constructor(key) {
        super(`${key} is in an archive storage class (GLACIER or DEEP_ARCHIVE) and cannot be read until restored: the backup is not damaged. Restore it first (aws s3api restore-object --bucket … --key … --restore-request Days=1), or write backups with a storage class that can be read at once (STANDARD, STANDARD_IA, GLACIER_IR)`);
        this.key = key;
        this.name = 'ArchivedObject';
    }
}
/** The store refused to delete some keys (Object Lock retention, a WORM bucket, a policy). */
class DeleteRefused extends Error {
    refused;
    constructor(refused) {
        const first = refused[0];
        super(`the store refused to delete ${refused.length} key(s), e.g. ${first?.key ?? '?'}: ${first?.reason ?? 'no reason given'}`);
        this.refused = refused;
        this.name = 'DeleteRefused';
    }
}


/***/ }),

/***/ 11837:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  run: () => (/* binding */ main_run)
});

// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 8 modules
var core = __webpack_require__(46058);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
var external_node_path_default = /*#__PURE__*/__webpack_require__.n(external_node_path_);
;// CONCATENATED MODULE: ./src/core/inert-lines.ts
/**
 * Text for a log that the GitHub runner must show, never obey. The runner reads any line of a
 * step's output whose start, after leading whitespace, is `::` (a workflow command) or `##[` (the
 * older form) as a command: `::stop-commands::`, `::add-mask::`, `::warning::` and the rest
 * (actions/runner, ActionCommand.TryParseV2 and TryParse). A database, role, table or object name
 * is whatever its owner typed, so every line we print is made inert here: one that would be a
 * command gets a visible `> ` in front. .NET's trim also takes U+0085, which `\s` does not. Pure.
 */
const COMMAND_START = /^[\s\u0085]*(::|##\[)/;
function inertLines(text) {
    return text
        .split(/(\r\n|\r|\n)/)
        .map((part) => (COMMAND_START.test(part) ? `> ${part}` : part))
        .join('');
}

;// CONCATENATED MODULE: ./src/core/chart.ts
/**
 * Trend charts: Mermaid `xychart-beta` for job summaries (GitHub renders ```mermaid blocks), a
 * line of block characters for the command line. Pure.
 */
/** Mermaid's chart text: quoted strings must hold no quote, and a line no line break. */
const label = (text) => `"${text.replace(/["\\\r\n]/g, ' ')}"`;
/** Enough digits to tell points apart, no more: values are rounded for reading, not stored. */
function figure(value) {
    if (!Number.isFinite(value))
        return '0';
    const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    return String(Number(value.toFixed(digits)));
}
/**
 * The plots' colour. Mermaid's default theme draws the first plot in its lightest colour
 * (#ECECFF), a line all but invisible on white; this blue reads on GitHub's light and dark pages.
 */
const PLOT_COLOUR = '#1f6feb';
/** The chart as a Mermaid `xychart-beta` diagram (the text inside a ```mermaid block). */
function mermaidChart(chart) {
    const top = Math.max(0, ...chart.values.filter(Number.isFinite));
    // A little headroom above the tallest point; a flat zero still gets an axis.
    const ceiling = top > 0 ? Number(figure(top * 1.1)) : 1;
    return [
        '---',
        'config:',
        '  themeVariables:',
        '    xyChart:',
        `      plotColorPalette: "${PLOT_COLOUR}"`,
        '---',
        'xychart-beta',
        `  title ${label(chart.title)}`,
        `  x-axis [${chart.labels.map(label).join(', ')}]`,
        `  y-axis ${label(chart.unit)} 0 --> ${ceiling}`,
        `  ${chart.style} [${chart.values.map(figure).join(', ')}]`,
    ].join('\n');
}
const BLOCKS = '▁▂▃▄▅▆▇█';
/** `▁▂▄█`: each value's height against the largest, for a terminal. */
function chart_sparkline(values) {
    const top = Math.max(0, ...values.filter(Number.isFinite));
    return values
        .map((value) => {
        const share = top > 0 && Number.isFinite(value) ? Math.max(0, value) / top : 0;
        return BLOCKS[Math.min(BLOCKS.length - 1, Math.round(share * (BLOCKS.length - 1)))];
    })
        .join('');
}
/** Bytes in the unit that keeps the largest under 1024 of it, for an axis. */
function bytesScale(values) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let divisor = 1;
    let unit = 0;
    const top = Math.max(0, ...values);
    while (top / divisor >= 1024 && unit < units.length - 1) {
        divisor *= 1024;
        unit += 1;
    }
    return { unit: units[unit], divisor };
}
/** Seconds, or minutes once the longest is over ten minutes. */
function secondsScale(values) {
    return Math.max(0, ...values) > 600 ? { unit: 'min', divisor: 60 } : { unit: 's', divisor: 1 };
}
/**
 * `03-14 02:00`: each point's UTC day and time, short enough for thirty on one axis; to the
 * second where two share a minute, and numbered where they share a second, since Mermaid draws
 * points with one label as one. A run that failed is marked ✗.
 */
function pointLabels(points) {
    const minute = (iso) => `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    const second = (iso) => `${iso.slice(5, 10)} ${iso.slice(11, 19)}`;
    const shared = (text, iso) => points.filter((point) => text(point.iso) === text(iso)).length > 1;
    const seen = new Map();
    return points.map(({ iso, failed }) => {
        let label = shared(minute, iso) ? second(iso) : minute(iso);
        const count = (seen.get(label) ?? 0) + 1;
        seen.set(label, count);
        if (count > 1 || shared(second, iso))
            label = `${label} #${count}`;
        return failed ? `${label} ✗` : label;
    });
}

;// CONCATENATED MODULE: ./src/core/database-names.ts
/**
 * Database names PostgreSQL's own tools cannot carry through a backup. A line break in a name
 * (CR or LF) is refused by pg_dumpall ("shell command argument contains a newline or carriage
 * return", 15 and 18 alike) and by pg_restore --create whenever it writes a script ("database name
 * contains a newline or carriage return"), which is how a restore reads the database's owner,
 * settings and privileges. Other control characters pass through those tools unharmed. Pure.
 */
/** Whether pg_restore --create cannot write `name` into a script. */
const hasLineBreak = (name) => /[\r\n]/.test(name);
/** Why a database so named can be dumped but never restored, for the one line that refuses it. */
const LINE_BREAK_WHY = 'its name holds a line break, which pg_dumpall and pg_restore --create refuse to write ("database name contains a newline or carriage return")';
/**
 * What a name may hold that a log line must not show raw: control characters (a line break would
 * split the line and could start a workflow command; ESC drives the terminal) and the Unicode
 * ones that break or reorder a line.
 */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const EACH_UNPRINTABLE = new RegExp(UNPRINTABLE.source, 'gu');
/** One character of UNPRINTABLE as JSON writes it (`\n`, `\t`, `\u001b`), or as `\u2028`. */
function escaped(char) {
    // JSON escapes C0 controls; DEL, C1 and the line and direction marks are left to this.
    const json = JSON.stringify(char).slice(1, -1);
    return json === char ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : json;
}
/**
 * `name` quoted, each character of UNPRINTABLE escaped (`\n`, `\t`, `\u001b`, `\u2028`): one
 * printable line that names it exactly.
 */
function quotedName(name) {
    return JSON.stringify(name).replace(EACH_UNPRINTABLE, escaped);
}
/**
 * A program's message for a log line, each character of UNPRINTABLE in it escaped in place: what
 * pg_restore says of a table named with a line break or ESC quotes the name raw, and a program's
 * message cannot be told apart into names and words.
 */
function printableText(text) {
    return text.replace(EACH_UNPRINTABLE, escaped);
}
/** `name` for a log line: as it is when it holds nothing of UNPRINTABLE, else quoted. */
function database_names_printableName(name) {
    return UNPRINTABLE.test(name) ? quotedName(name) : name;
}
/** The names of `names` that hold a line break, each quoted, or undefined. */
function lineBreakNames(names) {
    const found = names.filter(hasLineBreak);
    return found.length > 0 ? found.map(quotedName).join(', ') : undefined;
}
/**
 * The way out for such a database in an older backup: without --create pg_restore never writes
 * the name, and restores the database's contents into another one (checked on 15 and 18).
 */
const LINE_BREAK_BY_HAND = 'its contents restore by hand: download its archive and run pg_restore --dbname=NEWDB on it, without --create (docs/storage.md#a-database-named-with-a-line-break)';
/**
 * A restore or restore-test of a backup holding such a database (made before backups refused
 * them) fails before any work, in one line naming it, rather than part-way through.
 */
function refuseUnrestorable(id, names) {
    const found = lineBreakNames(names.filter((name) => name !== undefined));
    if (found === undefined)
        return;
    throw new Error(`backup ${id} holds the database ${found}, which cannot be restored: ${LINE_BREAK_WHY}; nothing was restored; ${LINE_BREAK_BY_HAND}`);
}
/**
 * The server's own templates: every server has them before any restore. pg_dumpall leaves
 * template0 out (it accepts no connections) and writes template1's objects into the template1 it
 * restores onto; a backup here leaves both out, and takes every other template like any database.
 * No restore replaces either: a `clean` one would drop the template every CREATE DATABASE copies.
 */
const SERVER_TEMPLATES = ['template0', 'template1'];
/** Why a restore into `name` is refused, or undefined when it may be a target. */
function ownTemplateRefusal(name) {
    return SERVER_TEMPLATES.includes(name)
        ? `${quotedName(name)} is one of the server's own templates (${SERVER_TEMPLATES.join(', ')}), which no restore replaces; restore into another database`
        : undefined;
}

;// CONCATENATED MODULE: ./src/core/report.ts
/** The whole run as one record: what the summary, the `report` output and notifications are made from. */


/**
 * The most the `report` output holds. GitHub refuses an output over 1 MB, and counts every output
 * of a job against 1 MB too: a quarter leaves room for the other outputs and another step's report.
 */
const REPORT_OUTPUT_LIMIT = 256 * 1024;
/**
 * The report as JSON within `limit` bytes: whole when it fits. Else every list and map in it
 * (a table's rows, the manifest's row counts, a comparison's tables) keeps its first entries,
 * as many as fit, and `truncated` says so and names the file that holds the whole report. The
 * size grows with the tables of a database (about 85 bytes each), so an unbounded report of a
 * database with ~12,000 tables would fail the step that sets it.
 */
function reportJson(report, reportFile, limit = REPORT_OUTPUT_LIMIT) {
    const whole = JSON.stringify(report);
    if (Buffer.byteLength(whole) <= limit)
        return whole;
    // No fewer than 50: the records in a report (a manifest, the outputs) have fewer keys than that,
    // so only the lists and maps that grow with the database are cut.
    for (const keptItems of [100, 50]) {
        const counter = { omitted: 0 };
        const cut = trimmed(report, keptItems, counter);
        const truncated = {
            limit,
            keptItems,
            omitted: counter.omitted,
            ...(reportFile ? { reportFile } : {}),
        };
        const json = JSON.stringify({ ...cut, truncated });
        if (Buffer.byteLength(json) <= limit)
            return json;
    }
    // Long texts are left (a huge error message, many warnings): the fields that say how it went.
    const { mode, name, ok, headline, error, startedAt, finishedAt } = report;
    const keep = (text) => text?.slice(0, 1000);
    const truncated = { limit, keptItems: 0, ...(reportFile ? { reportFile } : {}) };
    return JSON.stringify({
        mode,
        name,
        ok,
        headline: keep(headline),
        error: keep(error),
        startedAt,
        finishedAt,
        truncated,
    });
}
/** `value` with each array and object cut to its first `items` entries, at every depth. */
function trimmed(value, items, counter) {
    if (value === null || typeof value !== 'object')
        return value;
    const entries = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
    counter.omitted += Math.max(entries.length - items, 0);
    const kept = entries.slice(0, items).map(([key, item]) => [key, trimmed(item, items, counter)]);
    return Array.isArray(value) ? kept.map(([, item]) => item) : Object.fromEntries(kept);
}
/** Replaces every secret (and its URL-encoded form) in text that leaves the process. */
function redactor(secrets) {
    const forms = [...new Set(secrets.flatMap((secret) => [secret, encodeURIComponent(secret)]))]
        .filter((form) => form.length >= 3)
        .sort((a, b) => b.length - a.length);
    return (text) => forms.reduce((out, form) => out.split(form).join('***'), text);
}
/** Markdown for the job summary: a title line, the facts, then each table. */
function summaryMarkdown(report) {
    const status = report.ok ? '✅' : '❌';
    const lines = [
        `### ${status} backup-action ${report.mode}${report.name ? `: ${report.name}` : ''}`,
        '',
    ];
    lines.push(report.ok ? report.headline : `**Failed:** ${escapeCell(report.error ?? report.headline)}`, '');
    if (report.facts.length > 0) {
        lines.push('| | |', '| --- | --- |');
        for (const [label, value] of report.facts)
            lines.push(`| ${escapeCell(label)} | ${escapeCell(value)} |`);
        lines.push('');
    }
    for (const table of report.tables) {
        lines.push(`#### ${table.title}`, '', `| ${table.header.map(escapeCell).join(' | ')} |`);
        lines.push(`| ${table.header.map(() => '---').join(' | ')} |`);
        for (const row of table.rows.slice(0, SUMMARY_ROWS))
            lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
        lines.push('', ...notShown(table.rows.length, 'rows'));
    }
    for (const chart of report.charts ?? [])
        lines.push(`#### ${chart.title}`, '', '```mermaid', mermaidChart(chart), '```', '');
    for (const warning of report.warnings.slice(0, SUMMARY_ROWS))
        lines.push(`> ⚠️ ${escapeCell(warning)}`, '');
    lines.push(...notShown(report.warnings.length, 'warnings'));
    return lines.join('\n');
}
/**
 * Rows a table shows in the job summary, and warnings: GitHub refuses a step's summary over
 * 1 MiB, and a database's tables could make one larger. The `report-file` output has them all.
 */
const SUMMARY_ROWS = 500;
function notShown(count, what) {
    if (count <= SUMMARY_ROWS)
        return [];
    return [
        `… and ${count - SUMMARY_ROWS} more ${what}, in the report file (\`report-file\` output)`,
        '',
    ];
}
/**
 * A cell as text, whatever it holds: a pipe or a line break would end the cell or the table, and
 * a `<` would open HTML (an image, a link, a hidden block) from what a run read from outside, such
 * as a problem kept in a history record.
 */
function escapeCell(text) {
    return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/</g, '&lt;');
}
/** Plain text for the command line: aligned facts and tables. */
function summaryText(report) {
    const lines = [
        `${report.ok ? 'OK' : 'FAILED'} backup-action ${report.mode}${report.name ? ` ${report.name}` : ''}`,
    ];
    const width = Math.max(0, ...report.facts.map(([label]) => label.length));
    for (const [label, value] of report.facts)
        lines.push(`  ${label.padEnd(width)}  ${value}`);
    for (const table of report.tables) {
        lines.push('', `  ${table.title}`);
        // A cell may be a name read from a backup (a table, a database): shown printable.
        const all = [table.header, ...table.rows.map((row) => row.map(printableName))];
        const widths = table.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
        for (const row of all)
            lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
    }
    if (report.charts?.length)
        lines.push('');
    for (const chart of report.charts ?? [])
        lines.push(`  ${chart.title} (${chart.unit}): ${sparkline(chart.values)}`);
    for (const warning of report.warnings)
        lines.push(`  warning: ${warning}`);
    return lines.join('\n');
}

// EXTERNAL MODULE: ./src/core/errors.ts
var errors = __webpack_require__(74296);
;// CONCATENATED MODULE: ./src/core/secret-shapes.ts
/**
 * What a private key looks like wherever it is pasted: an age identity (any case, as bech32 allows),
 * an age plugin identity, or an armored private key's header. A value that holds one is never
 * quoted, not even in part, and is masked whichever input it came in.
 */
const PRIVATE_KEY_TOKEN = /AGE-(?:SECRET-KEY|PLUGIN-[A-Z0-9]+)-1[0-9A-Z]+/gi;
const ARMORED_PRIVATE = /PRIVATE KEY/i;
/** Whether a text holds something shaped like a private key. */
function holdsPrivateKey(text) {
    return ARMORED_PRIVATE.test(text) || privateKeyTokens(text).length > 0;
}
/** The age identities in a text, whole, for masking. */
function privateKeyTokens(text) {
    return text.match(PRIVATE_KEY_TOKEN) ?? [];
}

// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
var external_node_os_default = /*#__PURE__*/__webpack_require__.n(external_node_os_);
;// CONCATENATED MODULE: ./src/postgres/database-url.ts
/** The target with its printable form: the password shown as `***`. */
function withDisplay({ scheme = 'postgresql:', ...parts }) {
    const host = parts.host.startsWith('/')
        ? encodeURIComponent(parts.host)
        : parts.host.includes(':')
            ? `[${parts.host}]`
            : parts.host;
    const auth = `${encodeURIComponent(parts.user)}${parts.password === undefined ? '' : ':***'}@`;
    const query = new URLSearchParams(parts.params).toString();
    const display = `${scheme}//${auth}${host}:${parts.port}/${encodeURIComponent(parts.database)}${query ? `?${query}` : ''}`;
    return { ...parts, display };
}
/** The same server with another database, e.g. the scratch database of a restore test. */
function withDatabase(target, database) {
    const { display, ...parts } = target;
    const scheme = /^[a-z]+:/.exec(display)?.[0];
    return withDisplay({ ...parts, database, scheme });
}
/**
 * The connection as one libpq keyword/value string, every value quoted: pg_dump and pg_restore
 * take it as `--dbname` and cannot read a database named `a=b` or `postgres://x` as another
 * connection string. The password is not in it (it reaches them through PGPASSWORD).
 */
function connectionString(target) {
    const pairs = [
        ['host', target.host],
        ['port', target.port],
        ['user', target.user],
        ['dbname', target.database],
        ...Object.entries(target.params),
    ];
    return pairs.map(([key, value]) => `${key}=${quoteValue(String(value))}`).join(' ');
}
function quoteValue(value) {
    return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

;// CONCATENATED MODULE: ./src/postgres/libpq-tls.ts
/**
 * The TLS settings of a connection as libpq reads them (PostgreSQL's "SSL Support" and "Parameter
 * Key Words" pages): each from the URL, else from its PGSSL* variable, else libpq's default. The
 * driver connects by these, so it reaches the server exactly as pg_dump and pg_restore do.
 */


const SSL_MODES = [
    'disable',
    'allow',
    'prefer',
    'require',
    'verify-ca',
    'verify-full',
];
/** The variable libpq falls back on for each parameter (PGSSLNEGOTIATION is never passed on). */
const VARIABLES = {
    sslmode: 'PGSSLMODE',
    sslrootcert: 'PGSSLROOTCERT',
    sslcert: 'PGSSLCERT',
    sslkey: 'PGSSLKEY',
    sslcrl: 'PGSSLCRL',
};
/**
 * libpq's choice for these parameters and variables. Throws one line naming the parameter (or
 * variable) where libpq would refuse the connection outright.
 */
function tlsChoice(params, env) {
    // libpq's ~ is $HOME, else the user's home in the password database.
    const home = env.HOME || external_node_os_default().homedir();
    const given = (name) => {
        if (params[name] !== undefined)
            return { value: params[name], from: name };
        const variable = VARIABLES[name];
        return env[variable] === undefined ? undefined : { value: env[variable], from: variable };
    };
    const file = (name, fallback) => given(name)?.value || external_node_path_default().join(home, '.postgresql', fallback);
    const rootcert = file('sslrootcert', 'root.crt');
    const mode = modeOf(given('sslmode'), rootcert);
    return {
        mode,
        rootcert,
        cert: file('sslcert', 'postgresql.crt'),
        key: file('sslkey', 'postgresql.key'),
        crl: file('sslcrl', 'root.crl'),
        negotiation: negotiationOf(params.sslnegotiation, mode),
    };
}
function modeOf(given, rootcert) {
    // With the system's roots anyone can hold a trusted certificate for a name they own.
    const system = rootcert === 'system';
    if (given === undefined)
        return system ? 'verify-full' : 'prefer';
    const mode = SSL_MODES.find((known) => known === given.value);
    if (mode === undefined) {
        throw new Error(`${given.from} is "${given.value}"; libpq accepts ${SSL_MODES.join(', ')}`);
    }
    if (system && mode !== 'verify-full') {
        throw new Error(`${given.from} is ${mode} with sslrootcert=system, which libpq refuses; use verify-full`);
    }
    return mode;
}
function negotiationOf(value, mode) {
    if (value === undefined || value === 'postgres')
        return 'postgres';
    if (value !== 'direct') {
        throw new Error(`sslnegotiation is "${value}"; libpq accepts postgres, direct`);
    }
    // No fallback to plaintext may follow a direct handshake (libpq 17's rule).
    if (!['require', 'verify-ca', 'verify-full'].includes(mode)) {
        throw new Error(`sslnegotiation=direct needs sslmode require, verify-ca or verify-full (it is ${mode})`);
    }
    return 'direct';
}

;// CONCATENATED MODULE: ./src/inputs/database.ts
/**
 * The `database-url` input, parsed once into the one connection every guard checks and every
 * program uses: libpq would also obey query parameters (`dbname`, `user`, `options`, `service`…)
 * that no guard sees, so only parameters that cannot change which database is reached are kept.
 */




const ACCEPTED = 'use postgresql://user:password@host:5432/database';
/**
 * libpq parameters that only shape how the connection is made (TLS, timeouts, the name shown in
 * pg_stat_activity), never where it goes, as whom, or what the session does.
 */
const SAFE_PARAMETERS = new Set([
    'application_name',
    'connect_timeout',
    'sslmode',
    'sslrootcert',
    'sslcert',
    'sslkey',
    'sslcrl',
    'sslnegotiation',
    'channel_binding',
    'gssencmode',
    'keepalives',
    'keepalives_idle',
    'keepalives_interval',
    'keepalives_count',
    'tcp_user_timeout',
]);
/** Parameters refused for a reason of their own, named in the one line that refuses them. */
const REFUSED_PARAMETERS = {
    sslpassword: 'would show in the process list of pg_dump and pg_restore, which take the connection on their command line; use a key file without a passphrase, readable only by the user that runs the backup',
};
/** `host` and `port` may come as parameters (a socket folder has no URL spelling) but not twice. */
const PLACE_PARAMETERS = ['host', 'port'];
function readDatabaseUrl(inputs, name, { databaseOptional = false } = {}) {
    const value = inputs.text(name);
    if (value === '')
        throw new errors/* InputError */.dz(name, `is required; ${ACCEPTED}`);
    // The value may hold a password, so no message below quotes any part of it.
    const fail = (what) => {
        throw new errors/* InputError */.dz(name, `${what}; ${ACCEPTED}`);
    };
    const { url, authority } = splitUrl(value, fail);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        fail(`has the scheme "${url.protocol}"`);
    }
    if (url.hash !== '')
        fail('has a "#" part (write a "#" in the database name as %23)');
    const params = readParameters(url, fail);
    try {
        tlsChoice(params, inputs.env);
    }
    catch (error) {
        throw new errors/* InputError */.dz(name, error.message);
    }
    const host = placeOf('host', decode(authority.host, fail), params, fail);
    if (host === '')
        fail('names no host');
    // libpq tries each host of a list in turn; the pg driver, which runs the checks, takes one.
    if (host.includes(','))
        fail('names several hosts; give one');
    const portText = placeOf('port', authority.port, params, fail) || '5432';
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
        fail('has a port outside 1-65535');
    }
    const database = decode(url.pathname.replace(/^\//, ''), fail);
    if (database === '' && !databaseOptional)
        fail('names no database');
    const password = authority.password === undefined ? undefined : decode(authority.password, fail);
    const target = withDisplay({
        scheme: url.protocol,
        host,
        port: Number(portText),
        // Named here, not left to each client's default (the pg driver and libpq differ on PGUSER).
        user: authority.user === '' ? localUser(fail) : decode(authority.user, fail),
        password,
        database: database || 'postgres',
        params,
    });
    return {
        target,
        secrets: password === undefined ? [] : passwordForms(value, encoded(password), password),
    };
}
/** A URL holding `password` as the WHATWG parser encodes it: another spelling to mask. */
function encoded(password) {
    const url = new URL('postgresql://host');
    url.password = password;
    return url;
}
/**
 * The authority read as libpq reads it (RFC 3986 with libpq's additions: `user@` with no host,
 * `h1:5432,h2:5433`), the rest by the WHATWG parser: it refuses both, so it is given a stand-in
 * host. The userinfo ends at the first `@`, as in libpq.
 */
function splitUrl(value, fail) {
    const match = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/s.exec(value);
    if (!match)
        return fail('is not a valid URL');
    const [, scheme = '', written = '', rest = ''] = match;
    const at = written.indexOf('@');
    const userinfo = at < 0 ? undefined : written.slice(0, at);
    const hostspec = written.slice(at + 1);
    let url;
    try {
        url = new URL(`${scheme}//host${rest}`);
    }
    catch {
        return fail('is not a valid URL');
    }
    if (hostspec.includes(','))
        fail('names several hosts; give one');
    const place = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(hostspec);
    if (!place)
        return fail('is not a valid URL');
    const colon = userinfo?.indexOf(':') ?? -1;
    return {
        url,
        authority: {
            user: colon < 0 ? (userinfo ?? '') : (userinfo ?? '').slice(0, colon),
            ...(colon < 0 || userinfo?.length === colon + 1
                ? {}
                : { password: userinfo?.slice(colon + 1) }),
            host: (place[1] ?? '').replace(/^\[(.*)\]$/, '$1'),
            port: place[2] ?? '',
        },
    };
}
function readParameters(url, fail) {
    const params = {};
    for (const [key, value] of url.searchParams) {
        const refused = REFUSED_PARAMETERS[key];
        if (refused !== undefined)
            fail(`has the parameter "${key}", which ${refused}`);
        if (!SAFE_PARAMETERS.has(key) && !PLACE_PARAMETERS.includes(key)) {
            fail(`has the parameter "${key}", which could change the database, role or session the programs use; put the user, password and database in the URL itself, and keep only ${[...SAFE_PARAMETERS].join(', ')}`);
        }
        if (key in params)
            fail(`gives the parameter "${key}" twice`);
        params[key] = value;
    }
    return params;
}
/** The host or port, from the URL's authority or from its parameter, but not from both. */
function placeOf(key, fromAuthority, params, fail) {
    const fromParameter = params[key];
    delete params[key];
    if (fromParameter === undefined)
        return fromAuthority;
    if (fromAuthority !== '')
        fail(`gives the ${key} twice (in the URL and as ?${key}=)`);
    return fromParameter;
}
function localUser(fail) {
    try {
        return external_node_os_default().userInfo().username;
    }
    catch {
        return fail("names no user, and this machine's user has no name");
    }
}
function decode(text, fail) {
    try {
        return decodeURIComponent(text);
    }
    catch {
        return fail('has a malformed %-escape');
    }
}
/** The password as given, as the URL re-encoded it, and decoded: any of them could be printed. */
function passwordForms(value, url, password) {
    const written = /^[^:]+:\/\/[^:@/]*:([^@/]*)@/.exec(value)?.[1];
    const forms = [password, url.password, encodeURIComponent(password), written, value];
    return [...new Set(forms.filter((form) => Boolean(form)))];
}

;// CONCATENATED MODULE: ./src/inputs/names.ts
/** Every input the action declares (action.yml); the command line accepts exactly these. */
const INPUT_NAMES = [
    'mode',
    'storage',
    'name',
    's3-endpoint',
    's3-region',
    's3-force-path-style',
    's3-timeout',
    's3-storage-class',
    's3-sse',
    's3-sse-kms-key-id',
    'source',
    'database-url',
    'pg-dump-args',
    'pg-bin-dir',
    'postgres-client',
    'pg-client-mirror',
    'paths',
    'exclude',
    'exclude-from',
    'skip-unreadable',
    'redis-url',
    'compression',
    'compression-level',
    'age-recipients',
    'encryption-passphrase',
    'gpg-recipients',
    'row-counts',
    'databases',
    'exclude-databases',
    'globals',
    'max-age',
    'min-size',
    'max-shrink',
    'allow-missing-databases',
    'deep',
    'age-identity',
    'gpg-private-key',
    'gpg-passphrase',
    'signing-key',
    'signing-public-key',
    'backup-id',
    'checks',
    'checks-file',
    'jobs',
    'keep-database',
    'confirm',
    'clean',
    'restore-database-settings',
    'target-path',
    'target-database',
    'restore-globals',
    'allow-privileged-roles',
    'keep-last',
    'keep-hourly',
    'keep-daily',
    'keep-weekly',
    'keep-monthly',
    'keep-yearly',
    'keep-within',
    'timezone',
    'dry-run',
    'orphan-grace',
    'copy-to',
    'copy-last',
    'copy-check',
    'copy-best-effort',
    'retries',
    'retry-delay',
    'result',
    'message',
    'status-reports',
    'sets',
    'notify-on',
    'slack-webhook-url',
    'webhook-url',
    'heartbeat-url',
    'github-token',
    'failure-issue',
    'metrics-file',
    'pushgateway-url',
];
/**
 * Inputs that stand alone on the command line (`--dry-run` means true): the true/false ones. Any
 * other needs a value, so that `--storage --name x` is not read as a store named "true".
 */
const FLAG_INPUTS = new Set([
    'allow-missing-databases',
    'allow-privileged-roles',
    'clean',
    'copy-best-effort',
    'deep',
    'dry-run',
    'failure-issue',
    'keep-database',
    'restore-database-settings',
    'restore-globals',
    's3-force-path-style',
    'skip-unreadable',
]);
/**
 * action.yml's defaults. The runner sets INPUT_<name> to its default for every input that has one,
 * so a value equal to it says nothing about what the workflow gave. test/unit/action-yml.test.ts keeps
 * this in step with action.yml.
 */
const INPUT_DEFAULTS = {
    mode: 'backup',
    's3-timeout': '60s',
    source: 'postgres',
    'postgres-client': 'auto',
    'pg-client-mirror': 'https://apt.postgresql.org/pub/repos/apt',
    'skip-unreadable': 'false',
    compression: 'zstd',
    'row-counts': 'exact',
    globals: 'auto',
    'max-age': '26h',
    'max-shrink': '50%',
    'allow-missing-databases': 'false',
    deep: 'true',
    'backup-id': 'latest',
    'keep-database': 'false',
    clean: 'false',
    'restore-globals': 'false',
    'allow-privileged-roles': 'false',
    'restore-database-settings': 'true',
    timezone: 'UTC',
    'dry-run': 'false',
    'orphan-grace': '24h',
    'copy-check': 'listing',
    'copy-best-effort': 'false',
    retries: '2',
    'retry-delay': '30s',
    'notify-on': 'failure',
    'github-token': '${{ github.token }}',
    'failure-issue': 'false',
};
/** Whether an input's value says something: not empty, and not the default the runner fills in. */
function isGiven(name, value) {
    const text = value.trim();
    return text !== '' && text !== INPUT_DEFAULTS[name];
}

;// CONCATENATED MODULE: ./src/inputs/given-secrets.ts
/**
 * The secrets in what was given, whatever the mode reads: masked before the inputs are read, so
 * that an input the mode leaves alone, or a run refused for bad input, shows none of them either.
 */



/** Inputs whose whole value is a secret, named as action.yml names them now or may later. */
const SECRET_NAME = /passphrase|identity|private-key|signing-key|password|secret|token|webhook|heartbeat|pushgateway/;
function givenSecrets(source) {
    return INPUT_NAMES.flatMap((name) => {
        const lines = source(name)
            .split('\n')
            .map((line) => line.trim())
            .filter(Boolean);
        // A private key pasted into an input meant for something else (a recipient) is a secret too.
        const found = [...lines.flatMap(urlPassword), ...lines.flatMap(privateKeyTokens)];
        return SECRET_NAME.test(name) ? [...lines, ...found] : found;
    });
}
/** The password a URL carries, in every form a log could show it. */
function urlPassword(line) {
    let url;
    try {
        url = new URL(line);
    }
    catch {
        return [];
    }
    if (url.password === '')
        return [];
    let password = url.password;
    try {
        password = decodeURIComponent(url.password);
    }
    catch {
        // A password that is not valid percent-encoding is masked as written.
    }
    return passwordForms(line, url, password);
}

;// CONCATENATED MODULE: ./src/core/settings.ts
const MODES = [
    'backup',
    'verify-latest',
    'restore-test',
    'restore',
    'retention-prune',
    'copy',
    'notify',
    'status',
];
/** The encryption layer a backup with these keys goes through. */
function encryptionOf(keys) {
    return keys?.method ?? 'none';
}
/**
 * The restore-test inputs that only some kinds use: which of them a run was given is known before
 * the manifest is read, and the backup's kind refuses any it does not use (kinds/accepts.ts).
 */
const KIND_TEST_INPUTS = [
    'database-url',
    'pg-bin-dir',
    'postgres-client',
    'pg-client-mirror',
    'jobs',
    'keep-database',
    'restore-database-settings',
    'restore-globals',
    'allow-privileged-roles',
    'databases',
];
/** The inputs a PostgreSQL restore-test uses, of those only some kinds use. */
const POSTGRES_TEST_INPUTS = KIND_TEST_INPUTS.filter((name) => name !== 'databases');

;// CONCATENATED MODULE: ./src/postgres/dump-args.ts
/**
 * `pg-dump-args` read the way pg_dump's getopt_long reads them, so a guard holds for every
 * spelling: any unambiguous prefix of a long option (`--fil=x` is `--file=x`), short options with
 * their value attached or in the next argument (`-fx`, `-f x`), and short flags run together
 * (`-vFp`). Pure.
 */
const dump_args_option = (long, value, short) => ({
    long,
    value,
    short,
});
/**
 * Every long option of pg_dump 10 to 18, the union over those majors: a prefix that is unique
 * here is unique, or unknown, to any of them, so it never means another option to pg_dump.
 */
const OPTIONS = [
    dump_args_option('data-only', false, 'a'),
    dump_args_option('blobs', false, 'b'),
    dump_args_option('large-objects', false, 'b'),
    dump_args_option('no-blobs', false, 'B'),
    dump_args_option('no-large-objects', false, 'B'),
    dump_args_option('clean', false, 'c'),
    dump_args_option('create', false, 'C'),
    dump_args_option('dbname', true, 'd'),
    dump_args_option('extension', true, 'e'),
    dump_args_option('encoding', true, 'E'),
    dump_args_option('file', true, 'f'),
    dump_args_option('format', true, 'F'),
    dump_args_option('host', true, 'h'),
    dump_args_option('jobs', true, 'j'),
    dump_args_option('schema', true, 'n'),
    dump_args_option('exclude-schema', true, 'N'),
    dump_args_option('oids', false, 'o'),
    dump_args_option('no-owner', false, 'O'),
    dump_args_option('port', true, 'p'),
    dump_args_option('no-reconnect', false, 'R'),
    dump_args_option('schema-only', false, 's'),
    dump_args_option('superuser', true, 'S'),
    dump_args_option('table', true, 't'),
    dump_args_option('exclude-table', true, 'T'),
    dump_args_option('username', true, 'U'),
    dump_args_option('verbose', false, 'v'),
    dump_args_option('version', false, 'V'),
    dump_args_option('no-password', false, 'w'),
    dump_args_option('password', false, 'W'),
    dump_args_option('no-privileges', false, 'x'),
    dump_args_option('no-acl', false, 'x'),
    dump_args_option('compress', true, 'Z'),
    dump_args_option('help', false, '?'),
    dump_args_option('attribute-inserts', false),
    dump_args_option('binary-upgrade', false),
    dump_args_option('column-inserts', false),
    dump_args_option('disable-dollar-quoting', false),
    dump_args_option('disable-triggers', false),
    dump_args_option('enable-row-security', false),
    dump_args_option('exclude-extension', true),
    dump_args_option('exclude-table-and-children', true),
    dump_args_option('exclude-table-data', true),
    dump_args_option('exclude-table-data-and-children', true),
    dump_args_option('extra-float-digits', true),
    dump_args_option('filter', true),
    dump_args_option('if-exists', false),
    dump_args_option('include-foreign-data', true),
    dump_args_option('inserts', false),
    dump_args_option('load-via-partition-root', false),
    dump_args_option('lock-wait-timeout', true),
    dump_args_option('no-comments', false),
    dump_args_option('no-data', false),
    dump_args_option('no-policies', false),
    dump_args_option('no-publications', false),
    dump_args_option('no-schema', false),
    dump_args_option('no-security-labels', false),
    dump_args_option('no-statistics', false),
    dump_args_option('no-subscriptions', false),
    dump_args_option('no-sync', false),
    dump_args_option('no-synchronized-snapshots', false),
    dump_args_option('no-table-access-method', false),
    dump_args_option('no-tablespaces', false),
    dump_args_option('no-toast-compression', false),
    dump_args_option('no-unlogged-table-data', false),
    dump_args_option('on-conflict-do-nothing', false),
    dump_args_option('quote-all-identifiers', false),
    dump_args_option('restrict-key', true),
    dump_args_option('role', true),
    dump_args_option('rows-per-insert', true),
    dump_args_option('section', true),
    dump_args_option('sequence-data', false),
    dump_args_option('serializable-deferrable', false),
    dump_args_option('snapshot', true),
    dump_args_option('statistics', false),
    dump_args_option('statistics-only', false),
    dump_args_option('strict-names', false),
    dump_args_option('sync-method', true),
    dump_args_option('table-and-children', true),
    dump_args_option('use-set-session-authorization', false),
    dump_args_option('with-data', false),
    dump_args_option('with-schema', false),
    dump_args_option('with-statistics', false),
];
/**
 * What backup-action decides itself: where the archive goes and in what format (custom, to its
 * own stream), which server and database (database-url), the snapshot the row counts share;
 * and what would make pg_dump print something else than an archive or wait for a prompt.
 */
const REFUSED = new Set([
    'file',
    'format',
    'jobs',
    'dbname',
    'host',
    'port',
    'username',
    'snapshot',
    'password',
    'version',
    'help',
]);
/** Resolves the arguments as pg_dump would; the first one it refuses, described, or undefined. */
function refusedPgDumpArgument(args) {
    for (const resolved of resolvePgDumpArgs(args)) {
        if (resolved.problem)
            return `"${resolved.given}" ${resolved.problem}`;
        const name = resolved.option?.long;
        if (name && REFUSED.has(name)) {
            const spelled = resolved.given === `--${name}` ? '' : ` (pg_dump reads it as --${name})`;
            return `"${resolved.given}"${spelled} is set by backup-action`;
        }
    }
    return undefined;
}
function resolvePgDumpArgs(args) {
    const out = [];
    for (let at = 0; at < args.length; at += 1) {
        const given = args[at] ?? '';
        // The next argument, when the option takes a value and none was attached.
        const next = () => {
            at += 1;
            return args[at];
        };
        if (given === '--') {
            out.push({ given, problem: 'ends pg_dump’s options: what follows would name the database' });
        }
        else if (given.startsWith('--'))
            out.push(resolveLong(given, next));
        else if (given.startsWith('-') && given.length > 1)
            out.push(...resolveShort(given, next));
        else {
            out.push({ given, problem: 'is not an option: pg_dump would take it as the database' });
        }
    }
    return out;
}
function resolveLong(given, next) {
    const [name = '', ...rest] = given.slice(2).split('=');
    const attached = rest.length > 0 ? rest.join('=') : undefined;
    const exact = OPTIONS.find((candidate) => candidate.long === name);
    const matches = exact ? [exact] : OPTIONS.filter((candidate) => candidate.long.startsWith(name));
    const meanings = new Set(matches.map((match) => match.short ?? match.long));
    if (matches.length === 0)
        return { given, problem: 'is not a pg_dump option' };
    const chosen = matches[0];
    if (!chosen || meanings.size > 1) {
        const names = matches.map((match) => `--${match.long}`).join(', ');
        return { given, problem: `is ambiguous to pg_dump (${names})` };
    }
    if (!chosen.value) {
        if (attached !== undefined)
            return { given, problem: 'takes no value' };
        return { given, option: chosen };
    }
    return { given, option: chosen, value: attached ?? next() };
}
function resolveShort(given, next) {
    const out = [];
    for (let at = 1; at < given.length; at += 1) {
        const letter = given[at];
        const found = OPTIONS.find((candidate) => candidate.short === letter);
        if (!found)
            return [...out, { given, problem: `has -${letter}, not a pg_dump option` }];
        if (found.value) {
            const attached = given.slice(at + 1);
            return [...out, { given, option: found, value: attached === '' ? next() : attached }];
        }
        out.push({ given, option: found });
    }
    return out;
}

;// CONCATENATED MODULE: ./src/core/duration.ts
/** Parsing of the duration inputs (`max-age`, `keep-within`, `orphan-grace`). Pure. */
const UNIT_MS = {
    s: 1_000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
};
/** What every duration input accepts, for error messages. */
const DURATION_HELP = 'a duration such as 90s, 45m, 26h, 7d, 2w or 1d12h';
/**
 * Parses `90s`, `45m`, `26h`, `7d`, `2w` and combinations such as `1d12h` into milliseconds.
 * Units must appear from largest to smallest, once each, so `12h1d` is refused as a likely typo.
 * Returns undefined for anything else, so the caller can name the input in its message.
 */
function parseDuration(text) {
    const trimmed = text.trim().toLowerCase();
    if (!/^(\d+[wdhms])+$/.test(trimmed))
        return undefined;
    let total = 0;
    let lastUnitMs = Infinity;
    for (const [, digits, unit] of trimmed.matchAll(/(\d+)([wdhms])/g)) {
        const unitMs = UNIT_MS[unit ?? ''] ?? 0;
        if (unitMs >= lastUnitMs)
            return undefined;
        lastUnitMs = unitMs;
        total += Number(digits) * unitMs;
    }
    return Number.isSafeInteger(total) && total > 0 ? total : undefined;
}
/** Renders milliseconds the way a person reads an age: `2d 3h`, `45m`, `12s`. */
function formatDuration(ms) {
    const parts = [];
    let rest = Math.max(0, Math.round(ms / 1000));
    for (const [unit, size] of [
        ['d', 86_400],
        ['h', 3_600],
        ['m', 60],
    ]) {
        if (rest >= size) {
            parts.push(`${Math.floor(rest / size)}${unit}`);
            rest %= size;
        }
    }
    if (rest > 0 || parts.length === 0)
        parts.push(`${rest}s`);
    return parts.slice(0, 2).join(' ');
}

;// CONCATENATED MODULE: ./src/core/ids.ts
/**
 * Backup ids: the UTC start time to the second and a random suffix. Sorting ids as strings sorts
 * them by second only; within a second the suffix is random, so every order of backups goes
 * through `newestFirst`, which reads the manifest's time.
 */

const ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
function newBackupId(now, random = () => (0,external_node_crypto_.randomBytes)(3)) {
    return `${stamp(now)}-${random().toString('hex').slice(0, 6)}`;
}
/** `20260102T030405Z`: the id's time part. */
function stamp(date) {
    return date
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
}
/** `YYYYMMDDTHHMMSSZ`: the part of an id that is its start time, to the second. */
const ID_TIME_LENGTH = 16;
/** The second an id names: seconds sort by time as strings, the ids of one second do not. */
const secondOf = (id) => id.slice(0, ID_TIME_LENGTH);
/** Whether two ids were started in the same second: their time parts are one. */
function sameIdSecond(one, other) {
    return secondOf(one) === secondOf(other);
}
function isBackupId(text) {
    return ID_PATTERN.test(text);
}
/** The start time an id encodes, or undefined when the id is not well formed. */
function idTime(id) {
    const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/.exec(id);
    if (!match)
        return undefined;
    const [, y, mo, d, h, mi, s] = match.map(Number);
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    // Date.UTC rolls a month 13 or a second 60 over into the next unit: such an id names no time.
    return !Number.isNaN(date.getTime()) && id.startsWith(stamp(date)) ? date : undefined;
}
/**
 * When a backup started: its id's second, refined by its manifest's milliseconds where the two
 * agree. Ids of one second sort by their random suffix; this orders them as they were made, as
 * `latest` does. A manifest dated in another second is not believed over the id.
 */
function startedAt(id, createdAt) {
    const second = idTime(id);
    if (!second)
        return undefined;
    const precise = Date.parse(createdAt);
    return Math.floor(precise / 1000) * 1000 === second.getTime() ? new Date(precise) : second;
}
/** `startedAt` in milliseconds; a backup whose id names no time sorts after every other. */
function startedMs({ id, createdAt }) {
    return startedAt(id, createdAt)?.getTime() ?? -Infinity;
}
/** The one order of backups, newest first: by when each started, then by id (never equal). */
function newestFirst(a, b) {
    return byStartNewestFirst({ id: a.id, ms: startedMs(a) }, { id: b.id, ms: startedMs(b) });
}
/** `newestFirst` for backups whose start (`startedAt`) is already known, in milliseconds. */
function byStartNewestFirst(a, b) {
    if (a.ms !== b.ms)
        return a.ms < b.ms ? 1 : -1;
    return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}
/** Whether `a` started after `b`. */
const startedAfter = (a, b) => newestFirst(a, b) < 0;

;// CONCATENATED MODULE: ./src/core/layout.ts
/**
 * The storage layout, relative to the storage root:
 *   <name>/<id>.<ext>            the backup's bytes
 *   <name>/<id>.manifest.json    written last: a backup exists only once its manifest does
 *   <name>/<id>/<file>.<ext>     a server backup's objects: one per database, and the globals
 *   <name>/<id>.identity.age     a passphrase backup's own age identity, sealed with the passphrase
 *   <name>/history/<run>.<mode>.json   the record of one restore-test or verify-latest run
 * Every key the product deletes must classify here, so nothing outside a set's own layout is touched.
 */


const NAME_PATTERN = /^[a-z0-9._-]+$/;
/** True for a set name that is one safe path segment. */
function isValidSetName(name) {
    return NAME_PATTERN.test(name) && name !== '.' && name !== '..' && name.length <= 128;
}
const COMPRESSION_SUFFIX = { zstd: '.zst', gzip: '.gz', none: '' };
const ENCRYPTION_SUFFIX = { none: '', age: '.age', gpg: '.gpg' };
/** Every encryption layer the stored format knows. */
const ENCRYPTIONS = Object.keys(ENCRYPTION_SUFFIX);
const FORMAT_SUFFIX = {
    'pg_dump-custom': 'dump',
    tar: 'tar',
    rdb: 'rdb',
};
/** `dump.zst.age`, `dump.zst.gpg`: each layer the bytes went through, in the order a person undoes them backwards. */
function objectExtension(format, compression, encryption) {
    return `${FORMAT_SUFFIX[format]}${COMPRESSION_SUFFIX[compression]}${ENCRYPTION_SUFFIX[encryption]}`;
}
function objectKey(name, id, extension) {
    return `${name}/${id}.${extension}`;
}
/**
 * A database name as one safe file name. A name of only [a-z0-9_] is kept as it is; any other is
 * reduced to those characters and given a dash and 16 hex digits of its hash. Kept names never
 * hold a dash and changed ones always do, so two databases never share a file; the exact name is
 * in the manifest.
 */
function databaseFileName(database) {
    if (/^[a-z0-9_]+$/.test(database))
        return database;
    const hash = (0,external_node_crypto_.createHash)('sha256').update(database, 'utf8').digest('hex').slice(0, 16);
    const readable = database
        .toLowerCase()
        .replace(/[^a-z0-9_]+/g, '_')
        .slice(0, 40);
    return `${readable}-${hash}`;
}
/** `globals.sql.zst.age`: the roles and tablespaces as SQL, through the backup's layers. */
function globalsExtension(compression, encryption) {
    return `sql${COMPRESSION_SUFFIX[compression]}${ENCRYPTION_SUFFIX[encryption]}`;
}
/** `<name>/<id>/<file>.<extension>`: one object of a server backup. */
function serverObjectKey(name, id, file, extension) {
    return `${name}/${id}/${file}.${extension}`;
}
function databaseObjectKey(name, id, database, compression, encryption) {
    const extension = objectExtension('pg_dump-custom', compression, encryption);
    return serverObjectKey(name, id, databaseFileName(database), extension);
}
function globalsObjectKey(name, id, compression, encryption) {
    return serverObjectKey(name, id, 'globals', globalsExtension(compression, encryption));
}
const IDENTITY_EXTENSION = 'identity.age';
/**
 * `<name>/<id>.identity.age`: the age identity a passphrase backup's objects are encrypted to,
 * itself encrypted with the passphrase, so that a reader runs scrypt once, not once per object.
 */
function identityKey(name, id) {
    return `${name}/${id}.${IDENTITY_EXTENSION}`;
}
/** Whether `key` is the identity of the backup `id` rather than one that holds its data. */
const isIdentityKey = (key, id) => key.endsWith(`/${id}.${IDENTITY_EXTENSION}`);
function manifestKey(name, id) {
    return `${name}/${id}.manifest.json`;
}
/** `<name>/<id>.manifest.json.sig`: the SSH signature of a signed backup's manifest, beside it. */
function signatureKey(name, id) {
    return `${manifestKey(name, id)}${SIGNATURE_SUFFIX}`;
}
const SIGNATURE_SUFFIX = '.sig';
/** The modes that leave a record of each run in the set's history. */
const RECORD_MODES = ['restore-test', 'verify-latest'];
/**
 * The folder of a set's history records. Not an id, so no reader of an older release takes a
 * record for a backup's object (it counts it as a key outside the layout and leaves it alone).
 */
const HISTORY_FOLDER = 'history';
/**
 * `<name>/history/<run>.<mode>.json`: one object per run, named by the run's own id (its start
 * time and a random suffix), so that records sort by time and two runs never write one key.
 */
function recordKey(name, run, mode) {
    return `${name}/${HISTORY_FOLDER}/${run}.${mode}.json`;
}
const RECORD_FILE = new RegExp(`^(.+)\\.(${RECORD_MODES.join('|')})\\.json$`);
// Every format's suffix, from the one table: a format added there is classified here too.
const OBJECT_EXTENSION = new RegExp(`^(${Object.values(FORMAT_SUFFIX).join('|')})(\\.zst|\\.gz)?(\\.age|\\.gpg)?$`);
const SERVER_FILE = /^(globals\.sql|[a-z0-9_]+(-[0-9a-f]{16})?\.dump)(\.zst|\.gz)?(\.age|\.gpg)?$/;
/** What a key under the set's folder is, or undefined for anything that is not ours to touch. */
function classifyKey(name, key) {
    const prefix = `${name}/`;
    if (!key.startsWith(prefix))
        return undefined;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) {
        const id = rest.slice(0, slash);
        const file = rest.slice(slash + 1);
        if (id === HISTORY_FOLDER)
            return classifyRecord(file);
        if (!isBackupId(id) || !SERVER_FILE.test(file))
            return undefined;
        return { kind: 'object', id, extension: file };
    }
    const dot = rest.indexOf('.');
    if (dot < 0)
        return undefined;
    const id = rest.slice(0, dot);
    const extension = rest.slice(dot + 1);
    if (!isBackupId(id))
        return undefined;
    if (extension === 'manifest.json')
        return { kind: 'manifest', id };
    if (extension === `manifest.json${SIGNATURE_SUFFIX}`)
        return { kind: 'signature', id };
    if (OBJECT_EXTENSION.test(extension) || extension === IDENTITY_EXTENSION) {
        return { kind: 'object', id, extension };
    }
    return undefined;
}
/** A file of the history folder: a record, when its name is a run id (a real time) and a mode. */
function classifyRecord(file) {
    const match = RECORD_FILE.exec(file);
    if (!match || !idTime(match[1]))
        return undefined;
    return { kind: 'record', id: match[1], mode: match[2] };
}

;// CONCATENATED MODULE: ./src/core/name-glob.ts
/**
 * Shell-style patterns for database names (`shop_*`, `tenant_??`, `[a-c]*`). Names are not paths:
 * `*` matches any characters, `/` included. A name with no pattern character matches only itself.
 */
const escapeRegExp = (text) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
/** True when `pattern` holds `*`, `?` or a `[…]` class. */
const isGlob = (pattern) => /[*?[]/.test(pattern);
function nameMatcher(pattern) {
    if (!isGlob(pattern))
        return (name) => name === pattern;
    let source = '';
    for (let i = 0; i < pattern.length; i++) {
        const char = pattern[i];
        if (char === '*')
            source += '.*';
        else if (char === '?')
            source += '.';
        else if (char === '[') {
            const end = pattern.indexOf(']', i + 2);
            if (end < 0) {
                source += '\\[';
                continue;
            }
            const body = pattern.slice(i + 1, end);
            const negated = body.startsWith('!') || body.startsWith('^');
            const members = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, '\\$&');
            source += `[${negated ? '^' : ''}${members}]`;
            i = end;
        }
        else
            source += escapeRegExp(char);
    }
    const regex = new RegExp(`^${source}$`, 'su');
    return (name) => regex.test(name);
}
/** A pattern that matches `name` alone, whatever characters it holds (`[*]` is a literal `*`). */
const literalPattern = (name) => name.replace(/[*?[]/g, '[$&]');
/** Why `pattern` cannot be used (a class like `[z-a]` has its range out of order), or undefined. */
function patternProblem(pattern) {
    try {
        nameMatcher(pattern);
        return undefined;
    }
    catch {
        return `"${pattern}" is not a usable pattern: a [...] class with its range out of order, such as [z-a]`;
    }
}
/** The names that some include pattern (or `all`) matches and no exclude pattern does. */
function selectNames(names, include, exclude = []) {
    const excluded = exclude.map(nameMatcher);
    const includers = include === 'all' ? [() => true] : include.map(nameMatcher);
    const unmatched = include === 'all'
        ? []
        : include.filter((_, index) => !names.some((name) => includers[index](name)));
    const selected = names.filter((name) => includers.some((match) => match(name)) && !excluded.some((match) => match(name)));
    return { selected, unmatched };
}

// EXTERNAL MODULE: external "node:timers/promises"
var external_node_timers_promises_ = __webpack_require__(58500);
;// CONCATENATED MODULE: ./src/core/types.ts
/** Opens another store of the run; rejects where the context was made for its own store alone. */
async function openOther(ctx, store) {
    if (!ctx.open)
        throw new Error('this run cannot open stores other than its own');
    return ctx.open(store);
}
/**
 * A run that did its work and found something wrong carries what it learned, so that the
 * summary of a failed run still shows the figures (the tables that differ, the failed checks).
 */
class ModeFailure extends Error {
    partial;
    final;
    /**
     * `cause`: the error the run failed on, when it threw one, so that its kind can be judged.
     * `final`: running the whole run again would not mend it, or would repeat what it did (a backup
     * already published): its own parts were already tried again where that helps.
     */
    constructor(message, partial, cause, final = false) {
        super(message, cause === undefined ? undefined : { cause });
        this.partial = partial;
        this.final = final;
        this.name = 'ModeFailure';
    }
}

;// CONCATENATED MODULE: ./src/core/retry.ts
/**
 * Self-healing runs: a run that failed for a reason that passes (a connection refused or reset, a
 * name that did not resolve, S3 throttling, a 5xx or a timeout, a lock timeout, a database still
 * starting up) is run again, whole, after a pause that doubles each time. Nothing else is tried
 * again: a wrong password, a missing database, bad input or a checksum that does not match fail
 * the same way every time, and trying again would only delay the alert. A reason not known to
 * pass is taken not to.
 */



/**
 * The longest wait between two attempts, and so the longest retry-delay: a failure that lasts
 * longer is an outage to alert on, not one to sleep through (and a wait beyond 24.8 days would
 * overflow Node's timer, which then fires at once).
 */
const MAX_RETRY_DELAY_MS = 6 * 3_600_000;
/** Error codes of Node's network stack (and undici's) that a later attempt may not meet. */
const NETWORK_CODES = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ECONNABORTED: 'connection aborted',
    EPIPE: 'connection broken',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'DNS: name not resolved',
    EAI_AGAIN: 'DNS: temporary failure',
    UND_ERR_SOCKET: 'connection reset',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};
/** PostgreSQL's SQLSTATEs of a server that is restarting, full or busy, not of a mistake. */
const SQLSTATES = {
    '57P03': 'the database is starting up',
    '57P01': 'the database was shut down',
    '57P02': 'the database crashed',
    '53300': 'too many connections',
    '55P03': 'lock timeout',
    '40001': 'serialization failure',
    '40P01': 'deadlock',
    '08000': 'connection lost',
    '08001': 'connection refused',
    '08006': 'connection lost',
};
/** What S3 and S3-compatible stores call throttling and a busy or failing service. */
const S3_NAMES = new Set([
    'SlowDown',
    'Throttling',
    'ThrottlingException',
    'TooManyRequestsException',
    'RequestLimitExceeded',
    'RequestTimeout',
    'RequestTimeoutException',
    'InternalError',
    'ServiceUnavailable',
    'TimeoutError',
]);
/** What pg_dump, pg_restore and psql print when the server is unreachable, busy or restarting. */
const PROGRAM_LINES = [
    [/the database system is (starting up|shutting down|in recovery mode)/i, 'the database is $1'],
    [/connection refused/i, 'connection refused'],
    [/connection reset by peer/i, 'connection reset'],
    [/server closed the connection unexpectedly/i, 'connection lost'],
    [/could not translate host name/i, 'DNS: name not resolved'],
    [/timeout expired/i, 'connection timed out'],
    [/lock timeout|could not obtain lock/i, 'lock timeout'],
    [/too many clients already|remaining connection slots are reserved/i, 'too many connections'],
];
const retry_final = { transient: false, cause: 'final' };
/** Whether `error` (or anything it was caused by) is of a kind that passes. */
function diagnose(error) {
    if (error instanceof errors/* InputError */.dz)
        return { transient: false, cause: 'bad input' };
    if (error instanceof errors/* CancelledError */.cc)
        return { transient: false, cause: 'cancelled' };
    if (error instanceof ModeFailure && error.final)
        return retry_final;
    for (const each of chain(error))
        if (each instanceof errors/* FinalError */.f4)
            return retry_final;
    for (const each of chain(error)) {
        const found = knownTransient(each);
        if (found)
            return { transient: true, cause: found };
    }
    return { transient: false, cause: 'permanent' };
}
function knownTransient(error) {
    const { code, name, $metadata, message } = (error ?? {});
    if (typeof code === 'string' && NETWORK_CODES[code])
        return NETWORK_CODES[code];
    if (typeof code === 'string' && SQLSTATES[code])
        return SQLSTATES[code];
    const status = $metadata?.httpStatusCode;
    if (typeof name === 'string' && S3_NAMES.has(name)) {
        return status === undefined ? `S3 ${name}` : `S3 ${status} ${name}`;
    }
    if (status !== undefined && (status >= 500 || status === 429))
        return `S3 ${status}`;
    if (typeof message !== 'string')
        return undefined;
    for (const [pattern, cause] of PROGRAM_LINES) {
        const match = pattern.exec(message);
        if (match)
            return cause.replace('$1', match[1] ?? '');
    }
    return undefined;
}
/** The error, what caused it, and each error an AggregateError holds, depth first. */
function* chain(error, depth = 0) {
    if (error === undefined || error === null || depth > 8)
        return;
    yield error;
    if (error instanceof AggregateError)
        for (const each of error.errors)
            yield* chain(each, depth + 1);
    yield* chain(error.cause, depth + 1);
}
/**
 * Runs `work` until it succeeds, fails for a reason that does not pass, or has failed
 * `retries + 1` times; each failed attempt is logged with its cause and pushed to `failed`.
 * Rejects with the last attempt's error. `what` names the work in the log (`the run`).
 */
async function retrying(what, work, policy, ctx, failed) {
    const sleep = ctx.sleep ?? ((ms, signal) => (0,external_node_timers_promises_.setTimeout)(ms, undefined, { signal }));
    for (let attempt = 1;; attempt++) {
        try {
            return await work();
        }
        catch (error) {
            if (ctx.signal.aborted)
                throw error;
            const { transient, cause } = diagnose(error);
            failed.push({ attempt, error: (0,errors/* errorMessage */.gJ)(error), transient, cause });
            const total = policy.retries + 1;
            if (!transient || attempt >= total) {
                if (attempt > 1) {
                    const why = transient ? `${cause}; no attempt left` : `${cause}: not tried again`;
                    ctx.log.warning(`${what}: attempt ${attempt} of ${total} failed (${why})`);
                }
                throw error;
            }
            const ms = Math.min(policy.delayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
            ctx.log.warning(`${what}: attempt ${attempt} of ${total} failed (${cause}): ${(0,errors/* errorMessage */.gJ)(error)}; trying again in ${Math.round(ms / 1000)} s`);
            await sleep(ms, ctx.signal).catch(() => {
                throw new errors/* CancelledError */.cc();
            });
        }
    }
}
/** The summary's line on the attempts, when there was more than one. */
function attemptsFact(failed, succeeded) {
    if (failed.length === 0 || (!succeeded && failed.length === 1))
        return undefined;
    const total = failed.length + (succeeded ? 1 : 0);
    const each = failed.map(({ attempt, cause }) => `${attempt}: ${cause}`).join('; ');
    return succeeded ? `${total} (failed before: ${each})` : `${total}, every one failed (${each})`;
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
;// CONCATENATED MODULE: ./src/inputs/client.ts
/** The PostgreSQL client inputs: `postgres-client`, `pg-bin-dir` and `pg-client-mirror`. */



const DEFAULT_CLIENT_MIRROR = 'https://apt.postgresql.org/pub/repos/apt';
/** The client of a run whose inputs were not read for one (no PostgreSQL program runs). */
const DEFAULT_CLIENT = {
    choice: 'auto',
    pgBinDir: undefined,
    mirror: DEFAULT_CLIENT_MIRROR,
};
function readClient(inputs) {
    return {
        choice: readChoice(inputs.optional('postgres-client') ?? 'auto'),
        pgBinDir: readBinDir(inputs.optional('pg-bin-dir')),
        // A company mirror's URL may carry credentials: it is read as a secret and never echoed.
        mirror: (inputs.secretUrl('pg-client-mirror') ?? DEFAULT_CLIENT_MIRROR).replace(/\/+$/, ''),
    };
}
/**
 * A given folder is the user's choice and is never replaced by a download: one that does not
 * exist, or holds neither program, is refused before any work.
 */
function readBinDir(dir) {
    if (dir === undefined)
        return undefined;
    const accepted = 'give the bin folder of a PostgreSQL client, e.g. /usr/lib/postgresql/17/bin';
    if (!(0,external_node_fs_.statSync)(dir, { throwIfNoEntry: false })?.isDirectory()) {
        throw new errors/* InputError */.dz('pg-bin-dir', `"${dir}" is not a folder; ${accepted}`);
    }
    const runnable = (name) => {
        try {
            (0,external_node_fs_.accessSync)(external_node_path_default().join(dir, name), external_node_fs_.constants.X_OK);
            return true;
        }
        catch {
            return false;
        }
    };
    if (!runnable('pg_dump') && !runnable('pg_restore')) {
        throw new errors/* InputError */.dz('pg-bin-dir', `"${dir}" holds no pg_dump or pg_restore; ${accepted}`);
    }
    return dir;
}
function readChoice(value) {
    if (value === 'auto' || value === 'system')
        return value;
    // pg_dump 10 and later: the majors that PostgreSQL's apt repository has carried.
    if (/^\d{2}$/.test(value) && Number(value) >= 10)
        return Number(value);
    throw new errors/* InputError */.dz('postgres-client', `"${value}" is not accepted; use auto, system, or a major version such as 17`);
}
/** A mirror URL's credentials, for the edge to mask. */
function clientSecrets(client) {
    const { username, password } = new URL(client.mirror);
    return password ? [client.mirror, decodeURIComponent(password)] : username ? [client.mirror] : [];
}

;// CONCATENATED MODULE: ./src/inputs/metrics.ts
/**
 * `metrics-file` and `pushgateway-url`, checked before any work as every input is. What only the
 * write can tell (a folder that is missing or read-only, a gateway that is down) is a warning at
 * the end instead: monitoring never fails the run.
 */


function readMetrics(inputs, cwd, read = (part) => part()) {
    return {
        file: read(() => readMetricsFile(inputs, cwd), undefined),
        pushgatewayUrl: read(() => readPushgatewayUrl(inputs), undefined),
    };
}
/** The gateway's URL and the password in it, for the edge to mask. */
function metricsSecrets(metrics) {
    if (!metrics.pushgatewayUrl)
        return [];
    const password = decodeURIComponent(new URL(metrics.pushgatewayUrl).password);
    return password ? [metrics.pushgatewayUrl, password] : [metrics.pushgatewayUrl];
}
function readMetricsFile(inputs, cwd) {
    const value = inputs.optional('metrics-file');
    if (value === undefined)
        return undefined;
    const accepted = "use a file path ending in .prom (node_exporter's textfile collector reads only *.prom files), e.g. /var/lib/node_exporter/textfile/backup-action.prom";
    if (value.includes('\0')) {
        throw new errors/* InputError */.dz('metrics-file', 'holds a NUL character, which no path can');
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !value.endsWith('.prom')) {
        throw new errors/* InputError */.dz('metrics-file', `"${value}" is not accepted; ${accepted}`);
    }
    return external_node_path_default().resolve(cwd, value);
}
function readPushgatewayUrl(inputs) {
    // Checked for shape and never echoed: credentials may be in it.
    const value = inputs.secretUrl('pushgateway-url');
    if (value === undefined)
        return undefined;
    const accepted = "use the gateway's base URL, e.g. http://pushgateway:9091 (or https://user:password@host/prefix)";
    const url = new URL(value);
    if (/[?#]/.test(value)) {
        throw new errors/* InputError */.dz('pushgateway-url', `has a query or fragment, which it cannot use; ${accepted}`);
    }
    if (/\/metrics(\/|$)/.test(url.pathname)) {
        throw new errors/* InputError */.dz('pushgateway-url', `names a push path; ${accepted}: the group /metrics/job/backup-action/set/<name>/mode/<mode> is added`);
    }
    try {
        decodeURIComponent(url.username);
        decodeURIComponent(url.password);
    }
    catch {
        throw new errors/* InputError */.dz('pushgateway-url', `has a malformed %-escape in its credentials; ${accepted}`);
    }
    return value;
}

;// CONCATENATED MODULE: ./src/core/locations.ts
/**
 * Stores as people and metrics name them, and whether two of them are one place: a copy into the
 * store it reads from, or into a folder of it, would read back what it writes. Pure.
 */

/** `s3://bucket/prefix` or the folder: no query, no credentials, no trailing slash. */
function storeLabel(location) {
    if (location.kind === 'directory')
        return location.path;
    return `s3://${location.bucket}${location.prefix === '' ? '' : `/${location.prefix}`}`;
}
/**
 * How `a` lies against `b`: the same place, inside it (a folder of it), containing it, or apart
 * (undefined). Buckets on AWS are one namespace whatever the region; elsewhere a bucket is its
 * endpoint's.
 */
function overlapOf(a, b) {
    const [from, to] = [locations_placeOf(a), locations_placeOf(b)];
    if (from.root !== to.root)
        return undefined;
    if (from.parts.length === to.parts.length) {
        return from.parts.every((part, i) => part === to.parts[i]) ? 'same' : undefined;
    }
    const [shorter, longer] = from.parts.length < to.parts.length ? [from, to] : [to, from];
    if (!shorter.parts.every((part, i) => part === longer.parts[i]))
        return undefined;
    return shorter === from ? 'contains' : 'inside';
}
/** A store as a root (a bucket where it lives, or the filesystem) and the path segments under it. */
function locations_placeOf({ location, s3 }) {
    if (location.kind === 'directory') {
        return { root: 'file', parts: location.path.split((external_node_path_default()).sep).filter((part) => part !== '') };
    }
    const parts = location.prefix.split('/').filter((part) => part !== '');
    return { root: `s3 ${endpointOf(s3.endpoint)} ${location.bucket}`, parts };
}
function endpointOf(endpoint) {
    if (endpoint === undefined)
        return 'aws';
    const url = new URL(endpoint);
    if (/(^|\.)amazonaws\.com$/i.test(url.hostname))
        return 'aws';
    return `${url.protocol}//${url.host}`.toLowerCase();
}

;// CONCATENATED MODULE: ./src/inputs/reader.ts
/** The input reader every parser shares: trimming, lists, choices, numbers, durations. */



/** Reads inputs with the helpers every parser shares; names are typed, so a misspelled one does not compile. */
class Inputs {
    source;
    env;
    /** What the parsers looked at, so that what they never did can be named (`unread`). */
    read = new Set();
    /** Why an input was left unread on purpose, for its unused-input line (`notUsed`). */
    reasons = new Map();
    /** `env`: the run's environment, where inputs name variables (a store's `credentials=NAME`). */
    constructor(source, env = process.env) {
        this.source = source;
        this.env = env;
    }
    text(name) {
        return this.raw(name).trim();
    }
    /** Inputs given a value of their own (not empty, not action.yml's default) that no parser read. */
    unread() {
        return INPUT_NAMES.filter((name) => !this.read.has(name) && isGiven(name, this.source(name)));
    }
    /** Whether an input has a value of its own (see `unread`), without counting it as read. */
    given(name) {
        return isGiven(name, this.source(name));
    }
    /** Marks an input left unread because of another's value, so its refusal can say why. */
    notUsed(name, because) {
        this.reasons.set(name, because);
    }
    /** Why an unread input was not read, when a parser said so. */
    reason(name) {
        return this.reasons.get(name);
    }
    raw(name) {
        this.read.add(name);
        return this.source(name);
    }
    optional(name) {
        return this.text(name) || undefined;
    }
    /** One value per line; blank lines dropped (and `#` comments, where a line cannot start with #). */
    lines(name, { comments = true } = {}) {
        return valueLines(this.raw(name), { comments }).map(({ text }) => text);
    }
    oneOf(name, allowed, fallback) {
        const value = this.text(name) || fallback;
        if (!allowed.includes(value)) {
            throw new errors/* InputError */.dz(name, `"${value}" is not accepted; use ${listOf(allowed)}`);
        }
        return value;
    }
    boolean(name, fallback) {
        const value = this.text(name).toLowerCase();
        if (value === '')
            return fallback;
        if (value === 'true' || value === 'yes')
            return true;
        if (value === 'false' || value === 'no')
            return false;
        throw new errors/* InputError */.dz(name, `"${this.text(name)}" is not accepted; use true or false`);
    }
    integer(name, { min, max }) {
        const value = this.text(name);
        if (value === '')
            return undefined;
        const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
            throw new errors/* InputError */.dz(name, `"${value}" is not accepted; use a whole number from ${min} to ${max}`);
        }
        return parsed;
    }
    duration(name, fallback) {
        const value = this.text(name) || fallback || '';
        const ms = parseDuration(value);
        if (ms === undefined)
            throw new errors/* InputError */.dz(name, `"${value}" is not accepted; use ${DURATION_HELP}`);
        return ms;
    }
    /** A URL input that is a secret (webhooks): checked for shape, never echoed back. */
    secretUrl(name) {
        const value = this.optional(name);
        if (value === undefined)
            return undefined;
        if (!/^https?:\/\/[^\s/]+/i.test(value) || !URL.canParse(value)) {
            throw new errors/* InputError */.dz(name, 'is not accepted; use an http:// or https:// URL');
        }
        return value;
    }
}
function listOf(values) {
    return values.length < 2
        ? values.join('')
        : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
/** The lines of a text that hold a value, trimmed and with their 1-based numbers (see `lines`). */
function valueLines(text, { comments = true } = {}) {
    return text
        .split(/\r?\n/)
        .map((line, index) => ({ number: index + 1, text: line.trim() }))
        .filter(({ text: line }) => line !== '' && !(comments && line.startsWith('#')));
}

;// CONCATENATED MODULE: ./src/inputs/stores.ts
/**
 * Store URLs: `storage` (one store, or several, one per line, where a mode may read from any
 * copy) and `copy-to`. A line is a location and, for S3, settings of its own as URL parameters,
 * named as the s3-* inputs without `s3-` (`endpoint`, `region`, `force-path-style`, `timeout`,
 * `storage-class`, `sse`, `sse-kms-key-id`). A store inherits the s3-* inputs; a parameter given
 * empty clears one (`endpoint=` is AWS). Keys are never written in a URL, which is logged: a line
 * names them (`credentials=NAME` reads NAME_ACCESS_KEY_ID, NAME_SECRET_ACCESS_KEY and
 * NAME_SESSION_TOKEN from the environment) and may name a role to assume (`role-arn=`).
 */





const stores_ACCEPTED = 'use s3://bucket/optional/prefix, file:///absolute/path or a directory path';
/** The s3-* inputs, each with its parameter on a store URL: the same check for both spellings. */
const FIELDS = {
    endpoint: { input: 's3-endpoint', set: (s3, v, fail) => (s3.endpoint = endpoint(v, fail)) },
    region: { input: 's3-region', set: (s3, v, fail) => (s3.region = region(v, fail)) },
    'force-path-style': {
        input: 's3-force-path-style',
        set: (s3, v, fail) => (s3.forcePathStyle = v === '' ? undefined : stores_boolean(v, fail)),
    },
    timeout: { input: 's3-timeout', set: (s3, v, fail) => (s3.timeoutMs = duration(v, fail)) },
    'storage-class': {
        input: 's3-storage-class',
        set: (s3, v, fail) => (s3.storageClass = storageClass(v, fail)),
    },
    sse: { input: 's3-sse', set: (s3, v, fail) => (s3.sse = sse(v, fail)) },
    'sse-kms-key-id': {
        input: 's3-sse-kms-key-id',
        set: (s3, v) => (s3.sseKmsKeyId = v || undefined),
    },
};
/** The parameters only a store URL takes: whose keys, and which role. */
const URL_ONLY = ['credentials', 'role-arn'];
/** The S3 settings of the s3-* inputs: what every store of the run starts from. */
function readS3(inputs) {
    const s3 = { timeoutMs: duration('60s', () => undefined) };
    for (const field of Object.values(FIELDS)) {
        const value = inputs.text(field.input);
        if (value !== '')
            field.set(s3, value, (detail) => fail(field.input, detail));
    }
    return s3;
}
/**
 * The stores an input lists, one per line, each on `base` with its own parameters applied. With
 * `several` false a second line is refused; stores that are one place, or nested, are refused.
 */
function readStores(inputs, input, cwd, base, several) {
    const lines = valueLines(inputs.text(input));
    if (lines.length > 1 && !several) {
        throw new errors/* InputError */.dz(input, 'takes one store here; several (one per line) are for verify-latest, restore-test and restore, and copies are made with copy-to');
    }
    const stores = lines.map(({ number, text }) => {
        const say = (detail) => fail(input, lines.length > 1 ? `line ${number}: ${detail}` : detail);
        return readStore(text, cwd, base, inputs.env, say);
    });
    refuseOverlaps(input, stores, stores);
    return stores;
}
/**
 * Refuses two stores of `stores` that are one place, or one inside the other, naming them as
 * given. `real`: the same stores (index for index) as compared, their folders at their real paths.
 */
function refuseOverlaps(input, stores, against, what = 'another store it lists', real = { stores, against }) {
    for (const [i, store] of stores.entries()) {
        for (const [j, other] of against.entries()) {
            if (stores === against && j <= i)
                continue;
            const overlap = overlapOf(real.stores[i], real.against[j]);
            if (!overlap)
                continue;
            const [a, b] = [storeLabel(store.location), storeLabel(other.location)];
            const [realA, realB] = [
                storeLabel(real.stores[i].location),
                storeLabel(real.against[j].location),
            ];
            const really = realA !== a || realB !== b ? ` (really ${realA} and ${realB})` : '';
            const how = overlap === 'same'
                ? `is the same place as ${what} (${b})`
                : overlap === 'inside'
                    ? `is inside ${what} (${b})`
                    : `holds ${what} (${b}) inside it`;
            throw new errors/* InputError */.dz(input, `${a} ${how}${really}: a copy there would read back what it writes; give a store of its own`);
        }
    }
}
function readStore(line, cwd, base, env, fail) {
    if (!line.startsWith('s3://'))
        return { location: otherLocation(line, cwd, fail), s3: base };
    const query = line.indexOf('?');
    const url = query < 0 ? line : line.slice(0, query);
    const location = s3Location(url, fail);
    if (query < 0)
        return { location, s3: base };
    return { location, s3: withParameters(base, line.slice(query + 1), env, fail) };
}
function s3Location(value, fail) {
    const [bucket = '', ...rest] = value.slice('s3://'.length).split('/');
    // Keys in the URL (s3://KEY:SECRET@bucket) would be echoed: say so without showing it.
    if (bucket.includes('@'))
        fail(`names credentials in the URL, which is logged; ${keysHelp()}`);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
        fail(`"${shown(value)}" has no valid bucket name; ${stores_ACCEPTED}`);
    }
    if (rest.some((part) => part === '..' || part === '.')) {
        fail(`"${shown(value)}" has "." or ".." in its prefix; ${stores_ACCEPTED}`);
    }
    return { kind: 's3', bucket, prefix: rest.filter((part) => part !== '').join('/') };
}
function withParameters(base, query, env, fail) {
    const s3 = { ...base };
    const seen = new Set();
    for (const [key, value] of new URLSearchParams(query)) {
        if (seen.has(key))
            fail(`${parameter(key)} is given twice`);
        seen.add(key);
        // A parameter's value is never quoted: a key pasted into any of them must not reach the log.
        const say = (detail) => fail(`parameter ${key}: ${value ? detail.replaceAll(`"${value}"`, 'the value given') : detail}`);
        if (key === 'credentials')
            s3.keys = value === '' ? undefined : keysFrom(value, env, say);
        else if (key === 'role-arn')
            s3.roleArn = roleArn(value, say);
        else if (Object.hasOwn(FIELDS, key))
            FIELDS[key].set(s3, value, say);
        else {
            const known = [...Object.keys(FIELDS), ...URL_ONLY].join(', ');
            // The value is not echoed: a key pasted into the URL must not reach the log.
            fail(`${parameter(key)} is not accepted; a store URL takes ${known}`);
        }
    }
    return s3;
}
/**
 * A parameter as it may be quoted: by its name when it looks like one; a key pasted where the
 * name goes (`?AKIA…=…`) is not shown.
 */
function parameter(key) {
    return /^[a-z][a-z-]{0,30}$/.test(key) ? `parameter ${key}` : 'a parameter';
}
/**
 * A line as it may be quoted in a refusal: without its parameters (credentials=, role-arn=, or a
 * key pasted among them) and without anything before an `@` in its host part.
 */
function shown(line) {
    return line.replace(/[?#].*$/s, '').replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1…@');
}
function keysHelp() {
    return 'name them instead: credentials=NAME reads NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY from the environment';
}
function keysFrom(name, env, fail) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
        // Not quoted: a key given here instead of a name must not reach the log.
        fail('is not a name of A-Z, 0-9 and _, such as OFFSITE: it names the environment variables that hold the keys');
    }
    const read = (suffix) => env[`${name}_${suffix}`]?.trim() || undefined;
    const accessKeyId = read('ACCESS_KEY_ID');
    const secretAccessKey = read('SECRET_ACCESS_KEY');
    if (!accessKeyId || !secretAccessKey) {
        const missing = accessKeyId ? 'SECRET_ACCESS_KEY' : 'ACCESS_KEY_ID';
        fail(`${name}_${missing} is not set in the environment; ${keysHelp()}`);
    }
    return { from: name, accessKeyId, secretAccessKey, sessionToken: read('SESSION_TOKEN') };
}
function roleArn(value, fail) {
    if (value === '')
        return undefined;
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(value)) {
        // Not quoted, as credentials= is not: what was pasted here may be a key.
        fail('is not a role ARN; use one such as arn:aws:iam::123456789012:role/copier');
    }
    return value;
}
function endpoint(value, fail) {
    if (value === '')
        return undefined;
    if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) {
        fail(`"${shown(value)}" is not accepted; use an http:// or https:// URL`);
    }
    const { username, password } = new URL(value);
    if (username || password)
        fail(`names credentials in the URL, which is logged; ${keysHelp()}`);
    return value;
}
function region(value, fail) {
    if (value !== '' && !/^[a-z0-9-]+$/.test(value)) {
        fail(`"${value}" is not accepted; use a region name such as eu-west-1 or auto`);
    }
    return value || undefined;
}
function stores_boolean(value, fail) {
    const lower = value.toLowerCase();
    if (lower === 'true' || lower === 'yes')
        return true;
    if (lower === 'false' || lower === 'no')
        return false;
    return fail(`"${value}" is not accepted; use true or false`);
}
function duration(value, fail) {
    return parseDuration(value || '60s') ?? fail(`"${value}" is not accepted; use ${DURATION_HELP}`);
}
function storageClass(value, fail) {
    if (value !== '' && !/^[A-Z_]+$/.test(value)) {
        fail(`"${value}" is not accepted; use an S3 storage class such as STANDARD_IA, GLACIER_IR or DEEP_ARCHIVE`);
    }
    return value || undefined;
}
function sse(value, fail) {
    if (value !== '' && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(value)) {
        fail(`"${value}" is not accepted; use AES256, aws:kms or aws:kms:dsse`);
    }
    return value || undefined;
}
function fail(input, detail) {
    throw new errors/* InputError */.dz(input, detail);
}
/** A `file:///` URL or a plain directory path; any other scheme is refused. */
function otherLocation(value, cwd, fail) {
    if (value.startsWith('file://'))
        return directoryLocation(value, fileUrlPath(value, fail), fail);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        fail(`"${shown(value)}" has an unsupported scheme; ${stores_ACCEPTED}`);
    }
    return directoryLocation(value, external_node_path_default().resolve(cwd, value), fail);
}
/** The decoded path of a `file:///` URL; a host, a query or a fragment has no meaning here. */
function fileUrlPath(value, fail) {
    let url;
    try {
        url = new URL(value);
    }
    catch {
        url = undefined;
    }
    if (!url || !value.startsWith('file:///') || /[?#]/.test(value)) {
        fail(`"${shown(value)}" is not a file:/// URL with an absolute path (and no query or fragment: a folder takes no settings); ${stores_ACCEPTED}`);
    }
    try {
        return decodeURIComponent(url.pathname);
    }
    catch {
        return fail(`"${shown(value)}" has a malformed %-escape; ${stores_ACCEPTED}`);
    }
}
/**
 * A store folder, spelled any way (a trailing slash, `.` and `..` segments) normalised to one
 * absolute path. The filesystem root is refused: every set would be a top-level folder (`/etc`
 * for a set named etc), and no key there is ours.
 */
function directoryLocation(value, dir, fail) {
    if (dir.includes('\0'))
        fail(`"${value}" holds a NUL character, which no path can`);
    const resolved = external_node_path_default().resolve(dir);
    if (resolved === external_node_path_default().parse(resolved).root) {
        fail(`"${value}" is the filesystem root; give backups a folder of their own, e.g. file:///var/backups`);
    }
    return { kind: 'directory', path: resolved };
}

;// CONCATENATED MODULE: ./src/inputs/common.ts
/**
 * The parsers every mode's reader shares: where the store is, the set's name, S3 and notification
 * settings, and the unit parsers (sizes, percentages, jobs, backup ids). Nothing here touches the
 * network, the database or the store: a bad input is found before any work starts and reported as
 * one line naming the input and what is accepted.
 */









function notifySecrets(notify) {
    return [
        notify.slackWebhookUrl,
        notify.webhookUrl,
        notify.heartbeatUrl,
        notify.githubToken,
        ...metricsSecrets(notify.metrics),
    ].filter((secret) => Boolean(secret));
}
/**
 * What every mode that works on a store reads. `severalStores`: `storage` may list more than one
 * store (the modes that read from any copy). `postgres: false` for a source that runs no
 * PostgreSQL program: its client inputs are then not read (so a given one is named as unused) and
 * the default client stands in, never used.
 */
function readCommon(inputs, cwd, defaultName, { severalStores = false, postgres = true } = {}) {
    const notify = readNotify(inputs, cwd);
    const client = postgres ? readClient(inputs) : { ...DEFAULT_CLIENT };
    const [primary, ...otherStores] = readStorage(inputs, cwd, severalStores);
    const stores = [primary, ...otherStores];
    const secrets = [...notifySecrets(notify), ...clientSecrets(client), ...storeSecrets(stores)];
    return {
        storage: primary.location,
        name: readName(inputs, defaultName),
        s3: primary.s3,
        otherStores,
        retry: readRetry(inputs),
        notify,
        client,
        secrets,
    };
}
/** `storage`: required, its first line the primary store. */
function readStorage(inputs, cwd, several) {
    const [primary, ...others] = readStores(inputs, 'storage', cwd, readS3(inputs), several);
    if (!primary) {
        throw new errors/* InputError */.dz('storage', 'is required; use s3://bucket/optional/prefix, file:///absolute/path or a directory path');
    }
    return [primary, ...others];
}
/** The keys stores name (`credentials=NAME`), for the edge to mask. */
function storeSecrets(stores) {
    return stores.flatMap(({ s3 }) => s3.keys
        ? [s3.keys.secretAccessKey, ...(s3.keys.sessionToken ? [s3.keys.sessionToken] : [])]
        : []);
}
function readRetry(inputs) {
    return {
        retries: inputs.integer('retries', { min: 0, max: 10 }) ?? 2,
        delayMs: readRetryDelay(inputs),
    };
}
function readRetryDelay(inputs) {
    const ms = inputs.duration('retry-delay', '30s');
    if (ms > MAX_RETRY_DELAY_MS) {
        const most = formatDuration(MAX_RETRY_DELAY_MS);
        throw new errors/* InputError */.dz('retry-delay', `"${inputs.text('retry-delay')}" is too long; use a duration from 1s to ${most} (each wait doubles the one before, up to ${most})`);
    }
    return ms;
}
function readName(inputs, defaultName) {
    const given = inputs.text('name');
    const name = given || defaultName;
    if (!name)
        throw new errors/* InputError */.dz('name', 'is required here; use one path segment of [a-z0-9._-]');
    if (!isValidSetName(name)) {
        const shown = given ? `"${given}"` : `the default "${name}"`;
        throw new errors/* InputError */.dz('name', `${shown} is not accepted; use one path segment of [a-z0-9._-]`);
    }
    return name;
}
/**
 * `readable: true` (a run refused for bad input): each notification input that cannot be read is
 * left out rather than failing the whole, so a mistyped one does not silence the others; an
 * unreadable notify-on counts as always, so the refusal itself is still sent.
 */
function readNotify(inputs, cwd = process.cwd(), { readable = false } = {}) {
    const read = (part, fallback) => {
        if (!readable)
            return part();
        try {
            return part();
        }
        catch {
            return fallback;
        }
    };
    const githubToken = inputs.optional('github-token');
    return {
        on: read(() => inputs.oneOf('notify-on', ['failure', 'always', 'never'], 'failure'), 'always'),
        slackWebhookUrl: read(() => inputs.secretUrl('slack-webhook-url'), undefined),
        webhookUrl: read(() => inputs.secretUrl('webhook-url'), undefined),
        heartbeatUrl: read(() => inputs.secretUrl('heartbeat-url'), undefined),
        githubToken,
        failureIssue: read(() => readFailureIssue(inputs, githubToken), false),
        metrics: readMetrics(inputs, cwd, read),
    };
}
function readFailureIssue(inputs, githubToken) {
    const failureIssue = inputs.boolean('failure-issue', false);
    if (failureIssue && !githubToken) {
        throw new errors/* InputError */.dz('failure-issue', 'needs github-token (for example ${{ github.token }})');
    }
    return failureIssue;
}
/** The default set name from a database name: lowercased, anything outside [a-z0-9._-] as '-'. */
function nameFromDatabase(database) {
    return database?.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
}
function readBackupId(inputs) {
    const value = inputs.text('backup-id') || 'latest';
    if (value !== 'latest' && !/^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(value)) {
        throw new errors/* InputError */.dz('backup-id', `"${value}" is not accepted; use latest or an id such as 20260101T030000Z-a1b2c3`);
    }
    return value;
}
/**
 * `restore-globals`, and what it may create beyond the databases: `allow-privileged-roles` is read
 * only with it, so that given alone it is named as unused.
 */
function readRestoreGlobals(inputs) {
    const restoreGlobals = inputs.boolean('restore-globals', false);
    if (!restoreGlobals)
        inputs.notUsed('allow-privileged-roles', 'restore-globals is false');
    const allowPrivilegedRoles = restoreGlobals && inputs.boolean('allow-privileged-roles', false);
    return { restoreGlobals, allowPrivilegedRoles };
}
function readJobs(inputs) {
    return (inputs.integer('jobs', { min: 1, max: 64 }) ??
        Math.max(1, Math.min(external_node_os_default().availableParallelism(), 8)));
}
/** Bytes, with an optional unit: `1048576`, `500KB`, `10MB`, `1GiB`. */
function readSize(inputs, name) {
    const value = inputs.text(name);
    if (value === '')
        return undefined;
    const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$/i.exec(value);
    const units = {
        b: 1,
        kb: 1e3,
        mb: 1e6,
        gb: 1e9,
        tb: 1e12,
        kib: 1024,
        mib: 1024 ** 2,
        gib: 1024 ** 3,
        tib: 1024 ** 4,
    };
    const bytes = match ? Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? NaN) : NaN;
    if (!Number.isFinite(bytes))
        throw new errors/* InputError */.dz(name, `"${value}" is not accepted; use bytes such as 1048576, 500KB, 10MB or 1GiB`);
    return Math.round(bytes);
}
/** A percentage `50%` (or `50`), as a fraction. */
function readPercent(inputs, name, fallback) {
    const value = inputs.text(name) || fallback;
    const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value);
    const percent = match ? Number(match[1]) : NaN;
    if (!(percent >= 0 && percent <= 100))
        throw new errors/* InputError */.dz(name, `"${value}" is not accepted; use a percentage from 0% to 100%`);
    return percent / 100;
}
function addSecrets(settings, ...values) {
    for (const value of values)
        if (value)
            settings.secrets.push(value);
}
/**
 * Database names and shell-style patterns, one per line, each one that can be matched. A line in
 * double quotes (`""` for a quote, as in SQL) is a name exactly: `"all"`, `"shop*"`.
 */
function readNamePatterns(inputs, name) {
    return inputs.lines(name).map((line) => {
        const quoted = /^"((?:[^"]|"")+)"$/.exec(line)?.[1];
        if (quoted !== undefined)
            return literalPattern(quoted.replace(/""/g, '"'));
        const problem = patternProblem(line);
        if (problem)
            throw new errors/* InputError */.dz(name, problem);
        return line;
    });
}
/**
 * `databases`: `all` standing alone (every database), or names and patterns (readNamePatterns);
 * empty when not given. The database named all is `"all"`.
 */
function readDatabases(inputs) {
    const lines = inputs.lines('databases');
    if (!lines.includes('all'))
        return readNamePatterns(inputs, 'databases');
    if (lines.length > 1) {
        throw new errors/* InputError */.dz('databases', 'all stands alone; give all, or names and globs one per line (exclude-databases leaves some out; "all" in double quotes is the database named all)');
    }
    return 'all';
}
/** `databases` of a server backup restored or tested: empty (or `all`) for every database. */
function readChosenDatabases(inputs) {
    const chosen = readDatabases(inputs);
    return chosen === 'all' ? [] : chosen;
}

;// CONCATENATED MODULE: ./src/core/ssh-wire.ts
/**
 * The SSH wire encoding (RFC 4251 §5) that OpenSSH's key files and signatures are made of:
 * big-endian uint32s, and strings as a uint32 length followed by that many bytes.
 */
/** Thrown when bytes end early or hold what the reader does not expect. */
class WireError extends Error {
}
/** Reads wire values in order from a buffer, refusing to read past its end. */
class WireReader {
    bytes;
    offset = 0;
    constructor(bytes) {
        this.bytes = bytes;
    }
    uint32() {
        if (this.offset + 4 > this.bytes.length)
            throw new WireError('it ends early');
        const value = this.bytes.readUInt32BE(this.offset);
        this.offset += 4;
        return value;
    }
    bytesOf(length) {
        if (length > this.bytes.length - this.offset)
            throw new WireError('it ends early');
        const value = this.bytes.subarray(this.offset, this.offset + length);
        this.offset += length;
        return value;
    }
    string() {
        return this.bytesOf(this.uint32());
    }
    text() {
        return this.string().toString('latin1');
    }
    get done() {
        return this.offset === this.bytes.length;
    }
}
/** One wire string: its length, then its bytes. */
function wireString(value) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
}
function wireUint32(value) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    return bytes;
}

;// CONCATENATED MODULE: ./src/core/ssh-keys.ts
/**
 * Ed25519 keys as `ssh-keygen -t ed25519` writes them: the private key file (OpenSSH's own
 * container, PROTOCOL.key, which Node's crypto cannot read, so it is unpacked here and handed to
 * Node as a JWK) and the `ssh-ed25519 AAAA… comment` public line. A PKCS#8 PEM private key, which
 * Node reads itself, is accepted too.
 */


const ED25519 = 'ssh-ed25519';
/** Why a key cannot be used, in words that never quote the key. */
class KeyFormatError extends Error {
}
const OPENSSH_ARMOR = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/;
const PKCS8_ARMOR = /-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/;
const MAGIC = 'openssh-key-v1\0';
function parseSigningKey(text) {
    const openssh = OPENSSH_ARMOR.exec(text);
    if (openssh)
        return fromOpenSsh(Buffer.from(openssh[1].replace(/\s+/g, ''), 'base64'));
    const pkcs8 = PKCS8_ARMOR.exec(text);
    if (!pkcs8) {
        throw new KeyFormatError('is not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----, as ssh-keygen -t ed25519 writes it) or a PKCS#8 PEM key');
    }
    let privateKey;
    try {
        privateKey = (0,external_node_crypto_.createPrivateKey)(pkcs8[0]);
    }
    catch {
        throw new KeyFormatError('is a PEM private key that cannot be read (is it encrypted?)');
    }
    return signingKeyOf(privateKey);
}
function signingKeyOf(privateKey) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
        throw new KeyFormatError(`is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; only Ed25519 keys sign backups`);
    }
    const jwk = (0,external_node_crypto_.createPublicKey)(privateKey).export({ format: 'jwk' });
    return { privateKey, publicBlob: ed25519Blob(Buffer.from(jwk.x, 'base64url')) };
}
/** PROTOCOL.key: magic, cipher, kdf, kdf options, one public key, then the private section. */
function fromOpenSsh(container) {
    if (!container.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC, 'latin1'))) {
        throw new KeyFormatError('is not an OpenSSH private key (its header is wrong)');
    }
    try {
        const wire = new WireReader(container.subarray(MAGIC.length));
        const cipher = wire.text();
        wire.string(); // kdf name
        wire.string(); // kdf options
        if (cipher !== 'none') {
            throw new KeyFormatError(`is protected by a passphrase (${cipher}), which a scheduled run cannot type; remove it with ssh-keygen -p -N "" -f KEYFILE, and keep the key as a secret instead`);
        }
        if (wire.uint32() !== 1)
            throw new KeyFormatError('holds more than one key; give one');
        wire.string(); // the public key, repeated in the private section
        return privateSection(new WireReader(wire.string()));
    }
    catch (error) {
        if (error instanceof WireError) {
            throw new KeyFormatError(`is not a readable OpenSSH private key (${error.message})`);
        }
        throw error;
    }
}
function privateSection(wire) {
    if (wire.uint32() !== wire.uint32()) {
        throw new KeyFormatError('is not a readable OpenSSH private key (its check numbers differ)');
    }
    const type = wire.text();
    if (type !== ED25519) {
        throw new KeyFormatError(`is a ${type} key; only Ed25519 keys sign backups (ssh-keygen -t ed25519)`);
    }
    const publicKey = wire.string();
    const secret = wire.string();
    if (publicKey.length !== 32 || secret.length !== 64) {
        throw new KeyFormatError('is not a readable OpenSSH private key (its Ed25519 key has the wrong length)');
    }
    const privateKey = (0,external_node_crypto_.createPrivateKey)({
        key: {
            kty: 'OKP',
            crv: 'Ed25519',
            d: secret.subarray(0, 32).toString('base64url'),
            x: publicKey.toString('base64url'),
        },
        format: 'jwk',
    });
    const key = signingKeyOf(privateKey);
    if (!key.publicBlob.equals(ed25519Blob(publicKey))) {
        throw new KeyFormatError('is not a readable OpenSSH private key (its two halves do not match)');
    }
    return key;
}
/**
 * One public key line: `ssh-ed25519 AAAA… comment`, as in a `.pub` file (an allowed_signers
 * line, which starts with a principal, is accepted too: the key is the part after the type).
 */
function parsePublicKey(line) {
    const words = line.trim().split(/\s+/);
    const at = words.indexOf(ED25519);
    const encoded = at >= 0 ? words[at + 1] : undefined;
    if (encoded === undefined) {
        throw new KeyFormatError(`is not an Ed25519 public key; give lines like "ssh-ed25519 AAAA… comment" (the .pub file of ssh-keygen -t ed25519)`);
    }
    const blob = Buffer.from(encoded, 'base64');
    return publicKeyOfBlob(blob) ?? badPublicKey();
}
function badPublicKey() {
    throw new KeyFormatError('holds an ssh-ed25519 line whose key is not a valid Ed25519 public key');
}
/** The key a wire blob names, when it is an Ed25519 public key. */
function publicKeyOfBlob(blob) {
    try {
        const wire = new WireReader(blob);
        if (wire.text() !== ED25519)
            return undefined;
        const raw = wire.string();
        if (raw.length !== 32 || !wire.done)
            return undefined;
        const publicKey = (0,external_node_crypto_.createPublicKey)({
            key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
            format: 'jwk',
        });
        return { publicKey, publicBlob: blob, fingerprint: fingerprintOf(blob) };
    }
    catch {
        return undefined;
    }
}
function fingerprintOf(blob) {
    return `SHA256:${(0,external_node_crypto_.createHash)('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
function ed25519Blob(raw) {
    return Buffer.concat([wireString(ED25519), wireString(raw)]);
}

;// CONCATENATED MODULE: ./src/inputs/signing.ts
/**
 * `signing-key`, read by the mode that writes backups, and `signing-public-key`, read by the modes
 * that read them: Ed25519 keys as ssh-keygen writes them (core/ssh-keys.ts). A key that cannot
 * be used is refused before any work starts, and never quoted.
 */



/** Masked line by line with every secret input before it is read (given-secrets.ts). */
function readSigningKey(inputs) {
    const text = inputs.optional('signing-key');
    return text === undefined ? undefined : asInput('signing-key', () => parseSigningKey(text));
}
function readSigningPublicKeys(inputs) {
    const text = inputs.text('signing-public-key');
    if (holdsPrivateKey(text)) {
        throw new errors/* InputError */.dz('signing-public-key', 'holds a private key; give the public keys (the .pub file of ssh-keygen -t ed25519), one per line, and keep the private key secret');
    }
    const lines = inputs.lines('signing-public-key');
    if (lines.length === 0 && text.trim() !== '') {
        // A commented-out key must not turn checked backups into unchecked ones without a word.
        throw new errors/* InputError */.dz('signing-public-key', 'holds no key, only blank or # comment lines; give ssh-ed25519 public keys, or remove the input');
    }
    const signingPublicKeys = lines.map((line, index) => asInput('signing-public-key', () => parsePublicKey(line), `line ${index + 1} `));
    return { signingPublicKeys };
}
function asInput(name, read, where = '') {
    try {
        return read();
    }
    catch (error) {
        if (error instanceof KeyFormatError)
            throw new errors/* InputError */.dz(name, `${where}${error.message}`);
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/files/real-path.ts
/**
 * Where a folder really is: two spellings of one place (a symbolic link anywhere along the path,
 * a `..`) must compare equal wherever a folder is checked against another.
 */


/** The real path of a folder that may not exist yet: its deepest existing ancestor's, resolved. */
async function realPathOf(given) {
    const missing = [];
    for (let at = external_node_path_default().resolve(given);; at = external_node_path_default().dirname(at)) {
        try {
            return external_node_path_default().join(await (0,promises_.realpath)(at), ...missing.reverse());
        }
        catch (error) {
            const code = error.code;
            if ((code !== 'ENOENT' && code !== 'ENOTDIR') || external_node_path_default().dirname(at) === at)
                throw error;
            missing.push(external_node_path_default().basename(at));
        }
    }
}

;// CONCATENATED MODULE: ./src/inputs/copy.ts
/** The inputs of `copy`, and the copy inputs `backup` takes: where to, which backups, how checked. */





async function readCopy(inputs, cwd) {
    const common = readCommon(inputs, cwd, undefined);
    const copyTo = await readCopyTo(inputs, cwd, common);
    if (copyTo.length === 0) {
        throw new errors/* InputError */.dz('copy-to', 'is required with mode: copy; give the stores to copy to, one per line (s3://bucket/prefix?region=…, or a folder)');
    }
    return {
        ...common,
        mode: 'copy',
        copyTo,
        last: inputs.integer('copy-last', { min: 1, max: 100_000 }),
        copyCheck: readCopyCheck(inputs),
        ...readSigningPublicKeys(inputs),
    };
}
/**
 * `copy-to`: each store starts from the source's S3 settings (the s3-* inputs) and its own URL
 * parameters; none may be the source, or inside it, or hold it, as spelled or as the folders
 * really lie (a symbolic link anywhere along either path). Its keys join the secrets.
 */
async function readCopyTo(inputs, cwd, source) {
    const primary = { location: source.storage, s3: source.s3 };
    const copyTo = readStores(inputs, 'copy-to', cwd, primary.s3, true);
    const [realCopies, realPrimary] = await Promise.all([realStores(copyTo), realStores([primary])]);
    refuseOverlaps('copy-to', copyTo, [primary], 'the source store (storage)', {
        stores: realCopies,
        against: realPrimary,
    });
    refuseOverlaps('copy-to', copyTo, copyTo, undefined, { stores: realCopies, against: realCopies });
    source.secrets.push(...storeSecrets(copyTo));
    return copyTo;
}
/** Each folder store at its real path; a path that cannot be resolved is kept as spelled. */
function realStores(stores) {
    return Promise.all(stores.map(async (store) => {
        const { location } = store;
        if (location.kind !== 'directory')
            return store;
        const real = await realPathOf(location.path).catch(() => location.path);
        return { ...store, location: { kind: 'directory', path: real } };
    }));
}
function readCopyCheck(inputs) {
    return inputs.oneOf('copy-check', ['listing', 'sha256'], 'listing');
}

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(31421);
// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(57975);
// EXTERNAL MODULE: ./src/process/owned.ts
var owned = __webpack_require__(68856);
;// CONCATENATED MODULE: ./src/process/programs.ts
/** Finding pg_dump/pg_restore and their versions; running them without a shell, password in the environment. */








const run = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
/** The program in `pgBinDir` when given, else the first on PATH. */
async function findProgram(name, pgBinDir, env) {
    const file = pgBinDir ? external_node_path_default().join(pgBinDir, name) : await unwrapped(name, await onPath(name));
    if (!file)
        throw new Error(`${name} was not found on PATH; install the PostgreSQL client or set pg-bin-dir`);
    if (!(await exists(file)))
        throw new Error(`${file} does not exist`);
    let stdout;
    try {
        ({ stdout } = await run(file, ['--version'], { env: { ...process.env, ...env } }));
    }
    catch (error) {
        throw new Error(`${file} --version failed: ${error.message}`);
    }
    const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
    if (!match)
        throw new Error(`cannot read the version of ${file} from "${stdout.trim()}"`);
    const version = `${match[1]}.${match[2] ?? '0'}`;
    return { path: file, version, major: Number(match[1]), ...(env ? { env } : {}) };
}
/**
 * Debian's and Ubuntu's /usr/bin/pg_dump (GitHub's runners' too) is pg_wrapper, a Perl script that
 * picks a version and then runs /usr/lib/postgresql/<N>/bin/pg_dump: a Perl start every time, and a
 * restore-test runs pg_restore three times. The newest installed version is run directly instead,
 * which is what the wrapper runs when no local cluster decides, and which can serve every server
 * an older one could; a PGCLUSTER that names a version keeps the wrapper's choice.
 */
async function unwrapped(name, file, versionsDir = '/usr/lib/postgresql', env = process.env) {
    if (!file || env.PGCLUSTER)
        return file;
    const real = await (0,promises_.realpath)(file).catch(() => file);
    if (external_node_path_default().basename(real) !== 'pg_wrapper')
        return file;
    const versions = await (0,promises_.readdir)(versionsDir).catch(() => []);
    const newestFirst = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const version of newestFirst) {
        const direct = external_node_path_default().join(versionsDir, version, 'bin', name);
        if (await exists(direct))
            return direct;
    }
    return file;
}
async function onPath(name) {
    for (const dir of (process.env.PATH ?? '').split((external_node_path_default()).delimiter)) {
        if (!dir)
            continue;
        const file = external_node_path_default().join(dir, name);
        if (await exists(file))
            return file;
    }
    return undefined;
}
function exists(file) {
    return (0,promises_.access)(file).then(() => true, () => false);
}
/** What a helper program needs of the environment to run; the rest holds the run's secrets. */
const HELPER_VARIABLES = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TMPDIR', 'TZ'];
/**
 * The environment for zstd and age: they have no use for the database URL, keys or tokens that the
 * run's own environment carries (`INPUT_*`, `BACKUP_ACTION_*`, `AWS_*`, `GITHUB_TOKEN`).
 */
function helperEnv(base = process.env) {
    return Object.fromEntries(HELPER_VARIABLES.filter((name) => base[name] !== undefined).map((name) => [name, base[name]]));
}
/**
 * The libpq variables a run passes on: none of them can change which server, database or role a
 * connection reaches, or what its session does. Others (PGSERVICE, PGOPTIONS, PGHOSTADDR,
 * PGDATABASE…) could send a program somewhere the guards never checked, so they are dropped.
 */
const KEPT_LIBPQ_VARIABLES = new Set([
    'PGPASSFILE',
    'PGSSLMODE',
    'PGSSLROOTCERT',
    'PGSSLCERT',
    'PGSSLKEY',
    'PGSSLCRL',
    'PGCONNECT_TIMEOUT',
    'PGAPPNAME',
    // Read by Debian's pg_wrapper to pick a version (see `unwrapped`), not by libpq.
    'PGCLUSTER',
]);
/** The environment without the libpq variables that could redirect a connection. */
function withoutLibpqOverrides(base) {
    return Object.fromEntries(Object.entries(base).filter(([name]) => !name.startsWith('PG') || KEPT_LIBPQ_VARIABLES.has(name)));
}
/** libpq reads the password from the environment, so it never shows in the process list. */
function libpqEnv(target, base = process.env) {
    const env = withoutLibpqOverrides(base);
    if (target.password !== undefined)
        env.PGPASSWORD = target.password;
    // libpq 16 made sslrootcert=system mean the system's roots, and verify-full the default with it;
    // an older libpq reads a file named "system" and, left at prefer, connects unverified where the
    // driver verifies. Naming the mode makes such a program fail instead.
    const rootcert = target.params.sslrootcert ?? env.PGSSLROOTCERT;
    if (rootcert === 'system' && target.params.sslmode === undefined && env.PGSSLMODE === undefined) {
        env.PGSSLMODE = 'verify-full';
    }
    return env;
}
/**
 * Starts a program with arguments as a list (never a shell), keeping the tail of its stderr. Its
 * stdout is a pipe, unless `stdout` gives a file descriptor for it to write to itself (the
 * returned child's `stdout` is then null). A `secret` (a passphrase) is written to its file
 * descriptor 3, then closed: it shows neither in the process list nor in the environment.
 */
function start(program, args, env, stdin = 'ignore', stdout = 'pipe', secret) {
    const [file, fileArgs] = tiedToThisProcess(program.path, args);
    const child = (0,external_node_child_process_.spawn)(file, fileArgs, {
        env: { ...env, ...program.env },
        stdio: [stdin, stdout, 'pipe', ...(secret === undefined ? [] : ['pipe'])],
    });
    if (secret !== undefined) {
        const fd3 = child.stdio[3];
        // A program that ends without reading it breaks the pipe: nothing to report.
        fd3.on('error', () => undefined);
        fd3.end(`${secret}\n`);
    }
    running.add(child);
    child.on('close', () => running.delete(child));
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
        stderr = (stderr + text).slice(-4000);
    });
    const exit = new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stderr: stderr.trim() }));
    });
    // A failure surfaces through `exit`; this keeps an early spawn error from being unhandled.
    exit.catch(() => undefined);
    return { child, exit };
}
/** Every program this process started that has not ended yet. */
const running = new Set();
/**
 * Stops every program still running, at once (SIGTERM, which pg_dump, zstd and age die of
 * straight away, and on which a parallel pg_restore cancels its queries): a cancelled run must
 * not wait for a compressor to drain what it already read, nor keep writing after it said so.
 */
function stopAllPrograms() {
    for (const child of running)
        stopIfRunning(child);
}
// The fallback for a machine without setpriv: whatever ends this process without a SIGKILL
// (process.exit on a second signal, an uncaught error) takes its programs with it.
process.on('exit', () => {
    for (const child of running)
        child.kill('SIGKILL');
});
/**
 * The program and arguments to spawn so that the program dies with this process, even when this
 * process is killed outright (SIGKILL, the OOM killer) and runs no code of its own: through
 * util-linux's `setpriv --pdeathsig KILL`, which asks the kernel for that (Linux's
 * PR_SET_PDEATHSIG, which Node does not offer) and then execs the program in its own place,
 * with the same pid, arguments and environment. Without setpriv the program runs as it is, and
 * only the `exit` handler above stops it. A program that cannot be run is spawned directly, so
 * that its failure reads as the program's own (ENOENT, EACCES), not setpriv's.
 */
function tiedToThisProcess(file, args) {
    const setpriv = deathSignaller();
    if (!setpriv || !executable(file))
        return [file, args];
    return [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args]];
}
let setprivFound;
/** setpriv, when it is on PATH and knows `--pdeathsig` (util-linux 2.33, 2018, and later). */
function deathSignaller() {
    if (setprivFound === undefined) {
        const file = (process.env.PATH ?? '')
            .split((external_node_path_default()).delimiter)
            .filter((dir) => dir !== '')
            .map((dir) => external_node_path_default().join(dir, 'setpriv'))
            .find(executable);
        // Tried once for real (it sets the signal and execs itself), since an older setpriv, or a
        // sandbox that forbids the call, fails here rather than under pg_dump.
        const works = file !== undefined &&
            (0,external_node_child_process_.spawnSync)(file, ['--pdeathsig', 'KILL', '--', file, '--version'], { stdio: 'ignore' })
                .status === 0;
        setprivFound = works ? file : null;
    }
    return setprivFound ?? undefined;
}
function executable(file) {
    try {
        (0,external_node_fs_.accessSync)(file, external_node_fs_.constants.X_OK);
        return true;
    }
    catch {
        return false;
    }
}
/** Stops a program that is still running (default SIGTERM); one that has ended is left alone. */
function stopIfRunning(child) {
    if (child.exitCode === null && child.signalCode === null)
        child.kill();
}
/**
 * One line describing how a program ended badly. Its last lines of stderr may quote a name raw
 * (a table or file named with ESC or a line break): their control characters are escaped.
 */
function failureLine(name, ended) {
    const how = ended.signal ? `was stopped by ${ended.signal}` : `exited with code ${ended.code}`;
    const lastLines = ended.stderr.split('\n').slice(-3).map(printableText).join(' | ');
    return `${name} ${how}${lastLines ? `: ${lastLines}` : ''}`;
}
/** Resolves when the program exited successfully; rejects with one line saying how it did not. */
function succeeded(name, exit) {
    return exit.then((ended) => {
        if (ended.code !== 0)
            throw new Error(failureLine(name, ended));
    }, (error) => {
        throw new Error(`${name} could not run: ${error.message}`);
    });
}
/**
 * A program's stdout that ends only once `outcome` resolves (the program, and whatever fed it,
 * succeeded): a program that fails after writing (pg_dump losing its connection) errors the
 * stream, so no upload completes. With `expected`, output that does not begin with its prefix
 * errors the stream too.
 */
function guardedStdout(stdout, outcome, expected) {
    let seen = Buffer.alloc(0);
    const guard = new external_node_stream_.Transform({
        // Each read from a pipe is a fresh buffer, handed on whole: the last stage may release it.
        transform(chunk, _encoding, done) {
            if (expected && seen.length < expected.prefix.length) {
                seen = Buffer.concat([seen, chunk.subarray(0, expected.prefix.length - seen.length)]);
                if (!expected.prefix.subarray(0, seen.length).equals(seen)) {
                    done(new Error(expected.failure));
                    return;
                }
            }
            done(null, (0,owned/* own */.Z)(chunk));
        },
        flush(done) {
            if (expected && seen.length < expected.prefix.length) {
                done(new Error(expected.failure));
                return;
            }
            outcome.then(() => done(), done);
        },
    });
    stdout.on('error', (error) => guard.destroy(error));
    stdout.pipe(guard);
    outcome.catch((error) => {
        if (!guard.destroyed)
            guard.destroy(error);
    });
    return guard;
}

;// CONCATENATED MODULE: ./src/pipeline/chain.ts
/**
 * Programs joined by the operating system's pipes (pg_dump → zstd → age), each reading the one
 * before it directly, so that the archive's bytes pass through Node once at the end, or not at all
 * when the last program writes the store's file itself. On a 2-core machine every copy through
 * Node comes out of pg_dump's and zstd's share of the CPU (docs/benchmarks.md).
 */


/** One log line naming the programs in order. */
function describeChain(filters) {
    const line = filters.map((filter) => `${filter.doing} with ${filter.path}`).join(', then ');
    return line.charAt(0).toUpperCase() + line.slice(1);
}
function startChain(filters, input, stdout) {
    const children = [];
    let feeding = input;
    for (const [index, filter] of filters.entries()) {
        const out = index === filters.length - 1 ? stdout : 'pipe';
        const { child, exit } = start({ path: filter.path }, filter.args, helperEnv(), feeding.stdout, out);
        // The program holds its own copy of the pipe; Node's copy would keep it open.
        feeding.stdout.destroy();
        const upstream = feeding.succeeded;
        upstream.catch(() => undefined); // reported through this program's outcome when it succeeded
        feeding = {
            stdout: child.stdout,
            succeeded: succeeded(filter.name, exit).then(() => upstream),
        };
        children.push(child);
    }
    const last = children.at(-1);
    if (!last)
        throw new Error('a chain needs at least one program');
    feeding.succeeded.catch(() => undefined); // its reader reports it
    return {
        last,
        succeeded: feeding.succeeded,
        stop: () => children.forEach(stopIfRunning),
    };
}
/** The last program's stdout, which ends only once all succeeded; tearing it down stops them. */
function chainFrom(filters, input) {
    const started = startChain(filters, input, 'pipe');
    const output = guardedStdout(started.last.stdout, started.succeeded);
    output.on('close', started.stop);
    return output;
}
/** The last program writing `fd` itself; `written` resolves once all succeeded. */
function chainInto(filters, input, fd) {
    const { succeeded: written, stop } = startChain(filters, input, fd);
    return { written, stop };
}
/**
 * A stream through one program, for bytes inside this process. Its output ends only once the
 * program has exited successfully, so a program that fails half-way can never complete an upload;
 * tearing the stream down early (a failed upload, a cancelled run) stops the program.
 */
function throughProgram(filter) {
    const { child, exit } = start({ path: filter.path }, filter.args, helperEnv(), 'pipe');
    const outcome = succeeded(filter.name, exit);
    const output = guardedStdout(child.stdout, outcome);
    const stream = external_node_stream_.Duplex.from({ writable: programInput(child.stdin, outcome), readable: output });
    stream.on('close', () => stopIfRunning(child));
    return stream;
}
/**
 * A program's input. When the program stops early its input breaks (EPIPE), but the reason is in
 * how it exited (`outcome`): writes that fail wait for that and report it instead.
 */
function programInput(stdin, outcome) {
    const reason = (error) => outcome.then(() => error, (failure) => failure);
    stdin.on('error', () => undefined); // each failure reaches the write or end that met it
    outcome.catch(() => undefined); // reported by whoever awaits it
    const writable = new external_node_stream_.Writable({
        write(chunk, _encoding, done) {
            stdin.write(chunk, (error) => (error ? void reason(error).then(done) : done()));
        },
        final(done) {
            stdin.end(() => done());
        },
        destroy(error, done) {
            stdin.destroy();
            done(error);
        },
    });
    // Its errors reach the pipeline it is in; one emitted after that settled must not crash the run.
    writable.on('error', () => undefined);
    return writable;
}

;// CONCATENATED MODULE: ./src/pipeline/encrypt.ts
/**
 * age encryption as Node streams. Files it writes open with the standard `age -d`; files `age`
 * writes open here. The age-encryption library makes the header (recipient stanzas, scrypt, MAC);
 * the payload, encrypted to public keys, is sealed with Node's native ChaCha20-Poly1305, which is
 * many times faster than the library's JavaScript cipher (docs/benchmarks.md). The library is
 * loaded only when a run encrypts or decrypts.
 */



async function encryptStream(input, keys) {
    if (keys.passphrase !== undefined)
        return encryptWithLibrary(input, keys);
    const { prefix, payloadKey } = await headerFor(keys.recipients);
    return (0,external_node_stream_.pipeline)(input, new PayloadSealer(prefix, payloadKey), () => undefined);
}
/**
 * The header and payload nonce of an age file to `recipients`, and its payload key. The library
 * encrypts an empty file (header, nonce, then the empty last chunk's 16-byte tag) while one more
 * recipient, which adds no stanza, hands over the file key; the payload key derives from it as
 * the age specification says: HKDF-SHA-256(file key, salt = nonce, info = "payload").
 */
async function headerFor(recipients) {
    const { Encrypter } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    const encrypter = new Encrypter();
    for (const recipient of recipients)
        encrypter.addRecipient(recipient);
    let fileKey;
    encrypter.addRecipient({
        wrapFileKey(key) {
            fileKey = key;
            return [];
        },
    });
    const empty = await encrypter.encrypt(new Uint8Array(0));
    if (!fileKey)
        throw new Error('age: the file key was not handed over');
    const prefix = Buffer.from(empty.subarray(0, empty.length - TAG_BYTES));
    const nonce = prefix.subarray(prefix.length - NONCE_BYTES);
    const payloadKey = Buffer.from((0,external_node_crypto_.hkdfSync)('sha256', fileKey, nonce, 'payload', 32));
    return { prefix, payloadKey };
}
const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const NONCE_BYTES = 16;
/**
 * age's STREAM: 64 KiB chunks, each sealed with ChaCha20-Poly1305 under an 11-byte big-endian
 * chunk counter and a last-chunk flag. A full chunk is held until more data shows it is not the
 * last, since only the last chunk carries the flag (and only an empty file has an empty one).
 * Whole chunks are sealed where they lie in the input; only the pieces that straddle two inputs
 * are copied, into one staging chunk, so that the bytes are not copied twice on the way.
 */
class PayloadSealer extends external_node_stream_.Transform {
    nonce = Buffer.alloc(12);
    stage = Buffer.allocUnsafe(CHUNK_BYTES);
    staged = 0;
    prefix;
    // A key object, made once: given as bytes, every chunk's cipher would import them again, a cost
    // paid per chunk.
    key;
    constructor(prefix, key) {
        super();
        this.prefix = prefix;
        this.key = (0,external_node_crypto_.createSecretKey)(key);
    }
    _transform(chunk, _encoding, done) {
        const sealed = this.takePrefix();
        let offset = 0;
        while (offset < chunk.length) {
            if (this.staged === CHUNK_BYTES) {
                sealed.push(...this.seal(this.stage, false));
                this.staged = 0;
            }
            if (this.staged === 0 && chunk.length - offset > CHUNK_BYTES) {
                sealed.push(...this.seal(chunk.subarray(offset, offset + CHUNK_BYTES), false));
                offset += CHUNK_BYTES;
                continue;
            }
            const copied = chunk.copy(this.stage, this.staged, offset);
            this.staged += copied;
            offset += copied;
        }
        // Sealed and staged copies hold all of it now.
        (0,owned/* release */._)(chunk);
        for (const piece of sealed)
            this.push(piece);
        done();
    }
    _flush(done) {
        const last = this.seal(this.stage.subarray(0, this.staged), true);
        for (const piece of [...this.takePrefix(), ...last])
            this.push(piece);
        done();
    }
    takePrefix() {
        const prefix = this.prefix;
        this.prefix = undefined;
        return prefix ? [prefix] : [];
    }
    seal(plain, last) {
        this.nonce[11] = last ? 1 : 0;
        const cipher = (0,external_node_crypto_.createCipheriv)('chacha20-poly1305', this.key, this.nonce, {
            authTagLength: TAG_BYTES,
        });
        const sealed = [(0,owned/* own */.Z)(cipher.update(plain))];
        cipher.final(); // empty for a stream cipher: it computes the tag
        sealed.push(cipher.getAuthTag());
        for (let i = 10; i >= 0; i--) {
            this.nonce[i] = ((this.nonce[i] ?? 0) + 1) & 0xff;
            if (this.nonce[i] !== 0)
                break;
        }
        return sealed;
    }
}
/** Passphrases go through the library whole: its scrypt stanza is the only one such a file has. */
async function encryptWithLibrary(input, keys) {
    const { Encrypter } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    const encrypter = new Encrypter();
    if (keys.passphrase !== undefined)
        encrypter.setPassphrase(keys.passphrase);
    for (const recipient of keys.recipients)
        encrypter.addRecipient(recipient);
    const web = external_node_stream_.Readable.toWeb(input);
    const encrypted = (await encrypter.encrypt(web));
    return external_node_stream_.Readable.fromWeb(encrypted, { highWaterMark: 4 });
}
/** Thrown when no identity or passphrase given opens the file. */
class DecryptionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'DecryptionError';
    }
}
async function decryptStream(input, keys) {
    if (keys.identities.length === 0 && keys.passphrase === undefined) {
        throw new DecryptionError('the backup is encrypted with age; give age-identity or encryption-passphrase to read it');
    }
    const { Decrypter } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    const decrypter = new Decrypter();
    for (const identity of keys.identities)
        decrypter.addIdentity(identity);
    if (keys.passphrase !== undefined)
        decrypter.addPassphrase(keys.passphrase);
    const web = external_node_stream_.Readable.toWeb(input);
    let decrypted;
    try {
        decrypted = (await decrypter.decrypt(web));
    }
    catch (error) {
        input.destroy();
        throw new DecryptionError(`cannot decrypt the backup: ${error instanceof Error ? error.message : String(error)} (is age-identity or encryption-passphrase the one it was encrypted for?)`);
    }
    return external_node_stream_.Readable.fromWeb(decrypted, { highWaterMark: 4 });
}

;// CONCATENATED MODULE: ./src/process/run-folders.ts
/**
 * Private folders of a run (gpg homes holding private keys, a decrypted archive) that a run killed
 * outright (SIGKILL, the OOM killer) could not remove. Every such folder names the process that
 * made it in its `owner` file; the next run to make one of its kind in the same place removes
 * those whose process is gone. A pid means something only in its own PID namespace: a run in a
 * container sharing /tmp is not judged.
 */



const OWNER_FILE = 'owner';
function formatOwner(owner) {
    return `${[owner.pid, owner.started, owner.namespace].filter((one) => one !== undefined).join(' ')}\n`;
}
/** An owner file's text, or undefined when it is not one (torn, foreign). */
function parseOwner(text) {
    const match = /^([1-9]\d{0,9})(?: (\d{1,20}))?(?: (pid:\[\d{1,20}\]))?\n$/.exec(text);
    if (!match)
        return undefined;
    return {
        pid: Number(match[1]),
        ...(match[2] === undefined ? {} : { started: match[2] }),
        ...(match[3] === undefined ? {} : { namespace: match[3] }),
    };
}
/** Fields of /proc/PID/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(stat) {
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
function procStat(pid) {
    try {
        return statFields((0,external_node_fs_.readFileSync)(`/proc/${pid}/stat`, 'utf8'));
    }
    catch {
        return undefined;
    }
}
let run_folders_self;
/** This process, as its folders' owner files name it. */
function thisProcess() {
    // Field 22 is the 20th after the name: state (3) is the first.
    run_folders_self ??= {
        pid: process.pid,
        ...optionalStarted(procStat(process.pid)?.[19]),
        ...optionalNamespace(),
    };
    return run_folders_self;
}
function optionalNamespace() {
    try {
        return { namespace: (0,external_node_fs_.readlinkSync)('/proc/self/ns/pid') };
    }
    catch {
        return {};
    }
}
const optionalStarted = (started) => (started ? { started } : {});
/** Whether `owner` still runs: a zombie has ended, and a pid since reused is another process. */
function isRunning(owner) {
    const fields = procStat(owner.pid);
    if (fields)
        return fields[0] !== 'Z' && (owner.started ?? fields[19]) === fields[19];
    try {
        process.kill(owner.pid, 0);
        return true;
    }
    catch (error) {
        return error.code === 'EPERM';
    }
}
/**
 * A new private folder (mkdtemp makes it 0700) named `<base>/<prefix>XXXXXX`, owned by this
 * process, once the leftovers of its kind in `base` are gone: `beforeRemove` runs on each first.
 */
async function makeRunFolder(base, prefix, beforeRemove) {
    await removeLeftovers(base, prefix, beforeRemove);
    const dir = await (0,promises_.mkdtemp)(external_node_path_default().join(base, prefix));
    await (0,promises_.writeFile)(external_node_path_default().join(dir, OWNER_FILE), formatOwner(thisProcess()), { mode: 0o600 });
    return dir;
}
/**
 * Removes the folders of `prefix` in `base` left by processes of this user that have ended. One
 * without an owner file is left alone: it may be one being made this very moment, or another
 * version's.
 */
async function removeLeftovers(base, prefix, beforeRemove) {
    const names = await (0,promises_.readdir)(base).catch(() => []);
    for (const name of names.filter((one) => one.startsWith(prefix))) {
        const dir = external_node_path_default().join(base, name);
        if (!(await isLeftover(dir)))
            continue;
        await beforeRemove?.(dir);
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
}
async function isLeftover(dir) {
    const info = await (0,promises_.lstat)(dir).catch(() => undefined);
    if (!info?.isDirectory() || info.uid !== process.getuid?.())
        return false;
    const text = await (0,promises_.readFile)(external_node_path_default().join(dir, OWNER_FILE), 'utf8').catch(() => '');
    const owner = parseOwner(text);
    return owner !== undefined && owner.namespace === thisProcess().namespace && !isRunning(owner);
}

;// CONCATENATED MODULE: ./src/pipeline/gpg-home.ts
/**
 * A private, temporary GNUPGHOME for one use of gpg (checking the keys given, encrypting a
 * backup, reading one object): the keys are imported into it, and it is removed once done, with
 * the gpg-agent a secret key starts in it. The user's own ~/.gnupg is never read or changed.
 */







/** gpg and gpgconf on PATH, or undefined when gpg is not installed. */
async function findGpg() {
    const gpg = await onPath('gpg');
    if (!gpg)
        return undefined;
    const gpgconf = await onPath('gpgconf');
    return gpgconf ? { gpg, gpgconf } : { gpg };
}
/**
 * The agent of a home. A key imported with a passphrase is protected again by the agent on first
 * use, by default with a strength it calibrates to about 100 ms of hashing per key: seconds on a
 * busy machine, for a copy that lives only as long as the run, in a folder only this user reads.
 * No smartcard daemon: a key on a card cannot be given as an input.
 */
const AGENT_CONF = 's2k-count 65536\ndisable-scdaemon\n';
/** The longest socket path gpg-agent can bind (sun_path, 108 bytes on Linux, with its NUL). */
const SOCKET_PATH_MAX = 107;
const HOME_PREFIX = 'backup-action-gpg-';
const LONGEST_SOCKET = `${HOME_PREFIX}XXXXXX/S.gpg-agent.browser`;
/**
 * The system's temporary folder, unless TMPDIR names one so deep that the agent's sockets would
 * not fit: gpg-agent then cannot start, and no private key can be imported.
 */
function homesFolder(tmpdir = external_node_os_default().tmpdir()) {
    return external_node_path_default().join(tmpdir, LONGEST_SOCKET).length <= SOCKET_PATH_MAX ? tmpdir : '/tmp';
}
/** Homes not yet removed, for a process that exits before their owner removes them. */
const gpg_home_open = new Set();
process.on('exit', () => {
    for (const home of gpg_home_open)
        home.removeNow();
});
class GpgHome {
    dir;
    programs;
    agent;
    constructor(dir, programs, 
    /** A home that will hold secret keys needs gpg-agent; one of public keys never starts it. */
    agent) {
        this.dir = dir;
        this.programs = programs;
        this.agent = agent;
    }
    /**
     * In the system's temporary folder rather than the runner's: the agent's socket lives in the
     * home, and a socket's path must stay short (108 bytes on Linux). mkdtemp makes it 0700.
     */
    static async open(programs, { agent }) {
        // A leftover home holds the private keys imported into it, and its agent runs while it exists.
        const dir = await makeRunFolder(homesFolder(), HOME_PREFIX, (leftover) => stopAgent(programs.gpgconf, leftover));
        const home = new GpgHome(dir, programs, agent);
        gpg_home_open.add(home);
        if (agent)
            await (0,promises_.writeFile)(external_node_path_default().join(dir, 'gpg-agent.conf'), AGENT_CONF, { mode: 0o600 });
        return home;
    }
    /** Runs `work` with a new home, removed afterwards, pass or fail. */
    static async with(programs, options, work) {
        const home = await GpgHome.open(programs, options);
        try {
            return await work(home);
        }
        finally {
            await home.close();
        }
    }
    /**
     * gpg's arguments in this home: no terminal, no questions, nothing fetched from the network
     * (the keys are all here), and machine-readable status lines among its messages on stderr.
     */
    args(rest) {
        return [
            '--homedir',
            this.dir,
            '--batch',
            '--no-tty',
            '--no-greeting',
            '--status-fd',
            '2',
            ...(this.agent ? ['--pinentry-mode', 'loopback'] : ['--no-autostart']),
            ...rest,
        ];
    }
    /** Starts gpg in this home; a passphrase goes through file descriptor 3, never an argument. */
    start(args, stdin, stdout, passphrase) {
        const withPassphrase = passphrase === undefined ? args : ['--passphrase-fd', '3', ...args];
        return start({ path: this.programs.gpg }, this.args(withPassphrase), helperEnv(), stdin, stdout, passphrase);
    }
    /** Runs gpg to its end with `input` on its stdin; its stdout and how it ended. */
    async run(args, input = '', passphrase) {
        const { child, exit } = this.start(args, 'pipe', 'pipe', passphrase);
        const chunks = [];
        child.stdout.on('data', (chunk) => chunks.push(chunk));
        child.stdin?.on('error', () => undefined); // a gpg that stops early says why on stderr
        child.stdin?.end(input);
        const ended = await exit;
        return { stdout: Buffer.concat(chunks), ended };
    }
    /** Stops the home's agent (and the socket folder gpgconf may have made for it), then removes it. */
    async close() {
        if (!gpg_home_open.delete(this))
            return;
        const { gpgconf } = this.programs;
        if (this.agent && gpgconf) {
            for (const args of [['--kill', 'gpg-agent'], ['--remove-socketdir']]) {
                const { exit } = start({ path: gpgconf }, ['--homedir', this.dir, ...args], helperEnv());
                await exit.catch(() => undefined);
            }
        }
        await (0,promises_.rm)(this.dir, { recursive: true, force: true });
    }
    /** The same, at once: for a process that is exiting and runs no more asynchronous code. */
    removeNow() {
        gpg_home_open.delete(this);
        const { gpgconf } = this.programs;
        if (this.agent && gpgconf) {
            (0,external_node_child_process_.spawnSync)(gpgconf, ['--homedir', this.dir, '--kill', 'gpg-agent'], {
                env: helperEnv(),
                stdio: 'ignore',
            });
        }
        (0,external_node_fs_.rmSync)(this.dir, { recursive: true, force: true });
    }
}
/** The agent of a home left by a run that was killed. */
async function stopAgent(gpgconf, dir) {
    if (!gpgconf)
        return;
    const { exit } = start({ path: gpgconf }, ['--homedir', dir, '--kill', 'gpg-agent'], helperEnv());
    await exit.catch(() => undefined);
}

;// CONCATENATED MODULE: ./src/pipeline/gpg-status.ts
/**
 * What gpg says on stderr with `--status-fd 2`: machine-readable `[GNUPG:]` status lines (doc/DETAILS
 * in GnuPG) among its messages for people. Decisions are taken on the status lines only; the
 * messages are quoted in failures. Pure, so it is tested directly.
 */
const STATUS_PREFIX = '[GNUPG:] ';
function parseGpgOutput(stderr) {
    const outcome = { status: [], messages: [] };
    for (const line of stderr.split('\n')) {
        const text = line.trim();
        if (text === '')
            continue;
        if (text.startsWith(STATUS_PREFIX)) {
            const [keyword = '', ...args] = text.slice(STATUS_PREFIX.length).split(' ');
            outcome.status.push({ keyword, args });
        }
        else {
            outcome.messages.push(text.replace(/^gpg: /, ''));
        }
    }
    return outcome;
}
/** The arguments of every status line with this keyword. */
function statusArgs(outcome, keyword) {
    return outcome.status.filter((line) => line.keyword === keyword).map((line) => line.args);
}
/** GnuPG's error code for a bad passphrase (GPG_ERR_BAD_PASSPHRASE), whatever its source. */
const BAD_PASSPHRASE = 11;
/** gpg needed a passphrase (for a secret key, or for a file made with --symmetric). */
function passphraseAsked(outcome) {
    return outcome.status.some((line) => line.keyword.startsWith('NEED_PASSPHRASE'));
}
/** The passphrase given was wrong: BAD_PASSPHRASE, or an ERROR line with its code. */
function passphraseRejected(outcome) {
    return outcome.status.some((line) => line.keyword === 'BAD_PASSPHRASE' ||
        (line.keyword === 'ERROR' && errorCode(line.args[1]) === BAD_PASSPHRASE));
}
/** An ERROR line's code: a number (source in the high bits), or `11_BAD_PASSPHRASE`. */
function errorCode(text) {
    if (text === undefined)
        return undefined;
    const match = /^(\d+)/.exec(text);
    return match ? Number(match[1]) & 0xffff : undefined;
}
/** gpg's messages as one line, for a failure no status line explains. */
function messagesLine(outcome) {
    return outcome.messages.slice(-3).join(' | ') || 'no message';
}

;// CONCATENATED MODULE: ./src/pipeline/gpg-keys.ts
/**
 * The OpenPGP keys a run is given, checked with gpg before any work starts: public keys that can
 * encrypt today (not expired, not revoked, with an encryption subkey), and private keys that can
 * decrypt (the secret of an encryption subkey present, the passphrase the one that unlocks it).
 * Only a key's fingerprint and user id are ever quoted; never its material.
 */



/** Parses gpg's `--with-colons` listing into primary keys with their subkeys. */
function parseColonListing(text) {
    const keys = [];
    let last;
    for (const line of text.split('\n')) {
        const fields = line.split(':');
        const type = fields[0];
        if (type === 'pub' || type === 'sec' || type === 'sub' || type === 'ssb') {
            last = {
                secret: type === 'sec' || type === 'ssb',
                fingerprint: '',
                keyId: fields[4] ?? '',
                validity: fields[1] ?? '',
                ...(fields[5] ? { created: Number(fields[5]) } : {}),
                ...(fields[6] ? { expires: Number(fields[6]) } : {}),
                capabilities: fields[11] ?? '',
                token: fields[14] ?? '',
                subkeys: [],
            };
            if (type === 'pub' || type === 'sec')
                keys.push(last);
            else
                keys.at(-1)?.subkeys.push(last);
        }
        else if (type === 'fpr' && last && last.fingerprint === '') {
            last.fingerprint = fields[9] ?? '';
        }
        else if (type === 'uid') {
            const key = keys.at(-1);
            if (key && key.uid === undefined)
                key.uid = unescapeField(fields[9] ?? '');
        }
    }
    return keys;
}
/** gpg escapes `:` and control characters in a field as `\xHH`. */
function unescapeField(text) {
    return text.replace(/\\x([0-9a-fA-F]{2})/g, (_match, hex) => String.fromCharCode(parseInt(hex, 16)));
}
/** How a key is named in a message: its fingerprint, and its first user id. */
function keyName(key) {
    return `key ${key.fingerprint || key.keyId}${key.uid ? ` (${JSON.stringify(key.uid)})` : ''}`;
}
const day = (seconds) => seconds === undefined ? 'an unknown day' : new Date(seconds * 1000).toISOString().slice(0, 10);
/**
 * Why a key or subkey gpg lists as invalid is: most often made "in the future", by a machine whose
 * clock is ahead of this one's (gpg refuses it until this clock passes that time).
 */
function invalidity(key, now) {
    return key.created !== undefined && key.created > now
        ? `was made on ${day(key.created)}, later than this machine's clock says it is now (one of the two clocks is wrong)`
        : 'is not valid (gpg cannot check its self-signature)';
}
/** Why a public key cannot be encrypted to today, or undefined when it can. */
function recipientProblem(key, now = Date.now() / 1000) {
    const name = keyName(key);
    if (key.validity === 'r')
        return `${name} is revoked`;
    if (key.validity === 'e')
        return `${name} expired on ${day(key.expires)}`;
    if (key.validity === 'i')
        return `${name} ${invalidity(key, now)}`;
    const encrypting = [key, ...key.subkeys].filter((one) => one.capabilities.includes('e'));
    // gpg lists a subkey made ahead of its clock as valid and the key as able to encrypt (`E`),
    // then refuses it at encryption time: judged here, before any work.
    const future = encrypting.filter((one) => one.created !== undefined && one.created > now);
    if (future[0] && future.length === encrypting.length) {
        return `${name}: its encryption subkey ${invalidity(future[0], now)}`;
    }
    if (key.capabilities.includes('E'))
        return undefined;
    if (encrypting.length === 0) {
        return `${name} cannot encrypt: it has no encryption subkey (it is for signing only)`;
    }
    const invalid = encrypting.find((one) => one.validity === 'i');
    if (invalid)
        return `${name}: its encryption subkey ${invalidity(invalid, now)}`;
    if (encrypting.every((one) => one.validity === 'r'))
        return `${name}: its encryption subkey is revoked`;
    const latest = Math.max(...encrypting.map((one) => one.expires ?? 0));
    return `${name}: its encryption subkey expired on ${day(latest)}`;
}
/**
 * Why secret keys cannot decrypt anything, or undefined when one can. An expired or revoked key
 * still opens what was encrypted to it before: only the secret's presence counts.
 */
function secretKeyProblem(keys) {
    if (keys.length === 0) {
        return 'holds no private key (a public key alone cannot decrypt); give it as gpg --armor --export-secret-keys KEYID writes it';
    }
    const encrypting = keys.flatMap((key) => [key, ...key.subkeys].filter((one) => one.capabilities.includes('e')));
    const names = keys.map(keyName).join(', ');
    if (encrypting.length === 0) {
        return `${names} cannot decrypt: it has no encryption subkey (it is for signing only)`;
    }
    if (!encrypting.some((one) => one.token === '+')) {
        return `${names}: the secret of its encryption subkey is missing (a stub, as --export-secret-subkeys of another subkey or a smartcard leaves); export it with gpg --armor --export-secret-keys KEYID`;
    }
    return undefined;
}
const PUBLIC_KEYS_HELP = 'give armored public keys (gpg --armor --export KEYID) or the path of a file holding them';
/**
 * `gpg-recipients`: every key it holds must be a public key that can encrypt today. Returns them
 * armored, whatever form they came in, with the fingerprint of each.
 */
async function readPublicKeys(programs, material) {
    return GpgHome.with(programs, { agent: false }, async (home) => {
        const listed = await home.run(['--with-colons', '--show-keys'], material);
        const keys = parseColonListing(listed.stdout.toString('utf8'));
        if (listed.ended.code !== 0 || keys.length === 0) {
            throw new errors/* InputError */.dz('gpg-recipients', `holds no OpenPGP public key; ${PUBLIC_KEYS_HELP}`);
        }
        if (keys.some((key) => key.secret)) {
            throw new errors/* InputError */.dz('gpg-recipients', `holds a private key; ${PUBLIC_KEYS_HELP}, and keep the private key out of the backup job`);
        }
        for (const key of keys) {
            const problem = recipientProblem(key);
            if (problem)
                throw new errors/* InputError */.dz('gpg-recipients', `${problem}; give keys that can encrypt`);
        }
        const exported = await home.run(['--armor', '--import-options', 'import-export', '--import'], material);
        if (exported.ended.code !== 0) {
            throw new errors/* InputError */.dz('gpg-recipients', `could not be read by gpg; ${PUBLIC_KEYS_HELP}`);
        }
        return {
            publicKeys: exported.stdout.toString('utf8'),
            recipients: keys.map((key) => key.fingerprint),
        };
    });
}
/** Imports `gpg-private-key` into a home; a failure names the input, never the key's text. */
async function importSecretKeys(home, privateKeys) {
    const imported = await home.run(['--import'], privateKeys);
    if (imported.ended.code === 0)
        return;
    const agent = agentFailure(parseGpgOutput(imported.ended.stderr));
    if (agent)
        throw new Error(`gpg could not import gpg-private-key: ${agent}`);
    throw new errors/* InputError */.dz('gpg-private-key', 'is not an OpenPGP private key gpg can import; give it armored, as gpg --armor --export-secret-keys KEYID writes it');
}
/**
 * What gpg said when its agent, which keeps the secret keys, could not start or be reached: then
 * the key given is not at fault, and gpg's own words say what is.
 */
function agentFailure(outcome) {
    const lines = outcome.messages.filter((line) => /\bagent\b/i.test(line));
    return lines.length > 0 ? lines.slice(0, 2).join(' | ') : undefined;
}
/**
 * `gpg-private-key` and `gpg-passphrase`, tried before any work starts: the key must hold the
 * secret of an encryption subkey, and the passphrase must unlock it. Exporting the secret keys
 * asks the agent to unlock each (its output, the same key again, is dropped).
 */
async function checkSecretKeys(programs, secrets) {
    const { privateKeys, passphrase } = secrets;
    if (privateKeys === undefined)
        return;
    await GpgHome.with(programs, { agent: true }, async (home) => {
        await importSecretKeys(home, privateKeys);
        const listed = await home.run(['--with-colons', '--list-secret-keys']);
        const problem = secretKeyProblem(parseColonListing(listed.stdout.toString('utf8')));
        if (problem)
            throw new errors/* InputError */.dz('gpg-private-key', problem);
        const unlocked = await home.run(['--export-secret-keys'], '', passphrase);
        if (unlocked.ended.code === 0)
            return;
        throw unlockFailure(parseGpgOutput(unlocked.ended.stderr), passphrase !== undefined);
    });
}
/** Why gpg could not unlock the secret keys: the passphrase, named, or what gpg said. */
function unlockFailure(outcome, passphraseGiven) {
    if (!passphraseGiven && passphraseAsked(outcome)) {
        return new errors/* InputError */.dz('gpg-passphrase', 'is required: gpg-private-key is protected by a passphrase');
    }
    if (passphraseGiven && passphraseRejected(outcome)) {
        return new errors/* InputError */.dz('gpg-passphrase', 'does not unlock gpg-private-key');
    }
    return new errors/* InputError */.dz('gpg-private-key', `gpg could not unlock it: ${messagesLine(outcome)}`);
}

;// CONCATENATED MODULE: ./src/pipeline/gpg.ts
/**
 * OpenPGP as the encryption layer, through the gpg program. A backup is encrypted to public keys
 * imported into a temporary home of its own; each object read is decrypted in another, with the
 * private key imported into it. The files are what `gpg --encrypt` writes, so `gpg --decrypt`
 * opens them by hand; a file made with `gpg --symmetric` opens here with its passphrase alone.
 */








/** gpg, or one line naming the input that needs it. */
async function requireGpg(input) {
    const programs = await findGpg();
    if (programs)
        return programs;
    throw new errors/* InputError */.dz(input, 'needs the gpg program, which is not on PATH; install GnuPG (Debian and Ubuntu: apt-get install gnupg)');
}
/**
 * Encrypts to every key of `gpg-recipients`, trusted as given (they were chosen by the user, not
 * found on a keyserver), without OpenPGP's own compression: the bytes are compressed already.
 */
async function gpgSealer(keys, programs) {
    const home = await GpgHome.open(programs, { agent: false });
    try {
        const imported = await home.run(['--import'], keys.publicKeys);
        if (imported.ended.code !== 0) {
            throw new Error(`gpg could not import gpg-recipients: ${failureText(imported.ended)}`);
        }
    }
    catch (error) {
        await home.close();
        throw error;
    }
    const recipients = keys.recipients.flatMap((fingerprint) => ['--recipient', fingerprint]);
    const filter = {
        name: 'gpg',
        path: programs.gpg,
        args: home.args([
            '--trust-model',
            'always',
            '--compress-algo',
            'none',
            '--encrypt',
            ...recipients,
        ]),
        doing: 'encrypting',
    };
    return {
        program: () => Promise.resolve(filter),
        seal: (input) => Promise.resolve((0,external_node_stream_.pipeline)(input, throughProgram(filter), () => undefined)),
        close: () => home.close(),
    };
}
const failureText = (ended) => messagesLine(parseGpgOutput(ended.stderr));
/**
 * `stored` decrypted by gpg in a home of its own, which `close` removes. Resolves once gpg has
 * written its first byte: a key that does not open the file fails here, before anything reads
 * the archive, in one line naming the input.
 */
async function gpgDecrypt(stored, secrets) {
    if (secrets === undefined) {
        throw inputError('gpg-private-key', 'is required: the backup is encrypted with gpg (give gpg-passphrase too when the key has one)');
    }
    const programs = await findGpg();
    if (!programs) {
        throw new DecryptionError('the backup is encrypted with gpg, which is not on PATH; install GnuPG');
    }
    const home = await GpgHome.open(programs, { agent: true });
    try {
        if (secrets.privateKeys !== undefined)
            await importSecretKeys(home, secrets.privateKeys);
        const { child, exit } = home.start(['--decrypt'], 'pipe', 'pipe', secrets.passphrase);
        const outcome = exit.then((ended) => {
            if (ended.code !== 0)
                throw decryptFailure(parseGpgOutput(ended.stderr), secrets);
        }, (error) => {
            throw new Error(`gpg could not run: ${(0,errors/* errorMessage */.gJ)(error)}`);
        });
        (0,external_node_stream_.pipeline)(stored, programInput(child.stdin, outcome), () => undefined);
        const plain = guardedStdout(child.stdout, outcome);
        const close = async () => {
            plain.destroy();
            stopIfRunning(child);
            await exit.catch(() => undefined);
            await home.close();
        };
        await firstBytes(plain).catch(async (error) => {
            await close();
            throw error;
        });
        return { plain, close };
    }
    catch (error) {
        await home.close();
        throw error;
    }
}
/** Resolves once `stream` has bytes to read (or has ended); rejects if it fails first. */
function firstBytes(stream) {
    // Its consumer handles its errors; one emitted before the consumer attaches must not crash.
    stream.on('error', () => undefined);
    return new Promise((resolve, reject) => {
        const settle = (error) => {
            stream.off('readable', settle);
            stream.off('error', settle);
            if (error)
                reject(error);
            else
                resolve();
        };
        stream.on('readable', settle);
        stream.on('error', settle);
    });
}
const inputError = (input, detail) => new DecryptionError(new errors/* InputError */.dz(input, detail).message);
/**
 * Why gpg could not decrypt: the passphrase or the key, named as the input to fix, or else what
 * gpg said (damaged bytes, which the checksum then names). A passphrase gpg asked for comes first:
 * it was asked for a key that does open the file.
 */
function decryptFailure(outcome, secrets) {
    const symmetric = outcome.status.some((line) => line.keyword === 'NEED_PASSPHRASE_SYM');
    if (secrets.passphrase === undefined && passphraseAsked(outcome)) {
        return inputError('gpg-passphrase', symmetric
            ? 'is required: the backup was encrypted with gpg --symmetric'
            : 'is required: gpg-private-key is protected by a passphrase');
    }
    if (secrets.passphrase !== undefined && passphraseRejected(outcome)) {
        return inputError('gpg-passphrase', symmetric ? 'does not open the backup' : 'does not unlock gpg-private-key');
    }
    const missing = statusArgs(outcome, 'NO_SECKEY').map(([keyId]) => keyId);
    if (missing.length > 0 && statusArgs(outcome, 'DECRYPTION_KEY').length === 0) {
        const keys = `OpenPGP key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
        return inputError('gpg-private-key', secrets.privateKeys === undefined
            ? `is required: the backup is encrypted to ${keys}`
            : `does not hold the secret of ${keys}, to which the backup is encrypted`);
    }
    return new Error(`gpg could not decrypt the backup: ${messagesLine(outcome)}`);
}

;// CONCATENATED MODULE: ./src/inputs/gpg-recipients.ts
/**
 * `gpg-recipients`: armored public keys, and the paths of files holding keys (armored, or binary
 * as `gpg --export` writes them), one per line, relative to the working directory, in any mix.
 * Every line outside an armored block is a path: one that names no file fails the run rather than
 * leave a recipient out of every backup, unnoticed until a restore.
 */






/**
 * Splits the input into its armored blocks and its other lines (blank and `#` lines dropped). A
 * block must end with its END line: gpg reads a torn block up to the tear, so every line after it
 * would be taken as armor and a recipient left out without a word.
 */
function splitRecipients(text) {
    const armored = [];
    const paths = [];
    let begun;
    for (const [index, line] of text
        .split(/\r?\n/)
        .map((one) => one.trim())
        .entries()) {
        if (line.startsWith(BEGIN)) {
            if (begun !== undefined)
                throw unterminated(begun);
            begun = index;
        }
        if (begun !== undefined)
            armored.push(line);
        else if (line !== '' && !line.startsWith('#'))
            paths.push(line);
        if (begun !== undefined && line.startsWith('-----END PGP '))
            begun = undefined;
    }
    if (begun !== undefined)
        throw unterminated(begun);
    if (armored.length === 0 && paths.length === 0) {
        throw new errors/* InputError */.dz('gpg-recipients', `holds no key, only blank or # comment lines; ${PUBLIC_KEYS_HELP}, or remove the input`);
    }
    return { armored: armored.length > 0 ? `${armored.join('\n')}\n` : '', paths };
}
const BEGIN = '-----BEGIN PGP ';
function unterminated(line) {
    return new errors/* InputError */.dz('gpg-recipients', `the armored key block that starts on line ${line + 1} has no -----END PGP line before the next block or the end; paste each key whole`);
}
async function readGpgRecipients(inputs, cwd) {
    const programs = await requireGpg('gpg-recipients');
    const { armored, paths } = splitRecipients(inputs.text('gpg-recipients'));
    const read = [];
    if (armored !== '')
        read.push(await readPublicKeys(programs, Buffer.from(armored, 'utf8')));
    for (const line of paths)
        read.push(await readPublicKeys(programs, await keyFile(cwd, line)));
    return {
        publicKeys: read.map((keys) => keys.publicKeys).join(''),
        recipients: [...new Set(read.flatMap((keys) => keys.recipients))],
    };
}
function keyFile(cwd, line) {
    const file = external_node_path_default().resolve(cwd, line);
    return (0,promises_.readFile)(file).catch((error) => {
        throw unreadableLine(line, file, error.code ?? error.message);
    });
}
// 8 or 16 hex digits (short and long key ids, 0x or not) or 40 (a fingerprint, spaced or not).
const KEY_ID = /^(?:(?:0x)?(?:[0-9a-f]{8}|[0-9a-f]{16})|[0-9a-f]{40})$/i;
/** Why a line that names no readable file was refused, naming what it looks like instead. */
function unreadableLine(line, file, code) {
    if (holdsPrivateKey(line)) {
        return new errors/* InputError */.dz('gpg-recipients', `a line holds a private key, which is never accepted here; ${PUBLIC_KEYS_HELP}`);
    }
    if (KEY_ID.test(line.replace(/\s/g, ''))) {
        return new errors/* InputError */.dz('gpg-recipients', `"${line}" looks like a key id or fingerprint, which is not accepted (the runner has no keyring to look it up in); give the key itself (gpg --armor --export ${line.replace(/\s/g, '')}) or the path of a file holding it`);
    }
    return new errors/* InputError */.dz('gpg-recipients', `${file} cannot be read (${code}); every line outside an armored key block must be the path of a file holding public keys`);
}

;// CONCATENATED MODULE: ./src/inputs/crypto.ts
/**
 * The encryption inputs. age: recipients or a passphrase to encrypt, identities or a passphrase to
 * decrypt. gpg: public keys to encrypt, a private key (and its passphrase) to decrypt. A backup is
 * encrypted with one or the other; the keys are checked before any work starts.
 */





async function readEncryption(inputs, cwd) {
    const recipients = inputs.lines('age-recipients');
    const passphrase = inputs.optional('encryption-passphrase');
    if (inputs.text('gpg-recipients') !== '') {
        const age = recipients.length > 0 ? 'age-recipients' : passphrase && 'encryption-passphrase';
        if (age) {
            throw new errors/* InputError */.dz('gpg-recipients', `cannot be combined with ${age}; a backup is encrypted with age or with gpg, not both`);
        }
        return { method: 'gpg', ...(await readGpgRecipients(inputs, cwd)) };
    }
    if (recipients.length > 0 && passphrase !== undefined) {
        throw new errors/* InputError */.dz('encryption-passphrase', 'cannot be combined with age-recipients; age encrypts to recipients or to a passphrase, not both');
    }
    if (recipients.length === 0 && inputs.text('age-recipients') !== '') {
        // A commented-out key must not turn encrypted backups into plain ones without a word.
        throw new errors/* InputError */.dz('age-recipients', 'holds no recipient, only blank or # comment lines; give public keys starting with age1, or remove the input');
    }
    if (recipients.length > 0) {
        await checkRecipients(recipients);
        return { method: 'age', recipients };
    }
    if (passphrase !== undefined)
        return { method: 'age', recipients: [], passphrase };
    return undefined;
}
/** The secrets among the keys a backup is encrypted to: age's passphrase (public keys are not). */
function encryptionSecrets(keys) {
    return keys?.method === 'age' ? [keys.passphrase] : [];
}
const ARMORED = '-----BEGIN PGP ';
/** Identity files may carry comments (`# created: …`, `# public key: …`); only keys count. */
async function readDecryption(inputs) {
    const identities = inputs.lines('age-identity');
    if (identities.length > 0)
        await checkIdentities(identities);
    const passphrase = inputs.optional('encryption-passphrase');
    const gpg = await readGpgSecrets(inputs);
    if (gpg && passphrase !== undefined) {
        throw new errors/* InputError */.dz('encryption-passphrase', "is age's passphrase and cannot be combined with gpg-private-key or gpg-passphrase; give the gpg key's passphrase as gpg-passphrase");
    }
    return { identities, passphrase, ...(gpg ? { gpg } : {}) };
}
/**
 * `gpg-private-key` and `gpg-passphrase`, tried with gpg at once. The passphrase alone opens a
 * file made with `gpg --symmetric`.
 */
async function readGpgSecrets(inputs) {
    const privateKeys = inputs.optional('gpg-private-key');
    const passphrase = inputs.optional('gpg-passphrase');
    if (privateKeys === undefined) {
        if (passphrase === undefined)
            return undefined;
        await requireGpg('gpg-passphrase');
        return { passphrase };
    }
    // Never quote it: it is a private key.
    if (!privateKeys.includes(`${ARMORED}PRIVATE KEY BLOCK-----`)) {
        const what = privateKeys.includes(`${ARMORED}PUBLIC KEY BLOCK-----`)
            ? 'holds only a public key, which cannot decrypt'
            : 'is not an armored OpenPGP private key';
        throw new errors/* InputError */.dz('gpg-private-key', `${what}; give the private key as gpg --armor --export-secret-keys KEYID writes it`);
    }
    const secrets = { privateKeys, ...(passphrase === undefined ? {} : { passphrase }) };
    await checkSecretKeys(await requireGpg('gpg-private-key'), secrets);
    return secrets;
}
/**
 * Every secret a reading mode is given, for the runner to mask: an armored key line by line, since
 * logs are matched a line at a time (its BEGIN, END and header lines hold nothing secret).
 */
function decryptionSecrets(decryption) {
    const { privateKeys, passphrase } = decryption.gpg ?? {};
    const keyLines = (privateKeys ?? '')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('-----') && !/^[A-Za-z-]+: /.test(line));
    return [...decryption.identities, decryption.passphrase, passphrase, ...keyLines];
}
// The age library is loaded only when there are keys to check: most runs never encrypt.
async function checkRecipients(recipients) {
    const { Encrypter } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    for (const [index, recipient] of recipients.entries()) {
        // Never quoted, not even its first characters: a pasted private key would be half shown.
        if (holdsPrivateKey(recipient)) {
            throw new errors/* InputError */.dz('age-recipients', `line ${index + 1} is a private key (AGE-SECRET-KEY-…); give its public recipient (age1…), as age-keygen -y prints it`);
        }
        try {
            new Encrypter().addRecipient(recipient);
        }
        catch {
            throw new errors/* InputError */.dz('age-recipients', `line ${index + 1} is not an age recipient; use public keys starting with age1`);
        }
    }
}
async function checkIdentities(identities) {
    const { identityToRecipient } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    for (const [index, identity] of identities.entries()) {
        const valid = await identityToRecipient(identity).then(() => true, () => false);
        // Never quote an identity: it is a private key.
        if (!valid) {
            throw new errors/* InputError */.dz('age-identity', `line ${index + 1} is not an age identity; use a key starting with AGE-SECRET-KEY-1`);
        }
    }
}

;// CONCATENATED MODULE: ./src/inputs/redis-url.ts
/**
 * The `redis-url` input: `redis://` or `rediss://` (TLS), an ACL user and password, a host and a
 * port. A Redis backup holds every logical database, so a URL that selects one (`/2`) is refused
 * rather than mistaken for a choice. TLS takes redis-cli's own options as parameters; nothing
 * else is accepted, so every program and the client reach the same server the same way.
 */




const redis_url_ACCEPTED = 'use redis://user:password@host:6379, or rediss:// for TLS (with cacert, cert, key, sni or insecure=true as parameters)';
const TLS_FILES = ['cacert', 'cert', 'key'];
const TLS_PARAMETERS = new Set([...TLS_FILES, 'sni', 'insecure']);
function readRedisUrl(inputs, name, cwd) {
    const value = inputs.text(name);
    if (value === '')
        throw new errors/* InputError */.dz(name, `is required; ${redis_url_ACCEPTED}`);
    // The value may hold a password, so no message below quotes any part of it.
    const fail = (what) => {
        throw new errors/* InputError */.dz(name, `${what}; ${redis_url_ACCEPTED}`);
    };
    let url;
    try {
        url = new URL(value);
    }
    catch {
        return fail('is not a valid URL');
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
        fail(`has the scheme "${url.protocol}"`);
    if (url.hash !== '')
        fail('has a "#" part');
    const host = redis_url_decode(url.hostname, fail).replace(/^\[(.*)\]$/, '$1');
    if (host === '')
        fail('names no host');
    const port = url.port === '' ? 6379 : Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
        fail('has a port outside 1-65535');
    if (url.pathname !== '' && url.pathname !== '/') {
        fail(`selects a database (${redis_url_decode(url.pathname.slice(1), fail)}), but a Redis backup and restore take every database: remove the path`);
    }
    const user = url.username === '' ? undefined : redis_url_decode(url.username, fail);
    const password = url.password === '' ? undefined : redis_url_decode(url.password, fail);
    if (user !== undefined && password === undefined) {
        fail(`names the user ${user} without a password`);
    }
    const tls = readTls(url, cwd, fail);
    const shown = `${user === undefined ? '' : encodeURIComponent(user)}${password === undefined ? '' : ':***'}`;
    const target = {
        host,
        port,
        ...(user === undefined ? {} : { user }),
        ...(password === undefined ? {} : { password }),
        ...(tls ? { tls } : {}),
        display: `${url.protocol}//${shown ? `${shown}@` : ''}${url.host}`,
    };
    return { target, secrets: password === undefined ? [] : passwordForms(value, url, password) };
}
/** The address `confirm` must name: `host:port`, as the URL wrote the host. */
function redisAddress(target) {
    return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}
function readTls(url, cwd, fail) {
    const params = new Map();
    for (const [key, value] of url.searchParams) {
        if (!TLS_PARAMETERS.has(key)) {
            fail(`has the parameter "${key}"; only ${[...TLS_PARAMETERS].join(', ')} are accepted`);
        }
        if (params.has(key))
            fail(`gives the parameter "${key}" twice`);
        params.set(key, value);
    }
    if (url.protocol === 'redis:') {
        if (params.size > 0)
            fail('has TLS parameters without TLS (write rediss://)');
        return undefined;
    }
    const insecure = params.get('insecure');
    if (insecure !== undefined && insecure !== 'true' && insecure !== 'false') {
        fail('has insecure that is neither true nor false');
    }
    if (params.has('cert') !== params.has('key'))
        fail('gives only one of cert and key (give both)');
    const tls = { insecure: insecure === 'true' };
    for (const key of TLS_FILES) {
        const file = params.get(key);
        if (file === undefined)
            continue;
        const full = external_node_path_default().resolve(cwd, file);
        try {
            (0,external_node_fs_.accessSync)(full, external_node_fs_.constants.R_OK);
        }
        catch {
            fail(`has ${key}=${file}, which cannot be read`);
        }
        tls[key] = full;
    }
    const sni = params.get('sni');
    if (sni !== undefined)
        tls.sni = sni;
    return tls;
}
function redis_url_decode(text, fail) {
    try {
        return decodeURIComponent(text);
    }
    catch {
        return fail('has a malformed %-escape');
    }
}

;// CONCATENATED MODULE: ./src/inputs/backup.ts
/** The inputs of `backup`: the source (a database or files), compression and encryption. */












async function readBackup(inputs, cwd) {
    const source = inputs.oneOf('source', ['postgres', 'files', 'redis'], 'postgres');
    refuseOtherSources(inputs, source);
    if (source !== 'files' && inputs.lines('paths').length > 0) {
        throw new errors/* InputError */.dz('paths', `is for source: files; set source: files to back up directories, or remove paths (source is ${source})`);
    }
    const given = source === 'postgres' ? readDatabaseUrl(inputs, 'database-url') : undefined;
    const redis = source === 'redis' ? readRedisUrl(inputs, 'redis-url', cwd) : undefined;
    const defaultName = given ? nameFromDatabase(given.target.database) : source;
    const common = readCommon(inputs, cwd, defaultName, { postgres: source === 'postgres' });
    const compression = inputs.oneOf('compression', ['zstd', 'gzip', 'none'], 'zstd');
    const maxLevel = compression === 'zstd' ? 19 : 9;
    if (compression === 'none')
        inputs.notUsed('compression-level', 'compression: none');
    const compressionLevel = compression === 'none'
        ? undefined
        : inputs.integer('compression-level', { min: 1, max: maxLevel });
    const encryptionKeys = await readEncryption(inputs, cwd);
    if (!encryptionKeys)
        refuseDecryptionOnly(inputs);
    const base = {
        ...common,
        mode: 'backup',
        compression,
        compressionLevel,
        encryptionKeys,
        signingKey: readSigningKey(inputs),
        ...(await readBackupCopies(inputs, cwd, common)),
    };
    if (redis) {
        readServer(inputs, source);
        const settings = { ...base, kind: 'redis', redis: redis.target };
        addSecrets(settings, ...redis.secrets, ...encryptionSecrets(encryptionKeys));
        return settings;
    }
    const from = given
        ? { database: given.target }
        : { files: await readFiles(inputs, cwd) };
    // Read only for a PostgreSQL source: given with another, they are named as unused.
    const dump = () => ({
        pgDumpArgs: readPgDumpArgs(inputs),
        rowCounts: inputs.oneOf('row-counts', ['exact', 'estimate', 'off'], 'exact'),
    });
    const server = readServer(inputs, source);
    const settings = 'files' in from
        ? { ...base, kind: 'files', files: from.files }
        : server
            ? { ...base, ...dump(), kind: 'server', database: from.database, server }
            : { ...base, ...dump(), kind: 'database', database: from.database };
    if (settings.kind === 'database')
        refuseLineBreak(settings.database.database);
    addSecrets(settings, ...(given?.secrets ?? []), ...encryptionSecrets(encryptionKeys));
    return settings;
}
/** A database pg_dump dumps but that no restore could recreate: refused before any work. */
function refuseLineBreak(database) {
    const found = lineBreakNames([database]);
    if (found === undefined)
        return;
    throw new errors/* InputError */.dz('database-url', `names the database ${found}, which cannot be backed up: ${LINE_BREAK_WHY}, so no restore could recreate it; rename it to back it up`);
}
/** `copy-to` and how its copies are made: the backup just published, copied to each store. */
async function readBackupCopies(inputs, cwd, common) {
    if (inputs.text('copy-last') !== '') {
        throw new errors/* InputError */.dz('copy-last', 'is for mode: copy; a backup copies the backup it made (run copy to fill in older ones)');
    }
    const copyTo = await readCopyTo(inputs, cwd, common);
    // How copies are made means nothing without any: read only with copy-to, else named as unused.
    if (copyTo.length === 0)
        return { copyTo, copyBestEffort: false, copyCheck: 'listing' };
    return {
        copyTo,
        copyBestEffort: inputs.boolean('copy-best-effort', false),
        copyCheck: readCopyCheck(inputs),
    };
}
/** What each key that only decrypts would have to be given as, to encrypt instead. */
const TO_ENCRYPT = [
    ['age-identity', 'age-recipients (its public key, age1…) or encryption-passphrase'],
    ['gpg-private-key', 'gpg-recipients (its public key)'],
    ['gpg-passphrase', 'gpg-recipients, or encryption-passphrase for age'],
];
/**
 * A backup given only a key that decrypts would be written in plaintext while its owner believes
 * it encrypted: refused. Read only when nothing encrypts, so beside a real key they are named as
 * unused.
 */
function refuseDecryptionOnly(inputs) {
    const given = TO_ENCRYPT.find(([name]) => inputs.text(name) !== '');
    if (given) {
        const [name, instead] = given;
        throw new errors/* InputError */.dz(name, `decrypts; to encrypt backups give ${instead}`);
    }
}
/** The inputs of the other sources, by the source they belong to. */
const OTHER_SOURCES = [
    ['database-url', 'postgres'],
    ['pg-dump-args', 'postgres'],
    ['pg-bin-dir', 'postgres'],
    ['postgres-client', 'postgres'],
    ['pg-client-mirror', 'postgres'],
    ['paths', 'files'],
    ['exclude', 'files'],
    ['exclude-from', 'files'],
];
/**
 * An input of another source means the source is not the one meant (`redis-url` without
 * `source: redis`) or the input would do nothing: either way it is named rather than ignored.
 * Only Redis's side is checked: files and PostgreSQL backups have long shared a step's inputs.
 */
function refuseOtherSources(inputs, source) {
    if (source !== 'redis') {
        if (inputs.optional('redis-url') === undefined)
            return;
        throw new errors/* InputError */.dz('redis-url', `is for source: redis; set source: redis to back up a Redis (the source is ${source})`);
    }
    const other = OTHER_SOURCES.find(([name]) => isGiven(name, inputs.text(name)));
    if (other) {
        throw new errors/* InputError */.dz(other[0], `is for source: ${other[1]}; remove it with source: redis`);
    }
}
/**
 * `databases` and what goes with it. Without it a run backs up one database as before, so
 * `globals: true` alone (roles but no databases) is refused rather than silently ignored.
 */
function readServer(inputs, source) {
    const listed = readDatabases(inputs);
    const globals = inputs.oneOf('globals', ['auto', 'true', 'false'], 'auto');
    if (listed.length === 0) {
        if (globals === 'true') {
            throw new errors/* InputError */.dz('globals', 'true needs databases (all, or names one per line): roles are backed up with a whole server');
        }
        if (inputs.lines('exclude-databases').length > 0) {
            throw new errors/* InputError */.dz('exclude-databases', 'needs databases (all, or names and globs one per line) to leave databases out of');
        }
        return undefined;
    }
    if (source !== 'postgres') {
        throw new errors/* InputError */.dz('databases', `is for source: postgres; remove it with source: ${source}`);
    }
    return {
        databases: listed,
        exclude: readNamePatterns(inputs, 'exclude-databases'),
        globals,
        jobs: inputs.integer('jobs', { min: 1, max: 16 }) ?? 1,
    };
}
/** pg_dump's output format and destination are the product's; everything else is the user's. */
function readPgDumpArgs(inputs) {
    const args = inputs.lines('pg-dump-args', { comments: false });
    const refused = refusedPgDumpArgument(args);
    if (refused !== undefined) {
        throw new errors/* InputError */.dz('pg-dump-args', `${refused} (custom format to its own stream, database from database-url); give other pg_dump options, one per line`);
    }
    return args;
}
async function readFiles(inputs, cwd) {
    const paths = inputs.lines('paths');
    if (paths.length === 0)
        throw new errors/* InputError */.dz('paths', 'is required with source: files; give one path or glob per line');
    return {
        paths,
        exclude: inputs.lines('exclude'),
        excludeFrom: await readExcludeFrom(inputs, cwd),
        cwd,
        skipUnreadable: inputs.boolean('skip-unreadable', false),
    };
}
/** The exclude file, proven readable before anything is stored (it is read again by the walk). */
async function readExcludeFrom(inputs, cwd) {
    const given = inputs.optional('exclude-from');
    if (given === undefined)
        return undefined;
    const file = external_node_path_default().resolve(cwd, given);
    await (0,promises_.readFile)(file, 'utf8').catch((error) => {
        throw new errors/* InputError */.dz('exclude-from', `${file} cannot be read (${error.code ?? error.message}); give a file of exclude patterns, one per line`);
    });
    return file;
}

;// CONCATENATED MODULE: ./src/inputs/notify.ts

/** The notify mode needs no storage: only the set's name, the channels and the result. */
function readNotifyMode(inputs, cwd) {
    const notify = readNotify(inputs, cwd);
    return {
        mode: 'notify',
        name: readName(inputs, undefined),
        notify,
        result: inputs.oneOf('result', ['success', 'healed', 'failure', 'cancelled'], 'failure'),
        message: inputs.optional('message'),
        secrets: notifySecrets(notify),
    };
}

;// CONCATENATED MODULE: ./src/inputs/checks.ts
/**
 * The restore-test `checks` and `checks-file` inputs, in one grammar for every kind (the backup's
 * kind is known only once its manifest is read; each kind then refuses the forms it cannot run):
 * `schema.table >= N` or a boolean SQL query (PostgreSQL), `keys >= N` or `exists KEY` (Redis),
 * each after an optional `database:` prefix.
 */




const COUNT_CHECK = /^((?:[A-Za-z_][\w$]*\.)?[A-Za-z_][\w$]*)\s*(>=|<=|==|=|>|<)\s*(\d+)$/;
const SQL_CHECK = /^(select|with|values)\b/i;
/** A Redis key that must exist: the rest of the line, or a JSON string for any other bytes. */
const EXISTS_CHECK = /^exists\s+(\S.*)$/is;
/** `crm: …` (a name without spaces or quotes) or `"Crm: x": …` (quoted, `""` for a quote). */
const DATABASE_PREFIX = /^(?:"((?:[^"]|"")+)"|([^\s"]+?)):\s+(\S.*)$/s;
/**
 * Parses one check line, or returns undefined when it is neither form. A check of a server backup
 * may name its database first; SQL never starts with a word and a colon, so the forms cannot mix.
 */
function parseCheck(line) {
    const prefixed = DATABASE_PREFIX.exec(line);
    if (prefixed) {
        const [, quoted, bare, rest = ''] = prefixed;
        const check = parseBareCheck(rest);
        const database = quoted?.replace(/""/g, '"') ?? bare;
        if (check && database !== undefined)
            return { ...check, text: line, database };
    }
    return parseBareCheck(line);
}
function parseBareCheck(line) {
    const count = COUNT_CHECK.exec(line);
    if (count) {
        const [, table = '', operator = '', value = ''] = count;
        return {
            kind: 'count',
            text: line,
            table: table.includes('.') ? table : `public.${table}`,
            operator: (operator === '==' ? '=' : operator),
            value: Number(value),
        };
    }
    if (SQL_CHECK.test(line))
        return { kind: 'sql', text: line, sql: line.replace(/;\s*$/, '') };
    const key = EXISTS_CHECK.exec(line)?.[1];
    return key === undefined ? undefined : keyCheck(line, key.trimEnd());
}
function keyCheck(text, key) {
    if (!key.startsWith('"'))
        return { kind: 'exists', text, key };
    try {
        const parsed = JSON.parse(key);
        return typeof parsed === 'string' ? { kind: 'exists', text, key: parsed } : undefined;
    }
    catch {
        return undefined;
    }
}
/**
 * Every check, from the `checks` input and then the file. A line that is neither form is named by
 * its place only (input, file, line number), never echoed: the file may be anything (a `.env`
 * with a database URL, /etc/shadow), and it is read before any secret in it could be masked.
 */
async function readChecks(inputs, cwd) {
    const lines = [
        ...numberedLines(inputs.text('checks')).map((line) => ({ ...line, input: 'checks' })),
        ...(await readChecksFile(inputs, cwd)),
    ];
    return lines.map(({ input, where, text }) => {
        const check = parseCheck(text);
        if (!check) {
            throw new errors/* InputError */.dz(input, `${where} is not a check: give "schema.table >= N" or a SQL query (SELECT …) returning one boolean (PostgreSQL), or "dbN: keys >= N" or "dbN: exists KEY" (Redis)`);
        }
        return check;
    });
}
/** The lines that hold a check (not blank, not a `#` comment), each with its line number. */
function numberedLines(text) {
    return valueLines(text).map(({ number, text: line }) => ({
        where: `line ${number}`,
        text: line,
    }));
}
async function readChecksFile(inputs, cwd) {
    const file = inputs.optional('checks-file');
    if (file === undefined)
        return [];
    let text;
    try {
        text = await (0,promises_.readFile)(external_node_path_default().resolve(cwd, file), 'utf8');
    }
    catch {
        throw new errors/* InputError */.dz('checks-file', `"${file}" cannot be read; give the path of a file with one check per line`);
    }
    return numberedLines(text).map(({ where, text: line }) => ({
        input: 'checks-file',
        where: `${where} of "${file}"`,
        text: line,
    }));
}

;// CONCATENATED MODULE: ./src/inputs/restore-test.ts
/** The inputs of `restore-test`: the scratch server, the backup and the checks. */






async function readRestoreTest(inputs, cwd) {
    // What restore does to a real target: a scratch database is always new, named by the run.
    const scratch = 'restore-test restores into new scratch databases it names and drops (keep-database: true keeps them)';
    inputs.notUsed('clean', scratch);
    inputs.notUsed('target-database', scratch);
    const given = inputs.optional('database-url')
        ? readDatabaseUrl(inputs, 'database-url', { databaseOptional: true })
        : undefined;
    const database = given?.target;
    const common = readCommon(inputs, cwd, undefined, { severalStores: true });
    const decryption = await readDecryption(inputs);
    const settings = {
        ...common,
        mode: 'restore-test',
        database,
        backupId: readBackupId(inputs),
        checks: await readChecks(inputs, cwd),
        jobs: readJobs(inputs),
        keepDatabase: inputs.boolean('keep-database', false),
        ...readRestoreGlobals(inputs),
        databaseSettings: inputs.boolean('restore-database-settings', true),
        databases: readChosenDatabases(inputs),
        kindInputs: KIND_TEST_INPUTS.filter((name) => inputs.given(name)),
        sharedKindInputs: [],
        decryption,
        ...readSigningPublicKeys(inputs),
    };
    addSecrets(settings, ...(given?.secrets ?? []), ...decryptionSecrets(decryption));
    return settings;
}

;// CONCATENATED MODULE: ./src/inputs/restore.ts
/** The inputs of `restore`: the target (a database or a path) and the confirmation naming it. */







async function readRestore(inputs, cwd) {
    const target = readTarget(inputs, cwd);
    const database = target.into === 'database' ? target.given.target : undefined;
    const common = readCommon(inputs, cwd, target.into === 'redis' ? 'redis' : nameFromDatabase(database?.database), { severalStores: true, postgres: target.into === 'database' });
    const decryption = await readDecryption(inputs);
    const confirm = inputs.text('confirm');
    // A server backup's targets are known once its manifest is read: the mode checks confirm then.
    const named = target.into === 'path'
        ? target.targetPath
        : target.into === 'redis'
            ? redisAddress(target.given.target)
            : undefined;
    if (confirm === '') {
        const what = database
            ? `the target database's name ("${database.database}")`
            : target.into === 'redis'
                ? `the target's address ("${named}")`
                : 'the target path';
        throw new errors/* InputError */.dz('confirm', `is required; set it to ${what} to allow the restore`);
    }
    if (named !== undefined && confirm !== named)
        throw confirmMismatch(confirm, named);
    const base = {
        ...common,
        mode: 'restore',
        backupId: readBackupId(inputs),
        confirm,
        clean: inputs.boolean('clean', false),
        decryption,
        ...readSigningPublicKeys(inputs),
    };
    const keys = decryptionSecrets(decryption);
    if (target.into === 'database') {
        const settings = {
            ...base,
            ...readDatabaseRestore(inputs),
            into: 'database',
            database: target.given.target,
        };
        addSecrets(settings, ...target.given.secrets, ...keys);
        return settings;
    }
    refuseServerChoices(inputs, TARGET_INPUTS[target.into]);
    const settings = target.into === 'redis'
        ? { ...base, into: 'redis', redis: target.given.target }
        : { ...base, into: 'path', targetPath: external_node_path_default().resolve(cwd, target.targetPath) };
    addSecrets(settings, ...(target.into === 'redis' ? target.given.secrets : []), ...keys);
    return settings;
}
/** One target: `redis-url`, `target-path`, or else `database-url`. */
function readTarget(inputs, cwd) {
    const targetPath = inputs.optional('target-path');
    if (inputs.optional('redis-url') === undefined) {
        if (targetPath === undefined)
            return { into: 'database', given: readDatabaseUrl(inputs, 'database-url') };
        if (inputs.optional('database-url') !== undefined) {
            throw new errors/* InputError */.dz('target-path', 'and database-url are both given; give the one target to restore into');
        }
        return { into: 'path', targetPath };
    }
    const other = targetPath === undefined ? inputs.optional('database-url') && 'database-url' : 'target-path';
    if (other) {
        throw new errors/* InputError */.dz('redis-url', `and ${other} are both given; give the one target to restore into`);
    }
    return { into: 'redis', given: readRedisUrl(inputs, 'redis-url', cwd) };
}
/** What only a restore into a database takes. */
function readDatabaseRestore(inputs) {
    return {
        databaseSettings: inputs.boolean('restore-database-settings', true),
        jobs: readJobs(inputs),
        databases: readChosenDatabases(inputs),
        targetDatabases: readTargetDatabases(inputs),
        ...readRestoreGlobals(inputs),
    };
}
/**
 * `target-path` and `redis-url` restore backups that have no PostgreSQL databases and no roles:
 * the inputs that choose them are refused in one line saying so; pg_restore's own (jobs,
 * restore-database-settings) are left unread, so that given they are refused as unused.
 */
function refuseServerChoices(inputs, target) {
    const set = SERVER_CHOICES.find((name) => inputs.given(name));
    if (set) {
        throw new errors/* InputError */.dz(set, `is for a server backup restored into database-url; ${target} takes a backup that has none`);
    }
    for (const name of ['jobs', 'restore-database-settings'])
        inputs.notUsed(name, `${target} runs no pg_restore`);
}
const SERVER_CHOICES = ['databases', 'target-database', 'restore-globals'];
/** The input that names each kind of restore target. */
const TARGET_INPUTS = {
    database: 'database-url',
    path: 'target-path',
    redis: 'redis-url',
};
/** The one line a confirm that does not name the target fails with. */
function confirmMismatch(confirm, expected) {
    return new errors/* InputError */.dz('confirm', `"${confirm}" does not match the target; set confirm: ${expected} to restore into it`);
}
/**
 * `target-database`: `source=target` lines, or one bare name for the one database restored
 * (kept under the key '', which no database name can be).
 */
function readTargetDatabases(inputs) {
    const lines = inputs.lines('target-database', { comments: false });
    const mapping = {};
    for (const line of lines) {
        const at = line.indexOf('=');
        const [from, to] = at < 0 ? ['', line] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
        if (at < 0 && lines.length > 1) {
            throw new errors/* InputError */.dz('target-database', `"${line}" has no "="; give source=target lines, or one name when one database is restored`);
        }
        if ((at >= 0 && from === '') || to === '' || Buffer.byteLength(to) > 63) {
            throw new errors/* InputError */.dz('target-database', `"${line}" is not accepted; use source=target`);
        }
        if (from in mapping) {
            throw new errors/* InputError */.dz('target-database', `${from} is mapped twice; give each database once`);
        }
        mapping[from] = to;
    }
    return mapping;
}

;// CONCATENATED MODULE: ./src/retention/policy.ts
/**
 * The keep-policy of `retention-prune` as pure logic: given backups and a policy, which are kept
 * and by which rules. No I/O and no clock: everything is relative to the newest backup, so the
 * same inputs always give the same answer (restic's `forget` semantics).
 */

const BUCKET_RULES = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const COUNT_RULES = ['last', ...BUCKET_RULES];
const DAY_MS = 86_400_000;
/** False when no rule has a positive value: such a policy would delete all but the newest. */
function policyHasRule(policy) {
    return COUNT_RULES.some((rule) => (policy[rule] ?? 0) > 0) || (policy.withinMs ?? 0) > 0;
}
/** Whether `Intl` knows the time zone (IANA names, case-insensitively, and aliases such as UTC). */
function isValidTimeZone(name) {
    try {
        formatterFor(name);
        return true;
    }
    catch {
        return false;
    }
}
/**
 * The period of `date` for a bucket rule, in `timeZone`: `2024-11-03T01-04:00` (hourly),
 * `2024-11-03` (daily), `2020-W53` (weekly, ISO week-numbering year), `2024-11` (monthly),
 * `2024` (yearly).
 *
 * The hourly key carries the UTC offset because a fall-back transition repeats a local hour:
 * 01:30 EDT and 01:30 EST are an hour apart and must be two periods, or keep-hourly would keep
 * one backup for two real hours. Days, weeks, months and years are calendar periods, so a 23- or
 * 25-hour day is still one day.
 */
function periodKey(date, rule, timeZone) {
    assertValidDate(date, 'periodKey');
    return keyOf(localTime(date, timeZone), rule);
}
/**
 * Decides, for every candidate, whether the policy keeps it and why; newest first in the one
 * order of backups (`byStartNewestFirst`: by `createdAt`, then by id), whatever the input order.
 *
 * - `last: N` keeps the N newest.
 * - each bucket rule keeps the newest backup of each of the N most recent periods that have a
 *   backup: a period with no backup does not use up the count.
 * - `withinMs` keeps every backup strictly newer than (newest createdAt - withinMs), like restic.
 * - the newest backup is always kept, with the rule `newest` added to whatever else kept it.
 *
 * Throws when the policy names no rule or has a count that is not a whole number >= 0, when the
 * time zone is unknown, and when a candidate's createdAt is not a valid date: a prune must stop
 * rather than decide from input it cannot read.
 */
function decide(candidates, policy, timeZone) {
    assertUsablePolicy(policy);
    // Fails on an unknown zone even when no bucket rule would need it, so a typo never hides.
    formatterFor(timeZone);
    const sorted = sortNewestFirst(candidates);
    const rules = sorted.map(() => []);
    const newest = sorted[0];
    if (newest === undefined)
        return [];
    applyLast(sorted, policy.last ?? 0, rules);
    const local = lazyLocalTimes(sorted, timeZone);
    for (const rule of BUCKET_RULES)
        applyBucket(sorted.length, policy[rule] ?? 0, rule, local, rules);
    applyWithin(sorted, newest.ms, policy.withinMs ?? 0, rules);
    rules[0]?.push('newest');
    return sorted.map(({ candidate }, index) => {
        const kept = rules[index] ?? [];
        return { id: candidate.id, createdAt: candidate.createdAt, keep: kept.length > 0, rules: kept };
    });
}
function sortNewestFirst(candidates) {
    const entries = candidates.map((candidate) => {
        assertValidDate(candidate.createdAt, `backup ${candidate.id}`);
        return { candidate, ms: candidate.createdAt.getTime() };
    });
    return entries.sort((a, b) => byStartNewestFirst({ id: a.candidate.id, ms: a.ms }, { id: b.candidate.id, ms: b.ms }));
}
function applyLast(sorted, count, rules) {
    for (let index = 0; index < Math.min(count, sorted.length); index++)
        rules[index]?.push('last');
}
/**
 * Walks newest to oldest and keeps the first backup seen in each new period. A set of seen keys,
 * rather than restic's "key differs from the previous one", stays right even where local time
 * runs backwards across a period boundary (a fall-back transition at midnight).
 */
function applyBucket(length, count, rule, local, rules) {
    const seen = new Set();
    for (let index = 0; index < length && seen.size < count; index++) {
        const key = keyOf(local(index), rule);
        if (seen.has(key))
            continue;
        seen.add(key);
        rules[index]?.push(rule);
    }
}
/** Relative to the newest backup, not the clock, so a set whose runs stopped is not emptied. */
function applyWithin(sorted, newestMs, withinMs, rules) {
    if (withinMs <= 0)
        return;
    sorted.forEach(({ ms }, index) => {
        if (ms > newestMs - withinMs)
            rules[index]?.push('within');
    });
}
function assertUsablePolicy(policy) {
    for (const rule of COUNT_RULES) {
        const count = policy[rule];
        if (count !== undefined && !(Number.isInteger(count) && count >= 0)) {
            throw new RangeError(`keep-${rule} must be a whole number >= 0, got ${count}`);
        }
    }
    const withinMs = policy.withinMs;
    if (withinMs !== undefined && !(Number.isFinite(withinMs) && withinMs >= 0)) {
        throw new RangeError(`keep-within must be a duration >= 0, got ${withinMs} ms`);
    }
    if (!policyHasRule(policy)) {
        throw new Error('refusing to apply a keep-policy with no rule: it would delete every backup but the newest');
    }
}
function assertValidDate(date, what) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
        throw new RangeError(`${what}: createdAt is not a valid date`);
    }
}
/** Formatting is the costly step: done only for the backups a bucket rule reaches, once each. */
function lazyLocalTimes(sorted, timeZone) {
    const cache = [];
    return (index) => {
        const cached = cache[index];
        if (cached !== undefined)
            return cached;
        const entry = sorted[index];
        if (entry === undefined)
            throw new RangeError(`no backup at index ${index}`);
        const computed = localTime(entry.candidate.createdAt, timeZone);
        cache[index] = computed;
        return computed;
    };
}
const formatters = new Map();
/** Building an Intl.DateTimeFormat costs far more than using one, and a prune formats thousands. */
function formatterFor(timeZone) {
    const cached = formatters.get(timeZone);
    if (cached !== undefined)
        return cached;
    const created = createFormatter(timeZone);
    formatters.set(timeZone, created);
    return created;
}
function createFormatter(timeZone) {
    try {
        return new Intl.DateTimeFormat('en-US', {
            timeZone,
            calendar: 'gregory',
            numberingSystem: 'latn',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            // h23 rather than hour12: false, which some engines render as h24 ("24" at midnight).
            hourCycle: 'h23',
            timeZoneName: 'longOffset',
        });
    }
    catch (error) {
        if (!(error instanceof RangeError))
            throw error;
        throw new RangeError(`unknown time zone "${timeZone}": expected an IANA name such as UTC or Europe/Berlin`);
    }
}
function localTime(date, timeZone) {
    const local = { year: 0, month: 0, day: 0, hour: 0, offset: '+00:00' };
    for (const { type, value } of formatterFor(timeZone).formatToParts(date)) {
        if (type === 'year' || type === 'month' || type === 'day')
            local[type] = Number(value);
        // An engine that still says "24" means midnight of the same calendar day.
        else if (type === 'hour')
            local.hour = Number(value) % 24;
        else if (type === 'timeZoneName')
            local.offset = offsetOf(value);
    }
    return local;
}
/** `GMT-04:00` to `-04:00`; plain `GMT` (a zero offset) to `+00:00`. */
function offsetOf(timeZoneName) {
    const offset = timeZoneName.replace(/^GMT/, '');
    return offset === '' ? '+00:00' : offset;
}
function keyOf(local, rule) {
    const year = pad(local.year, 4);
    const date = `${year}-${pad(local.month, 2)}-${pad(local.day, 2)}`;
    switch (rule) {
        case 'hourly':
            return `${date}T${pad(local.hour, 2)}${local.offset}`;
        case 'daily':
            return date;
        case 'weekly':
            return isoWeekKey(local);
        case 'monthly':
            return `${year}-${pad(local.month, 2)}`;
        case 'yearly':
            return year;
    }
}
/** ISO 8601 week: Monday-based, numbered in the year that holds the week's Thursday. */
function isoWeekKey({ year, month, day }) {
    const dayMs = Date.UTC(year, month - 1, day);
    const mondayBased = (new Date(dayMs).getUTCDay() + 6) % 7;
    const thursday = new Date(dayMs + (3 - mondayBased) * DAY_MS);
    const weekYear = thursday.getUTCFullYear();
    const week = Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS / 7) + 1;
    return `${pad(weekYear, 4)}-W${pad(week, 2)}`;
}
function pad(value, width) {
    return String(value).padStart(width, '0');
}

;// CONCATENATED MODULE: ./src/inputs/retention-prune.ts
/** The inputs of `retention-prune`: the keep policy, its time zone, and the dry run. */



function readPrune(inputs, cwd) {
    const retention = readRetention(inputs);
    if (!retention) {
        throw new errors/* InputError */.dz('keep-last', 'no keep rule given; set at least one of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly or keep-within, so that prune never deletes everything');
    }
    return {
        ...readCommon(inputs, cwd, undefined),
        mode: 'retention-prune',
        ...retention,
        dryRun: inputs.boolean('dry-run', false),
        orphanGraceMs: inputs.duration('orphan-grace', '24h'),
    };
}
/** The keep-* inputs and their time zone; undefined when no keep rule is given. */
function readRetention(inputs) {
    const count = (name) => inputs.integer(name, { min: 0, max: 100_000 });
    const policy = {
        last: count('keep-last'),
        hourly: count('keep-hourly'),
        daily: count('keep-daily'),
        weekly: count('keep-weekly'),
        monthly: count('keep-monthly'),
        yearly: count('keep-yearly'),
        withinMs: inputs.optional('keep-within') === undefined ? undefined : inputs.duration('keep-within'),
    };
    if (!policyHasRule(policy))
        return undefined;
    const timeZone = inputs.text('timezone') || 'UTC';
    if (!isValidTimeZone(timeZone)) {
        throw new errors/* InputError */.dz('timezone', `"${timeZone}" is not accepted; use an IANA name such as UTC or Europe/Berlin`);
    }
    return { policy, timeZone };
}

;// CONCATENATED MODULE: ./src/inputs/fleet-sets.ts
/**
 * fleet.yml's `sets`: a JSON list of sets, each the inputs of one nightly chain. Checked whole
 * before any leg starts (fleet.yml's first job), so that a mistake fails the fleet once, naming
 * the set and the field, instead of per leg or after every leg ran; what comes out is the matrix
 * the legs run, each value of the one type nightly.yml takes.
 */


/**
 * GitHub's limit on the jobs one matrix makes: "A matrix will generate a maximum of 256 jobs per
 * workflow run" (docs.github.com, workflow syntax, jobs.<job_id>.strategy.matrix).
 */
const MAX_MATRIX_JOBS = 256;
/** The secrets nightly.yml takes, each a set may name a caller's secret for. */
const FLEET_SECRETS = [
    'DATABASE_URL',
    'AGE_IDENTITY',
    'ENCRYPTION_PASSPHRASE',
    'GPG_PRIVATE_KEY',
    'GPG_PASSPHRASE',
    'SIGNING_KEY',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
];
const ok = (value) => ({ value });
const accepts = (what) => ({ accepts: what });
const TEXT = (value) => (typeof value === 'string' ? ok(value) : accepts('a string'));
/** keep-*: nightly.yml takes text; as a number 0 would read as absent (`0 || '14'`). */
const COUNT = (value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && /^\d{1,6}$/.test(value))
    ? ok(String(value))
    : accepts('a whole number, 0 or more');
const MINUTES = (value) => {
    const minutes = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value;
    return typeof minutes === 'number' && Number.isSafeInteger(minutes) && minutes > 0
        ? ok(minutes)
        : accepts('a whole number of minutes, 1 or more');
};
const FLAG = (value) => (typeof value === 'boolean' ? ok(value) : accepts('true or false'));
/** A runner label, or the JSON nightly.yml reads from text (a list of labels, a group). */
const RUNNER = (value) => {
    if (typeof value === 'string' && value !== '')
        return ok(value);
    const labels = Array.isArray(value) && value.length > 0 && value.every(isLabel);
    const group = isPlainObject(value) && Object.keys(value).length > 0;
    return labels || group
        ? ok(JSON.stringify(value))
        : accepts('a runner label, a list of labels or a group');
};
const isLabel = (value) => typeof value === 'string' && value !== '';
/** A caller's secret's name, as GitHub allows it (letters, digits, _; no GITHUB_ prefix). */
const fleet_sets_SECRET_NAME = /^(?!GITHUB_)[A-Z_][A-Z0-9_]*$/i;
const SECRETS = (value) => {
    const what = accepts(`an object naming, for any of ${FLEET_SECRETS.join(', ')}, a secret of the caller`);
    if (!isPlainObject(value))
        return what;
    for (const [key, name] of Object.entries(value)) {
        if (!FLEET_SECRETS.includes(key))
            return what;
        if (typeof name !== 'string' || !fleet_sets_SECRET_NAME.test(name))
            return accepts(`for ${key} a secret's name (letters, digits and _, not starting GITHUB_)`);
    }
    return ok(value);
};
const fleet_sets_FIELDS = {
    name: TEXT,
    storage: TEXT,
    's3-endpoint': TEXT,
    'aws-region': TEXT,
    'aws-role-arn': TEXT,
    'age-recipients': TEXT,
    'gpg-recipients': TEXT,
    'signing-public-key': TEXT,
    databases: TEXT,
    'exclude-databases': TEXT,
    globals: TEXT,
    'restore-globals': FLAG,
    checks: TEXT,
    'postgres-version': TEXT,
    'keep-daily': COUNT,
    'keep-weekly': COUNT,
    'keep-monthly': COUNT,
    'runs-on': RUNNER,
    'timeout-minutes': MINUTES,
    secrets: SECRETS,
};
/** The fields a set may give (fleet.yml's legs read no others: test/unit/fleet-sets checks it). */
const FLEET_FIELDS = Object.keys(fleet_sets_FIELDS);
const HELP = 'use a JSON list of sets, e.g. [{"name": "shop", "storage": "s3://bucket/prefix"}, ...] (docs/history.md)';
/** The fleet's sets, each checked, or an InputError naming the first mistake. */
function readFleetSets(text) {
    let value;
    try {
        value = JSON.parse(text);
    }
    catch {
        throw new errors/* InputError */.dz('sets', `is not valid JSON; ${HELP}`);
    }
    if (!Array.isArray(value) || value.length === 0)
        throw new errors/* InputError */.dz('sets', `is not a non-empty JSON list; ${HELP}`);
    if (value.length > MAX_MATRIX_JOBS)
        throw new errors/* InputError */.dz('sets', `holds ${value.length} sets; a GitHub matrix runs at most ${MAX_MATRIX_JOBS} jobs per workflow run: split the fleet between callers`);
    const sets = value.map((item, index) => readSet(item, index + 1));
    const names = sets.map((set) => set.name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice)
        throw new errors/* InputError */.dz('sets', `names the set "${twice}" twice; each set needs a name of its own (two legs would back up one set)`);
    return sets;
}
function readSet(item, position) {
    if (!isPlainObject(item))
        throw new errors/* InputError */.dz('sets', `item ${position} is not an object`);
    const name = item.name;
    if (typeof name !== 'string' || !isValidSetName(name))
        throw new errors/* InputError */.dz('sets', `item ${position} has no name of one path segment of [a-z0-9._-] (at most 128 characters)`);
    const set = {};
    for (const [field, raw] of Object.entries(item)) {
        const read = Object.hasOwn(fleet_sets_FIELDS, field) ? fleet_sets_FIELDS[field] : undefined;
        if (!read)
            throw new errors/* InputError */.dz('sets', `set "${name}" has the field ${JSON.stringify(field.slice(0, 40))}, which a set does not take; a set takes ${Object.keys(fleet_sets_FIELDS).join(', ')}`);
        const done = read(raw);
        if ('accepts' in done)
            throw new errors/* InputError */.dz('sets', `set "${name}": ${field} must be ${done.accepts}`);
        set[field] = done.value;
    }
    if (typeof set.storage !== 'string' || set.storage.trim() === '')
        throw new errors/* InputError */.dz('sets', `set "${name}" has no storage (e.g. "s3://bucket/prefix")`);
    return set;
}
function isPlainObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

;// CONCATENATED MODULE: ./src/inputs/status.ts
/**
 * The inputs of `status`: a set, or every set of a store (no `name`), or the status reports the
 * fleet workflow's runs left (`status-reports` and `sets`), or the fleet's `sets` alone, checked
 * before its runs start; how old the newest backup may be; the
 * keep-* inputs, to say what retention will do next; and the result of the runs it follows.
 */





function readStatus(inputs, cwd) {
    const notify = readNotify(inputs, cwd);
    const source = readSource(inputs, cwd);
    const result = inputs.text('result');
    return {
        mode: 'status',
        // The fleet's alerts and failure issue are the fleet's, whichever of its sets failed.
        name: source.kind !== 'store' ? 'fleet' : inputs.text('name') ? readName(inputs, undefined) : '',
        source,
        maxAgeMs: inputs.duration('max-age', '26h'),
        retention: readRetention(inputs),
        outcome: result
            ? {
                result: inputs.oneOf('result', ['success', 'failure', 'cancelled'], 'failure'),
                message: inputs.optional('message'),
            }
            : undefined,
        notify,
        secrets: notifySecrets(notify),
    };
}
function readSource(inputs, cwd) {
    const reports = inputs.optional('status-reports');
    const sets = inputs.text('sets');
    if (reports === undefined && !sets) {
        const [store] = readStorage(inputs, cwd, false);
        return { kind: 'store', storage: store.location, s3: store.s3 };
    }
    for (const other of ['storage', 'name'])
        if (inputs.text(other))
            throw new errors/* InputError */.dz(reports === undefined ? 'sets' : 'status-reports', `reads the fleet's sets, not a store: leave ${other} empty, or ${reports === undefined ? 'sets' : 'status-reports'}`);
    if (reports === undefined)
        return { kind: 'sets', sets: readFleetSets(sets) };
    return { kind: 'reports', folder: external_node_path_default().resolve(cwd, reports), sets: readSets(inputs) };
}
/** The names of the fleet's sets, from the same JSON the fleet workflow takes. */
function readSets(inputs) {
    const text = inputs.text('sets');
    if (!text)
        throw new errors/* InputError */.dz('sets', 'is required with status-reports; use the fleet\'s JSON list of sets, e.g. [{"name": "shop", ...}, {"name": "crm", ...}]');
    return readFleetSets(text).map((set) => set.name);
}

;// CONCATENATED MODULE: ./src/inputs/verify-latest.ts



async function readVerify(inputs, cwd) {
    const common = readCommon(inputs, cwd, undefined, { severalStores: true });
    const decryption = await readDecryption(inputs);
    const settings = {
        ...common,
        mode: 'verify-latest',
        maxAgeMs: inputs.duration('max-age', '26h'),
        minSize: readSize(inputs, 'min-size'),
        maxShrink: readPercent(inputs, 'max-shrink', '50%'),
        allowMissingDatabases: inputs.boolean('allow-missing-databases', false),
        deep: inputs.boolean('deep', true),
        decryption,
        ...readSigningPublicKeys(inputs),
    };
    addSecrets(settings, ...decryptionSecrets(decryption));
    return settings;
}

;// CONCATENATED MODULE: ./src/core/run-info.ts
/** The GitHub run a backup came from, when there is one, for manifests and notifications. */
function githubRun(env) {
    const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
    if (!GITHUB_REPOSITORY || !GITHUB_RUN_ID)
        return undefined;
    const fields = {
        repository: GITHUB_REPOSITORY,
        runId: GITHUB_RUN_ID,
        runAttempt: env.GITHUB_RUN_ATTEMPT,
        workflow: env.GITHUB_WORKFLOW,
        job: env.GITHUB_JOB,
        ref: env.GITHUB_REF,
        sha: env.GITHUB_SHA,
        url: `${GITHUB_SERVER_URL ?? 'https://github.com'}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`,
    };
    return Object.fromEntries(Object.entries(fields).filter((entry) => entry[1] !== undefined));
}

;// CONCATENATED MODULE: ./package.json
const package_namespaceObject = /*#__PURE__*/JSON.parse('{"UU":"backup-action","rE":"1.0.0"}');
;// CONCATENATED MODULE: ./src/core/version.ts
/** The product's name and version, recorded in every manifest: package.json is their one source. */

const TOOL = { name: package_namespaceObject.UU, version: package_namespaceObject.rE };

// EXTERNAL MODULE: ./src/core/format.ts
var format = __webpack_require__(96228);
// EXTERNAL MODULE: external "node:readline"
var external_node_readline_ = __webpack_require__(80481);
;// CONCATENATED MODULE: ./src/postgres/restore-error.ts
/**
 * The first error pg_restore printed, as one printable line. pg_restore quotes names raw: a table
 * named with a line break splits its message over several lines of stderr, and ESC in a name would
 * reach the log. So the message is taken with the lines it was split into (up to the next line
 * that starts a message of its own), and every control character in it is escaped. Pure.
 */

/** How an error begins: `pg_restore: error: …` (12 and later), or a server's `ERROR:` in it. */
const ERROR_START = /^pg_restore: error: |ERROR:/;
/** A line that starts pg_restore's next message, or the details it adds after the error. */
const NEXT_MESSAGE = /^(pg_restore: |\s*Command was: |(DETAIL|HINT|CONTEXT|QUERY|WARNING|ERROR): |LINE \d+: )/;
/** More lines than a name's line breaks make is more output, not the same message. */
const MOST_LINES = 20;
class FirstError {
    lines = [];
    done = false;
    /** Reads one line of pg_restore's stderr. */
    add(line) {
        if (this.done)
            return;
        if (this.lines.length === 0) {
            if (ERROR_START.test(line))
                this.lines.push(line);
            return;
        }
        if (NEXT_MESSAGE.test(line) || this.lines.length >= MOST_LINES)
            this.done = true;
        else
            this.lines.push(line);
    }
    /** `COPY failed for table "t\nx": new row …`, or undefined when no error was printed. */
    get text() {
        if (this.lines.length === 0)
            return undefined;
        const message = this.lines
            .join('\n')
            .replace(/^pg_restore: error: /, '')
            .replace(/(could not execute query: )?ERROR:\s+/, '')
            .trim();
        return printableText(message);
    }
}

;// CONCATENATED MODULE: ./src/postgres/restore-passes.ts
const plainShape = () => ({
    partitions: false,
    notValid: false,
    laterChecks: false,
});
/** The shape the table of contents shows: its entry types are pg_restore's, never a name. */
function shapeOfToc(toc) {
    const shape = plainShape();
    shape.laterChecks = [...toc.entries].some((entry) => entry.startsWith('CHECK CONSTRAINT '));
    return shape;
}
/**
 * Adds what one line of the schema script shows. Reading too much (a name or a comment that says
 * so) costs only the section passes; nothing may be missed, so no case or spacing is assumed.
 */
function addShapeOf(line, shape) {
    if (/\bnot\s+valid\b/i.test(line))
        shape.notValid = true;
    if (/\b(attach\s+partition|partition\s+of)\b/i.test(line))
        shape.partitions = true;
}
/**
 * With partitions, the indexes, their attachments and the key constraints come first, alone:
 * pg_restore --jobs can add a foreign key that references a partitioned table before every
 * partition's index is attached, while the key's index is still invalid ("there is no unique
 * constraint matching given keys", seen now and then on PostgreSQL's regression database with 15,
 * whose droppk is partitioned twice over). Everything else of post-data (foreign keys, checks,
 * triggers, comments on any of them) follows, ordered by pg_restore.
 */
function restorePasses(jobs, shape) {
    if (jobs <= 1 || (!shape.partitions && !shape.notValid && !shape.laterChecks))
        return [{ jobs }];
    const postData = shape.partitions
        ? [
            { section: 'post-data', jobs, entries: 'keys' },
            { section: 'post-data', jobs, entries: 'rest' },
        ]
        : [{ section: 'post-data', jobs }];
    return [{ section: 'pre-data', jobs: 1 }, { section: 'data', jobs }, ...postData];
}
/**
 * An entry line of `pg_restore --list` (`<id>; <catalog> <oid> <type> …`) of what a foreign key
 * may need: an index, an index's attachment, a primary key, unique or exclusion constraint. They
 * need nothing of post-data but each other.
 */
const KEY = /^\d+; \d+ \d+ (?:INDEX ATTACH|INDEX|CONSTRAINT) /;
const ENTRY = /^\d+; /;
/**
 * The `--use-list` of a pass: the listing with the entries it leaves out commented away. Names
 * cannot forge a type: pg_restore prints the type before them, and a name's line breaks as spaces.
 */
function useList(listing, entries) {
    return listing
        .split('\n')
        .map((line) => ENTRY.test(line) && KEY.test(line) !== (entries === 'keys') ? `;${line}` : line)
        .join('\n');
}

;// CONCATENATED MODULE: ./src/postgres/versions.ts
/**
 * Which PostgreSQL versions can restore a backup, decided from the manifest before anything is
 * restored, with one line naming the versions and the fix. Pure.
 */
/** `15.18` → 15; `9.6.24` → 9; unknown → undefined. */
function majorOf(version) {
    const major = Number(version?.split('.')[0]);
    return Number.isInteger(major) && major > 0 ? major : undefined;
}
/** pg_restore's refusal of an archive format newer than it knows, as one line with the fix. */
function unsupportedFormatLine(stderr, pgRestore, dumpVersion) {
    const format = /unsupported version \(([\d.]+)\) in file header/.exec(stderr)?.[1];
    if (!format)
        return undefined;
    const madeBy = dumpVersion ? `pg_dump ${dumpVersion}` : 'a newer pg_dump';
    return (`pg_restore ${pgRestore.version} cannot read this archive (format ${format}, made by ${madeBy}); ` +
        `set pg-bin-dir to the bin folder of a PostgreSQL as new as that pg_dump, or install its postgresql-client`);
}
/**
 * A dump restores into a server older than its source only when it uses nothing the older
 * server lacks; said up front, and again if the restore fails.
 */
function olderServerNote(sourceVersion, server) {
    const sourceMajor = majorOf(sourceVersion);
    if (sourceMajor === undefined || sourceMajor <= server.major)
        return undefined;
    return (`the backup is of a PostgreSQL ${sourceVersion} server, restored into PostgreSQL ${server.version}; ` +
        `objects that use newer features will not restore: restore into PostgreSQL ${sourceMajor} or newer (e.g. image postgres:${sourceMajor})`);
}
/**
 * pg_restore 17 and newer open every session with `SET transaction_timeout = 0`, whatever the
 * server (`_doSetFixedOutputState` in src/bin/pg_dump/pg_backup_archiver.c, since the parameter
 * came in 17), and a server before 17 refuses that parameter: the restore fails at its first line.
 */
const TRANSACTION_TIMEOUT_MAJOR = 17;
/** Which pg_restore can restore an archive of pg_dump `dumpVersion` into `server` (unknown: any). */
function pgRestoreMajors(dumpVersion, server) {
    const oldest = majorOf(dumpVersion);
    if (!server || server.major >= TRANSACTION_TIMEOUT_MAJOR)
        return { oldest, install: oldest };
    const why = `cannot restore into the PostgreSQL ${server.version} server: pg_restore ` +
        `${TRANSACTION_TIMEOUT_MAJOR} and newer always set transaction_timeout, which servers before ${TRANSACTION_TIMEOUT_MAJOR} lack`;
    // The server's own major when the archive allows, as its own client would be.
    const install = Math.max(oldest ?? server.major, server.major);
    return { oldest, newest: { major: TRANSACTION_TIMEOUT_MAJOR - 1, why }, install };
}
/**
 * One line when no pg_restore can do it: the archive needs one of 17 or newer, which the server
 * cannot take.
 */
function unrestorableLine(dumpVersion, server) {
    const { oldest, newest } = pgRestoreMajors(dumpVersion, server);
    if (oldest === undefined || !newest || oldest <= newest.major)
        return undefined;
    return (`the backup was made by pg_dump ${dumpVersion}, whose archive only pg_restore ${oldest} or newer reads, and pg_restore ` +
        `${TRANSACTION_TIMEOUT_MAJOR} and newer always set transaction_timeout, which the PostgreSQL ${server.version} server lacks; ` +
        `restore into PostgreSQL ${TRANSACTION_TIMEOUT_MAJOR} or newer (e.g. image postgres:${oldest})`);
}

// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(83849);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(41692);
var external_node_tls_default = /*#__PURE__*/__webpack_require__.n(external_node_tls_);
;// CONCATENATED MODULE: ./src/postgres/driver-tls.ts
/**
 * The pg driver's connection attempts for a libpq TLS choice: the driver alone reads sslmode its
 * own way (`prefer` as `require`, `allow` as `disable`, no root certificate from ~/.postgresql),
 * so it is given, attempt by attempt, what libpq would do.
 */



/**
 * libpq's order: `allow` tries without TLS and, when the server answers with an error, with it;
 * `prefer` tries TLS and, when the server refuses it or anything fails after the server was
 * reached, without. A Unix socket never uses TLS, whatever the mode.
 */
function tlsPlan(choice, host) {
    const { mode } = choice;
    if (mode === 'disable' || host.startsWith('/'))
        return { attempts: [false], retry: () => false };
    const secure = tlsOptions(choice);
    if (mode === 'allow') {
        return { attempts: [false, secure], retry: (error) => error instanceof esm/* default.DatabaseError */.Ay.DatabaseError };
    }
    if (mode === 'prefer') {
        return { attempts: [secure, false], retry: (error, reached) => reached && !timedOut(error) };
    }
    return { attempts: [secure], retry: () => false };
}
function timedOut(error) {
    return error instanceof Error && /^timeout expired$|^Connection terminated$/.test(error.message);
}
/**
 * libpq verifies the server's certificate chain whenever a root certificate exists, in every
 * mode (which makes `require` act as `verify-ca`), and its host name only in `verify-full`.
 */
function tlsOptions(choice) {
    const ca = rootCertificates(choice);
    const client = clientCertificate(choice);
    return {
        ...(ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
        ...(ca && (0,external_node_fs_.existsSync)(choice.crl) ? { crl: (0,external_node_fs_.readFileSync)(choice.crl, 'utf8') } : {}),
        ...client,
        ...(choice.mode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
    };
}
function rootCertificates({ rootcert, mode }) {
    if (rootcert === 'system') {
        if (typeof (external_node_tls_default()).getCACertificates !== 'function') {
            throw new Error('sslrootcert=system needs Node.js 22.15 or later');
        }
        return external_node_tls_default().getCACertificates('system');
    }
    if ((0,external_node_fs_.existsSync)(rootcert))
        return (0,external_node_fs_.readFileSync)(rootcert, 'utf8');
    if (mode === 'verify-ca' || mode === 'verify-full') {
        throw new Error(`sslmode ${mode} needs a root certificate, and "${rootcert}" does not exist; name one with sslrootcert (or PGSSLROOTCERT), or use sslrootcert=system`);
    }
    return undefined;
}
/** The client's certificate, sent when its file exists, as libpq sends it. */
function clientCertificate({ cert, key }) {
    if (!(0,external_node_fs_.existsSync)(cert))
        return {};
    if (!(0,external_node_fs_.existsSync)(key)) {
        throw new Error(`the client certificate "${cert}" has no private key file "${key}"`);
    }
    refuseOpenKey(key);
    return { cert: (0,external_node_fs_.readFileSync)(cert, 'utf8'), key: (0,external_node_fs_.readFileSync)(key, 'utf8') };
}
/**
 * libpq refuses a private key others may read: group or world access on a key of one's own, or
 * more than the group's reading on root's (a system-wide key shared through a group).
 */
function refuseOpenKey(key) {
    const { uid, mode } = (0,external_node_fs_.statSync)(key);
    if (mode & (uid === 0 ? 0o037 : 0o077)) {
        throw new Error(`the private key file "${key}" has group or world access; libpq takes u=rw (0600) or less, or u=rw,g=r (0640) or less when root owns it`);
    }
}

;// CONCATENATED MODULE: ./src/postgres/server.ts
/** Connections to the server with the `pg` driver: versions, snapshots, row counts. */




async function connect(target, signal) {
    let client;
    try {
        client = await connectAsLibpq(target);
    }
    catch (error) {
        throw new Error(`cannot connect to ${target.display}: ${error.message}`, {
            cause: error,
        });
    }
    const connected = client;
    signal?.addEventListener('abort', () => void connected.end().catch(() => undefined), {
        once: true,
    });
    return connected;
}
/** Connects with TLS as libpq would, trying a second way where libpq's sslmode does. */
async function connectAsLibpq(target) {
    const env = withoutLibpqOverrides(process.env);
    const choice = tlsChoice(target.params, env);
    const { attempts, retry } = tlsPlan(choice, target.host);
    const [first, second] = attempts;
    const tried = await attempt(driverClient(target, first, choice.negotiation, env));
    if ('client' in tried)
        return tried.client;
    if (second === undefined || !retry(tried.error, tried.reached))
        throw tried.error;
    const retried = await attempt(driverClient(target, second, choice.negotiation, env));
    if ('client' in retried)
        return retried.client;
    const says = (ssl, error) => `${ssl ? 'with SSL' : 'without SSL'}: ${error.message}`;
    throw new Error(`${says(first, tried.error)}; ${says(second, retried.error)}`, {
        cause: retried.error,
    });
}
/** The connected client, or why not and whether the server was reached at all. */
async function attempt(client) {
    let reached = false;
    client.connection.once('connect', () => (reached = true));
    // An idle-in-transaction connection the server kills should fail the run, not crash the process.
    client.on('error', () => undefined);
    try {
        await client.connect();
        return { client };
    }
    catch (error) {
        return { error, reached };
    }
}
/** Runs `use` on a new connection to `target`, closed afterwards whatever happens. */
async function withConnection(target, use, signal) {
    const client = await connect(target, signal);
    try {
        return await use(client);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/**
 * A pg client for exactly the target's parts. The driver falls back on PG* variables for whatever
 * its configuration leaves empty (PGOPTIONS, PGREPLICATION…), reading them as it is constructed:
 * it is constructed over the same filtered environment the programs get.
 */
function driverClient(target, ssl, sslnegotiation, env) {
    const { host, port, user, password, database, params } = target;
    const timeout = Number(params.connect_timeout);
    const config = {
        host,
        port,
        user,
        password,
        database,
        application_name: params.application_name,
        connectionTimeoutMillis: timeout > 0 ? timeout * 1000 : 15_000,
        ssl,
        sslnegotiation,
    };
    const inherited = process.env;
    process.env = env;
    try {
        return new esm/* default.Client */.Ay.Client(config);
    }
    finally {
        process.env = inherited;
    }
}
async function serverVersion(client) {
    const { rows } = await client.query("SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text");
    const num = Number(rows[0]?.num ?? 0);
    return { version: (rows[0]?.text ?? '').split(' ')[0] ?? '', major: Math.floor(num / 10000) };
}
/** The database's size on disk, or undefined where the role may not see it. */
async function databaseSize(client) {
    try {
        const { rows } = await client.query('SELECT pg_database_size(current_database()) AS n');
        const bytes = Number(rows[0]?.n);
        return Number.isFinite(bytes) ? bytes : undefined;
    }
    catch {
        return undefined;
    }
}
/**
 * Ordinary tables (partitions included) that pg_dump dumps data for; not catalogs or extension
 * members. Each is keyed `schema.table` with the names quoted as `quote_ident` quotes them, so
 * schema `"public.x"` with table `y` and table `public."x.y"` keep apart.
 */
const USER_TABLES_SQL = `
  SELECT n.nspname AS schema, c.relname AS name,
         quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS key,
         c.relpersistence = 'u' AS unlogged
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1, 2`;
function quoteIdent(name) {
    return `"${name.replace(/"/g, '""')}"`;
}
/** A string literal the server reads back as `text`, whatever standard_conforming_strings says. */
function quoteLiteral(text) {
    return esm/* default.escapeLiteral */.Ay.escapeLiteral(text).trimStart();
}
/** Exact row counts of the user tables, keyed as USER_TABLES_SQL keys them, in the client's current snapshot. */
/**
 * Tables counted per statement: one round trip per table costs more than the counting on a
 * schema of hundreds of small tables (500 tables: 0.5–1.0 s against 0.3–0.6 s in one statement).
 */
const COUNTS_PER_STATEMENT = 250;
async function exactRowCounts(client, only = () => true) {
    const { rows: tables } = await client.query(USER_TABLES_SQL);
    const chosen = tables.filter(only);
    const counts = {};
    for (let start = 0; start < chosen.length; start += COUNTS_PER_STATEMENT) {
        const batch = chosen.slice(start, start + COUNTS_PER_STATEMENT);
        const { rows } = await client.query(batch
            .map(({ schema, name }, i) => `SELECT ${i} AS i, count(*) AS n FROM ONLY ${quoteIdent(schema)}.${quoteIdent(name)}`)
            .join(' UNION ALL '));
        // In the tables' order, as one query per table gave them (the manifest keeps this order).
        const found = new Map(rows.map((row) => [row.i, Number(row.n)]));
        batch.forEach((table, i) => (counts[table.key] = found.get(i) ?? 0));
    }
    return counts;
}
/** The planner's row estimates (fast, approximate; -1 for never-analyzed tables becomes 0). */
async function estimatedRowCounts(client, only = () => true) {
    const { rows } = await client.query(`SELECT t.*, greatest(c.reltuples, 0)::bigint AS n
     FROM (${USER_TABLES_SQL}) t
     JOIN pg_class c ON c.relname = t.name
     JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = t.schema`);
    return Object.fromEntries(rows.filter(only).map((row) => [row.key, Number(row.n)]));
}

;// CONCATENATED MODULE: ./src/postgres/scratch-marks.ts


/** The advisory lock's first key, shared by every run; the second is the run's own. */
const LOCK_CLASS = 0x62616b75;
const MARK = /^backup-action restore-test scratch, lock (\d{1,10})(?:\n|$)/;
const markOf = (lock) => `backup-action restore-test scratch, lock ${lock}`;
/** The lock of a marked comment, or undefined when it is not one of this tool's marks. */
function markedLock(comment) {
    const match = MARK.exec(comment ?? '');
    return match ? Number(match[1]) : undefined;
}
/** The comment without its mark: what a role kept by keep-database goes back to. */
function withoutMark(comment) {
    const rest = comment.replace(MARK, '');
    return rest === '' ? null : rest;
}
class ScratchLease {
    client;
    mark;
    constructor(client, 
    /** The comment that marks what this run makes. */
    mark) {
        this.client = client;
        this.mark = mark;
    }
    /** A lock no other run holds, taken on its own session, which stays open until `release`. */
    static async take(server, signal) {
        const client = await connect(server, signal);
        try {
            // A server that ends idle sessions would release the lock while the run still goes on.
            await client.query('SET idle_session_timeout = 0').catch(() => undefined);
            for (;;) {
                const lock = (0,external_node_crypto_.randomInt)(1, 2 ** 31);
                const { rows } = await client.query('SELECT pg_try_advisory_lock($1, $2) AS taken', [LOCK_CLASS, lock]);
                if (rows[0]?.taken)
                    return new ScratchLease(client, markOf(lock));
            }
        }
        catch (error) {
            await client.end().catch(() => undefined);
            throw error;
        }
    }
    async release() {
        await this.client.end().catch(() => undefined);
    }
}
/** Marked databases and roles whose run's lock nobody holds: that run has ended. */
async function findLeftovers(client) {
    const { rows } = await client.query(`SELECT 'database' AS kind, datname AS name, shobj_description(oid, 'pg_database') AS mark
       FROM pg_database
     UNION ALL
     SELECT 'role', rolname, shobj_description(oid, 'pg_authid') FROM pg_roles`);
    const { rows: held } = await client.query(`SELECT objid::text AS lock FROM pg_locks
      WHERE locktype = 'advisory' AND classid = $1::oid AND objsubid = 2`, [LOCK_CLASS]);
    const live = new Set(held.map((row) => Number(row.lock)));
    const found = { databases: [], roles: [] };
    for (const row of rows) {
        const lock = markedLock(row.mark);
        if (lock === undefined || live.has(lock))
            continue;
        (row.kind === 'database' ? found.databases : found.roles).push(row.name);
    }
    return found;
}
const COMMENT_SQL = {
    DATABASE: "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
    ROLE: "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1",
};
/**
 * Puts the mark before the comment it has (a role's or database's own comment, restored from the
 * backup, stays after it). Roles are marked in the transaction that made them: they never exist
 * unmarked.
 */
async function mark(client, kind, names, text) {
    for (const name of names) {
        const old = await commentOf(client, kind, name);
        const rest = old && markedLock(old) !== undefined ? withoutMark(old) : old;
        await setComment(client, kind, name, rest ? `${text}\n${rest}` : text);
    }
}
/** Takes the marks off what keep-database keeps: it is the user's from now on. */
async function unmark(client, kind, names) {
    for (const name of names) {
        const old = await commentOf(client, kind, name);
        if (old && markedLock(old) !== undefined)
            await setComment(client, kind, name, withoutMark(old));
    }
}
async function commentOf(client, kind, name) {
    const { rows } = await client.query(COMMENT_SQL[kind], [name]);
    return rows[0]?.comment ?? null;
}
async function setComment(client, kind, name, text) {
    const value = text === null ? 'NULL' : client.escapeLiteral(text);
    await client.query(`COMMENT ON ${kind} ${quoteIdent(name)} IS ${value}`);
}

// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(38522);
var external_node_zlib_default = /*#__PURE__*/__webpack_require__.n(external_node_zlib_);
;// CONCATENATED MODULE: ./src/postgres/client/apt-index.ts
/**
 * An apt repository's package index (`Packages`): stanzas of `Field: value` lines, and Debian's
 * version order, so that the newest build of a package is chosen. Pure.
 */
/** Every package in the index with what installing it needs; incomplete stanzas are skipped. */
function parsePackageIndex(text) {
    const packages = [];
    for (const stanza of text.split(/\n\s*\n/)) {
        const fields = new Map();
        for (const line of stanza.split('\n')) {
            const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
            if (match?.[1] && match[2] !== undefined)
                fields.set(match[1].toLowerCase(), match[2].trim());
        }
        const [name, version, filename, size, sha256] = [
            'package',
            'version',
            'filename',
            'size',
            'sha256',
        ].map((field) => fields.get(field));
        if (name && version && filename && size && sha256 && /^[0-9a-f]{64}$/.test(sha256)) {
            packages.push({ name, version, filename, size: Number(size), sha256 });
        }
    }
    return packages;
}
/** The newest build of `name` in the index, by Debian's version order. */
function newestPackage(packages, name) {
    return packages
        .filter((p) => p.name === name)
        .reduce((best, p) => (!best || compareDebianVersions(p.version, best.version) > 0 ? p : best), undefined);
}
/** Debian's order: epoch, then upstream version, then revision, each compared as dpkg does. */
function compareDebianVersions(a, b) {
    const [ea, ua, ra] = splitVersion(a);
    const [eb, ub, rb] = splitVersion(b);
    return Math.sign(ea - eb) || compareParts(ua, ub) || compareParts(ra, rb);
}
function splitVersion(version) {
    const colon = version.indexOf(':');
    const epoch = colon > 0 ? Number(version.slice(0, colon)) : 0;
    const rest = version.slice(colon + 1);
    const dash = rest.lastIndexOf('-');
    return dash < 0 ? [epoch, rest, ''] : [epoch, rest.slice(0, dash), rest.slice(dash + 1)];
}
/** Alternating non-digit and digit runs; `~` sorts before everything, even the end. */
function compareParts(a, b) {
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
        const textA = /^[^0-9]*/.exec(a.slice(i))?.[0] ?? '';
        const textB = /^[^0-9]*/.exec(b.slice(j))?.[0] ?? '';
        const byText = compareText(textA, textB);
        if (byText !== 0)
            return byText;
        i += textA.length;
        j += textB.length;
        const numA = /^[0-9]*/.exec(a.slice(i))?.[0] ?? '';
        const numB = /^[0-9]*/.exec(b.slice(j))?.[0] ?? '';
        const byNumber = Math.sign(Number(numA || 0) - Number(numB || 0));
        if (byNumber !== 0)
            return byNumber;
        i += numA.length;
        j += numB.length;
    }
    return 0;
}
function compareText(a, b) {
    for (let k = 0; k < Math.max(a.length, b.length); k += 1) {
        const diff = order(a[k]) - order(b[k]);
        if (diff !== 0)
            return Math.sign(diff);
    }
    return 0;
}
/** dpkg's character order: `~` first, then the end of the string, then letters, then the rest. */
function order(char) {
    if (char === undefined)
        return 0;
    if (char === '~')
        return -1;
    if (/[A-Za-z]/.test(char))
        return char.charCodeAt(0);
    return char.charCodeAt(0) + 256;
}

;// CONCATENATED MODULE: ./src/postgres/client/install.ts
/**
 * Installing a PostgreSQL client without root: `postgresql-client-N` and `libpq5` from an apt
 * repository (the PostgreSQL project's by default), each checked against the index's SHA256,
 * unpacked with `dpkg-deb -x`, and kept in the runner's tool cache under their exact version, so
 * a later run on the same cache downloads nothing.
 */










const install_run = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
const install_TOOL = 'postgresql-client';
const DEB_ARCH = { x64: 'amd64', arm64: 'arm64' };
/** Loaded only when a client is looked for or installed: it brings an HTTP stack most runs never use. */
const toolCache = () => __webpack_require__.e(/* import() */ 805).then(__webpack_require__.bind(__webpack_require__, 59805));
/** A cached client of this major, newest first; no network. */
async function cachedClient(major, env) {
    useToolCache(env);
    const tc = await toolCache();
    const versions = tc
        .findAllVersions(install_TOOL, external_node_os_default().arch())
        .filter((version) => version.split('.')[0] === String(major))
        .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
    const newest = versions[0];
    return newest ? located(tc.find(install_TOOL, newest, external_node_os_default().arch()), major, newest) : undefined;
}
/** Downloads, verifies, unpacks and caches postgresql-client-`major` with its libpq5. */
async function installClient(major, options) {
    const target = await linuxTarget(major);
    useToolCache(options.env);
    const suite = `${target.codename}-pgdg`;
    const mirror = repository(options.mirror);
    const index = await readIndex(mirror, suite, target.arch, major);
    const wanted = [`postgresql-client-${major}`, 'libpq5'].map((name) => {
        const found = newestPackage(index, name);
        if (!found) {
            throw new Error(`${name} is not in ${mirror.shown} (${suite} main ${target.arch}); ` +
                `point pg-client-mirror at a repository that has it, or install it and set pg-bin-dir`);
        }
        return found;
    });
    const client = wanted[0];
    options.log.info(`installing ${wanted.map((p) => `${p.name} ${p.version}`).join(' and ')} from ${mirror.shown}`);
    const staging = await (0,promises_.mkdtemp)(external_node_path_default().join(external_node_os_default().tmpdir(), 'pg-client-'));
    try {
        for (const pkg of wanted)
            await unpack(mirror, pkg, staging, major);
        const version = cacheVersion(client.version);
        const cached = await (await toolCache()).cacheDir(staging, install_TOOL, version, external_node_os_default().arch());
        return located(cached, major, version);
    }
    finally {
        await (0,promises_.rm)(staging, { recursive: true, force: true });
    }
}
/** tool-cache needs a cache folder: the runner's, or one in the user's cache outside Actions. */
function useToolCache(env) {
    process.env.RUNNER_TOOL_CACHE ??=
        env.RUNNER_TOOL_CACHE ??
            external_node_path_default().join(env.XDG_CACHE_HOME ?? external_node_path_default().join(external_node_os_default().homedir(), '.cache'), 'backup-action', 'tools');
}
async function linuxTarget(major) {
    const arch = DEB_ARCH[external_node_os_default().arch()];
    const fix = `install PostgreSQL ${major}'s client yourself and set pg-bin-dir (or postgres-client: system)`;
    if (process.platform !== 'linux' || !arch || !(await onPath('dpkg-deb'))) {
        throw new Error(`postgresql-client-${major} can be installed only on Linux (x64, arm64) with dpkg-deb; this is ${process.platform} ${external_node_os_default().arch()}: ${fix}`);
    }
    const release = await (0,promises_.readFile)('/etc/os-release', 'utf8').catch(() => '');
    const codename = /^(?:VERSION_CODENAME|UBUNTU_CODENAME)=["']?([a-z]+)/m.exec(release)?.[1];
    if (!codename) {
        throw new Error(`cannot tell this Linux distribution's codename from /etc/os-release: ${fix}`);
    }
    return { codename, arch };
}
function repository(mirror) {
    const url = new URL(mirror);
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    const base = url.href.replace(/\/+$/, '');
    const authorization = user || password ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : undefined;
    return { base, shown: base, ...(authorization ? { authorization } : {}) };
}
async function readIndex(mirror, suite, arch, major) {
    const index = `${mirror.base}/dists/${suite}/main/binary-${arch}/Packages`;
    const headers = mirror.authorization ? { authorization: mirror.authorization } : undefined;
    const compressed = await reaching(`${index}.gz`, major, (url) => fetch(url, { headers }));
    if (compressed.ok) {
        return parsePackageIndex((0,external_node_zlib_.gunzipSync)(Buffer.from(await compressed.arrayBuffer())).toString());
    }
    const plain = await reaching(index, major, (url) => fetch(url, { headers }));
    if (!plain.ok) {
        throw new Error(`cannot read the package index ${index}(.gz): HTTP ${plain.status}`);
    }
    return parsePackageIndex(await plain.text());
}
/** Downloads one package, checks its SHA256 against the index, and unpacks it into `into`. */
async function unpack(mirror, pkg, into, major) {
    const url = `${mirror.base}/${pkg.filename}`;
    const dest = external_node_path_default().join(into, '..', `${external_node_path_default().basename(into)}.deb`);
    const tc = await toolCache();
    const file = await reaching(url, major, () => tc.downloadTool(url, dest, mirror.authorization));
    try {
        const sha256 = await fileSha256(file);
        if (sha256 !== pkg.sha256) {
            throw new Error(`${pkg.name} ${pkg.version} from ${url} has sha256 ${sha256}, but the package index says ${pkg.sha256}; refusing it`);
        }
        await install_run('dpkg-deb', ['-x', file, into]);
    }
    finally {
        await (0,promises_.rm)(file, { force: true });
    }
}
/**
 * `request(url)`, where a repository that cannot be reached (fetch says only "fetch failed"; the
 * reason, ECONNREFUSED or ENOTFOUND, is in its cause) is one line naming the URL, the reason, and
 * the ways to do without it. `url` holds no credentials.
 */
async function reaching(url, major, request) {
    try {
        return await request(url);
    }
    catch (error) {
        const reason = networkReason(error);
        if (reason === undefined)
            throw error;
        throw new Error(`cannot reach the package repository at ${url} (${reason}) to install postgresql-client-${major}: ` +
            `set pg-client-mirror to a mirror this machine can reach, postgres-client: system to use the client on PATH, ` +
            `or pg-bin-dir to the bin folder of a PostgreSQL ${major} client`);
    }
}
/** The system's reason when `error` is a failure to connect or to be answered, else undefined. */
function networkReason(error) {
    const cause = error instanceof TypeError && error.cause instanceof Error ? error.cause : error;
    const code = cause?.code;
    if (typeof code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code))
        return code;
    return error instanceof TypeError && error.message === 'fetch failed'
        ? cause.message
        : undefined;
}
async function fileSha256(file) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for await (const chunk of (0,external_node_fs_.createReadStream)(file))
        hash.update(chunk);
    return hash.digest('hex');
}
/** `15.18-0+deb12u1` → `15.18.0-0.deb12u1`: tool-cache keys folders by semantic version. */
function cacheVersion(debianVersion) {
    const withoutEpoch = debianVersion.replace(/^\d+:/, '');
    const dash = withoutEpoch.lastIndexOf('-');
    const upstream = dash < 0 ? withoutEpoch : withoutEpoch.slice(0, dash);
    const revision = dash < 0 ? '' : withoutEpoch.slice(dash + 1);
    const [major = '0', minor = '0', patch = '0'] = upstream
        .split(/[.~+]/)
        .filter((p) => /^\d+$/.test(p));
    const tag = revision.replace(/[^0-9A-Za-z]+/g, '.').replace(/^\.|\.$/g, '');
    return `${major}.${minor}.${patch}${tag ? `-${tag}` : ''}`;
}
/** The bin folder and libpq folder inside an unpacked client. */
async function located(root, major, version) {
    const lib = external_node_path_default().join(root, 'usr', 'lib');
    const entries = await (0,promises_.readdir)(lib, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
        const files = entry.isDirectory() ? await (0,promises_.readdir)(external_node_path_default().join(lib, entry.name)) : [];
        if (files.includes('libpq.so.5')) {
            return {
                binDir: external_node_path_default().join(lib, 'postgresql', String(major), 'bin'),
                libDir: external_node_path_default().join(lib, entry.name),
                version,
            };
        }
    }
    throw new Error(`the cached client in ${root} has no libpq.so.5; remove that folder and run again`);
}

;// CONCATENATED MODULE: ./src/postgres/client/index.ts


/** The program to run for `need`: the user's, the machine's, or the needed major installed. */
async function clientProgram(name, need, settings, ctx) {
    const { choice } = settings;
    if (settings.pgBinDir !== undefined) {
        return binDirProgram(name, need, { ...settings, pgBinDir: settings.pgBinDir });
    }
    const install = need.install ?? need.oldest;
    const ways = `set postgres-client: auto (or ${install}) to install postgresql-client-${install}, or pg-bin-dir to a PostgreSQL ${install} bin folder`;
    if (choice !== 'auto' && choice !== 'system') {
        if (need.newest && choice > need.newest.major) {
            throw new Error(`postgres-client: ${choice} asks for ${name} ${choice}, which ${need.newest.why}; ${ways}`);
        }
        return installedProgram(name, choice, settings, ctx);
    }
    const local = await findProgram(name).catch((error) => error);
    const misfit = local instanceof Error ? undefined : misfitOf(name, local, '', need);
    if (!(local instanceof Error) && misfit === undefined)
        return local;
    if (choice === 'system' || install === undefined) {
        if (local instanceof Error)
            throw local;
        throw new Error(`${misfit}; ${ways}`);
    }
    ctx.log.info(`${local instanceof Error ? `no usable ${name} (${local.message})` : misfit}; using postgresql-client-${install}`);
    return installedProgram(name, install, settings, ctx);
}
/** Why `program` cannot serve `need`, naming it and `where` it is; undefined when it can. */
function misfitOf(name, program, where, need) {
    if (need.oldest !== undefined && program.major < need.oldest) {
        return `${name} ${program.version}${where} is older than ${need.what}`;
    }
    if (need.newest && program.major > need.newest.major) {
        return `${name} ${program.version}${where} ${need.newest.why}`;
    }
    return undefined;
}
/** The program in the user's `pg-bin-dir`, or one line saying why it cannot serve: never another. */
async function binDirProgram(name, need, settings) {
    const { choice, pgBinDir } = settings;
    const program = await findProgram(name, pgBinDir).catch((error) => {
        throw new Error(`pg-bin-dir ${pgBinDir} has no usable ${name}: ${error.message}`);
    });
    if (typeof choice === 'number' && program.major !== choice) {
        throw new Error(`pg-bin-dir ${pgBinDir} holds ${name} ${program.version}, but postgres-client asks for ${choice}; make them agree`);
    }
    const misfit = misfitOf(name, program, ` in pg-bin-dir ${pgBinDir}`, need);
    if (misfit) {
        const install = need.install ?? need.oldest;
        throw new Error(`${misfit}; point pg-bin-dir at a PostgreSQL ${install} bin folder, or remove it to let postgres-client: auto install one`);
    }
    return program;
}
async function installedProgram(name, major, settings, ctx) {
    const local = await findProgram(name).catch(() => undefined);
    if (local?.major === major)
        return local;
    const client = (await cachedClient(major, ctx.env)) ??
        (await installClient(major, { mirror: settings.mirror, log: ctx.log, env: ctx.env }));
    const libraryPath = [client.libDir, ctx.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    return findProgram(name, client.binDir, { LD_LIBRARY_PATH: libraryPath });
}

;// CONCATENATED MODULE: ./src/postgres/restore.ts
/**
 * What both restore modes need from PostgreSQL: a pg_restore that can read the archive, the
 * server's readiness, pg_restore itself, scratch databases, and the target's state.
 */












/**
 * The pg_restore that can read archives of the pg_dump that made the backup and, when the server
 * it restores into is known, talk to that server: one line before anything is restored when none
 * can.
 */
async function restoreProgram(manifest, client, ctx, server) {
    const made = manifest.dump?.version;
    const unrestorable = server && unrestorableLine(made, server);
    if (unrestorable)
        throw new Error(unrestorable);
    const what = `the pg_dump ${made ?? '(unknown version)'} that made ${manifest.id}`;
    return clientProgram('pg_restore', { ...pgRestoreMajors(made, server), what }, client, ctx);
}
/** Connects (so an unreachable server fails at once) and checks it may create databases. */
async function checkScratchServer(server, signal) {
    const client = await connect(server, signal);
    try {
        const { rows } = await client.query('SELECT current_user AS role, rolsuper OR rolcreatedb AS may FROM pg_roles WHERE rolname = current_user');
        if (rows[0] && !rows[0].may) {
            throw new Error(`the role ${rows[0].role} may not create databases on ${server.display}; restore-test needs a role with CREATEDB (a service container's superuser has it)`);
        }
        return await serverVersion(client);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/** pg_restore, in the passes the archive needs, stopping at the first error, which fails the run. */
async function runPgRestore(program, archive, target, options) {
    for (const pass of restorePasses(options.jobs, options.shape)) {
        await runPass(program, archive, target, pass, options);
    }
}
async function runPass(program, archive, target, pass, options) {
    const args = [
        ...(pass.section ? [`--section=${pass.section}`] : []),
        ...(pass.entries
            ? [`--use-list=${await listFile(archive, options.listing, pass.entries)}`]
            : []),
        `--jobs=${pass.jobs}`,
        ...(options.keepOwners ? [] : ['--no-owner', '--no-privileges']),
        ...(options.noTablespaces ? ['--no-tablespaces'] : []),
        '--no-password',
        '--exit-on-error',
        `--dbname=${connectionString(target)}`,
        archive,
    ];
    // A cancellation that came before this point has no listener to hear it.
    options.signal.throwIfAborted();
    const { child, exit } = start(program, args, libpqEnv(target));
    // By whole lines: one line may arrive in several reads of the pipe.
    const firstError = new FirstError();
    (0,external_node_readline_.createInterface)({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => firstError.add(line));
    const stop = () => child.kill('SIGTERM');
    options.signal.addEventListener('abort', stop, { once: true });
    try {
        const ended = await exit;
        if (ended.code === 0)
            return;
        const reason = firstError.text !== undefined && !ended.signal
            ? `pg_restore failed: ${firstError.text}`
            : failureLine(passName(pass), ended);
        throw new Error(options.hint ? `${reason}; ${options.hint}` : reason);
    }
    finally {
        options.signal.removeEventListener('abort', stop);
    }
}
function passName(pass) {
    if (!pass.section)
        return 'pg_restore';
    const parts = { keys: ' (indexes and keys)', rest: ' (all but indexes and keys)' };
    return `pg_restore --section=${pass.section}${pass.entries ? parts[pass.entries] : ''}`;
}
/** The pass's list, beside the archive in its private folder (removed with it). */
async function listFile(archive, listing, entries) {
    const file = external_node_path_default().join(external_node_path_default().dirname(archive), `post-data-${entries}.list`);
    await (0,promises_.writeFile)(file, useList(listing, entries), { mode: 0o600 });
    return file;
}
/** A scratch database name no one else uses: `restore_test_<set>_<random>`, within 63 bytes. */
function scratchName(set) {
    const safe = set.replace(/[^a-z0-9_]/g, '_').slice(0, 40);
    return `restore_test_${safe}_${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`;
}
/**
 * From template0, as pg_dump's documentation advises: template1 may hold objects of its own.
 * A scratch database is marked at once (postgres/scratch-marks.ts).
 */
async function createDatabase(server, name, scratchMark) {
    const client = await connect(server);
    try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
        if (scratchMark)
            await mark(client, 'DATABASE', [name], scratchMark);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/**
 * Drops it even with sessions still connected (a check, a pg_restore worker being stopped), and
 * even after cancellation: those sessions are ended first, and WITH (FORCE) (PostgreSQL 13+)
 * ends any that connect in between. Only databases this tool made or replaced come here: one
 * restored as a template is made an ordinary database first, as PostgreSQL drops no template.
 */
async function dropDatabase(server, name) {
    const client = await connect(server);
    try {
        const { major } = await serverVersion(client);
        const { rows } = await client.query('SELECT datistemplate AS template FROM pg_database WHERE datname = $1', [name]);
        if (rows[0]?.template) {
            await client.query(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE = false`);
        }
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${major >= 13 ? ' WITH (FORCE)' : ''}`);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
async function inspectTarget(target, signal) {
    const client = await connect(target, signal);
    try {
        const { rows: tables } = await client.query(USER_TABLES_SQL);
        return {
            server: await serverVersion(client),
            tables: tables.length,
        };
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/**
 * The roles the archive names that the target lacks, and the owners the restoring role cannot act
 * as (ALTER … OWNER TO needs membership): either would fail a restore of owners and privileges.
 */
async function unusableRoles(target, roles, signal) {
    const names = [...new Set([...roles.owners, ...roles.grantees])];
    if (names.length === 0)
        return { missing: [], notMember: [] };
    const client = await connect(target, signal);
    try {
        const { rows } = await client.query(`SELECT r.name, ro.oid IS NOT NULL AS present,
              coalesce(pg_has_role(current_user, ro.oid, 'MEMBER'), false) AS member
         FROM unnest($1::text[]) AS r(name) LEFT JOIN pg_roles ro ON ro.rolname = r.name
        ORDER BY 1`, [names]);
        return {
            missing: rows.filter((row) => !row.present).map((row) => row.name),
            notMember: rows
                .filter((row) => row.present && !row.member && roles.owners.has(row.name))
                .map((row) => row.name),
        };
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
async function countRows(target, signal) {
    const client = await connect(target, signal);
    try {
        return await exactRowCounts(client);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}

// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(46466);
// EXTERNAL MODULE: ./node_modules/tar-stream/index.js
var tar_stream = __webpack_require__(56118);
;// CONCATENATED MODULE: ./src/files/digest.ts
/**
 * The figures a files manifest records, computed the same way when archiving and when reading an
 * archive back: entry count, bytes of file content, and the list digest, the sha256 of one line per
 * entry, sorted by name: `<type>\t<size>\t<name>\n` (type file, directory or symlink; size 0 but
 * for files).
 */

function fileStats(entries) {
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const hash = (0,external_node_crypto_.createHash)('sha256');
    let bytes = 0;
    for (const entry of sorted) {
        const size = entry.type === 'file' ? entry.size : 0;
        hash.update(`${entry.type}\t${size}\t${entry.name}\n`);
        bytes += size;
    }
    return { count: sorted.length, bytes, listDigest: hash.digest('hex') };
}
/** One line saying how an archive's figures differ from its manifest's, or undefined when equal. */
function filesMismatch(expected, found) {
    if (expected.count !== found.count)
        return `the archive holds ${found.count} entries, but its manifest records ${expected.count}`;
    if (expected.bytes !== found.bytes)
        return `the archive holds ${found.bytes} bytes of files, but its manifest records ${expected.bytes}`;
    if (expected.listDigest !== found.listDigest)
        return 'the archive’s file list differs from its manifest’s (list digest mismatch)';
    return undefined;
}

;// CONCATENATED MODULE: ./src/files/tar-read.ts
/**
 * Reading a files backup's tar: its figures (for verify-latest) and a safe extraction (for
 * restore-test and restore), so a crafted archive cannot touch anything else on the machine.
 * Extraction refuses names that are absolute or hold `..`, checks every folder on an entry's way
 * with lstat (a symbolic link there is refused), and creates the entry itself so that an existing
 * link is never followed (O_EXCL / O_NOFOLLOW; metadata through the open handle). Hard links,
 * devices and FIFOs are refused: backup-action never archives them.
 *
 * As `tar -p` does, folder modes and times are applied last, deepest first, so a read-only folder
 * does not stop its own contents from being written; as root, owners come back from the archive
 * (numeric ids), and otherwise setuid/setgid bits are dropped, so a program never comes back
 * privileged under an owner it did not have.
 */









/** A handler's failure to write (a full disk, a permission): not a sign of a damaged archive. */
class WriteFailure {
    error;
    constructor(error) {
        this.error = error;
    }
}
/** Reads the whole archive, handing each entry to `handle` (default: skip its bytes). */
async function readTar(archive, handle) {
    const extract = tar_stream.extract();
    const listed = [];
    const feeding = (0,external_node_stream_promises_.pipeline)(archive, extract);
    feeding.catch(() => undefined);
    try {
        for await (const entry of extract) {
            const name = entry.header.name.replace(/\/+$/, '');
            const type = entry.header.type;
            if (type === 'file' || type === 'directory' || type === 'symlink') {
                listed.push({ name, type, size: type === 'file' ? entry.header.size : 0 });
            }
            if (handle) {
                await handle(entry.header, name, external_node_stream_.Readable.from(entry)).catch((error) => {
                    // A system call's error is the disk's doing; a stream's error is the archive's.
                    throw error.syscall ? new WriteFailure(error) : error;
                });
            }
            entry.resume();
        }
        await feeding;
    }
    catch (error) {
        if (error instanceof WriteFailure)
            throw error.error;
        if (error instanceof ExtractionError)
            throw error;
        throw new errors/* UnreadableArchiveError */.sU(`the backup is not a readable tar archive: ${error.message}`);
    }
    return fileStats(listed);
}
class ExtractionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'ExtractionError';
    }
}
/** Extracts into `root`, which must exist and be empty. */
async function extractTar(archive, root) {
    const extraction = new Extraction(root);
    const stats = await readTar(archive, (header, name, body) => extraction.write(header, name, body));
    await extraction.settleFolders((parts) => parts.length > 1, root);
    return {
        stats,
        settleTopFolders: (dir) => extraction.settleFolders((parts) => parts.length === 1, dir),
    };
}
const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = external_node_fs_.constants;
const SET_ID_BITS = 0o6000;
class Extraction {
    root;
    /** Folders whose mode, owner and time wait for the end (they stay owner-writable until then). */
    folders = [];
    asRoot = process.getuid?.() === 0;
    constructor(root) {
        this.root = root;
    }
    async write(header, name, body) {
        const { type } = header;
        if (type !== 'directory' && type !== 'file' && type !== 'symlink') {
            throw new ExtractionError(`refusing archive entry ${quotedName(name)}: it is a ${type === 'link' ? 'hard link' : (type ?? 'typeless entry')}, and backup-action archives only files, folders and symbolic links`);
        }
        const parts = name.split('/');
        const file = await this.placeFor(name, parts);
        const existing = await lstatIfAny(file);
        // Only a folder may be named again (its children may have made it first); the creating calls
        // below refuse an existing name too, this says why.
        if (existing && !(type === 'directory' && existing.isDirectory())) {
            throw new ExtractionError(`refusing archive entry ${quotedName(name)}: an earlier entry already holds that name`);
        }
        if (type === 'directory') {
            if (!existing)
                await (0,promises_.mkdir)(file, { mode: 0o700 });
            this.folders.push({ parts, header });
        }
        else if (type === 'file')
            await this.file(file, header, body);
        else
            await this.symlink(file, header);
    }
    /** Deepest first, so a folder made read-only no longer needs to be written into. */
    async settleFolders(which, dir) {
        const folders = this.folders
            .filter(({ parts }) => which(parts))
            .sort((a, b) => b.parts.length - a.parts.length);
        for (const { parts, header } of folders) {
            const handle = await (0,promises_.open)(external_node_path_default().join(dir, ...parts), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            try {
                await this.settle(handle, header, 0o755);
            }
            finally {
                await handle.close();
            }
        }
    }
    /** The path for `name` under the root, every folder on its way made or checked to be one. */
    async placeFor(name, parts) {
        if (name === '' || external_node_path_default().isAbsolute(name) || parts.includes('..')) {
            throw new ExtractionError(`refusing archive entry ${quotedName(name)}: it would be written outside the target`);
        }
        if (parts.some((part) => part === '' || part === '.')) {
            throw new ExtractionError(`refusing archive entry ${quotedName(name)}: it is not a plain relative name`);
        }
        let current = this.root;
        for (const part of parts.slice(0, -1)) {
            current = external_node_path_default().join(current, part);
            const info = await lstatIfAny(current);
            if (!info)
                await (0,promises_.mkdir)(current, { mode: 0o700 });
            else if (info.isSymbolicLink())
                throw new ExtractionError(`refusing archive entry ${quotedName(name)}: ${database_names_printableName(part)} is a symbolic link`);
            else if (!info.isDirectory())
                throw new ExtractionError(`refusing archive entry ${quotedName(name)}: ${database_names_printableName(part)} is not a folder`);
        }
        return external_node_path_default().join(this.root, ...parts);
    }
    async file(file, header, body) {
        // O_EXCL refuses anything already there, a symbolic link included.
        const handle = await (0,promises_.open)(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
            await handle.writeFile(body);
            await this.settle(handle, header, 0o644);
        }
        finally {
            await handle.close();
        }
    }
    async symlink(file, header) {
        await (0,promises_.symlink)(header.linkname ?? '', file);
        if (this.asRoot)
            await (0,promises_.lchown)(file, header.uid ?? 0, header.gid ?? 0).catch(ignoreNotPermitted);
        if (header.mtime)
            await (0,promises_.lutimes)(file, header.mtime, header.mtime);
    }
    /** Owner first: chown clears setuid/setgid, and a mode is only safe under its own owner. */
    async settle(handle, header, fallbackMode) {
        const owned = this.asRoot && (await chownIfPermitted(handle, header));
        const mode = header.mode ? header.mode & 0o7777 : fallbackMode;
        await handle.chmod(owned ? mode : mode & ~SET_ID_BITS);
        if (header.mtime)
            await handle.utimes(header.mtime, header.mtime);
    }
}
/** False when the system refuses (an unmapped id in a user namespace, root squashed). */
async function chownIfPermitted(handle, header) {
    try {
        await handle.chown(header.uid ?? 0, header.gid ?? 0);
        return true;
    }
    catch (error) {
        ignoreNotPermitted(error);
        return false;
    }
}
function ignoreNotPermitted(error) {
    const code = error.code;
    if (code !== 'EPERM' && code !== 'EINVAL')
        throw error;
}
async function lstatIfAny(file) {
    try {
        return await (0,promises_.lstat)(file);
    }
    catch (error) {
        if (error.code === 'ENOENT')
            return undefined;
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/verify/archive-check.ts
/**
 * Reads an archive stream without a temporary copy: `pg_restore --list` for a pg_dump custom
 * archive, a full read of every entry for a tar. An archive that cannot be read fails the check.
 */




/** A pg_dump archive's table of contents, as the pg_restore that will restore it reads it. */
async function listDumpArchive(archive, pgRestore) {
    const listing = await listWith(pgRestore, ['--list'], archive, 'pg_restore --list');
    const entries = listing.filter((line) => line !== '' && !line.startsWith(';'));
    return {
        entries: entries.length,
        tablesWithData: entries.filter((line) => / TABLE DATA /.test(line)).length,
    };
}
/** Every entry of a tar read through, with the figures its manifest records. */
async function readTarArchive(archive) {
    const stats = await readTar(archive);
    return { entries: stats.count, files: stats };
}
async function listWith(program, args, archive, name) {
    const { child, exit } = start(program, args, process.env, 'pipe');
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => (stdout += text));
    // The tool may stop reading once it has what it needs (a table of contents is at the start).
    (0,external_node_stream_.pipeline)(archive, child.stdin, () => undefined);
    const ended = await exit;
    if (ended.code !== 0) {
        throw new errors/* UnreadableArchiveError */.sU(`the backup is not a readable pg_dump archive: ${failureLine(name, ended)}`);
    }
    return stdout.split('\n');
}

;// CONCATENATED MODULE: ./src/pipeline/zstd-program.ts
/**
 * zstd's own program as the compression layer, when the machine has one (GitHub's Ubuntu runners
 * do). Reading pg_dump's output itself, it keeps the archive's bytes out of Node altogether: on a
 * 2-core machine that is most of what separated a backup from `pg_dump | zstd` (Node's share was
 * copying and collecting 64 KiB buffers), and it lowers the process's memory (docs/benchmarks.md).
 * The format is the same either way.
 */




/** The zstd program on PATH, unless BACKUP_ACTION_ZSTD=node asks for Node's binding. */
async function findZstdProgram(env) {
    return env.BACKUP_ACTION_ZSTD === 'node' ? undefined : onPath('zstd');
}
function zstdArgs(level) {
    // zstd's program compresses on one thread unless told otherwise, and then it alone sets the
    // pace: with two on a 2-core machine, pg_dump's idle moments are put to use. More than four
    // would only take cores from pg_dump for a stream that one pg_dump cannot fill.
    const threads = Math.min((0,external_node_os_.availableParallelism)(), 4);
    // Jobs of 1 MiB: zstd then holds a quarter of the memory of its default job size, at the same
    // speed and much the same ratio (docs/benchmarks.md).
    return [
        ...(level > 19 ? ['--ultra'] : []),
        `-${level}`,
        `-T${threads}`,
        '-B1048576',
        '--quiet',
        '--stdout',
        '-',
    ];
}
/** zstd in a chain of programs, reading the one before it (pg_dump) directly. */
function zstdFilter(file, level) {
    return { name: 'zstd', path: file, args: zstdArgs(level), doing: 'compressing' };
}
/**
 * A stream through zstd, for sources inside this process. Its output ends only once zstd has
 * exited successfully, so a compressor that fails half-way can never complete an upload.
 */
function zstdThrough(file, level) {
    return throughProgram(zstdFilter(file, level));
}
/**
 * `input` decompressed by zstd straight into `file`, so that the archive's bytes never pass
 * through Node. Resolves once zstd has written all of it and exited successfully.
 */
async function zstdToFile(program, input, file, signal) {
    const { child, exit } = start({ path: program }, ['-d', '-q', '-f', '-o', file, '-'], helperEnv(), 'pipe');
    try {
        await (0,external_node_stream_promises_.pipeline)(input, programInput(child.stdin, succeeded('zstd', exit)), { signal });
    }
    catch (error) {
        child.kill();
        await exit.catch(() => undefined);
        throw error;
    }
    await succeeded('zstd', exit);
}

;// CONCATENATED MODULE: ./src/pipeline/compress.ts
/** Compression layers, from Node's own zlib (zstd needs Node 22.15 or later; the action runs on node24). */


/**
 * zstd level 3: the fastest level whose output is no larger than pg_dump -Fc's own gzip on each
 * kind of database measured (docs/benchmarks.md, compression levels).
 */
const DEFAULT_LEVEL = { zstd: 3, gzip: 6 };
function levelOf(kind, level) {
    return level ?? DEFAULT_LEVEL[kind];
}
function requireZstd() {
    if (typeof (external_node_zlib_default()).createZstdCompress !== 'function') {
        throw new Error(`compression zstd needs Node.js 22.15 or later (this is ${process.version}); use node24 or set compression: gzip`);
    }
}
/** The compression layer; zstd through `zstdProgram` (zstd's own program) when one is given. */
function compressor(kind, level, zstdProgram) {
    if (kind === 'none')
        return undefined;
    const chosen = levelOf(kind, level);
    if (kind === 'zstd' && zstdProgram)
        return zstdThrough(zstdProgram, chosen);
    if (kind === 'gzip')
        return external_node_zlib_default().createGzip({ level: chosen, chunkSize: 256 * 1024 });
    requireZstd();
    return external_node_zlib_default().createZstdCompress({
        chunkSize: 256 * 1024,
        params: { [(external_node_zlib_default()).constants.ZSTD_c_compressionLevel]: chosen },
    });
}
function decompressor(kind) {
    if (kind === 'none')
        return undefined;
    if (kind === 'gzip')
        return external_node_zlib_default().createGunzip({ chunkSize: 256 * 1024 });
    requireZstd();
    return external_node_zlib_default().createZstdDecompress({ chunkSize: 256 * 1024 });
}

;// CONCATENATED MODULE: ./src/core/manifest.ts


/** `cases` for the manifest's own source kind: every kind has one, or this does not compile. */
function bySource(manifest, cases) {
    // TypeScript cannot pair a union member with its own case; the keys of `cases` do.
    return cases[manifest.source.kind](manifest);
}
/** The objects that hold what was backed up: each is read as an archive of its kind. */
const dataObjects = (manifest) => bySource(manifest, {
    postgres: (one) => [one.object],
    files: (one) => [one.object],
    redis: (one) => [one.object],
    server: ({ databases, globals }) => [
        ...databases.map((database) => database.object),
        ...(globals ? [globals.object] : []),
    ],
});
/** Every object a backup is made of: what must be present, verified, copied and deleted with it. */
const manifestObjects = (manifest) => [
    ...dataObjects(manifest),
    ...(manifest.identity ? [manifest.identity] : []),
];
/** The row counts of each database the backup holds, as recorded (none for a directory tree). */
const manifestRowCounts = (manifest) => bySource(manifest, {
    postgres: (one) => [one.rowCounts],
    files: () => [],
    redis: () => [],
    server: ({ databases }) => databases.map((database) => database.rowCounts),
});
/**
 * The data objects' sizes, summed: a whole backup's size for shrink checks and reports (the few
 * hundred bytes of an identity would make a backup of today look larger than an older one).
 */
const manifestSize = (manifest) => dataObjects(manifest).reduce((sum, object) => sum + object.size, 0);
class ManifestError extends Error {
    key;
    constructor(key, detail) {
        super(`corrupt manifest ${key}: ${detail}`);
        this.key = key;
        this.name = 'ManifestError';
    }
}
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isIsoTime = (value) => typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value) &&
    !Number.isNaN(Date.parse(value));
const oneOf = (value, allowed) => typeof value === 'string' && allowed.includes(value);
/**
 * Parses and validates a manifest read from `key`. Throws ManifestError naming the key and the
 * first problem found. The object key must be this backup's own key in its own set, so a crafted
 * manifest can never point a reader or a deleter elsewhere.
 */
function parseManifest(text, key, expectedName) {
    let value;
    try {
        value = JSON.parse(text);
    }
    catch {
        throw new ManifestError(key, 'not valid JSON');
    }
    const problem = manifestProblem(value, expectedName);
    if (problem)
        throw new ManifestError(key, problem);
    const manifest = value;
    for (const holder of countHolders(manifest)) {
        if (holder.rowCounts)
            holder.rowCounts = countsMap(Object.entries(holder.rowCounts));
    }
    return manifest;
}
/**
 * Row counts keyed by table, with no prototype: a table named `constructor` or `__proto__` in a
 * manifest is a key like any other, never an inherited function nor the map's prototype.
 */
function countsMap(entries) {
    const map = Object.create(null);
    for (const [key, count] of entries)
        map[key] = count;
    return map;
}
/** The parts of a manifest that may hold row counts. */
function countHolders(manifest) {
    if ('databases' in manifest)
        return manifest.databases;
    return 'rowCounts' in manifest ? [manifest] : [];
}
/** The one archive format each source is written in. */
const FORMAT_OF = {
    postgres: 'pg_dump-custom',
    server: 'pg_dump-custom',
    files: 'tar',
    redis: 'rdb',
};
const SOURCES = Object.keys(FORMAT_OF);
function manifestProblem(m, expectedName) {
    if (!isObject(m))
        return 'not a JSON object';
    if (m.version !== 1)
        return 'unsupported version';
    if (typeof m.id !== 'string' || !isBackupId(m.id))
        return 'bad id';
    if (typeof m.name !== 'string' || !isValidSetName(m.name))
        return 'bad name';
    if (expectedName !== undefined && m.name !== expectedName)
        return `belongs to set "${m.name}"`;
    if (!isIsoTime(m.createdAt) || !isIsoTime(m.completedAt))
        return 'bad createdAt/completedAt';
    if (!isObject(m.source) || !oneOf(m.source.kind, SOURCES))
        return 'bad source';
    if (!optionalStrings(m.source, ['database', 'serverVersion']))
        return 'bad source';
    if (m.source.kind === 'redis' && m.source.database !== undefined)
        return 'bad source';
    if (m.format !== FORMAT_OF[m.source.kind])
        return 'bad format';
    if (!oneOf(m.compression, ['zstd', 'gzip', 'none']))
        return 'bad compression';
    if (!oneOf(m.encryption, ENCRYPTIONS))
        return 'bad encryption';
    const identity = identityProblem(m);
    if (identity)
        return identity;
    const shape = m.source.kind === 'server' ? serverProblem(m) : singleProblem(m);
    return shape ?? toolProblem(m);
}
/** An identity sealed with a passphrase is about 250 bytes: a reader never takes more. */
const IDENTITY_MAX_BYTES = 4096;
/** An age passphrase backup's identity: its own key, and no more than such a file ever holds. */
function identityProblem(m) {
    if (m.identity === undefined)
        return undefined;
    if (m.encryption !== 'age')
        return 'identity without encryption age';
    const own = identityKey(m.name, m.id);
    const problem = recordProblem(m.identity, 'identity', own);
    if (problem)
        return problem;
    return m.identity.size > IDENTITY_MAX_BYTES ? 'bad identity.size' : undefined;
}
function singleProblem(m) {
    if (m.databases !== undefined || m.globals !== undefined)
        return 'databases without source server';
    return (objectProblem(m) ??
        countsProblem(m.rowCounts, 'rowCounts') ??
        snapshotProblem(m) ??
        extrasProblem(m));
}
/** A Redis backup records its snapshot's figures, and only a Redis backup does. */
function snapshotProblem(m) {
    const redis = m.source.kind === 'redis';
    if (!redis)
        return m.rdb === undefined ? undefined : 'rdb without source redis';
    if (m.rowCounts !== undefined || m.rowCountsMode !== undefined || m.files !== undefined) {
        return 'a Redis backup records its keys under rdb';
    }
    const rdb = m.rdb;
    if (!isObject(rdb) || !isCount(rdb.version) || rdb.version < 1)
        return 'bad rdb';
    if (!Array.isArray(rdb.databases))
        return 'bad rdb.databases';
    let last = -1;
    for (const d of rdb.databases) {
        if (!isObject(d) || !isCount(d.db) || d.db <= last || !isCount(d.keys)) {
            return 'bad rdb.databases';
        }
        if (!isCount(d.expires) || d.expires > d.keys)
            return 'bad rdb.databases';
        last = d.db;
    }
    return undefined;
}
/** Exactly the key a run writes for this id and these layers: nothing else is ever read or deleted. */
function recordProblem(o, what, own) {
    if (!isObject(o) || typeof o.key !== 'string')
        return `bad ${what}`;
    if (!isCount(o.size))
        return `bad ${what}.size`;
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) {
        return `bad ${what}.sha256`;
    }
    return o.key === own ? undefined : `${what}.key is not this backup’s own key`;
}
function objectProblem(m) {
    const own = objectKey(m.name, m.id, objectExtension(m.format, m.compression, m.encryption));
    return recordProblem(m.object, 'object', own);
}
function countsProblem(counts, what) {
    if (counts === undefined)
        return undefined;
    if (!isObject(counts))
        return `bad ${what}`;
    return Object.values(counts).every(isCount) ? undefined : `bad ${what} value`;
}
/** PostgreSQL's names are at most 63 bytes; an empty or longer one was never a database. */
const isDatabaseName = (value) => typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= 63;
function serverProblem(m) {
    if (m.object !== undefined || m.files !== undefined || m.rowCounts !== undefined) {
        return 'a server backup records its objects under databases';
    }
    const layers = [m.compression, m.encryption];
    const { databases, globals } = m;
    if (!Array.isArray(databases) || databases.length === 0)
        return 'bad databases';
    const seen = new Set();
    for (const [index, d] of databases.entries()) {
        const what = `databases[${index}]`;
        if (!isObject(d) || !isDatabaseName(d.name) || seen.has(d.name))
            return `bad ${what}.name`;
        seen.add(d.name);
        const own = databaseObjectKey(m.name, m.id, d.name, ...layers);
        const problem = recordProblem(d.object, `${what}.object`, own) ??
            countsProblem(d.rowCounts, `${what}.rowCounts`) ??
            (optionalStrings(d, ['serverVersion']) ? undefined : `bad ${what}.serverVersion`);
        if (problem)
            return problem;
    }
    if (globals === undefined)
        return extrasProblem(m);
    if (!isObject(globals) || typeof globals.rolePasswords !== 'boolean')
        return 'bad globals';
    const roles = globals.roles;
    if (!Array.isArray(roles) || !roles.every(isDatabaseName))
        return 'bad globals.roles';
    const own = globalsObjectKey(m.name, m.id, ...layers);
    return recordProblem(globals.object, 'globals.object', own) ?? extrasProblem(m);
}
function extrasProblem(m) {
    if (m.rowCountsMode !== undefined && !oneOf(m.rowCountsMode, ['exact', 'estimate'])) {
        return 'bad rowCountsMode';
    }
    if (m.files !== undefined) {
        const f = m.files;
        if (!isObject(f) ||
            !isCount(f.count) ||
            !isCount(f.bytes) ||
            typeof f.listDigest !== 'string' ||
            !/^[0-9a-f]{64}$/.test(f.listDigest)) {
            return 'bad files';
        }
    }
    return undefined;
}
function toolProblem(m) {
    const tool = m.tool;
    if (!isObject(tool) || typeof tool.name !== 'string' || typeof tool.version !== 'string') {
        return 'bad tool';
    }
    const dump = m.dump;
    if (dump !== undefined && !(isObject(dump) && requiredStrings(dump, ['program', 'version']))) {
        return 'bad dump';
    }
    const run = m.run;
    if (run !== undefined && !(isObject(run) && requiredStrings(run, Object.keys(run)))) {
        return 'bad run';
    }
    return undefined;
}
function requiredStrings(o, names) {
    return names.every((name) => typeof o[name] === 'string');
}
function optionalStrings(o, names) {
    return names.every((name) => o[name] === undefined || typeof o[name] === 'string');
}
function serializeManifest(manifest) {
    return `${JSON.stringify(manifest, null, 2)}\n`;
}

// EXTERNAL MODULE: ./src/core/store.ts
var core_store = __webpack_require__(4230);
;// CONCATENATED MODULE: ./src/storage/directory.ts
/**
 * A local directory as a store. Writes go to a hidden temporary name beside the final one and are
 * renamed into place, so a crash never leaves a half-written file under a final name. Nothing
 * under the root is followed through a symbolic link: anyone who can write the store could point
 * one at files of the machine's, which a pruner running as root would otherwise delete.
 */










/** A key runs through a symbolic link in the store: it is not followed. */
class LinkInStore extends Error {
    link;
    constructor(link) {
        super(`${link} in the store is a symbolic link: not followed`);
        this.link = link;
        this.name = 'LinkInStore';
    }
}
class DirectoryStore {
    warn;
    /** Absolute, without a trailing separator, however the folder was spelled. */
    root;
    linksSaid = new Set();
    constructor(root, warn = () => undefined) {
        this.warn = warn;
        this.root = external_node_path_default().resolve(root);
    }
    get description() {
        return this.root;
    }
    file(key) {
        const file = external_node_path_default().resolve(this.root, key);
        const inside = external_node_path_default().relative(this.root, file);
        const outside = inside === '..' || inside.startsWith(`..${(external_node_path_default()).sep}`);
        if (inside === '' || outside || external_node_path_default().isAbsolute(inside)) {
            throw new Error(`key escapes the store: ${key}`);
        }
        return file;
    }
    /**
     * The key's file, once no component of it under the root is a symbolic link (each is lstat'ed;
     * the root itself may be one). A component that does not exist yet ends the check.
     */
    async real(key) {
        const file = this.file(key);
        const parts = external_node_path_default().relative(this.root, file).split((external_node_path_default()).sep);
        for (let depth = 1; depth <= parts.length; depth++) {
            const info = await (0,promises_.lstat)(external_node_path_default().join(this.root, ...parts.slice(0, depth))).catch(absent);
            if (!info)
                break;
            if (info.isSymbolicLink())
                throw new LinkInStore(parts.slice(0, depth).join('/'));
        }
        return file;
    }
    /** The key's file; undefined, said once, where a symbolic link is on its way. */
    async unlinked(key) {
        return this.real(key).catch((error) => this.skipLink(error));
    }
    /** A folder's directory (`''` is the root); undefined, said once, through a symbolic link. */
    async folderPath(folder) {
        return folder === '' ? this.root : this.unlinked(folder);
    }
    /** Says once per link that it was skipped; rethrows anything else. */
    skipLink(error) {
        if (!(error instanceof LinkInStore))
            throw error;
        if (!this.linksSaid.has(error.link)) {
            this.linksSaid.add(error.link);
            this.warn(`${error.link} in the store ${this.root} is a symbolic link: skipped, not followed`);
        }
        return undefined;
    }
    /** `<name>/.<id>.dump.zst.partial-<random>`: hidden, and never matching the layout. */
    temporary(key) {
        const file = this.file(key);
        return external_node_path_default().join(external_node_path_default().dirname(file), `.${external_node_path_default().basename(file)}.partial-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`);
    }
    async upload(key, body, options = {}) {
        const sink = await this.fileSink(key);
        try {
            await (0,external_node_stream_promises_.pipeline)(body, fileWriter(sink.file), { signal: options.signal });
            return await sink.commit();
        }
        catch (error) {
            await sink.discard();
            throw (0,errors/* diskFullError */.vB)(error, `the store folder ${this.root}`) ?? error;
        }
    }
    async fileSink(key) {
        const final = await this.real(key);
        const temp = this.temporary(key);
        const file = await inFolder(external_node_path_default().dirname(temp), () => (0,promises_.open)(temp, 'wx+'));
        return {
            file,
            async commit() {
                await file.close();
                const { size } = await (0,promises_.lstat)(temp);
                await (0,promises_.rename)(temp, final);
                return { size };
            },
            async discard() {
                await file.close().catch(() => undefined);
                await (0,promises_.rm)(temp, { force: true });
            },
        };
    }
    /**
     * Writes and removes a hidden probe file in the set's folder. Folders it had to make are removed
     * again (only while empty: a backup starting beside it may be using them), so a run that fails
     * later leaves the store as it found it.
     */
    async checkWritable(prefix) {
        await this.real(`${prefix}write-check`);
        const probe = this.temporary(`${prefix}write-check`);
        const folder = external_node_path_default().dirname(probe);
        let made;
        try {
            await inFolder(folder, () => (0,promises_.writeFile)(probe, '', { flag: 'wx' }), (top) => (made = made && made.length < top.length ? made : top));
            await (0,promises_.rm)(probe, { force: true });
        }
        finally {
            if (made)
                await removeEmptyUpTo(folder, made);
        }
    }
    async put(key, body) {
        const final = await this.real(key);
        const temp = this.temporary(key);
        try {
            await inFolder(external_node_path_default().dirname(temp), () => (0,promises_.writeFile)(temp, body, { flag: 'wx' }));
            await (0,promises_.rename)(temp, final);
        }
        catch (error) {
            await (0,promises_.rm)(temp, { force: true });
            throw (0,errors/* diskFullError */.vB)(error, `the store folder ${this.root}`) ?? error;
        }
    }
    async download(key, options = {}) {
        const file = await this.real(key);
        const info = await (0,promises_.lstat)(file);
        if (!info.isFile())
            throw new Error(`${key} in the store is not a file`);
        return (0,external_node_fs_.createReadStream)(file, { highWaterMark: 1 << 20, signal: options.signal });
    }
    async read(key, maxBytes) {
        return (0,core_store/* readUpTo */.Vc)(await this.download(key), key, maxBytes);
    }
    async stat(key) {
        const file = await this.unlinked(key);
        const info = file === undefined ? undefined : await (0,promises_.lstat)(file).catch(absent);
        return info?.isFile() ? { key, size: info.size, modified: info.mtime } : undefined;
    }
    /**
     * Lists files under the folder named by `prefix` (up to its last `/`) whose keys start with it,
     * in key order; a symbolic link is said and neither listed nor descended into.
     */
    async *list(prefix) {
        const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
        const dir = await this.folderPath(folder);
        if (dir === undefined)
            return;
        const found = [];
        await this.walk(folder, dir, prefix, found);
        yield* found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    async walk(folder, dir, prefix, found) {
        const entries = await (0,promises_.readdir)(dir, { withFileTypes: true }).catch(absent);
        for (const entry of entries ?? []) {
            const key = folder + entry.name;
            const under = key.startsWith(prefix);
            if (entry.isSymbolicLink()) {
                if (under || prefix.startsWith(`${key}/`))
                    this.skipLink(new LinkInStore(key));
            }
            else if (entry.isDirectory() && (under || prefix.startsWith(`${key}/`))) {
                await this.walk(`${key}/`, external_node_path_default().join(dir, entry.name), prefix, found);
            }
            else if (entry.isFile() && under) {
                const info = await (0,promises_.lstat)(external_node_path_default().join(dir, entry.name)).catch(absent);
                if (info?.isFile())
                    found.push({ key, size: info.size, modified: info.mtime });
            }
        }
    }
    /** A key through a symbolic link is said and left: nothing is deleted through a link. */
    async delete(keys) {
        const folders = new Set();
        for (const key of keys) {
            const file = await this.unlinked(key);
            if (file === undefined)
                continue;
            await (0,promises_.rm)(file, { force: true });
            folders.add(external_node_path_default().dirname(file));
        }
        for (const folder of folders)
            await this.removeEmptyIdFolder(folder);
    }
    /**
     * A server backup's objects live in a folder of the backup's id (`<name>/<id>/`), which goes
     * once its last file does. Only such a folder, and only while empty: never the set's folder.
     */
    async removeEmptyIdFolder(folder) {
        if (folder === this.root || !isBackupId(external_node_path_default().basename(folder)))
            return;
        await (0,promises_.rmdir)(folder).catch(() => undefined);
    }
    /**
     * Temporary files a crashed run left behind, in the set's folder and in its backups' id
     * folders (a server backup's objects); their age is their modification time.
     */
    async *incompleteUploads(prefix) {
        const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
        const entries = await this.entriesOf(folder);
        const idFolders = entries
            .filter((entry) => entry.isDirectory() && isBackupId(entry.name))
            .map((entry) => `${folder}${entry.name}/`);
        yield* this.partialsIn(folder, entries, prefix);
        for (const idFolder of idFolders) {
            yield* this.partialsIn(idFolder, await this.entriesOf(idFolder), prefix);
        }
    }
    async entriesOf(folder) {
        const dir = await this.folderPath(folder);
        const entries = dir === undefined ? [] : await (0,promises_.readdir)(dir, { withFileTypes: true }).catch(absent);
        return (entries ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    async *partialsIn(folder, entries, prefix) {
        for (const entry of entries) {
            const { name } = entry;
            const match = /^\.(.+)\.partial-[0-9a-f]{8}$/.exec(name);
            if (!match || !(folder + (match[1] ?? '')).startsWith(prefix))
                continue;
            if (!entry.isFile()) {
                if (entry.isSymbolicLink())
                    this.skipLink(new LinkInStore(folder + name));
                continue;
            }
            const info = await (0,promises_.lstat)(this.file(folder + name)).catch(absent);
            if (info)
                yield { key: folder + (match[1] ?? ''), uploadId: folder + name, initiated: info.mtime };
        }
    }
    async abortUpload(upload) {
        const file = await this.real(upload.uploadId);
        await (0,promises_.rm)(file, { force: true });
        await this.removeEmptyIdFolder(external_node_path_default().dirname(file));
    }
}
/** undefined for a path that does not exist; any other error is thrown. */
function absent(error) {
    if (error.code === 'ENOENT')
        return undefined;
    throw error;
}
/** Writes to `file`, releasing each owned piece once it is on disk: the store is its last user. */
function fileWriter(file) {
    return new external_node_stream_.Writable({
        highWaterMark: 1 << 20,
        writev(pieces, done) {
            const buffers = pieces.map(({ chunk }) => chunk);
            writeAll(file, buffers).then(() => {
                for (const buffer of buffers)
                    (0,owned/* release */._)(buffer);
                done();
            }, done);
        },
    });
}
/**
 * A short write is not an error yet: the rest is written again, so a full disk shows as the
 * ENOSPC the next write returns, not as a count of bytes.
 */
async function writeAll(file, buffers) {
    let rest = buffers.filter((buffer) => buffer.length > 0);
    while (rest.length > 0) {
        const { bytesWritten } = await file.writev(rest);
        if (bytesWritten === 0)
            throw new Error('a write reached the disk with none of its bytes');
        let skip = bytesWritten;
        while (rest.length > 0 && skip >= (rest[0]?.length ?? 0)) {
            skip -= rest[0]?.length ?? 0;
            rest = rest.slice(1);
        }
        if (skip > 0 && rest[0])
            rest = [rest[0].subarray(skip), ...rest.slice(1)];
    }
}
/**
 * Makes `folder`, then creates a file in it. A write check beside it removes the folders it made
 * while they are empty, so the folder can vanish between the two steps: it is made again.
 */
async function inFolder(folder, create, onMade = () => undefined) {
    for (let attempt = 1;; attempt++) {
        const made = await (0,promises_.mkdir)(folder, { recursive: true });
        if (made)
            onMade(made);
        try {
            return await create();
        }
        catch (error) {
            const vanished = error.code === 'ENOENT';
            if (!vanished || attempt >= 5)
                throw error;
        }
    }
}
/** Removes `folder` and its parents up to and including `top`, stopping at the first not empty. */
async function removeEmptyUpTo(folder, top) {
    for (let dir = folder;; dir = external_node_path_default().dirname(dir)) {
        const removed = await (0,promises_.rmdir)(dir).then(() => true, () => false);
        if (!removed || dir === top || dir === external_node_path_default().dirname(dir))
            return;
    }
}

;// CONCATENATED MODULE: ./src/storage/index.ts
/** Opens the store a storage location names. */


async function openStore(location, s3, warn, env = process.env) {
    if (location.kind === 'directory')
        return new DirectoryStore(location.path, warn);
    // Loaded only for S3: the AWS SDK is most of the bundle, and parsing it costs every run that
    // does not need it start-up time and tens of megabytes of memory.
    const [{ S3Client }, { S3Store, assumedRole, s3ClientConfig }] = await Promise.all([
        __webpack_require__.e(/* import() */ 711).then(__webpack_require__.t.bind(__webpack_require__, 53711, 19)),
        Promise.all(/* import() */[__webpack_require__.e(711), __webpack_require__.e(874)]).then(__webpack_require__.bind(__webpack_require__, 65874)),
    ]);
    const role = await assumedRole(s3, env, warn);
    const client = new S3Client({
        ...s3ClientConfig(s3, env, warn),
        ...(role ? { credentials: role } : {}),
    });
    return new S3Store(client, {
        bucket: location.bucket,
        prefix: location.prefix,
        settings: s3,
        warn,
    });
}

;// CONCATENATED MODULE: ./src/pipeline/checksum.ts
class ChecksumError extends Error {
    constructor(message) {
        super(message);
        this.name = 'ChecksumError';
    }
}
function checkAgainst(object, actual) {
    const { key, size, sha256 } = object;
    if (actual.bytes !== size) {
        throw new ChecksumError(`${key} holds ${actual.bytes} bytes, but its manifest records ${size}`);
    }
    if (actual.sha256 !== sha256) {
        throw new ChecksumError(`sha256 of ${key} is ${actual.sha256}, but its manifest records ${sha256}`);
    }
}

;// CONCATENATED MODULE: ./src/pipeline/backup-identity.ts
/**
 * A passphrase backup's own age identity. The scrypt a passphrase costs takes seconds, on
 * purpose; paid for each object, it made a server backup of 180 databases minutes slower to
 * write and again to read. So each backup makes one random X25519 identity, encrypts every object
 * to it, and stores the identity encrypted with the passphrase, as one small object its manifest
 * names with its sha256: one scrypt to write a backup, one for each run that reads it, and by hand
 * `age -d` twice. The identity is never written anywhere else, nor its public key at all.
 */







async function makeIdentity(passphrase) {
    const { Encrypter, generateX25519Identity, identityToRecipient } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    // X25519, which every age program reads (Debian 12's age 1.1 knows no post-quantum keys).
    const identity = await generateX25519Identity();
    const encrypter = new Encrypter();
    encrypter.setPassphrase(passphrase);
    return {
        keys: { recipients: [await identityToRecipient(identity)], secret: true },
        sealed: await encrypter.encrypt(`${identity}\n`),
    };
}
/** The record of backup `id`'s sealed identity, for its manifest; publish stores the bytes. */
function identityRecord(name, id, sealed) {
    return { key: identityKey(name, id), size: sealed.length, sha256: sha256Of(sealed) };
}
/**
 * The keys that open a backup's objects: its own identity when it has one, opened with the
 * passphrase. Without a passphrase the identities given are tried as they are, so a backup's
 * identity decrypted by hand opens it too; a backup made before identities existed has none,
 * and the passphrase opens each object.
 */
async function keysFor(store, sealing, keys) {
    const record = sealing.identity;
    if (sealing.encryption !== 'age' || !record || keys.passphrase === undefined)
        return keys;
    return { identities: [await openedIdentity(store, record, keys, keys.passphrase)] };
}
/** By the keys a run was given, each backup identity that run opened, by its sha256. */
const opened = new WeakMap();
/**
 * Each identity opened once per run, whichever store and however many objects ask for it. One
 * that failed is forgotten: another store's copy may be whole.
 */
function openedIdentity(store, record, keys, passphrase) {
    const byHash = opened.get(keys) ?? new Map();
    opened.set(keys, byHash);
    const known = byHash.get(record.sha256);
    if (known)
        return known;
    const opening = openIdentity(store, record, passphrase);
    byHash.set(record.sha256, opening);
    opening.catch(() => byHash.delete(record.sha256));
    return opening;
}
async function openIdentity(store, record, passphrase) {
    const sealed = await store
        .read(record.key, Math.min(record.size, IDENTITY_MAX_BYTES))
        .catch((error) => {
        if (!(error instanceof core_store/* ObjectTooLarge */.Xs))
            throw error;
        throw new ChecksumError(`${record.key} holds more than the ${record.size} bytes its manifest records`);
    });
    checkAgainst(record, { bytes: sealed.length, sha256: sha256Of(sealed) });
    const { Decrypter } = await __webpack_require__.e(/* import() */ 539).then(__webpack_require__.bind(__webpack_require__, 81539));
    const decrypter = new Decrypter();
    decrypter.addPassphrase(passphrase);
    let text;
    try {
        text = await decrypter.decrypt(sealed, 'text');
    }
    catch (error) {
        throw new DecryptionError(`cannot decrypt the backup's identity ${record.key}: ${(0,errors/* errorMessage */.gJ)(error)} (is encryption-passphrase the one the backup was made with?)`);
    }
    const identity = text.split(/\r?\n/).find((line) => line.startsWith('AGE-SECRET-KEY-1'));
    if (identity === undefined)
        throw new DecryptionError(`${record.key} holds no age identity`);
    return identity;
}
const sha256Of = (bytes) => (0,external_node_crypto_.createHash)('sha256').update(bytes).digest('hex');

;// CONCATENATED MODULE: ./src/pipeline/age-program.ts
/**
 * age's own program as the encryption layer, when the machine has one (Debian and Ubuntu package
 * it as `age`). Reading zstd's output itself, it keeps the compressed bytes out of Node, which
 * otherwise reads, seals and writes each 64 KiB chunk (docs/benchmarks.md). The file is the same
 * format either way.
 */

/**
 * Only X25519 recipients go to the program: the library also takes post-quantum and tag
 * recipients, which age 1.1 (Debian 12's) does not know, and the program asks a terminal for a
 * passphrase.
 */
const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
/** The age program on PATH for these keys, unless BACKUP_ACTION_AGE=node asks for Node's. */
async function findAgeProgram(env, keys) {
    if (env.BACKUP_ACTION_AGE === 'node' || !programTakes(keys))
        return undefined;
    const file = await onPath('age');
    if (!file)
        return undefined;
    const args = keys.recipients.flatMap((recipient) => ['--recipient', recipient]);
    return { name: 'age', path: file, args, doing: 'encrypting' };
}
function programTakes(keys) {
    return (keys.passphrase === undefined &&
        keys.secret === undefined &&
        keys.recipients.length > 0 &&
        keys.recipients.every((recipient) => X25519_RECIPIENT.test(recipient)));
}

;// CONCATENATED MODULE: ./src/pipeline/seal.ts



/** The sealer for these keys, or undefined when the backup is not encrypted. */
async function openSealer(keys, env) {
    if (keys === undefined)
        return undefined;
    if (keys.method === 'gpg')
        return gpgSealer(keys, await requireGpg('gpg-recipients'));
    return {
        program: () => findAgeProgram(env, keys),
        seal: (input) => encryptStream(input, keys),
        close: () => Promise.resolve(),
    };
}
const OPENERS = {
    none: (stored) => Promise.resolve(kept(stored)),
    age: async (stored, keys) => kept(await decryptStream(stored, keys)),
    gpg: (stored, keys) => gpgDecrypt(stored, keys.gpg),
};
const kept = (plain) => ({ plain, close: () => Promise.resolve() });
/** Undoes the encryption layer a manifest records. */
function unseal(stored, encryption, keys) {
    return OPENERS[encryption](stored, keys);
}

;// CONCATENATED MODULE: ./src/pipeline/read.ts
/**
 * The read path every reading mode shares: download → hash → decrypt → decompress. The stored
 * bytes are hashed independently of what consumes the archive, so when a consumer fails on
 * damaged bytes the run still reports the real cause: the checksum that does not match.
 */







/**
 * Runs `consume` on one object's archive bytes (decrypted and decompressed), then checks that
 * every stored byte matched the manifest's size and sha256. Throws ChecksumError for a mismatch,
 * even when the damage also broke decryption or decompression first.
 */
async function readObject(store, object, layers, keys, consume, signal, 
/** Hand over the bytes still compressed: the consumer decompresses them (zstd's own program). */
keepCompressed = false) {
    // Before the download: a passphrase that does not open the identity fails at once.
    const opening = await keysFor(store, layers, keys);
    signal?.throwIfAborted();
    const body = await store.download(object.key, { signal });
    const { forward, stored } = hashAndForward(body);
    const verified = stored.then((actual) => checkAgainst(object, actual));
    verified.catch(() => undefined);
    let opened;
    try {
        opened = await unseal(forward, layers.encryption, opening);
        const result = await consume(decompressed(opened.plain, layers, keepCompressed));
        // The consumer may stop before the end (a table of contents is at the start): hash the rest.
        forward.destroy();
        await verified;
        return result;
    }
    catch (error) {
        forward.destroy();
        // Stopped: the rest is not read. Otherwise damage shows first as a decryption or archive
        // error, and the checksum of the rest names the real cause.
        if (signal?.aborted)
            throw error;
        await verified;
        throw error;
    }
    finally {
        body.destroy();
        await opened?.close();
    }
}
function hashAndForward(body) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    const forward = new external_node_stream_.PassThrough({ highWaterMark: 1 << 20 });
    let bytes = 0;
    const stored = new Promise((resolve, reject) => {
        body.on('data', (chunk) => {
            hash.update(chunk);
            bytes += chunk.length;
            if (!forward.destroyed && !forward.write(chunk))
                body.pause();
        });
        forward.on('drain', () => body.resume());
        // A consumer that stopped early (or failed) no longer reads: keep downloading to hash it all.
        forward.on('close', () => body.resume());
        body.on('end', () => {
            forward.end();
            resolve({ bytes, sha256: hash.digest('hex') });
        });
        body.on('error', (error) => {
            forward.destroy(error);
            reject(error);
        });
    });
    return { forward, stored };
}
/**
 * The bytes of `object` as they pass, hashed and counted: the stream ends only once they matched
 * the manifest's size and sha256, and errors with ChecksumError instead, so that whatever it feeds
 * (an upload) never completes with bytes that do not match. Its last chunk is held back until
 * then: a consumer that completes on its byte count (a PutObject of a known length) never has
 * them all. Too many bytes fail at once.
 */
function checkedBytes(object) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    let bytes = 0;
    let held;
    return new external_node_stream_.Transform({
        transform(chunk, _encoding, done) {
            bytes += chunk.length;
            if (bytes > object.size) {
                done(new ChecksumError(`${object.key} holds more than the ${object.size} bytes its manifest records`));
                return;
            }
            hash.update(chunk);
            const previous = held;
            held = chunk;
            done(null, previous);
        },
        flush(done) {
            try {
                checkAgainst(object, { bytes, sha256: hash.digest('hex') });
                done(null, held);
            }
            catch (error) {
                done(error);
            }
        },
    });
}
/**
 * Reads `object` from `store` to its end, every byte hashed: resolves when it matches the
 * record, rejects with ChecksumError when not (or with the store's error when it cannot be read).
 */
async function checkStored(store, object, signal) {
    const body = await store.download(object.key, { signal });
    const discard = new external_node_stream_.Writable({ write: (_chunk, _encoding, done) => done() });
    await (0,external_node_stream_promises_.pipeline)(body, checkedBytes(object), discard, ...(signal ? [{ signal }] : []));
}
function decompressed(plain, layers, keepCompressed) {
    const decompress = keepCompressed ? undefined : decompressor(layers.compression);
    return decompress ? (0,external_node_stream_.pipeline)(plain, decompress, () => undefined) : plain;
}

;// CONCATENATED MODULE: ./src/verify/parts-check.ts




async function readParts(parts, layers, reader) {
    const read = { found: new Map(), damaged: new Map() };
    const { store, decryption, signal } = reader;
    for (const { label, object, read: consume } of parts) {
        try {
            read.found.set(object.key, await readObject(store, object, layers, decryption, consume, signal));
        }
        catch (error) {
            if (error instanceof DecryptionError || signal.aborted)
                throw error;
            if (diagnose(error).transient)
                throw storeFailure(error, object.key, store);
            const cause = (0,errors/* errorMessage */.gJ)(error);
            read.damaged.set(object.key, label ? `${label} (${object.key}): ${cause}` : cause);
        }
    }
    return read;
}
/**
 * A store that failed mid-read (a response cut short, a refused connection, a 5xx after the
 * client's own tries) says nothing of the backup's bytes: the check stops there, naming the store
 * and the object, its error kept as the cause the retry policy judges.
 */
function storeFailure(error, key, store) {
    const said = (0,errors/* errorMessage */.gJ)(error);
    if (said.includes(key))
        return error;
    return new Error(`the store ${store.description} failed while ${key} was read: ${said}`, {
        cause: error,
    });
}

;// CONCATENATED MODULE: ./src/kinds/one-object.ts


/** backup: the object is the backup's key and checksum. */
function objectRows(object, facts = []) {
    return {
        key: object.key,
        sha256: object.sha256,
        where: [['Object', object.key]],
        facts: [['sha256', object.sha256], ...facts],
        tables: [],
    };
}
/** verify-latest: the one object read as stored by `read`, its checksum and what it held. */
async function checkObject(manifest, settings, ctx, read) {
    const { object } = manifest;
    const reader = { store: ctx.store, decryption: settings.decryption, signal: ctx.signal };
    const found = await readParts([{ object, read }], manifest, reader);
    const contents = found.found.get(object.key);
    const tables = contents?.tablesWithData === undefined ? '' : `, ${contents.tablesWithData} with table data`;
    const entries = contents && `${(0,format/* formatCount */.B4)(contents.entries)} entries${tables}`;
    return {
        damaged: [...found.damaged.values()],
        checked: new Map([[object.key, entries ? `sha256, archive: ${entries}` : 'DAMAGED']]),
        facts: [
            ['sha256', `${object.sha256} (matches every stored byte)`],
            ['Archive', `readable: ${entries}`],
        ],
        contents,
    };
}

;// CONCATENATED MODULE: ./src/kinds/database/checks.ts
const postgresChecks = {
    forms: ['count', 'sql'],
    refusal: (check) => `"${check.text}" checks a Redis key; a PostgreSQL backup takes "schema.table >= N" or a SQL query returning one boolean`,
};

;// CONCATENATED MODULE: ./src/postgres/toc.ts
/**
 * An archive's table of contents as `pg_restore --list` prints it. Pure. It tells which tables the
 * dump holds and which of them it holds rows for: `pg-dump-args` such as `--exclude-table`,
 * `--schema` or `--exclude-table-data` leave tables out of the archive that the manifest still
 * counted, and those must not fail a restore.
 */
const toc_ENTRY = /^\d+; \d+ \d+ (.+)$/;
function parseToc(listing) {
    const toc = { entries: new Set() };
    for (const line of listing.split('\n')) {
        const entry = toc_ENTRY.exec(line);
        // The owner ends the line (role names with spaces are not supported here).
        if (entry?.[1])
            toc.entries.add(entry[1].slice(0, entry[1].lastIndexOf(' ')));
        else if (line.startsWith(';'))
            readHeaderLine(toc, line);
    }
    return toc;
}
function readHeaderLine(toc, line) {
    const [, label = '', value = ''] = /^;\s+([^:]+):\s*(.*)$/.exec(line) ?? [];
    const version = value.split(' ')[0];
    if (label === 'Dump Version')
        toc.formatVersion = version;
    else if (label === 'Dumped by pg_dump version')
        toc.dumpedBy = version;
    else if (label === 'Dumped from database version')
        toc.dumpedFrom = version;
}
/** Whether the archive has a `kind` entry (`TABLE` or `TABLE DATA`) for the `schema.table` key. */
function hasEntry(toc, kind, key) {
    // pg_restore --list prints names unquoted, with line breaks as spaces (its sanitize_line).
    const listed = (name) => name.replace(/[\r\n]/g, ' ');
    return keyNames(key).some(([schema, table]) => toc.entries.has(`${kind} ${listed(schema)} ${listed(table)}`));
}
/** `"my schema"."a.b"` → [`my schema`, `a.b`]: an identifier as quote_ident writes it. */
const QUOTED_KEY = /^("(?:[^"]|"")*"|[^".]+)\.("(?:[^"]|"")*"|[^".]+)$/;
/**
 * The schema and table a row-count key names. Keys are written as quote_ident writes names; a
 * manifest from before that wrote them bare, so such a key may split at any of its dots.
 */
function keyNames(key) {
    const quoted = QUOTED_KEY.exec(key);
    if (quoted?.[1] && quoted[2]) {
        return [[unquote(quoted[1]), unquote(quoted[2])]];
    }
    const out = [];
    for (let at = key.indexOf('.'); at > 0; at = key.indexOf('.', at + 1)) {
        out.push([key.slice(0, at), key.slice(at + 1)]);
    }
    return out;
}
function unquote(name) {
    return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}
/** A key as manifests before quoted keys wrote it: `schema.table`, names bare. */
function bareKey(key) {
    const names = keyNames(key);
    return names.length === 1 && names[0] ? names[0].join('.') : key;
}

;// CONCATENATED MODULE: ./src/postgres/dump-selection.ts
/**
 * Which tables a dump holds rows of, when `pg-dump-args` select tables: pg_dump itself is asked,
 * with the same patterns, in the same snapshot, for a schema-only table of contents, so exact
 * row counts never scan a table the dump leaves out, whatever the patterns' spelling.
 */

/** The selecting options, passed on to the schema-only probe as given. */
const SELECTING = new Set([
    'table',
    'exclude-table',
    'table-and-children',
    'exclude-table-and-children',
    'schema',
    'exclude-schema',
    'extension',
    'exclude-extension',
    'filter',
    'strict-names',
]);
/** Leaving a table's rows out selects like leaving the table out, for counting. */
const DATA_EXCLUDING = {
    'exclude-table-data': 'exclude-table',
    'exclude-table-data-and-children': 'exclude-table-and-children',
};
/** Options after which the dump holds no rows at all. */
const NO_DATA = new Set(['schema-only', 'no-data', 'statistics-only']);
function dumpSelection(args) {
    const probe = [];
    let noData = false;
    let noUnloggedData = false;
    const sections = new Set();
    for (const { option, value } of resolvePgDumpArgs(args)) {
        const name = option?.long;
        if (name === undefined)
            continue;
        const as = DATA_EXCLUDING[name] ?? name;
        if (SELECTING.has(as))
            probe.push(value === undefined ? `--${as}` : `--${as}=${value}`);
        if (NO_DATA.has(name))
            noData = true;
        if (name === 'no-unlogged-table-data')
            noUnloggedData = true;
        if (name === 'section' && value !== undefined)
            sections.add(value);
    }
    if (sections.size > 0 && !sections.has('data'))
        noData = true;
    return { probe: probe.length > 0 ? probe : undefined, noData, noUnloggedData };
}

;// CONCATENATED MODULE: ./src/postgres/dump.ts
/**
 * The postgres source: pg_dump in custom format inside an exported snapshot, with row counts taken
 * in that same snapshot, so the counts describe exactly the rows the dump holds.
 */






/**
 * The plan for one database, once the server's version and the pg_dump for it are settled: its
 * own connection (for its snapshot and row counts) and its size.
 */
async function planDump(target, program, signal) {
    const client = await connect(target, signal);
    try {
        return { program, databaseBytes: await databaseSize(client), client };
    }
    catch (error) {
        await client.end().catch(() => undefined);
        throw error;
    }
}
/**
 * Every custom-format archive begins with these bytes: anything else (a plain-text dump, a
 * message) is no backup and is never published. Checked where Node reads pg_dump's output, and
 * from the start of the zstd program's output where that program reads pg_dump directly; only
 * behind the age program, whose output Node cannot open, do the guards on pg-dump-args alone
 * keep the format.
 */
const CUSTOM_FORMAT = {
    prefix: Buffer.from('PGDMP'),
    failure: 'pg_dump wrote something other than a custom-format archive (it does not begin with PGDMP); nothing was published',
};
/** pg_dump of `target` in a snapshot the plan's connection exports and keeps until the dump ends. */
async function openDumpSource(settings, target, plan) {
    let snapshot;
    try {
        await plan.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const { rows } = await plan.client.query('SELECT pg_export_snapshot() AS id');
        snapshot = rows[0]?.id ?? '';
    }
    catch (error) {
        await plan.client.end().catch(() => undefined);
        throw error;
    }
    return new DumpSource(settings, target, plan, snapshot);
}
class DumpSource {
    target;
    plan;
    sizeEstimate;
    args;
    /** The row counts, taken beside the dump in its snapshot. */
    counts;
    /** The programs that list which tables the dump selects: stopped with pg_dump. */
    probes = [];
    started;
    /** Made when first asked for: guarding starts reading, and a compressor may read pg_dump instead. */
    guarded;
    closed = false;
    constructor(settings, target, plan, snapshot) {
        this.target = target;
        this.plan = plan;
        this.sizeEstimate = plan.databaseBytes;
        this.args = [
            '--format=custom',
            '--compress=0',
            '--no-password',
            `--snapshot=${snapshot}`,
            ...settings.pgDumpArgs,
            `--dbname=${connectionString(target)}`,
        ];
        this.counts = dump_countRows(plan.client, settings.rowCounts, () => dumpedRows(plan.program, target, snapshot, settings.pgDumpArgs, this.probes));
        this.counts.catch(() => undefined);
    }
    get output() {
        if (this.guarded)
            return this.guarded;
        const { child, dumped } = this.dump();
        return (this.guarded = guardedStdout(child.stdout, dumped, CUSTOM_FORMAT));
    }
    direct() {
        const { child, dumped } = this.dump();
        return { stdout: child.stdout, succeeded: dumped, expected: CUSTOM_FORMAT };
    }
    async finished() {
        await this.dump().dumped;
        const facts = await this.counts;
        await this.plan.client.query('COMMIT');
        return facts;
    }
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        if (this.started)
            stopIfRunning(this.started.child);
        this.probes.forEach(stopIfRunning);
        await this.started?.exit.catch(() => undefined);
        await this.plan.client.end().catch(() => undefined);
    }
    /**
     * pg_dump starts when its bytes are first taken, by Node or by a compressor program: Node
     * drains and drops the unread stdout of a program that has finished, so a small database
     * dumped while the run still waited (finding programs, opening the file, another job's work)
     * would be lost.
     */
    dump() {
        if (!this.started) {
            const { child, exit } = start(this.plan.program, this.args, libpqEnv(this.target));
            // One outcome, handled here: a run failing before anyone reads it keeps its own cause.
            const dumped = succeeded('pg_dump', exit);
            dumped.catch(() => undefined);
            this.started = { child, exit, dumped };
        }
        return this.started;
    }
}
async function dump_countRows(client, mode, dumped) {
    if (mode === 'off')
        return {};
    const only = await dumped();
    // A count that fails (a table the role may not read) must not end the transaction whose
    // snapshot pg_dump imports: pg_dump would then fail with "could not import the requested
    // snapshot" instead of saying what is wrong.
    await client.query('SAVEPOINT row_counts');
    try {
        // The counts run beside the dump and finish long before it: parallel workers would only take
        // cores from pg_dump and zstd, costing more CPU for the same counts.
        if (mode === 'exact')
            await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
        const rowCounts = mode === 'exact'
            ? await exactRowCounts(client, only)
            : await estimatedRowCounts(client, only);
        await client.query('RELEASE SAVEPOINT row_counts');
        return { rowCounts, rowCountsMode: mode };
    }
    catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT row_counts').catch(() => undefined);
        throw error;
    }
}
/**
 * The user tables whose rows the dump holds, as pg_dump resolves pg-dump-args (undefined: all):
 * counting a table the dump leaves out would only cost a scan of it.
 */
async function dumpedRows(program, target, snapshot, pgDumpArgs, probes) {
    const selection = dumpSelection(pgDumpArgs);
    if (selection.noData)
        return () => false;
    const listed = selection.probe
        ? await listDumpedTables(program, target, snapshot, selection.probe, probes)
        : undefined;
    if (!listed && !selection.noUnloggedData)
        return undefined;
    return (table) => (!listed || hasEntry(listed, 'TABLE', table.key)) &&
        !(selection.noUnloggedData && table.unlogged);
}
/**
 * pg_dump's own answer to which tables the patterns select: a schema-only archive in the same
 * snapshot, listed by the pg_restore beside it. Undefined when it cannot be had (no pg_restore
 * there): every table is then counted, as pg-dump-args were not resolved.
 */
async function listDumpedTables(program, target, snapshot, probe, probes) {
    const env = libpqEnv(target);
    const dump = start(program, [
        '--schema-only',
        '--format=custom',
        '--no-password',
        `--snapshot=${snapshot}`,
        ...probe,
        `--dbname=${connectionString(target)}`,
    ], env);
    const pgRestore = { ...program, path: external_node_path_default().join(external_node_path_default().dirname(program.path), 'pg_restore') };
    const list = start(pgRestore, ['--list'], env, dump.child.stdout);
    // pg_restore has its own copy of the pipe; this one would keep pg_dump's run from closing.
    dump.child.stdout.destroy();
    probes.push(dump.child, list.child);
    let listing = '';
    list.child.stdout.setEncoding('utf8');
    list.child.stdout.on('data', (text) => (listing += text));
    const [dumped, listed] = await Promise.allSettled([dump.exit, list.exit]);
    const ok = (ended) => ended.status === 'fulfilled' && ended.value.code === 0;
    return ok(dumped) && ok(listed) ? parseToc(listing) : undefined;
}

;// CONCATENATED MODULE: ./src/kinds/database/dump.ts


/** pg_dump or pg_dumpall for `server`, found before anything is stored. */
function dumpProgram(name, server, client, ctx) {
    const what = `the PostgreSQL ${server.version} server it must dump`;
    return clientProgram(name, { oldest: server.major, what }, client, ctx);
}
/**
 * One database's dump as a part of a backup, made when its turn comes: its own connection
 * exports the snapshot pg_dump reads and counts the rows in it.
 */
function dumpPart(settings, target, pgDump, key) {
    return {
        key,
        open: async (signal) => openDumpSource(settings, target, await planDump(target, pgDump, signal)),
    };
}
function serverFact(manifest) {
    const server = manifest.source.serverVersion ?? '?';
    return ['Server', `PostgreSQL ${server}, pg_dump ${manifest.dump?.version ?? '?'}`];
}

;// CONCATENATED MODULE: ./src/postgres/replace.ts
/**
 * `restore` with `clean: true` as a replacement that cannot leave a mix: the backup is restored
 * into a new database beside the target, checked, and swapped in by renaming both in one
 * transaction; the old database is dropped after. The target is not touched before the swap, so a
 * run that fails or is killed at any point leaves under the target's name either the old database
 * or the new one, whole. What a killed run leaves beside it is marked by its comment (never known
 * by its name alone, which a user's database could share) and dropped by the next run.
 */





/**
 * A mark names the target, and the name and oid the database had when marked: a rename (a user's
 * rollback to the old database) or the comment copied onto another database no longer matches,
 * so no database is ever dropped for its comment alone, nor for its name.
 */
const SIDE_MARK = (target, name, oid) => `backup-action: unfinished restore into ${quoteIdent(target)}, made as ${quoteIdent(name)} (oid ${oid}); dropped by its next restore`;
const OLD_MARK = (target, name, oid) => `backup-action: ${quoteIdent(target)} as it was before a restore replaced it, renamed ${quoteIdent(name)} (oid ${oid}); dropped by its next restore`;
/** `<target>_restore_<hex>` and `<target>_old_<hex>`, the target's name cut to fit 63 bytes. */
function replacementNames(target, hex) {
    const named = (kind) => {
        const suffix = `_${kind}_${hex}`;
        return `${cutToBytes(target, 63 - Buffer.byteLength(suffix))}${suffix}`;
    };
    return { side: named('restore'), old: named('old') };
}
/** The longest start of `text` of at most `bytes` UTF-8 bytes that splits no character. */
function cutToBytes(text, bytes) {
    let out = '';
    for (const char of text) {
        if (Buffer.byteLength(out + char) > bytes)
            break;
        out += char;
    }
    return out;
}
/**
 * Checks, before anything is restored, what the swap needs: CREATEDB, the target's ownership
 * (renaming and dropping it), and no other session on the target; then drops what interrupted
 * runs left beside it.
 */
async function prepareReplacement(target, log, signal) {
    const server = await maintenanceDatabase(target, signal);
    return withConnection(server, async (client) => {
        const { rows } = await client.query(`SELECT current_user AS role, r.rolsuper OR r.rolcreatedb AS may,
              pg_has_role(current_user, d.datdba, 'MEMBER') AS owns
         FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = $1`, [target.database]);
        const role = rows[0];
        if (role && !role.may) {
            throw new Error(`clean: true restores into a new database and swaps it in, which needs CREATEDB; the role ${role.role} lacks it (ALTER ROLE ${quoteIdent(role.role)} CREATEDB)`);
        }
        if (role && !role.owns) {
            throw new Error(`clean: true swaps the restored database in by renaming ${target.database}, which needs its owner's rights; the role ${role.role} is not a member of its owner`);
        }
        await refuseOtherSessions(client, target.database);
        await sweepLeftovers(client, server, target.database, log);
        const { side, old } = replacementNames(target.database, (0,external_node_crypto_.randomBytes)(3).toString('hex'));
        return {
            server,
            target,
            side,
            old,
            properties: await readProperties(client, target.database),
        };
    }, signal);
}
/** The server's `postgres` database (else template1): somewhere to stand while renaming. */
async function maintenanceDatabase(target, signal) {
    const candidates = ['postgres', 'template1'].filter((name) => name !== target.database);
    let failure;
    for (const name of candidates) {
        const server = withDatabase(target, name);
        try {
            const client = await connect(server, signal);
            await client.end().catch(() => undefined);
            return server;
        }
        catch (error) {
            failure = error;
        }
    }
    throw failure;
}
/** Names each session on the database, for a message that says whose they are. */
async function otherSessions(client, database) {
    const { rows } = await client.query(`SELECT format('pid %s%s%s%s', pid, coalesce(' by ' || usename, ''),
                   CASE WHEN application_name <> '' THEN format(' (%s)', application_name) ELSE '' END,
                   coalesce(' from ' || host(client_addr), '')) AS line
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY pid`, [database]);
    return rows.map((row) => row.line);
}
async function refuseOtherSessions(client, database) {
    // A session that just closed (this run's own look at the target) lingers a moment.
    let sessions = await otherSessions(client, database);
    for (let tries = 0; sessions.length > 0 && tries < 10; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        sessions = await otherSessions(client, database);
    }
    if (sessions.length === 0)
        return;
    const listed = sessions.slice(0, 5).join('; ') + (sessions.length > 5 ? '; …' : '');
    throw new Error(`${sessions.length} other session(s) are connected to ${database} (${listed}); clean: true replaces the database whole and needs it to itself: stop them and run again`);
}
/**
 * Drops the side and old databases interrupted runs left for this target: only those whose mark
 * matches their own name and oid, never the target. A database named like ours but not so marked
 * (a user's `shop_old_202401`, a side database a kill left before its mark) is only named.
 */
async function sweepLeftovers(client, server, target, log) {
    const { rows } = await client.query(`SELECT oid::int AS oid, datname AS name, shobj_description(oid, 'pg_database') AS mark
       FROM pg_database
      WHERE datname <> $1 AND datname <> current_database()
        AND oid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = $1)
      ORDER BY 2`, [target]);
    const shown = database_names_printableName(target);
    for (const { oid, name, mark } of rows) {
        const found = database_names_printableName(name);
        if (mark === OLD_MARK(target, name, oid)) {
            log.warning(`dropping ${found}, the old ${shown} that an interrupted restore replaced`);
        }
        else if (mark === SIDE_MARK(target, name, oid)) {
            log.warning(`dropping ${found}, the unfinished new database of an interrupted restore into ${shown}`);
        }
        else {
            if (looksLeftBehind(target, name, mark))
                log.warning(`${found} looks like a restore's database beside ${shown}, but is not marked as this one: left alone (drop it yourself if it is not yours)`);
            continue;
        }
        await dropDatabase(server, name);
    }
}
/** Named like a side or old database of the target, or carrying a mark for it meant for another. */
function looksLeftBehind(target, name, mark) {
    const names = replacementNames(target, name.slice(-6));
    return (name === names.side ||
        name === names.old ||
        (mark?.startsWith(`backup-action: `) === true && mark.includes(quoteIdent(target))));
}
/** The target's database-level properties, read so that its replacement keeps them. */
async function readProperties(client, database) {
    const { major } = await serverVersion(client);
    const { rows } = await client.query(`SELECT to_jsonb(d) || jsonb_build_object(
              'owner', pg_get_userbyid(d.datdba), 'enc', pg_encoding_to_char(d.encoding),
              'comment', shobj_description(d.oid, 'pg_database')) AS d
       FROM pg_database d WHERE d.datname = $1`, [database]);
    const d = rows[0]?.d ?? {};
    const { rows: grants } = await client.query(`SELECT format('GRANT %s ON DATABASE %%DB%% TO %s%s', a.privilege_type,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS grant
       FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1`, [database]);
    const { rows: settings } = await client.query(`SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role,
            s.setconfig AS config
       FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1`, [database]);
    return {
        createOptions: createOptions(d, major),
        grants: d.datacl === null ? undefined : grants.map((row) => row.grant),
        comment: typeof d.comment === 'string' ? d.comment : null,
        settings: settings.flatMap(({ role, config }) => config.map((item) => {
            const at = item.indexOf('=');
            return { role, name: item.slice(0, at), value: item.slice(at + 1) };
        })),
    };
}
/** The target's owner, encoding, locale and connection limit, as CREATE DATABASE options. */
function createOptions(d, major) {
    const text = (value) => literal(String(value));
    const options = [
        `OWNER ${quoteIdent(String(d.owner))}`,
        `ENCODING ${text(d.enc)}`,
        `LC_COLLATE ${text(d.datcollate)}`,
        `LC_CTYPE ${text(d.datctype)}`,
        `CONNECTION LIMIT ${Number(d.datconnlimit ?? -1)}`,
    ];
    if (major >= 15) {
        const provider = { c: 'libc', i: 'icu', b: 'builtin' }[String(d.datlocprovider)] ?? 'libc';
        options.push(`LOCALE_PROVIDER ${provider}`);
        // 15 and 16 call it daticulocale; 17 datlocale, for icu and builtin alike.
        const locale = d.datlocale ?? d.daticulocale;
        if (provider === 'icu' && locale)
            options.push(`ICU_LOCALE ${text(locale)}`);
        if (provider === 'builtin' && locale)
            options.push(`BUILTIN_LOCALE ${text(locale)}`);
        if (provider === 'icu' && d.daticurules)
            options.push(`ICU_RULES ${text(d.daticurules)}`);
    }
    return options.join(' ');
}
/** The side database, with the target's properties and a comment that marks it as ours. */
async function createSide(replacement) {
    const { server, side, target, properties } = replacement;
    await withConnection(server, async (client) => {
        // A run killed while the server copies the new database would leave it unmarked, and so
        // never dropped: the server is told to stop the copy once it sees the run gone (14+).
        await client
            .query(`SELECT set_config('client_connection_check_interval', '50', false)`)
            .catch(() => undefined);
        await client.query(`CREATE DATABASE ${quoteIdent(side)} TEMPLATE template0 ${properties.createOptions}`);
        const oid = await oidOf(client, side);
        await client.query(`COMMENT ON DATABASE ${quoteIdent(side)} IS ${literal(SIDE_MARK(target.database, side, oid))}`);
        if (properties.grants) {
            await client.query(`REVOKE ALL ON DATABASE ${quoteIdent(side)} FROM PUBLIC`);
            // A function: the name may hold `$&` or `$'`, which a replacement string would expand.
            for (const grant of properties.grants) {
                await client.query(grant.replace('%DB%', () => quoteIdent(side)));
            }
        }
        for (const setting of properties.settings)
            await copySetting(client, side, setting);
    });
}
/**
 * The setting as stored (a list such as search_path is one flattened text), set in this
 * transaction and stored FROM CURRENT: no quoting of its value to get wrong.
 */
async function copySetting(client, database, { role, name, value }) {
    const on = role === null
        ? `DATABASE ${quoteIdent(database)}`
        : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)}`;
    await client.query('BEGIN');
    try {
        await client.query('SELECT set_config($1, $2, true)', [name, value]);
        await client.query(`ALTER ${on} SET ${quoteIdent(name)} FROM CURRENT`);
        await client.query('COMMIT');
    }
    catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`cannot give the new database the target's setting ${name}: ${error.message}`);
    }
}
async function oidOf(client, database) {
    const { rows } = await client.query('SELECT oid::int AS oid FROM pg_database WHERE datname = $1', [database]);
    const oid = rows[0]?.oid;
    if (oid === undefined)
        throw new Error(`the database ${database_names_printableName(database)} vanished while it was marked`);
    return oid;
}
function literal(text) {
    return `'${text.replace(/'/g, "''")}'`;
}
/**
 * Renames the target to the old name and the side database to the target's, in one transaction,
 * which also gives the new database its comment: the backup's when given, else the target's own.
 */
async function swapIn(replacement, comment) {
    const { server, target, side, old } = replacement;
    await withConnection(server, async (client) => {
        await client.query('BEGIN');
        try {
            await client.query(`ALTER DATABASE ${quoteIdent(target.database)} RENAME TO ${quoteIdent(old)}`);
            await client.query(`ALTER DATABASE ${quoteIdent(side)} RENAME TO ${quoteIdent(target.database)}`);
            const own = replacement.properties.comment;
            await client.query(comment?.sql(target.database) ??
                `COMMENT ON DATABASE ${quoteIdent(target.database)} IS ${own === null ? 'NULL' : literal(own)}`);
            const oid = await oidOf(client, old);
            await client.query(`COMMENT ON DATABASE ${quoteIdent(old)} IS ${literal(OLD_MARK(target.database, old, oid))}`);
            await client.query('COMMIT');
        }
        catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            const sessions = await otherSessions(client, target.database).catch(() => []);
            const who = sessions.length > 0 ? ` (sessions on it: ${sessions.slice(0, 5).join('; ')})` : '';
            throw new Error(`cannot swap the restored database in for ${target.database}: ${error.message}${who}`);
        }
    });
}

;// CONCATENATED MODULE: ./src/restore/compare.ts
/** Row counts after a restore against the counts recorded at backup time. Pure. */





const FAILING = new Set(['differs', 'missing', 'unexpected']);
/** Every table in either list, sorted by name, with the tables that differ. */
/** The manifest's row counts, when they are exact: estimates are no standard for a restore. */
function exactCounts(part) {
    return part.backup.rowCountsMode === 'exact' ? part.rowCounts : undefined;
}
function compareCounts(recorded, foundIn, options) {
    // Without a prototype, a key such as `constructor` is a table like any other, never a function.
    const found = countsMap(Object.entries(foundIn));
    const expected = withCurrentKeys(recorded, found);
    const toc = trustedToc(expected, found, options);
    const names = [...new Set([...Object.keys(expected), ...Object.keys(found)])].sort();
    const tables = names.map((table) => {
        const row = { table, expected: expected[table], found: found[table] };
        return { ...row, status: statusOf(row, toc, options.strangersFail) };
    });
    return { tables, differing: tables.filter((row) => FAILING.has(row.status)) };
}
/**
 * The restored counts against the manifest's exact ones (or against themselves, when it has none);
 * a manifest counting a table its archive does not hold is refused as corrupt.
 */
function compareWithManifest(part, found, options) {
    const comparison = compareCounts(exactCounts(part) ?? found, found, options);
    refuseCountsOutsideArchive(comparison, manifestKey(part.backup.name, part.backup.id));
    return comparison;
}
/**
 * A count for a table the archive does not hold: the backup never counts what its dump leaves
 * out, so the manifest is not the one the backup wrote (hand-edited, or another's).
 */
function refuseCountsOutsideArchive(comparison, manifestKey) {
    const outside = comparison.tables.filter((row) => row.status === 'not-in-archive');
    if (outside.length === 0)
        return;
    const named = outside.slice(0, 5).map((row) => row.table);
    const more = outside.length > named.length ? `, and ${outside.length - named.length} more` : '';
    throw new ManifestError(manifestKey, `rowCounts counts ${outside.length} table(s) the archive does not hold: ${named.join(', ')}${more}`);
}
/**
 * A manifest written before keys were quoted names `public.x.y` what is now `public."x.y"`: each
 * such key takes the quoted key of the one restored table it can mean. A key that could mean two
 * tables, or whose table the manifest also names quoted, stays as it was (and fails the compare).
 */
function withCurrentKeys(expected, found) {
    const byBareKey = new Map();
    for (const key of Object.keys(found)) {
        const bare = bareKey(key);
        byBareKey.set(bare, [...(byBareKey.get(bare) ?? []), key]);
    }
    const out = countsMap([]);
    for (const [key, count] of Object.entries(expected)) {
        const candidates = key in found ? [] : (byBareKey.get(key) ?? []);
        const current = candidates.length === 1 ? candidates[0] : undefined;
        out[current !== undefined && !(current in expected) ? current : key] = count;
    }
    return out;
}
/**
 * The table of contents, when it accounts for the tables restored from it; a listing this code
 * cannot read (an owner name with spaces) must not excuse tables from the comparison.
 */
function trustedToc(expected, found, options) {
    const { toc, strangersFail } = options;
    if (!toc)
        return undefined;
    const fromArchive = Object.keys(found).filter((table) => strangersFail || table in expected);
    return fromArchive.every((table) => hasEntry(toc, 'TABLE', table)) ? toc : undefined;
}
function statusOf(row, toc, strangersFail) {
    const { table, expected, found } = row;
    if (toc && !hasEntry(toc, 'TABLE', table)) {
        return found === undefined ? 'not-in-archive' : 'not-in-backup';
    }
    if (toc && !hasEntry(toc, 'TABLE DATA', table))
        return 'data-not-dumped';
    if (found === undefined)
        return 'missing';
    if (expected === undefined)
        return strangersFail || toc ? 'unexpected' : 'not-in-backup';
    return expected === found ? 'match' : 'differs';
}
/** `sales.orders: expected 3000, found 0` / `… missing after restore` / `… not in the manifest`. */
function describeDifference(row) {
    const table = database_names_printableName(row.table);
    if (row.found === undefined)
        return `${table}: expected ${row.expected}, missing after restore`;
    if (row.expected === undefined)
        return `${table}: found ${row.found}, not in the manifest`;
    return `${table}: expected ${row.expected}, found ${row.found}`;
}
/** One line for the failure: the first few tables that differ, with expected and found. */
function differenceLine(differing, shown = 5) {
    const listed = differing.slice(0, shown).map(describeDifference).join(', ');
    const more = differing.length > shown ? `, and ${differing.length - shown} more` : '';
    return `${differing.length} table(s) differ from the manifest: ${listed}${more}`;
}
const VERDICT = {
    match: '✅',
    differs: '❌',
    missing: '❌ missing',
    unexpected: '❌ not in the manifest',
    'not-in-archive': '❌ not in the archive',
    'data-not-dumped': 'rows not in the dump',
    'not-in-backup': 'not in the backup, left as it was',
};
/**
 * The summary's table of row counts: every table, or beyond `limit` tables only those that are
 * not plain matches; a totals line last.
 */
function countsTable(comparison, limit = 60) {
    const { tables } = comparison;
    const shown = tables.length > limit ? tables.filter((row) => row.status !== 'match') : [...tables];
    const title = shown.length === tables.length
        ? 'Row counts: restored vs manifest'
        : shown.length === 0
            ? `Row counts: all ${(0,format/* formatCount */.B4)(tables.length)} tables match the manifest`
            : `Row counts: the ${shown.length} of ${(0,format/* formatCount */.B4)(tables.length)} tables that do not simply match`;
    const cell = (n) => (n === undefined ? '—' : (0,format/* formatCount */.B4)(n));
    const rows = shown.map((row) => [
        row.table,
        cell(row.expected),
        cell(row.found),
        VERDICT[row.status],
    ]);
    const total = (pick) => tables.reduce((sum, row) => sum + (pick(row) ?? 0), 0);
    const compared = (row) => row.status === 'match' || FAILING.has(row.status) ? row.expected : 0;
    rows.push([
        `all ${(0,format/* formatCount */.B4)(tables.length)} tables`,
        (0,format/* formatCount */.B4)(total(compared)),
        (0,format/* formatCount */.B4)(total((row) => (row.status === 'not-in-backup' ? 0 : row.found))),
        comparison.differing.length === 0 ? '✅' : `❌ ${comparison.differing.length} differ`,
    ]);
    return { title, header: ['table', 'manifest', 'restored', ''], rows };
}

;// CONCATENATED MODULE: ./src/postgres/roles.ts
/**
 * The roles an archive's SQL names: owners (ALTER … OWNER TO, SET SESSION AUTHORIZATION, default
 * privileges FOR ROLE), which the restoring role must be able to act as, and grantees (GRANT …
 * TO, REVOKE … FROM), which must exist. Read from `pg_restore --schema-only` output, where
 * pg_dump writes each of these statements on one line. Pure.
 */
const TOKEN = /"(?:[^"]|"")*"|[^\s,;()"]+|[,;()]/g;
function emptyRoles() {
    return { owners: new Set(), grantees: new Set() };
}
/** Adds the roles one line of the script names. */
function addRolesOf(line, roles) {
    if (!/^(ALTER|GRANT|REVOKE|SET SESSION AUTHORIZATION) /.test(line) || !line.endsWith(';')) {
        return;
    }
    const tokens = line.match(TOKEN) ?? [];
    if (tokens[0] === 'SET') {
        addRole(roles.owners, tokens[3]);
        return;
    }
    if (tokens[0] === 'ALTER' && tokens[1] === 'DEFAULT') {
        const forRole = tokens.indexOf('ROLE');
        if (tokens[forRole - 1] === 'FOR')
            addRole(roles.owners, tokens[forRole + 1]);
        addGrantees(tokens.slice(tokens.findIndex((t) => t === 'GRANT' || t === 'REVOKE')), roles);
        return;
    }
    if (tokens[0] === 'ALTER') {
        if (tokens.at(-4) === 'OWNER' && tokens.at(-3) === 'TO')
            addRole(roles.owners, tokens.at(-2));
        return;
    }
    addGrantees(tokens, roles);
}
/** `GRANT … TO a, "b c" [WITH GRANT OPTION];` or `REVOKE … FROM a;` */
function addGrantees(tokens, roles) {
    const keyword = tokens[0] === 'GRANT' ? 'TO' : tokens[0] === 'REVOKE' ? 'FROM' : undefined;
    if (!keyword)
        return;
    const from = tokens.lastIndexOf(keyword);
    if (from < 0)
        return;
    for (const token of tokens.slice(from + 1)) {
        if (token === 'WITH' || token === 'GRANTED' || token === ';')
            break;
        if (token !== ',' && token !== 'PUBLIC')
            addRole(roles.grantees, token);
    }
}
function addRole(into, token) {
    if (!token || token === ';' || token === ',')
        return;
    into.add(token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token);
}

;// CONCATENATED MODULE: ./src/postgres/sql-lines.ts
/**
 * Which lines of a SQL script (pg_restore's output) start outside any quoted text: a comment,
 * a function body or a name may hold a line that reads like a statement of its own. Follows
 * PostgreSQL's lexer for what spans lines: '…' (with '' inside), E'…' (with backslash escapes),
 * dollar quotes $tag$…$tag$, "…" names (with "" inside), and -- comments, which end with the line.
 * Pure.
 */
// Sticky, and characters looked at by index: a line of a hostile comment may be megabytes long.
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const WORD = /[A-Za-z0-9_$]/;
class ScriptLines {
    inside = { kind: 'out' };
    /** Whether `line` starts outside quoted text; reads it for the lines after it. */
    next(line) {
        const startsOutside = this.inside.kind === 'out';
        this.read(line);
        return startsOutside;
    }
    read(line) {
        let at = 0;
        while (at < line.length)
            at = this.step(line, at);
    }
    /** Reads from `at` and returns where reading goes on. */
    step(line, at) {
        const inside = this.inside;
        if (inside.kind === 'dollar') {
            const end = line.indexOf(inside.tag, at);
            if (end < 0)
                return line.length;
            this.inside = { kind: 'out' };
            return end + inside.tag.length;
        }
        if (inside.kind === 'name')
            return this.closing(line, at, '"', false);
        if (inside.kind === 'quote')
            return this.closing(line, at, "'", inside.escapes);
        return this.outside(line, at);
    }
    outside(line, at) {
        const char = line[at];
        if (char === '-' && line[at + 1] === '-')
            return line.length;
        const before = line[at - 1] ?? '';
        if (char === '"')
            this.inside = { kind: 'name' };
        else if (char === "'") {
            // E'…' takes backslash escapes; an identifier ending in e (name') does not start one.
            const escapes = (before === 'E' || before === 'e') && !WORD.test(line[at - 2] ?? '');
            this.inside = { kind: 'quote', escapes };
        }
        else if (char === '$' && !/[A-Za-z0-9_]/.test(before)) {
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
    closing(line, at, quote, escapes) {
        for (let i = at; i < line.length; i++) {
            if (escapes && line[i] === '\\') {
                i++;
                continue;
            }
            if (line[i] !== quote)
                continue;
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

;// CONCATENATED MODULE: ./src/postgres/database-settings.ts
/**
 * The source database's settings and comment, read off the archive and applied to the database
 * restored into: pg_restore restores them only with --create, which both restore modes cannot use
 * (the database they restore into is not the source's, nor named like it).
 */





/** The DATABASE entry (its owner) and the database's settings, comment and privileges. */
const DATABASE_ENTRY = /^\d+; \d+ \d+ (DATABASE|DATABASE PROPERTIES|COMMENT|ACL) - /;
/**
 * The script pg_restore --create prints for the archive's database-level entries, found in its
 * `pg_restore --list --create` listing: the source database's owner (databaseOwner), settings,
 * comment and privileges (databaseStatements); empty when the archive has none.
 */
async function archiveDatabaseScript(pgRestore, file, listing) {
    const entries = listing
        .split('\n')
        .filter((line) => DATABASE_ENTRY.test(line) && / DATABASE /.test(line));
    if (entries.length === 0)
        return '';
    // The list file sits beside the archive, in its private folder.
    const list = external_node_path_default().join(external_node_path_default().dirname(file), 'database-entries.list');
    await (0,promises_.writeFile)(list, `${entries.join('\n')}\n`, { mode: 0o600 });
    return output(pgRestore, ['--create', `--use-list=${list}`, '--file=-', file]);
}
/**
 * The statements a restore applies: settings and comment with restore-database-settings, the
 * database's privileges wherever owners and privileges are restored (never without the roles).
 */
function wantedStatements(statements, wanted) {
    return statements.filter((statement) => statement.kind === 'privilege' ? wanted.privileges : wanted.settings);
}
async function output(program, args) {
    const { child, exit } = start(program, args, process.env);
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (text += chunk));
    const ended = await exit;
    if (ended.code !== 0)
        throw new Error(failureLine(`pg_restore ${args[0] ?? ''}`, ended));
    return text;
}
/**
 * Applies each statement to `database` through `server` (any database of the server), each on its
 * own: one the server refuses is reported, not fatal, as with owners whose roles are missing.
 */
async function applyDatabaseStatements(server, database, statements) {
    if (statements.length === 0)
        return [];
    return withConnection(server, async (client) => {
        const applied = [];
        for (const statement of statements) {
            try {
                await client.query(statement.sql(database));
                applied.push({ statement });
            }
            catch (error) {
                applied.push({ statement, error: (0,errors/* errorMessage */.gJ)(error) });
            }
        }
        return applied;
    });
}
/**
 * The archive's settings, comment and privileges that the restored database does not have:
 * settings compared by role and parameter name (the server normalizes values), the comment by its
 * presence, a template by datistemplate, a GRANT by each privilege being held and a REVOKE by each being absent.
 */
async function missingDatabaseStatements(server, database, statements) {
    if (statements.length === 0)
        return [];
    return withConnection(server, async (client) => {
        const { rows } = await client.query(`SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role,
              split_part(c.item, '=', 1) AS name
         FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase,
              unnest(s.setconfig) AS c(item)
        WHERE d.datname = $1`, [database]);
        const { rows: comments } = await client.query(`SELECT shobj_description(oid, 'pg_database') AS comment, datistemplate AS template
         FROM pg_database WHERE datname = $1`, [database]);
        const unheld = unheldPrivileges(statements, await heldPrivileges(client, database));
        const present = new Set(rows.map((row) => `${row.role ?? ''}\u0000${row.name.toLowerCase()}`));
        return statements.filter((statement) => {
            const { kind, setting } = statement;
            if (kind === 'comment')
                return (comments[0]?.comment ?? null) === null;
            if (kind === 'template')
                return comments[0]?.template !== true;
            if (kind === 'privilege')
                return unheld.has(statement);
            return !present.has(`${setting?.role ?? ''}\u0000${setting?.name.toLowerCase() ?? ''}`);
        });
    });
}
/** `grantee\0PRIVILEGE` for each privilege the database's ACL gives (PUBLIC's grantee empty). */
async function heldPrivileges(client, database) {
    const { rows } = await client.query(`SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege
       FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
      WHERE d.datname = $1`, [database]);
    return new Set(rows.map((row) => `${row.grantee}\u0000${row.privilege}`));
}
/**
 * The privilege statements whose effect the database does not show. pg_dump writes them as
 * changes to the default in order (`REVOKE CONNECT,TEMPORARY … FROM PUBLIC; GRANT TEMPORARY … TO
 * PUBLIC`): each grantee's privilege is judged by the last statement about it.
 */
function unheldPrivileges(statements, held) {
    const last = new Map();
    for (const statement of statements) {
        const { grantees = [], privileges = [] } = statement.privilege ?? {};
        for (const grantee of grantees) {
            for (const name of privileges)
                last.set(`${grantee ?? ''}\u0000${name}`, statement);
        }
    }
    const unheld = new Set();
    for (const [key, statement] of last) {
        if (held.has(key) !== statement.privilege?.grant)
            unheld.add(statement);
    }
    return unheld;
}

;// CONCATENATED MODULE: ./src/restore/archive.ts
/**
 * The backup's archive as one local file, which `pg_restore --jobs` needs (it seeks): downloaded,
 * its every stored byte checked against the manifest, decrypted and decompressed into a private
 * temporary folder, read back with `pg_restore --list` before any database is touched, and removed
 * once pg_restore is through with it, or at the end, pass or fail. A run killed outright cannot
 * remove it: the next run removes the folders of runs that have ended before it makes its own
 * (process/run-folders.ts).
 */


















const DOWNLOAD_PHASE = 'download, verify, decrypt, decompress';
const ARCHIVE_FILE = 'archive.dump';
function startDownload(ctx, part, keys, phases) {
    const stopper = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stopper.signal]);
    const folder = makeRunFolder(ctx.env.RUNNER_TEMP || external_node_os_default().tmpdir(), 'backup-action-archive-');
    const written = folder.then((dir) => phases.time(DOWNLOAD_PHASE, () => download({ ...ctx, signal }, part, keys, external_node_path_default().join(dir, ARCHIVE_FILE))));
    // Awaited where the archive is used; a check that fails first reports its own error.
    written.catch(() => undefined);
    return { folder, written, stop: () => stopper.abort() };
}
/** Runs `work`; if it fails, the download is stopped and what it wrote removed before the error. */
async function stopOnFailure(download, work) {
    try {
        return await work();
    }
    catch (error) {
        await discard(download, []);
        throw error;
    }
}
/** Runs `work` on the verified, readable archive, removed afterwards. */
async function withLocalArchive(download, { program: pgRestore }, dumpedBy, work) {
    const readers = [];
    // Awaited where it is used; a run that fails first reports its own error, not this one.
    const read = (reading) => {
        readers.push(reading.catch(() => undefined));
        return reading;
    };
    let removed;
    const removal = () => (removed ??= discard(download, readers));
    try {
        const file = external_node_path_default().join(await download.folder, ARCHIVE_FILE);
        await download.written;
        const listing = await listArchive(pgRestore, file, dumpedBy);
        const toc = parseToc(listing);
        return await work({
            file,
            listing,
            toc,
            databaseScript: read(archiveDatabaseScript(pgRestore, file, listing)),
            schema: read(readArchiveSchema(pgRestore, file, shapeOfToc(toc))),
            // A failure to remove it is the run's own, thrown below.
            remove: () => void removal().catch(() => undefined),
        });
    }
    finally {
        await removal();
    }
}
/** Stops the download and removes its folder once it and the archive's readers have settled. */
async function discard(download, readers) {
    download.stop();
    await Promise.all([download.written.catch(() => undefined), ...readers]);
    // Their pg_restore reads the file being removed.
    const dir = await download.folder.catch(() => undefined);
    if (dir !== undefined)
        await (0,promises_.rm)(dir, { recursive: true, force: true });
}
/** Resolves only once every stored byte matched the manifest's size and sha256. */
async function download(ctx, part, keys, file) {
    // zstd's own program, when there is one, writes the archive itself: its bytes skip Node.
    const zstd = part.backup.compression === 'zstd' ? await findZstdProgram(ctx.env) : undefined;
    try {
        await readObject(ctx.store, part.object, part.backup, keys, (archive) => zstd
            ? zstdToFile(zstd, archive, file, ctx.signal)
            : (0,external_node_stream_promises_.pipeline)(archive, (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 }), { signal: ctx.signal }), ctx.signal, zstd !== undefined);
    }
    catch (error) {
        const full = error.code === 'ENOSPC' ||
            /No space left on device/.test((0,errors/* errorMessage */.gJ)(error));
        if (!full)
            throw error;
        throw new Error(`no space left in ${external_node_path_default().dirname(external_node_path_default().dirname(file))} for the archive (${(0,format/* formatBytes */.z3)(part.object.size)} as stored, more once decompressed); ` +
            'point TMPDIR (or RUNNER_TEMP) at a larger disk');
    }
}
/**
 * The table of contents, with the database-level entries that only --create lists; an archive this
 * pg_restore cannot read fails here, before any database work.
 */
async function listArchive(pgRestore, file, dumpedBy) {
    const { child, exit } = start(pgRestore, ['--list', '--create', file], process.env);
    let listing = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => (listing += text));
    const ended = await exit;
    if (ended.code !== 0) {
        throw new Error(unsupportedFormatLine(ended.stderr, pgRestore, dumpedBy) ??
            `the backup is not an archive pg_restore can read: ${failureLine('pg_restore --list', ended)}`);
    }
    return listing;
}
/** The roles the archive's owners and privileges name, and its shape, from its schema script. */
async function readArchiveSchema(pgRestore, file, shape) {
    const { child, exit } = start(pgRestore, ['--schema-only', '--file=-', file], process.env);
    const schema = { roles: emptyRoles(), shape };
    // A comment or a function body may hold a line that reads like an owner's statement.
    const lines = new ScriptLines();
    for await (const line of (0,external_node_readline_.createInterface)({ input: child.stdout, crlfDelay: Infinity })) {
        if (lines.next(line))
            addRolesOf(line, schema.roles);
        addShapeOf(line, schema.shape);
    }
    const ended = await exit;
    if (ended.code !== 0)
        throw new Error(failureLine('pg_restore --schema-only', ended));
    return schema;
}

;// CONCATENATED MODULE: ./src/restore/pg-restore.ts


/**
 * Finds the pg_restore for the backup's pg_dump (every database of a backup was dumped by the
 * same one) and for `server`, warning when it is older than the one the backup was made from.
 */
async function choosePgRestore(backup, client, ctx, server) {
    const program = await restoreProgram(backup, client, ctx, server);
    const hint = olderServerNote(backup.source.serverVersion, server);
    if (hint)
        ctx.log.warning(hint);
    return { program, hint };
}
/** Restores the local archive into `into`, timed as the run's restore phase. */
function timedPgRestore({ program, hint }, phases, archive, into, options) {
    return phases.time('restore (pg_restore)', async () => {
        const { shape } = await archive.schema;
        const { file, listing } = archive;
        await runPgRestore(program, file, into, { ...options, hint, shape, listing });
    });
}

;// CONCATENATED MODULE: ./src/postgres/database-statements.ts
/**
 * The database's own settings, comment and privileges as the archive holds them: pg_dump writes
 * `ALTER DATABASE … SET …`, `ALTER ROLE … IN DATABASE … SET …`, `COMMENT ON DATABASE …` and
 * `GRANT / REVOKE … ON DATABASE …`, and `ALTER DATABASE … IS_TEMPLATE = true` for a template, into
 * entries that pg_restore prints only with --create, naming the source database. Pure. Each
 * statement is read token by token, so that its database name is replaced where it stands (and
 * quoted as quote_ident does), never by searching the text, which may hold the name anywhere.
 */

/** The settings, comment and privileges in a pg_restore --create script, for the database it creates. */
function databaseStatements(script) {
    const statements = splitStatements(script).map(readStatement);
    const created = statements.find((s) => s?.kind === 'create')?.database;
    return statements.flatMap((statement) => statement && statement.kind !== 'create' && statement.database === created
        ? [statement.statement]
        : []);
}
/**
 * SQL statements, split at semicolons outside quotes ('…' with '' inside, E'…' with backslash
 * escapes, "…"), without comments and without psql's \ command lines (\connect, and the
 * \restrict / \unrestrict that 17.6+ clients write).
 */
function splitStatements(script) {
    const out = [];
    let current = '';
    let at = 0;
    const lineEnd = (from) => {
        const end = script.indexOf('\n', from);
        return end === -1 ? script.length : end + 1;
    };
    while (at < script.length) {
        const char = script[at] ?? '';
        if ((char === '\\' && current.trim() === '') || script.startsWith('--', at)) {
            at = lineEnd(at);
        }
        else if (script.startsWith('/*', at)) {
            const end = script.indexOf('*/', at + 2);
            at = end === -1 ? script.length : end + 2;
            current += ' ';
        }
        else if (char === "'" || char === '"') {
            const end = quotedEnd(script, at, char === "'" && escapeString(script, at));
            current += script.slice(at, end);
            at = end;
        }
        else if (char === ';') {
            if (current.trim())
                out.push(current.trim());
            current = '';
            at += 1;
        }
        else {
            current += char;
            at += 1;
        }
    }
    if (current.trim())
        out.push(current.trim());
    return out;
}
/** Whether the string at `start` is an E'…' string: an E that does not end a longer word. */
function escapeString(text, start) {
    return /[eE]/.test(text[start - 1] ?? '') && !/[\w$\u0080-\uffff]/.test(text[start - 2] ?? '');
}
/**
 * Where the quoted text starting at `start` ends: a doubled quote is one quote inside it, and in
 * an E'…' string so is a backslash-escaped one.
 */
function quotedEnd(text, start, backslashes = false) {
    const quote = text[start];
    let at = start + 1;
    while (at < text.length) {
        if (backslashes && text[at] === '\\')
            at += 2;
        else if (text[at] === quote) {
            if (text[at + 1] !== quote)
                return at + 1;
            at += 2;
        }
        else
            at += 1;
    }
    return text.length;
}
/** The owner that `ALTER DATABASE d OWNER TO r` in a pg_restore --create script gives. */
function databaseOwner(script) {
    for (const statement of splitStatements(script)) {
        const tokens = new Tokens(statement);
        if (!tokens.word('ALTER') || !tokens.word('DATABASE') || tokens.identifier() === undefined) {
            continue;
        }
        if (tokens.word('OWNER') && tokens.word('TO'))
            return tokens.identifier();
    }
    return undefined;
}
const IDENTIFIER = /^\s*("(?:[^"]|"")*"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)/;
/** Reads words and identifiers off the front of a statement. */
class Tokens {
    rest;
    constructor(rest) {
        this.rest = rest;
    }
    /** Consumes `word` (any case) if it comes next. */
    word(word) {
        const match = /^\s*([A-Za-z_]+)/.exec(this.rest);
        if (match?.[1]?.toUpperCase() !== word)
            return false;
        this.rest = this.rest.slice(match[0].length);
        return true;
    }
    identifier() {
        const match = IDENTIFIER.exec(this.rest);
        if (!match?.[1])
            return undefined;
        this.rest = this.rest.slice(match[0].length);
        const token = match[1];
        return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token;
    }
    /** Consumes `symbol` if it comes next. */
    symbol(symbol) {
        const rest = this.rest.trimStart();
        if (!rest.startsWith(symbol))
            return false;
        this.rest = rest.slice(symbol.length);
        return true;
    }
    remainder() {
        return this.rest.trim();
    }
}
function readStatement(text) {
    const tokens = new Tokens(text);
    if (tokens.word('CREATE') && tokens.word('DATABASE')) {
        const database = tokens.identifier();
        return database === undefined ? undefined : { kind: 'create', database };
    }
    const again = new Tokens(text);
    if (again.word('COMMENT') && again.word('ON') && again.word('DATABASE')) {
        const database = again.identifier();
        if (database === undefined || !again.word('IS'))
            return undefined;
        const value = again.remainder();
        const sql = (db) => `COMMENT ON DATABASE ${quoteIdent(db)} IS ${value}`;
        return { kind: 'comment', database, statement: { kind: 'comment', text, sql } };
    }
    return readPrivilege(text) ?? readTemplate(text) ?? readSetting(text);
}
/** `ALTER DATABASE d IS_TEMPLATE = true`: what pg_dump writes for a template database. */
function readTemplate(text) {
    const tokens = new Tokens(text);
    if (!tokens.word('ALTER') || !tokens.word('DATABASE'))
        return undefined;
    const database = tokens.identifier();
    if (database === undefined || !tokens.word('IS_TEMPLATE'))
        return undefined;
    tokens.symbol('=');
    if (!tokens.word('TRUE') || tokens.remainder() !== '')
        return undefined;
    const sql = (db) => `ALTER DATABASE ${quoteIdent(db)} IS_TEMPLATE = true`;
    return { kind: 'template', database, statement: { kind: 'template', text, sql } };
}
/** What ALL grants on a database; TEMP is TEMPORARY. */
const DATABASE_PRIVILEGES = {
    CONNECT: ['CONNECT'],
    CREATE: ['CREATE'],
    TEMPORARY: ['TEMPORARY'],
    TEMP: ['TEMPORARY'],
    ALL: ['CREATE', 'CONNECT', 'TEMPORARY'],
};
/** `GRANT p[,p] ON DATABASE d TO g[, g] [WITH GRANT OPTION]` or `REVOKE … FROM …`. */
function readPrivilege(text) {
    const tokens = new Tokens(text);
    const grant = tokens.word('GRANT');
    if (!grant && !tokens.word('REVOKE'))
        return undefined;
    const privileges = [];
    do {
        const word = ['CONNECT', 'CREATE', 'TEMPORARY', 'TEMP', 'ALL'].find((w) => tokens.word(w));
        if (word === undefined)
            return undefined;
        if (word === 'ALL')
            tokens.word('PRIVILEGES');
        privileges.push(...(DATABASE_PRIVILEGES[word] ?? []));
    } while (tokens.symbol(','));
    if (!tokens.word('ON') || !tokens.word('DATABASE'))
        return undefined;
    const database = tokens.identifier();
    if (database === undefined || !tokens.word(grant ? 'TO' : 'FROM'))
        return undefined;
    const grantees = [];
    do {
        const grantee = tokens.word('PUBLIC') ? null : tokens.identifier();
        if (grantee === undefined)
            return undefined;
        grantees.push(grantee);
    } while (tokens.symbol(','));
    const option = grant && tokens.word('WITH') && tokens.word('GRANT') && tokens.word('OPTION');
    if (tokens.remainder() !== '')
        return undefined;
    const to = grantees.map((g) => (g === null ? 'PUBLIC' : quoteIdent(g))).join(', ');
    const sql = (db) => `${grant ? 'GRANT' : 'REVOKE'} ${privileges.join(', ')} ON DATABASE ${quoteIdent(db)} ${grant ? 'TO' : 'FROM'} ${to}${option ? ' WITH GRANT OPTION' : ''}`;
    const privilege = { grant, privileges, grantees };
    return { kind: 'privilege', database, statement: { kind: 'privilege', privilege, text, sql } };
}
/** `ALTER DATABASE d SET …` or `ALTER ROLE r IN DATABASE d SET …`. */
function readSetting(text) {
    const tokens = new Tokens(text);
    if (!tokens.word('ALTER'))
        return undefined;
    let role = null;
    if (tokens.word('ROLE')) {
        role = tokens.identifier() ?? null;
        if (role === null || !tokens.word('IN'))
            return undefined;
    }
    if (!tokens.word('DATABASE'))
        return undefined;
    const database = tokens.identifier();
    if (database === undefined || !tokens.word('SET'))
        return undefined;
    const value = tokens.remainder();
    const name = new Tokens(value).identifier();
    if (name === undefined)
        return undefined;
    const on = (db) => role === null
        ? `DATABASE ${quoteIdent(db)}`
        : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(db)}`;
    const statement = {
        kind: 'setting',
        setting: { role, name },
        text,
        sql: (db) => `ALTER ${on(db)} SET ${value}`,
    };
    return { kind: 'setting', database, statement };
}

;// CONCATENATED MODULE: ./src/restore/owners.ts
/**
 * Owners and privileges, restored as in production when the target can take them: every role the
 * archive names exists there and the restoring role may act as its owners. Otherwise the data is
 * restored without them rather than fail half-way, and the reason is given.
 */




/** Why owners and privileges cannot be restored into `target`, or undefined when they can. */
async function ownersUnusable(archive, target, signal) {
    const roles = await unusableRoles(target, (await archive.schema).roles, signal);
    const list = (names) => names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
    const reasons = [
        ...(roles.missing.length > 0 ? [`the target has no role ${list(roles.missing)}`] : []),
        ...(roles.notMember.length > 0
            ? [`the restoring role is not a member of ${list(roles.notMember)}`]
            : []),
    ];
    return reasons.length > 0 ? reasons.join('; ') : undefined;
}
/**
 * Gives the database restored into the source database's owner, which pg_restore sets only with
 * --create. A refusal is a warning: the objects inside already have their owners.
 */
async function restoreDatabaseOwner(archive, server, database, log) {
    const owner = databaseOwner(await archive.databaseScript);
    if (owner === undefined)
        return undefined;
    try {
        await withConnection(server, (client) => client.query(`ALTER DATABASE ${quoteIdent(database)} OWNER TO ${quoteIdent(owner)}`));
        return owner;
    }
    catch (error) {
        log.warning(`${database} could not be given its owner ${owner}: ${(0,errors/* errorMessage */.gJ)(error)}`);
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/postgres/statistics.ts
/**
 * Planner statistics for a restored database. pg_restore leaves none; autovacuum gathers them
 * within a minute or so for every table whose inserted rows pass its analyze threshold, as after
 * any pg_restore. ANALYZE runs here only on the tables autovacuum would leave without: all of them
 * when autovacuum or track_counts is not on for the database, partitioned tables (autovacuum never
 * analyzes them; their partitions are analyzed with them),
 * tables with autovacuum_enabled off, and tables below their threshold (autovacuum.c's
 * relation_needs_vacanalyze, with the tables' own reloptions). Those run `jobs` at a time, the
 * largest first, small ones several to a statement. A table ANALYZE fails on (a foreign table's
 * server down, a statistics expression that raises) is reported, not a failure: its rows are
 * restored all the same.
 */



/** A reloption's value, or the server's setting: `text` as PostgreSQL would read it. */
const statistics_option = (name, cast) => `coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = '${name}'),
            current_setting('${name}'))::${cast}`;
// Every user table, partitioned table and materialized view, with whether autovacuum will analyze
// it. Autovacuum's workers read the server's settings and the database's, not this session's role
// settings: a value from anywhere but the server's own configuration counts as off. A reloption's
// text is cast as the server casts it ('off', 'No', '0'…). A partition is analyzed with its root
// (ANALYZE of a partitioned table analyzes every partition); sizes are read from the files, as
// relpages stays 0 on a table no index was built on.
const TABLES_SQL = `
  WITH running AS (
    SELECT $1::boolean AND bool_and(setting = 'on' AND source IN
             ('default', 'configuration file', 'command line', 'environment variable')) AS on
    FROM pg_settings WHERE name IN ('autovacuum', 'track_counts'))
  SELECT format('%I.%I', n.nspname, c.relname) AS name,
         pg_relation_size(c.oid)::float8 / current_setting('block_size')::float8 AS pages,
         c.relispartition AS partition,
         c.relkind <> 'p' AND running.on
           AND coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                          WHERE option_name = 'autovacuum_enabled'), 'on')::boolean
           AND coalesce(s.n_mod_since_analyze, 0) >
               ${statistics_option('autovacuum_analyze_threshold', 'float8')}
               + ${statistics_option('autovacuum_analyze_scale_factor', 'float8')} * greatest(c.reltuples, 0)
           AS autovacuum
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN running
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
  WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  ORDER BY 2 DESC, 1`;
/** Small tables share an ANALYZE statement up to this many pages (8 MB) or tables. */
const BATCH_PAGES = 1024;
const BATCH_TABLES = 100;
/** `autovacuumAllowed`: false when the database's own settings, about to be applied, touch it. */
async function gatherStatistics(target, options, signal) {
    const rows = await withConnection(target, async (client) => (await client.query(TABLES_SQL, [options.autovacuumAllowed])).rows, signal);
    // Partitions are analyzed with their root, which is always ours.
    const ours = rows.filter((table) => !table.autovacuum && !table.partition);
    const analyzed = ours.length + rows.filter((table) => table.partition).length;
    const batches = batchesOf(ours);
    const failed = [];
    const lane = async (client) => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
            signal.throwIfAborted();
            failed.push(...(await analyze(client, batch, signal)));
        }
    };
    const lanes = Math.min(options.jobs, batches.length);
    const settled = await Promise.allSettled(Array.from({ length: lanes }, () => withConnection(target, lane, signal)));
    for (const one of settled)
        if (one.status === 'rejected')
            throw one.reason;
    return { analyzed, leftToAutovacuum: rows.length - analyzed, failed };
}
/**
 * ANALYZE of one batch; when the server refuses it, each of its tables alone, to name those it
 * refuses. Statistics are an optimisation autovacuum or a hand ANALYZE provides later: a refusal
 * is reported, not thrown; a lost connection or the run's cancellation is thrown.
 */
async function analyze(client, batch, signal) {
    const refusal = await refused(client, batch, signal);
    if (refusal === undefined)
        return [];
    if (batch.length === 1)
        return [{ table: batch[0] ?? '', error: refusal }];
    const failed = [];
    for (const table of batch) {
        const error = await refused(client, [table], signal);
        if (error !== undefined)
            failed.push({ table, error });
    }
    return failed;
}
/** The server's error for ANALYZE of `tables`, or undefined once it ran. */
async function refused(client, tables, signal) {
    signal.throwIfAborted();
    try {
        await client.query(`ANALYZE ${tables.join(', ')}`);
        return undefined;
    }
    catch (error) {
        if (signal.aborted || !(error instanceof esm/* default.DatabaseError */.Ay.DatabaseError))
            throw error;
        return (0,errors/* errorMessage */.gJ)(error);
    }
}
/** The tables in statements: largest first, each alone above BATCH_PAGES. Pure. */
function batchesOf(tables) {
    const batches = [];
    let pages = Infinity;
    for (const table of tables) {
        const last = batches.at(-1);
        if (last && last.length < BATCH_TABLES && pages + table.pages <= BATCH_PAGES) {
            last.push(table.name);
            pages += table.pages;
        }
        else {
            batches.push([table.name]);
            pages = table.pages;
        }
    }
    return batches;
}

;// CONCATENATED MODULE: ./src/restore/restore-database.ts
/**
 * One database restored into its target, as `restore` does it for a backup of one database and
 * for each database of a server backup: into the empty target, or with clean into a new database
 * beside it that is checked and swapped in (src/postgres/replace.ts), so that a failure at any
 * point leaves the target as it was. Owners and privileges are restored whenever the target can
 * take them (restore/owners.ts).
 */













/** Restores one database; a failure leaves `restored` saying where the target stands, and throws. */
async function restoreOne(run, download = startDownload(run.ctx, run.restored.part, run.settings.decryption, run.phases)) {
    const { ctx, pgRestore, restored } = run;
    const { replacement, target } = restored;
    try {
        await withLocalArchive(download, pgRestore, restored.part.backup.dump?.version, (archive) => {
            restored.archive = archive;
            return restoreInto(run, archive);
        });
        if (replacement)
            await swap(run, replacement);
        else
            restored.outcome = 'restored';
    }
    catch (error) {
        if (replacement && restored.outcome === 'untouched')
            await dropSide(ctx, replacement);
        if (restored.outcome === 'partial')
            restored.tablesNow = await tablesNow(target);
        throw error;
    }
}
/**
 * A failure once a target the run keeps was written into without clean is not tried again: the
 * retry would be refused as not empty, and that refusal would hide this cause.
 */
function finalOnceWritten(error, restored) {
    if (error instanceof errors/* CancelledError */.cc)
        return error;
    const written = restored.some(({ outcome }) => outcome === 'partial' || outcome === 'restored');
    return written ? new errors/* FinalError */.f4(error) : error;
}
/** The tables restored from the backup (not the target's own) and their rows. */
function restoredCounts(restored) {
    const tables = (restored.comparison?.tables ?? []).filter((row) => row.found !== undefined && row.status !== 'not-in-backup');
    return { tables: tables.length, rows: tables.reduce((sum, row) => sum + (row.found ?? 0), 0) };
}
/** The one line a non-empty target without clean is refused with; several are named together. */
function notEmptyLine(targets) {
    const named = targets
        .map(({ database, tables }) => `${database_names_printableName(database)} (${tables} tables)`)
        .join(', ');
    const [one] = targets;
    return targets.length === 1 && one
        ? `the target database ${database_names_printableName(one.database)} is not empty (${one.tables} tables); set clean: true to replace it whole with the backup, or restore into an empty database`
        : `the target databases ${named} are not empty; set clean: true to replace them whole with the backup, or restore into empty databases; nothing was restored`;
}
/** Restores into the side database (clean) or the empty target, and counts what is there. */
async function restoreInto(run, archive) {
    const { settings, ctx, pgRestore, phases, restored } = run;
    const { part, target, replacement } = restored;
    const into = replacement ? withDatabase(target, replacement.side) : target;
    restored.ownersSkipped = await ownersUnusable(archive, target, ctx.signal);
    if (restored.ownersSkipped) {
        ctx.log.warning(`owners and privileges are not restored: ${restored.ownersSkipped}; everything will belong to the restoring role. Create those roles (pg_dumpall --roles-only) and restore again with clean: true to restore them`);
    }
    if (replacement) {
        await phases.time('create the new database', () => createSide(replacement));
    }
    ctx.log.info(`sha256 of ${part.object.key} verified; restoring into ${replacement ? `${database_names_printableName(replacement.side)}, to replace ${database_names_printableName(target.database)} once checked` : target.display}`);
    if (!replacement)
        restored.outcome = 'partial';
    await timedPgRestore(pgRestore, phases, archive, into, {
        jobs: settings.jobs,
        keepOwners: !restored.ownersSkipped,
        signal: ctx.signal,
    });
    archive.remove();
    if (restored.created && !restored.ownersSkipped) {
        await restoreDatabaseOwner(archive, into, into.database, ctx.log);
    }
    const counts = await analyzeAndCount(run, archive, into);
    restored.comparison = compare(part, counts, archive, replacement !== undefined);
    // After the counts: a setting such as statement_timeout is the database's users', not ours.
    if (settings.databaseSettings || !restored.ownersSkipped)
        await applySettings(run, archive, into);
    if (!replacement)
        restored.outcome = 'restored';
}
/**
 * The statistics autovacuum will not gather and the row counts at once, on their own connections:
 * neither waits for the other's locks. Both settle before a failure of either is thrown.
 */
async function analyzeAndCount({ phases, restored, settings, ctx }, archive, into) {
    // The archive's database settings are applied after this: one that touches autovacuum or
    // track_counts (off for the database) leaves every table to this ANALYZE.
    const touched = (statement) => statement.kind === 'setting' && /autovacuum|track_counts/i.test(statement.text);
    const autovacuumAllowed = !(settings.databaseSettings && databaseStatements(await archive.databaseScript).some(touched));
    const gather = () => gatherStatistics(into, { jobs: settings.jobs, autovacuumAllowed }, ctx.signal);
    const [analyzed, counted] = await Promise.allSettled([
        phases.time('analyze', gather),
        phases.time('compare row counts', () => countRows(into, ctx.signal)),
    ]);
    if (analyzed.status === 'rejected')
        throw analyzed.reason;
    if (counted.status === 'rejected')
        throw counted.reason;
    restored.statistics = analyzed.value;
    const { failed } = analyzed.value;
    if (failed.length > 0) {
        ctx.log.warning(`ANALYZE failed on ${failed.length} table(s), restored in full but without planner statistics until analyzed by hand: ${printableText(failed.map(({ table, error }) => `${table} (${error})`).join('; '))}`);
    }
    return counted.value;
}
/** The checked new database takes the target's name; the old one is dropped, or named if it stays. */
async function swap(run, replacement) {
    const { ctx, phases, restored } = run;
    const differing = restored.comparison?.differing ?? [];
    if (differing.length > 0)
        throw new Error(differenceLine(differing));
    ctx.signal.throwIfAborted();
    ctx.log.info(`swapping ${database_names_printableName(replacement.side)} in for ${database_names_printableName(replacement.target.database)}`);
    await phases.time('swap in', () => swapIn(replacement, restored.comment));
    restored.outcome = 'replaced';
    try {
        await phases.time('drop the old database', () => dropDatabase(replacement.server, replacement.old));
    }
    catch (error) {
        restored.outcome = 'replaced, old kept';
        ctx.log.warning(`the old ${database_names_printableName(replacement.target.database)}, now named ${database_names_printableName(replacement.old)}, could not be dropped: ${(0,errors/* errorMessage */.gJ)(error)}; drop it when done (the next restore into ${database_names_printableName(replacement.target.database)} drops it)`);
    }
}
/**
 * The archive's settings, onto the database restored into; its comment too, except on a new
 * database, which carries our mark until the swap gives it the backup's comment.
 */
async function applySettings(run, archive, into) {
    const { ctx, restored, settings } = run;
    const statements = wantedStatements(databaseStatements(await archive.databaseScript), {
        settings: settings.databaseSettings,
        privileges: !restored.ownersSkipped,
    });
    restored.comment = restored.replacement
        ? statements.find((statement) => statement.kind === 'comment')
        : undefined;
    const now = statements.filter((statement) => statement !== restored.comment);
    restored.databaseSettings = [
        ...(await applyDatabaseStatements(into, into.database, now)),
        ...(restored.comment ? [{ statement: restored.comment }] : []),
    ];
    for (const { statement, error } of restored.databaseSettings) {
        if (error)
            ctx.log.warning(`the backup's "${statement.text}" was not applied: ${error}`);
    }
}
async function dropSide(ctx, replacement) {
    try {
        await dropDatabase(replacement.server, replacement.side);
    }
    catch (error) {
        ctx.log.warning(`could not drop ${database_names_printableName(replacement.side)}, the unfinished new database: ${(0,errors/* errorMessage */.gJ)(error)}; the next restore into ${database_names_printableName(replacement.target.database)} drops it`);
    }
}
async function tablesNow(target) {
    const aborted = new AbortController().signal;
    return inspectTarget(target, aborted).then((now) => now.tables, () => undefined);
}
/**
 * The restored tables against the manifest. In a new database every table must be the backup's;
 * in an existing (empty) target, tables the backup does not hold are the target's own.
 */
function compare(part, counts, archive, fresh) {
    return compareWithManifest(part, counts, { toc: archive.toc, strangersFail: fresh });
}
/** Where the target stands after the run, and what to do about it: a failed run says so first. */
function standing(restored) {
    const { target, replacement, outcome } = restored;
    switch (outcome) {
        case 'untouched':
            if (restored.created)
                return 'not created: the database made for it was dropped again';
            return replacement
                ? `unchanged: nothing was swapped in; the new database ${database_names_printableName(replacement.side)} was dropped. Fix the cause and run again`
                : 'unchanged: nothing was restored into it';
        case 'partial':
            return `partly restored: ${restored.tablesNow ?? 'some'} tables are in it now. Restore again with clean: true, which replaces it whole`;
        case 'restored':
            return 'restored into the empty target';
        case 'replaced':
            return `replaced whole by the backup (the old ${database_names_printableName(target.database)} was dropped)`;
        case 'replaced, old kept':
            return `replaced whole by the backup; the old ${database_names_printableName(target.database)} is kept as ${database_names_printableName(replacement?.old ?? '')}: drop it when done`;
    }
}
/** Whether the target was replaced whole: with clean, only once the new database was swapped in. */
function replacedLine({ replacement, outcome, state }) {
    if (!replacement)
        return 'no (the target was empty)';
    const there = `clean: true; ${state.tables} tables were there`;
    return outcome === 'untouched'
        ? `no: the restore failed before the swap (${there})`
        : `yes (${there})`;
}
/**
 * Whether owners and privileges came back: said `restored` only once the restore finished, and
 * the database's own privileges came back too.
 */
function ownersLine(restored) {
    if (restored.ownersSkipped)
        return `not restored: ${restored.ownersSkipped}`;
    if (restored.outcome === 'untouched' || restored.outcome === 'partial') {
        return 'not restored: the restore did not finish';
    }
    const failed = (restored.databaseSettings ?? []).filter((item) => item.statement.kind === 'privilege' && item.error !== undefined);
    if (failed.length === 0)
        return 'restored';
    return `restored, except the database's privileges: ${failed.map((item) => `${item.statement.text} (${item.error ?? ''})`).join('; ')}`;
}
/** True when owners and every privilege of the database were restored. */
const ownersRestored = (restored) => ownersLine(restored) === 'restored';
/** `wanted`: the restore-database-settings input. */
function settingsLine(applied, wanted) {
    if (!wanted)
        return 'not restored (restore-database-settings: false)';
    if (!applied)
        return 'not restored';
    if (applied.length === 0)
        return 'none in the backup';
    const failed = applied.filter((item) => item.error !== undefined);
    const done = `${applied.length - failed.length} of ${applied.length} applied from the backup`;
    return failed.length === 0
        ? done
        : `${done}; not applied: ${failed.map((item) => item.statement.text).join('; ')}`;
}
/** Where the restored tables' planner statistics come from. */
function statisticsLine(statistics) {
    if (!statistics)
        return 'not gathered: the restore did not finish';
    const { analyzed, leftToAutovacuum, failed } = statistics;
    const here = analyzed === 0
        ? 'no table needed ANALYZE here'
        : `ANALYZE ran on ${(0,format/* formatCount */.B4)(analyzed)} table(s) autovacuum would not analyze`;
    const left = leftToAutovacuum === 0
        ? here
        : `${here}; autovacuum analyzes the ${analyzed === 0 ? '' : 'other '}${(0,format/* formatCount */.B4)(leftToAutovacuum)} on its next visit to the database, as after any pg_restore (run vacuumdb --analyze-only to have them sooner)`;
    return failed.length === 0 ? left : `${left}; ${notAnalyzedLine(failed)}`;
}
function notAnalyzedLine(failed) {
    // The names are quoted as SQL quotes them, which leaves a control character in them raw.
    const tables = printableText(failed.map((one) => one.table).join(', '));
    return `not analyzed, as ANALYZE failed on them: ${tables}; once the cause is mended, run ANALYZE ${tables} in the database (or vacuumdb --analyze-only --table for each)`;
}

;// CONCATENATED MODULE: ./src/restore/targets.ts
/**
 * Which databases of a server backup a run restores, into which database each, and the checks of
 * each: all decided from the manifest and the inputs before any work, each mistake one line naming
 * its input. Pure.
 */



const quoted = (names) => names.map(quotedName).join(', ');
/** The databases of the backup that `databases` chooses (empty: all); a pattern matching none is refused. */
function chosenDatabases(manifest, databases) {
    const names = manifest.databases.map((database) => database.name);
    const { selected, unmatched } = selectNames(names, databases.length > 0 ? databases : 'all');
    if (unmatched.length > 0) {
        throw new errors/* InputError */.dz('databases', `${quoted(unmatched)} match${unmatched.length === 1 ? 'es' : ''} no database of backup ${manifest.id}, which holds ${quoted(names)}`);
    }
    const unrestorable = lineBreakNames(selected);
    if (unrestorable !== undefined) {
        throw new errors/* InputError */.dz('databases', `${unrestorable} of backup ${manifest.id} cannot be restored: ${LINE_BREAK_WHY}; choose the others with databases (? matches the line break in a pattern's place); ${LINE_BREAK_BY_HAND}`);
    }
    return manifest.databases.filter((record) => selected.includes(record.name));
}
/** The databases `restore` restores and their targets; `confirm` must name exactly those targets. */
function restoreTargets(manifest, settings) {
    const records = chosenDatabases(manifest, settings.databases);
    const mapping = mappingFor(records.map((record) => record.name), settings.targetDatabases);
    const pairs = records.map((record) => ({ record, target: mapping[record.name] ?? record.name }));
    for (const { target } of pairs) {
        const refusal = ownTemplateRefusal(target);
        if (refusal !== undefined)
            throw new errors/* InputError */.dz('target-database', refusal);
    }
    refuseSharedTargets(pairs);
    checkConfirm(settings.confirm, pairs);
    return pairs;
}
function mappingFor(selected, given) {
    const bare = given[''];
    if (bare !== undefined) {
        if (selected.length !== 1 || !selected[0]) {
            throw new errors/* InputError */.dz('target-database', `one name maps one database, but ${selected.length} are restored (${quoted(selected)}); give source=target lines`);
        }
        return { [selected[0]]: bare };
    }
    const strangers = Object.keys(given).filter((name) => !selected.includes(name));
    if (strangers.length > 0) {
        throw new errors/* InputError */.dz('target-database', `${quoted(strangers)} ${strangers.length === 1 ? 'is' : 'are'} not among the databases restored (${quoted(selected)})`);
    }
    return given;
}
function refuseSharedTargets(pairs) {
    const seen = new Map();
    for (const { record, target } of pairs) {
        const other = seen.get(target);
        if (other !== undefined) {
            throw new errors/* InputError */.dz('target-database', `${quoted([other, record.name])} would both be restored into ${quoted([target])}; give each its own target`);
        }
        seen.set(target, record.name);
    }
}
/**
 * Every target, in any order, and nothing else: one per line, or, since a workflow_dispatch box
 * holds one line, separated by commas.
 */
function checkConfirm(confirm, pairs) {
    const targets = pairs.map((pair) => pair.target);
    const names = (separator) => new Set(confirm
        .split(separator)
        .map((name) => name.trim())
        .filter(Boolean));
    const namesAll = (given) => given.size === targets.length && targets.every((target) => given.has(target));
    if (!namesAll(names(/\r?\n/)) && !namesAll(names(/,/))) {
        throw new errors/* InputError */.dz('confirm', `must name every target database (one per line, or separated by commas) and no other: ${targets.join(', ')}`);
    }
}
/**
 * The checks of each database tested (every one of the backup, or those `databases` chooses). A
 * check names its database; one that does not is for the only database tested, and a mistake
 * where more are.
 */
function checksByDatabase(manifest, checks, tested = manifest.databases) {
    const names = tested.map((database) => database.name);
    const out = new Map(names.map((name) => [name, []]));
    for (const check of checks) {
        const database = check.database ?? (names.length === 1 ? names[0] : undefined);
        if (database === undefined) {
            throw new errors/* InputError */.dz('checks', `"${check.text}" names no database, and ${names.length === manifest.databases.length ? `backup ${manifest.id} holds` : `databases chooses`} ${names.length}; write it as "database: check" (one of ${quoted(names)})`);
        }
        const list = out.get(database);
        if (!list) {
            throw new errors/* InputError */.dz('checks', `"${check.text}" names the database ${quotedName(database)}, ${notTested(manifest, database, names)}`);
        }
        list.push(check);
    }
    return out;
}
function notTested(manifest, database, tested) {
    const held = manifest.databases.map((record) => record.name);
    return held.includes(database)
        ? `which databases leaves out (it chooses ${quoted(tested)})`
        : `which backup ${manifest.id} does not hold (it holds ${quoted(held)})`;
}
/** The inputs that only a server backup takes, refused in one line for a backup of one database. */
function refuseServerInputs(settings, checks, database) {
    const given = [
        ['databases', (settings.databases?.length ?? 0) > 0],
        ['target-database', Object.keys(settings.targetDatabases ?? {}).length > 0],
        ['restore-globals', settings.restoreGlobals],
    ];
    const set = given.find(([, isSet]) => isSet);
    if (set) {
        throw new errors/* InputError */.dz(set[0], 'applies to a server backup (databases); this backup is of one database');
    }
    const named = checks.find((check) => check.database !== undefined && check.database !== database);
    if (named) {
        throw new errors/* InputError */.dz('checks', `"${named.text}" names a database, but this backup is of one database${database ? ` (${database})` : ''}`);
    }
}

;// CONCATENATED MODULE: ./src/kinds/database/parts.ts
const databasePart = (manifest) => ({
    backup: manifest,
    name: manifest.source.database,
    object: manifest.object,
    rowCounts: manifest.rowCounts,
    serverVersion: manifest.source.serverVersion,
});

;// CONCATENATED MODULE: ./src/kinds/database/restore.ts
/**
 * restore of a backup of one database into the database of `database-url`, guarded by `confirm`.
 * A non-empty target is refused unless `clean` allows replacing it whole: then the backup is
 * restored into a new database beside it, checked, and swapped in (src/postgres/replace.ts), so
 * that a failure at any point leaves the target as it was. The archive's every byte is checked,
 * and its table of contents read, before any database is touched.
 *
 * Unlike restore-test, it restores owners and privileges (a faithful copy) whenever the target has
 * every role the archive names and the restoring role may act as the owners; otherwise it restores
 * the data without them rather than fail half-way, and says which roles were missing.
 */












async function restoreDatabaseBackup(manifest, into, ctx, phases) {
    refuseServerInputs(into, [], manifest.source.database);
    refuseUnrestorable(manifest.id, [manifest.source.database]);
    const target = into.database;
    const own = ownTemplateRefusal(target.database);
    if (own !== undefined)
        throw new errors/* InputError */.dz('database-url', own);
    if (into.confirm !== target.database)
        throw confirmMismatch(into.confirm, target.database);
    const part = databasePart(manifest);
    const download = startDownload(ctx, part, into.decryption, phases);
    const { restored, pgRestore } = await stopOnFailure(download, () => checkTarget(manifest, part, into, ctx));
    return {
        run: () => stopOnFailure(download, () => restoreOne({ settings: into, ctx, pgRestore, phases, restored }, download)).catch((error) => {
            throw finalOnceWritten(error, [restored]);
        }),
        problems: () => {
            const differing = restored.comparison?.differing ?? [];
            return differing.length > 0 ? [differenceLine(differing)] : [];
        },
        rows: () => restoreRows(restored, into.databaseSettings),
    };
}
/** The target as it stands (refused when not empty without clean), and the pg_restore for it. */
async function checkTarget(manifest, part, into, ctx) {
    const target = into.database;
    const state = await inspectTarget(target, ctx.signal);
    if (state.tables > 0 && !into.clean) {
        throw new Error(notEmptyLine([{ database: target.database, tables: state.tables }]));
    }
    const replacement = into.clean
        ? await prepareReplacement(target, ctx.log, ctx.signal)
        : undefined;
    const pgRestore = await choosePgRestore(manifest, into.client, ctx, state.server);
    return { restored: { part, target, state, replacement, outcome: 'untouched' }, pgRestore };
}
/** `settingsWanted`: the restore-database-settings input. */
function restoreRows(restored, settingsWanted) {
    const { part, target, state, comparison } = restored;
    const { tables, rows } = restoredCounts(restored);
    const exact = part.backup.rowCountsMode === 'exact' && part.rowCounts !== undefined;
    const inPlace = restored.outcome !== 'untouched' && restored.outcome !== 'partial';
    const counted = comparison
        ? `${(0,format/* formatCount */.B4)(tables)} / ${(0,format/* formatCount */.B4)(rows)}${exact && comparison.differing.length === 0 ? ' (match the manifest)' : ''}${inPlace ? '' : ` (in ${restored.replacement?.side ?? 'the target'}, not kept)`}`
        : 'not counted: the restore did not finish';
    return {
        done: `restored into ${target.database}`,
        summary: `${tables} tables, ${(0,format/* formatCount */.B4)(rows)} rows`,
        outputs: { 'restored-tables': tables },
        facts: [
            ['Target', `${target.display} (PostgreSQL ${state.server.version})`],
            ['Target now', standing(restored)],
            ['Replaced whole', replacedLine(restored)],
            ['Owners and privileges', ownersLine(restored)],
            ['Database settings', settingsLine(restored.databaseSettings, settingsWanted)],
            ['Planner statistics', statisticsLine(restored.statistics)],
            ['Tables / rows', counted],
        ],
        tables: comparison ? [countsTable(comparison)] : [],
        details: {
            target: target.display,
            targetNow: restored.outcome,
            comparison,
            ownersRestored: ownersRestored(restored),
            statistics: restored.statistics,
        },
    };
}

;// CONCATENATED MODULE: ./src/restore/checks.ts


const CHECK_TIMEOUT_SECONDS = 60;
function checks_compare(found, operator, bound) {
    switch (operator) {
        case '>=':
            return found >= bound;
        case '>':
            return found > bound;
        case '<=':
            return found <= bound;
        case '<':
            return found < bound;
        case '=':
            return found === bound;
    }
}
/** A SQL check's verdict from what its query returned: one row of one boolean, or a clear failure. */
function sqlVerdict(text, rows, columns) {
    const fail = (value) => ({ text, passed: false, value });
    if (columns.length !== 1) {
        return fail(`must return one boolean column; returned ${columns.length} (${columns.map((c) => c.name).join(', ')})`);
    }
    if (rows.length !== 1)
        return fail(`must return one row; returned ${rows.length}`);
    const value = rows[0]?.[0];
    if (value === null || value === undefined)
        return fail('returned NULL, not true or false');
    if (typeof value !== 'boolean') {
        return fail(`returned ${JSON.stringify(value).slice(0, 40)}, not a boolean`);
    }
    return { text, passed: value, value: String(value) };
}
async function runChecks(client, checks) {
    const results = [];
    for (const check of checks)
        results.push(await runCheck(client, check));
    return results;
}
async function runCheck(client, check) {
    await client.query('BEGIN READ ONLY');
    try {
        await client.query(`SET LOCAL statement_timeout = '${CHECK_TIMEOUT_SECONDS}s'`);
        return check.kind === 'count' ? await countCheck(client, check) : await sqlCheck(client, check);
    }
    catch (error) {
        return { text: check.text, passed: false, value: `error: ${(0,errors/* errorMessage */.gJ)(error)}` };
    }
    finally {
        await client.query('ROLLBACK').catch(() => undefined);
    }
}
async function countCheck(client, check) {
    const [schema = '', table = ''] = check.table.split('.');
    const { rows } = await client.query(`SELECT count(*) AS n FROM ${quoteIdent(schema)}.${quoteIdent(table)}`);
    const found = Number(rows[0]?.n ?? 0);
    return {
        text: check.text,
        passed: checks_compare(found, check.operator, check.value),
        value: String(found),
    };
}
async function sqlCheck(client, check) {
    // queryMode is the driver's own (pg 8.11+); its type declarations do not list it yet.
    const query = {
        text: check.sql,
        rowMode: 'array',
        queryMode: 'extended',
    };
    const result = await client.query(query);
    return sqlVerdict(check.text, result.rows, result.fields);
}

;// CONCATENATED MODULE: ./src/restore/scratch-test.ts
/**
 * One database of a backup tested in a scratch database: the empty scratch database is made while
 * the archive downloads (it costs a tenth of a second or more, in a run whose length is its
 * point); nothing is restored into it before the archive's every byte is checked and its table of
 * contents read; every table's row count is compared with the manifest before the backup's database
 * settings are applied, the checks run after them, and the scratch database is dropped, pass, fail
 * or cancel. restore-test runs it once for a backup of one database, and once per database for a
 * server backup.
 */













/** The scratch server of a database backup (a files backup needs none). */
function scratchServer(settings) {
    if (!settings.database) {
        throw new Error('database-url (a scratch server) is required to restore-test a database backup');
    }
    return settings.database;
}
async function testDatabase(run, test, options, download = startDownload(run.ctx, test.part, run.settings.decryption, test.phases)) {
    const { server, pgRestore } = run;
    // Not cancellable: a cancelled CREATE may still have made the database, which must be dropped.
    const scratchMade = createDatabase(server, test.scratch, run.mark);
    scratchMade.catch(() => undefined); // reported by testInScratch, or moot once the download failed
    // Dropped as soon as the test ends, not after the archive's readers.
    let dropped;
    try {
        await withLocalArchive(download, pgRestore, test.part.backup.dump?.version, (archive) => {
            test.archive = archive;
            return testInScratch(run, test, archive, options, scratchMade).finally(() => {
                dropped = cleanUp(run, test, scratchMade);
            });
        });
    }
    finally {
        await (dropped ?? cleanUp(run, test, scratchMade));
    }
}
async function testInScratch(run, test, archive, options, scratchMade) {
    const { settings, ctx, server, pgRestore } = run;
    const { part, scratch, phases } = test;
    ctx.log.info(`sha256 of ${part.object.key} verified; restoring into scratch database ${scratch}`);
    const target = withDatabase(server, scratch);
    await scratchMade;
    const keepOwners = options.keepOwners && !(await ownersSkipped(run, test, archive, target));
    test.restoreStarted = true;
    await timedPgRestore(pgRestore, phases, archive, target, {
        jobs: settings.jobs,
        keepOwners,
        noTablespaces: options.noTablespaces,
        signal: ctx.signal,
    });
    archive.remove();
    if (keepOwners)
        await restoreDatabaseOwner(archive, server, scratch, ctx.log);
    // Before the settings: one such as statement_timeout or role is the database's users', not ours.
    await scratch_test_countRows(run, test, target);
    if (settings.databaseSettings || keepOwners)
        await compareSettings(run, test, target, keepOwners);
    // After them: the checks are the user's queries, and see the database as its users do.
    test.checks = await phases.time('checks', () => checksIn(target, options.checks, ctx.signal));
}
/** Whether the scratch server lacks what owners need, said once as a warning. */
async function ownersSkipped({ ctx }, test, archive, target) {
    test.ownersSkipped = await ownersUnusable(archive, target, ctx.signal);
    if (test.ownersSkipped) {
        ctx.log.warning(`${test.part.name === undefined ? 'the database' : database_names_printableName(test.part.name)} is restored without owners and privileges: ${test.ownersSkipped}`);
    }
    return test.ownersSkipped !== undefined;
}
/** The archive's database settings and privileges, applied to the scratch database and read back. */
async function compareSettings(run, test, target, privileges) {
    const { ctx, settings } = run;
    const statements = wantedStatements(databaseStatements((await test.archive?.databaseScript) ?? ''), { settings: settings.databaseSettings, privileges });
    const applied = await applyDatabaseStatements(target, target.database, statements);
    const missing = await missingDatabaseStatements(target, target.database, statements);
    test.databaseSettings = {
        total: statements.length,
        missing: missing.map((statement) => statement.text),
        privileges: missing.flatMap((s) => (s.kind === 'privilege' ? [s.text] : [])),
    };
    // The backup's comment took the mark's place; it goes back in front of it, from the server's own
    // database: the scratch one may now be read-only by its settings (default_transaction_read_only).
    if (statements.some((statement) => statement.kind === 'comment')) {
        await withConnection(run.server, (client) => mark(client, 'DATABASE', [target.database], run.mark));
    }
    for (const statement of missing) {
        const error = applied.find((item) => item.statement === statement)?.error;
        ctx.log.warning(`the backup's "${statement.text}" did not restore${error ? `: ${error}` : ''}`);
    }
}
async function scratch_test_countRows({ ctx }, test, target) {
    const { part, archive, phases } = test;
    const found = await phases.time('compare row counts', () => withConnection(target, (client) => exactRowCounts(client), ctx.signal));
    if (!exactCounts(part)) {
        ctx.log.warning(`the manifest has no exact row counts (row-counts: ${part.backup.rowCountsMode ?? 'off'}); only the restore and the checks were tested`);
    }
    test.comparison = compareWithManifest(part, found, { toc: archive?.toc, strangersFail: true });
}
async function checksIn(target, checks, signal) {
    if (checks.length === 0)
        return [];
    return withConnection(target, (client) => runChecks(client, checks), signal);
}
/** keep-database keeps the scratch database only once something was restored into it. */
function scratch_test_kept(settings, test) {
    return settings.keepDatabase && test.restoreStarted === true;
}
/** Drops the scratch database once its CREATE has settled; keep-database keeps one restored into. */
async function cleanUp({ settings, ctx, server }, test, scratchMade) {
    await scratchMade.catch(() => undefined);
    if (scratch_test_kept(settings, test)) {
        await withConnection(server, (client) => unmark(client, 'DATABASE', [test.scratch])).catch((error) => ctx.log.warning(`could not unmark ${test.scratch}: ${(0,errors/* errorMessage */.gJ)(error)}`));
        ctx.log.info(`keep-database: the scratch database ${test.scratch} was kept; drop it when done`);
        return;
    }
    try {
        await dropDatabase(server, test.scratch);
    }
    catch (error) {
        ctx.log.warning(`could not drop the scratch database ${test.scratch}: ${(0,errors/* errorMessage */.gJ)(error)}`);
    }
}
/** What fails the test: tables that differ and checks that failed, one phrase each. */
function failures(test, prefix = '') {
    const problems = [];
    const differing = test.comparison?.differing ?? [];
    if (differing.length > 0)
        problems.push(`${prefix}${differenceLine(differing)}`);
    const privileges = test.databaseSettings?.privileges ?? [];
    if (privileges.length > 0) {
        problems.push(`${prefix}the database's privileges did not restore: ${privileges.join('; ')}`);
    }
    const failed = (test.checks ?? []).filter((check) => !check.passed);
    if (failed.length > 0) {
        problems.push(`${prefix}${failed.length} check(s) failed: ${failed.map((check) => `${check.text} (${check.value})`).join(', ')}`);
    }
    return problems;
}
/** The tables restored (those the manifest or the archive accounts for) and their rows. */
function restoredTotals(test) {
    const restored = (test.comparison?.tables ?? []).filter((row) => row.found !== undefined);
    return {
        tables: restored.length,
        rows: restored.reduce((sum, row) => sum + (row.found ?? 0), 0),
    };
}
/**
 * How the archive's database-level settings and comment came through into the scratch database;
 * `wanted`: the restore-database-settings input.
 */
function scratchSettingsLine(found, wanted) {
    if (!wanted)
        return 'not restored (restore-database-settings: false)';
    if (!found)
        return 'not compared';
    if (found.total === 0)
        return 'none in the backup';
    const { total, missing } = found;
    return missing.length === 0
        ? `${total} of ${total} restored (settings, comment and privileges)`
        : `${total - missing.length} of ${total} restored; missing: ${missing.join('; ')}`;
}
/** The table of the checks' results: none without checks. */
function tableOfChecks(checks) {
    if (checks.length === 0)
        return [];
    return [
        {
            title: 'Checks',
            header: ['check', 'value', 'result'],
            rows: checks.map((c) => [c.text, c.value, c.passed ? '✅ pass' : '❌ fail']),
        },
    ];
}

;// CONCATENATED MODULE: ./src/restore/globals-sql.ts
/**
 * What `pg_dumpall --globals-only` wrote, statement by statement, read into what each statement
 * does. Pure. Each statement is read token by token against the few forms pg_dumpall writes, and
 * its SQL is written anew from what was read (names quoted, strings as literals): a statement is
 * never passed through, so nothing the reading missed can reach the server. A form not read
 * (`ALTER ROLE CURRENT_USER …`, `ALTER ROLE ALL SET …`, `RENAME`) is `other`, with why.
 */


/** Role attributes that reach beyond the restored databases: created only when allowed. */
const PRIVILEGED_ATTRIBUTES = new Set([
    'SUPERUSER',
    'REPLICATION',
    'BYPASSRLS',
]);
const globals_sql_WORD = /[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/y;
const NUMBER = /\d+(?:\.\d+)?/y;
/** The statement's tokens; quoted names unquoted, strings unescaped, words as written. */
function tokenize(sql) {
    const tokens = [];
    let at = 0;
    while (at < sql.length) {
        const char = sql[at] ?? '';
        if (/\s/.test(char)) {
            at += 1;
            continue;
        }
        const escaped = (char === 'E' || char === 'e') && sql[at + 1] === "'";
        if (char === "'" || char === '"' || escaped) {
            const start = escaped ? at + 1 : at;
            const end = quotedEnd(sql, start, escaped);
            const body = sql.slice(start + 1, end - 1);
            tokens.push(char === '"'
                ? { kind: 'name', text: body.replace(/""/g, '"') }
                : { kind: 'string', text: unescapeString(body, escaped) });
            at = end;
            continue;
        }
        const token = match(globals_sql_WORD, sql, at, 'word') ?? match(NUMBER, sql, at, 'number');
        tokens.push(token ?? { kind: 'symbol', text: char });
        at += token ? token.text.length : 1;
    }
    return tokens;
}
function match(pattern, sql, at, kind) {
    pattern.lastIndex = at;
    const found = pattern.exec(sql);
    return found ? { kind, text: found[0] } : undefined;
}
function unescapeString(body, escaped) {
    const doubled = body.replace(/''/g, "'");
    if (!escaped)
        return doubled;
    return doubled.replace(/\\(.)/gs, (_, next) => ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' })[next] ?? next);
}
/** A statement of a known form that does not read as pg_dumpall writes it. */
class Unreadable extends Error {
}
/**
 * Words that stand for a role without naming one: the role running the statement, every role, or
 * nobody. Only unquoted: a quoted "CURRENT_USER" is a role of that name.
 */
const ROLE_KEYWORDS = new Set([
    'CURRENT_USER',
    'SESSION_USER',
    'CURRENT_ROLE',
    'ALL',
    'PUBLIC',
    'NONE',
]);
/** Reads a statement's tokens front to back. */
class Reader {
    tokens;
    at = 0;
    constructor(tokens) {
        this.tokens = tokens;
    }
    /** Consumes the keywords if they come next, in this order (any case). */
    words(...words) {
        const ahead = words.every((word, index) => {
            const token = this.tokens[this.at + index];
            return token?.kind === 'word' && token.text.toUpperCase() === word;
        });
        if (ahead)
            this.at += words.length;
        return ahead;
    }
    /** The next token if it is a bare word, upper-cased, consumed. */
    word() {
        const token = this.tokens[this.at];
        if (token?.kind !== 'word')
            return undefined;
        this.at += 1;
        return token.text.toUpperCase();
    }
    /** An object name: a quoted one as it is, a bare one folded to lower case as the server does. */
    name() {
        const token = this.tokens[this.at];
        if (token?.kind !== 'name' && token?.kind !== 'word')
            throw new Unreadable('a name expected');
        this.at += 1;
        return token.kind === 'name'
            ? token.text
            : token.text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
    }
    /** A role's name; CURRENT_USER, ALL and the like name no role of the backup. */
    role() {
        const token = this.tokens[this.at];
        const keyword = token?.kind === 'word' ? token.text.toUpperCase() : '';
        if (ROLE_KEYWORDS.has(keyword)) {
            throw new Unreadable(`${keyword} is not the name of one of the backup's roles`);
        }
        return this.name();
    }
    /** Items separated by commas. */
    list(item) {
        const out = [item()];
        while (this.symbol(','))
            out.push(item());
        return out;
    }
    symbol(text) {
        const token = this.tokens[this.at];
        if (token?.kind !== 'symbol' || token.text !== text)
            return false;
        this.at += 1;
        return true;
    }
    string() {
        const token = this.tokens[this.at];
        if (token?.kind !== 'string')
            throw new Unreadable('a string expected');
        this.at += 1;
        return token.text;
    }
    /** A string literal, or NULL. */
    stringOrNull() {
        return this.words('NULL') ? null : this.string();
    }
    number() {
        const minus = this.symbol('-') ? '-' : '';
        const token = this.tokens[this.at];
        if (token?.kind !== 'number')
            throw new Unreadable('a number expected');
        this.at += 1;
        return minus + token.text;
    }
    position() {
        return this.at;
    }
    seek(at) {
        this.at = at;
    }
    /** Fails unless every token was read. */
    end() {
        if (this.at < this.tokens.length)
            throw new Unreadable('more than pg_dumpall writes');
    }
}
/** Every statement of the globals script, read. */
function globalStatements(script) {
    return splitStatements(script).map(classify);
}
const FORMS = [
    [['CREATE', 'ROLE'], (r) => roleOptions(r, true)],
    [['ALTER', 'ROLE'], alterRole],
    [['COMMENT', 'ON', 'ROLE'], roleComment],
    [['SECURITY', 'LABEL'], roleLabel],
    [['GRANT'], (r) => grant(r, true)],
    [['REVOKE'], (r) => grant(r, false)],
    [['CREATE', 'TABLESPACE'], createTablespace],
    [['ALTER', 'TABLESPACE'], alterTablespace],
    [['COMMENT', 'ON', 'TABLESPACE'], tablespaceComment],
];
function classify(sql) {
    const tokens = tokenize(sql);
    const what = head(sql);
    for (const [words, form] of FORMS) {
        const reader = new Reader(tokens);
        if (!reader.words(...words))
            continue;
        try {
            const statement = form(reader);
            reader.end();
            return statement;
        }
        catch (error) {
            if (!(error instanceof Unreadable))
                throw error;
            return { kind: 'other', reason: `${what}: ${error.message}`, sql };
        }
    }
    if (new Reader(tokens).words('SET'))
        return { kind: 'session', sql };
    return { kind: 'other', reason: `${what}: not about roles or tablespaces`, sql };
}
/** The first words, enough to say what a statement is without showing what it holds. */
function head(sql) {
    return sql
        .split(/\s+/)
        .slice(0, 3)
        .join(' ')
        .replace(/[^\w ]/g, '');
}
const FLAGS = new Set(['SUPERUSER', 'CREATEDB', 'CREATEROLE', 'INHERIT', 'LOGIN', 'REPLICATION', 'BYPASSRLS'].flatMap((flag) => [flag, `NO${flag}`]));
/** `CREATE ROLE r [WITH] options` or `ALTER ROLE r [WITH] options`. */
function roleOptions(r, create, role = r.role()) {
    r.words('WITH');
    const options = [];
    for (let word = r.word(); word !== undefined; word = r.word())
        options.push(roleOption(r, word));
    if (!create && options.length === 0)
        throw new Unreadable('no options');
    return { kind: 'role', role, create, options, sql: roleSql(role, create, options) };
}
function roleOption(r, word) {
    if (FLAGS.has(word))
        return word;
    if (word === 'CONNECTION' && r.words('LIMIT'))
        return `CONNECTION LIMIT ${r.number()}`;
    if (word === 'PASSWORD' || (word === 'ENCRYPTED' && r.words('PASSWORD'))) {
        const password = r.stringOrNull();
        return `PASSWORD ${password === null ? 'NULL' : quoteLiteral(password)}`;
    }
    if (word === 'VALID' && r.words('UNTIL'))
        return `VALID UNTIL ${quoteLiteral(r.string())}`;
    throw new Unreadable(`${word} is not a role option pg_dumpall writes`);
}
/** The SQL of a CREATE or ALTER ROLE with these options, each as `roleOption` wrote it. */
function roleSql(role, create, options) {
    const withOptions = options.length > 0 ? ` WITH ${options.join(' ')}` : '';
    return `${create ? 'CREATE' : 'ALTER'} ROLE ${quoteIdent(role)}${withOptions}`;
}
function alterRole(r) {
    const role = r.role();
    if (r.words('IN', 'DATABASE')) {
        const database = r.name();
        if (!r.words('SET'))
            throw new Unreadable('only SET is read');
        const sql = `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)} SET ${settingValue(r)}`;
        return { kind: 'role-in-database', role, database, sql };
    }
    if (r.words('SET'))
        return roleSetting(role, r);
    return roleOptions(r, false, role);
}
function roleSetting(role, r) {
    const sql = `ALTER ROLE ${quoteIdent(role)} SET ${settingValue(r)}`;
    return { kind: 'role', role, create: false, options: [], sql };
}
/** `name TO 'v'[, …]` after SET, written anew. */
function settingValue(r) {
    const name = r.name();
    if (!r.words('TO') && !r.symbol('='))
        throw new Unreadable('TO expected');
    const values = r.list(() => quoteLiteral(r.string()));
    return `${quoteIdent(name)} TO ${values.join(', ')}`;
}
function roleComment(r) {
    const role = r.role();
    const sql = `COMMENT ON ROLE ${quoteIdent(role)} IS ${commentValue(r)}`;
    return { kind: 'role', role, create: false, options: [], sql };
}
function commentValue(r) {
    if (!r.words('IS'))
        throw new Unreadable('IS expected');
    const text = r.stringOrNull();
    return text === null ? 'NULL' : quoteLiteral(text);
}
function roleLabel(r) {
    const provider = r.words('FOR') ? ` FOR ${quoteIdent(r.name())}` : '';
    if (!r.words('ON', 'ROLE'))
        throw new Unreadable('only labels on roles are read');
    const role = r.role();
    const sql = `SECURITY LABEL${provider} ON ROLE ${quoteIdent(role)} IS ${commentValue(r)}`;
    return { kind: 'role', role, create: false, options: [], sql };
}
const PRIVILEGE_WORDS = new Set(['ALL', 'PRIVILEGES', 'SET', 'ALTER', 'SYSTEM', 'CREATE']);
/** `GRANT g TO m …` (a membership), or GRANT / REVOKE … ON PARAMETER / TABLESPACE. */
function grant(r, granting) {
    const optionFor = !granting && r.words('GRANT', 'OPTION', 'FOR') ? 'GRANT OPTION FOR ' : '';
    const privileges = privilegeList(r);
    if (privileges === undefined) {
        if (!granting)
            throw new Unreadable('revoking a membership is not read');
        return membership(r);
    }
    const on = r.words('PARAMETER') ? 'PARAMETER' : r.words('TABLESPACE') ? 'TABLESPACE' : '';
    if (!on)
        throw new Unreadable('only privileges on parameters and tablespaces are read');
    const objects = r.list(() => r.name());
    if (!r.words(granting ? 'TO' : 'FROM'))
        throw new Unreadable('no grantee');
    // PUBLIC is every role of the server: only a tablespace this restore makes may grant to it.
    const grantees = r.list(() => (on === 'TABLESPACE' && r.words('PUBLIC') ? null : r.role()));
    const to = grantees.map((role) => (role === null ? 'PUBLIC' : quoteIdent(role))).join(', ');
    const withGrant = granting && r.words('WITH', 'GRANT', 'OPTION') ? ' WITH GRANT OPTION' : '';
    if (r.words('GRANTED', 'BY'))
        r.role();
    const cascade = !granting && r.words('CASCADE') ? ' CASCADE' : '';
    const sql = `${granting ? 'GRANT' : 'REVOKE'} ${optionFor}${privileges.join(', ')} ON ${on} ${objects.map(quoteIdent).join(', ')} ${granting ? 'TO' : 'FROM'} ${to}${withGrant}${cascade}`;
    if (on === 'TABLESPACE')
        return { kind: 'tablespace', tablespace: objects[0] ?? '', sql };
    const roles = grantees.filter((role) => role !== null);
    return { kind: 'role-privilege', roles, sql };
}
/**
 * The privileges before ON (`SET`, `ALTER SYSTEM`, `ALL PRIVILEGES`); undefined, with nothing
 * consumed, when the statement is a membership (role names, then TO).
 */
function privilegeList(r) {
    const start = r.position();
    const privileges = [];
    let words = [];
    for (let word = r.word(); word !== undefined && PRIVILEGE_WORDS.has(word); word = r.word()) {
        words.push(word);
        if (r.symbol(',')) {
            privileges.push(words.join(' '));
            words = [];
        }
        else if (r.words('ON'))
            return [...privileges, words.join(' ')];
    }
    r.seek(start);
    return undefined;
}
const MEMBERSHIP_OPTIONS = new Set(['ADMIN', 'INHERIT', 'SET']);
/** `GRANT g TO m [WITH ADMIN OPTION | WITH INHERIT TRUE, …] [GRANTED BY r]`. */
function membership(r) {
    const granted = r.list(() => r.role());
    if (!r.words('TO'))
        throw new Unreadable('TO expected');
    const members = r.list(() => r.role());
    const options = r.words('WITH') ? r.list(() => membershipOption(r)) : [];
    const grantor = r.words('GRANTED', 'BY') ? r.role() : undefined;
    const sql = membershipSql(granted, members, options);
    return { kind: 'membership', granted, members, sql, ...(grantor && { grantor }) };
}
function membershipOption(r) {
    const option = r.word() ?? '';
    const value = r.word() ?? '';
    if (!MEMBERSHIP_OPTIONS.has(option) || !['OPTION', 'TRUE', 'FALSE'].includes(value)) {
        throw new Unreadable(`${option} ${value} is not a membership option pg_dumpall writes`);
    }
    return `${option} ${value}`;
}
function membershipSql(granted, members, options) {
    const withOptions = options.length > 0 ? ` WITH ${options.join(', ')}` : '';
    return `GRANT ${granted.map(quoteIdent).join(', ')} TO ${members.map(quoteIdent).join(', ')}${withOptions}`;
}
/** A membership's SQL with its grantor named, for a server that can record it. */
function withGrantor(sql, grantor) {
    return `${sql} GRANTED BY ${quoteIdent(grantor)}`;
}
function createTablespace(r) {
    const tablespace = r.name();
    const owner = r.words('OWNER') ? ` OWNER ${quoteIdent(r.role())}` : '';
    if (!r.words('LOCATION'))
        throw new Unreadable('LOCATION expected');
    const location = r.string();
    const sql = `CREATE TABLESPACE ${quoteIdent(tablespace)}${owner} LOCATION ${quoteLiteral(location)}`;
    return { kind: 'tablespace', tablespace, location, sql };
}
/** `ALTER TABLESPACE t SET (option = value, …)`. */
function alterTablespace(r) {
    const tablespace = r.name();
    if (!r.words('SET') || !r.symbol('('))
        throw new Unreadable('SET ( expected');
    const options = r.list(() => {
        const option = r.name();
        if (!r.symbol('='))
            throw new Unreadable('= expected');
        return `${quoteIdent(option)} = ${r.number()}`;
    });
    if (!r.symbol(')'))
        throw new Unreadable(') expected');
    const sql = `ALTER TABLESPACE ${quoteIdent(tablespace)} SET (${options.join(', ')})`;
    return { kind: 'tablespace', tablespace, sql };
}
function tablespaceComment(r) {
    const tablespace = r.name();
    const sql = `COMMENT ON TABLESPACE ${quoteIdent(tablespace)} IS ${commentValue(r)}`;
    return { kind: 'tablespace', tablespace, sql };
}

;// CONCATENATED MODULE: ./src/restore/globals-plan.ts
/**
 * Which of the globals a restore applies to the target, and why the rest is not. Pure. Roles the
 * target has are left as they are (their attributes, passwords, comments, settings and
 * memberships), the role running the restore above all; only the roles made here are shaped.
 * What reaches beyond the restored databases (SUPERUSER, REPLICATION, BYPASSRLS; membership in a
 * role the server had, predefined pg_* roles among them) is withheld unless allowed.
 * Lines for reports name roles and kinds of statement, never a statement's text (a password hash).
 */


function planGlobals(statements, facts) {
    const plan = {
        roles: [],
        created: [],
        existing: [],
        tablespaces: [],
        inDatabase: [],
        skipped: [],
        allowed: [],
    };
    const keep = (role) => facts.roles.has(role) || role === facts.currentUser;
    const made = new Set(statements.flatMap((s) => (s.kind === 'role' && s.create && !keep(s.role) ? [s.role] : [])));
    const ours = (roles) => roles.every((role) => made.has(role));
    for (const statement of statements) {
        switch (statement.kind) {
            case 'role':
                if (!keep(statement.role)) {
                    plan.roles.push(withoutPrivileges(plan, statement, facts.allowPrivileged));
                    if (statement.create)
                        plan.created.push(statement.role);
                }
                else if (statement.create)
                    plan.existing.push(statement.role);
                break;
            case 'role-in-database':
                planInDatabase(plan, statement, made.has(statement.role), facts);
                break;
            case 'membership':
                planMembership(plan, statement, made, facts.allowPrivileged);
                break;
            case 'role-privilege':
                if (ours(statement.roles))
                    plan.roles.push(statement);
                else {
                    plan.skipped.push(`a privilege on a configuration parameter of ${names(statement.roles)}, which existed before`);
                }
                break;
            case 'tablespace':
                planTablespace(plan, statement, facts);
                break;
            case 'session':
                break;
            case 'other':
                plan.skipped.push(`a statement not read (${statement.reason})`);
        }
    }
    return plan;
}
/** A new role's statement without SUPERUSER, REPLICATION and BYPASSRLS, unless allowed. */
function withoutPrivileges(plan, statement, allow) {
    const { role, create, options } = statement;
    const privileged = options.filter((option) => PRIVILEGED_ATTRIBUTES.has(option));
    if (privileged.length === 0)
        return statement;
    const line = `${names([role])} with ${privileged.join(', ')}`;
    if (allow) {
        plan.allowed.push(line);
        return statement;
    }
    plan.skipped.push(`${line}: created without them (allow-privileged-roles: true keeps them)`);
    const kept = options.filter((option) => !PRIVILEGED_ATTRIBUTES.has(option));
    return { ...statement, options: kept, sql: roleSql(role, create, kept) };
}
/**
 * A membership of roles made here, in roles made here; in a role the server had (a predefined
 * pg_* role, its superuser) only when allowed: it would hand the restored roles its privileges.
 */
function planMembership(plan, statement, made, allow) {
    const { members, granted } = statement;
    const what = `membership of ${names(members)} in ${names(granted)}`;
    if (!members.every((role) => made.has(role))) {
        plan.skipped.push(`${what}: the member existed before and is left as it is`);
        return;
    }
    const outside = granted.filter((role) => !made.has(role));
    if (outside.length === 0)
        plan.roles.push(statement);
    else if (allow) {
        plan.allowed.push(what);
        plan.roles.push(statement);
    }
    else {
        plan.skipped.push(`${what}: ${names(outside)} is not a role this restore made (allow-privileged-roles: true grants it)`);
    }
}
function planInDatabase(plan, statement, made, facts) {
    const { role, database } = statement;
    if (!made) {
        plan.skipped.push(`a setting of ${names([role])} in ${names([database])}: the role existed before`);
    }
    else if (!facts.sameName.has(database)) {
        plan.skipped.push(`a setting of ${names([role])} in ${names([database])}: that database is not restored under its own name`);
    }
    else
        plan.inDatabase.push({ database, statement });
}
function planTablespace(plan, statement, facts) {
    const { tablespace, location } = statement;
    const step = plan.tablespaces.find((item) => item.tablespace === tablespace);
    if (step) {
        step.statements.push(statement);
        return;
    }
    const creates = /^\s*CREATE\b/i.test(statement.sql);
    if (facts.tablespaceMode === 'skip') {
        if (creates)
            plan.skipped.push(`tablespace ${names([tablespace])}: restored without tablespaces`);
    }
    else if (facts.tablespaces.has(tablespace)) {
        if (creates)
            plan.skipped.push(`tablespace ${names([tablespace])}: exists, left as it is`);
    }
    else if (creates) {
        plan.tablespaces.push({ tablespace, location, statements: [statement] });
    }
}
/** What a statement does, by kind and name, for a warning. */
function describeStatement(statement) {
    switch (statement.kind) {
        case 'role':
            return `${statement.create ? 'creating' : 'a property or setting of'} the role ${names([statement.role])}`;
        case 'role-in-database':
            return `a setting of ${names([statement.role])} in ${names([statement.database])}`;
        case 'membership':
            return `membership of ${names(statement.members)} in ${names(statement.granted)}`;
        case 'role-privilege':
            return `a privilege on a configuration parameter of ${names(statement.roles)}`;
        case 'tablespace':
            return `a property of the tablespace ${names([statement.tablespace])}`;
        case 'session':
            return 'a session setting';
        case 'other':
            return statement.reason;
    }
}
const names = (list) => list.map(quotedName).join(', ');

;// CONCATENATED MODULE: ./src/restore/globals.ts






const GLOBALS_LIMIT = 64 * 1024 * 1024;
/**
 * One statement through the extended protocol, which refuses a second one: should this splitter
 * and the server ever read the quoting of a script differently, what the splitter took for one
 * role's statement cannot carry another command with it. (queryMode is the driver's own, pg
 * 8.11+; its type declarations do not list it yet.)
 */
const single = (sql) => ({ text: sql, queryMode: 'extended' });
/** The globals script, its every stored byte checked; more than GLOBALS_LIMIT fails. */
async function readGlobals(ctx, globals, layers, keys) {
    return readObject(ctx.store, globals.object, layers, keys, (stream) => collect(stream, globals.object.key), ctx.signal);
}
async function collect(stream, key) {
    const chunks = [];
    let size = 0;
    for await (const chunk of stream) {
        size += chunk.length;
        if (size > GLOBALS_LIMIT) {
            throw new Error(`${key} holds more than ${GLOBALS_LIMIT / 1024 / 1024} MiB of SQL: not the globals of a backup`);
        }
        chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}
/** Applies the script's roles and tablespaces that the target lacks, through `server`. */
async function applyGlobals(server, script, options, log) {
    const statements = globalStatements(script);
    return withConnection(server, async (client) => {
        const facts = await targetFacts(client);
        const plan = planGlobals(statements, { ...facts, ...options });
        const applied = {
            plan,
            created: plan.created,
            failed: [],
            grantorsNotKept: [],
        };
        const warn = (line) => {
            applied.failed.push(line);
            log.warning(`restore-globals: ${line}`);
        };
        const roles = new Set([...facts.roles, ...plan.created]);
        await applyRoles(client, plan.roles, {
            warn,
            roles,
            grantorsNotKept: applied.grantorsNotKept,
            beforeCommit: async () => {
                if (options.mark)
                    await mark(client, 'ROLE', plan.created, options.mark);
            },
        });
        for (const step of plan.tablespaces)
            await globals_createTablespace(client, step, warn);
        return applied;
    });
}
async function targetFacts(client) {
    const { rows: roles } = await client.query('SELECT rolname AS name FROM pg_roles');
    const { rows: spaces } = await client.query('SELECT spcname AS name FROM pg_tablespace');
    const { rows: me } = await client.query('SELECT current_user AS name');
    return {
        roles: new Set(roles.map((row) => row.name)),
        tablespaces: new Set(spaces.map((row) => row.name)),
        currentUser: me[0]?.name ?? '',
    };
}
/** One transaction; each statement behind a savepoint, so one refused is only reported. */
async function applyRoles(client, statements, steps) {
    if (statements.length === 0)
        return;
    await client.query('BEGIN');
    try {
        for (const statement of statements) {
            if (statement.kind === 'membership' && statement.grantor !== undefined) {
                await grantWithGrantor(client, statement, statement.grantor, steps);
                continue;
            }
            await client.query('SAVEPOINT globals');
            try {
                await client.query(single(statement.sql));
                await client.query('RELEASE SAVEPOINT globals');
            }
            catch (error) {
                if (statement.kind === 'role' && statement.create) {
                    throw new Error(`restore-globals: cannot create the role ${JSON.stringify(statement.role)}: ${(0,errors/* errorMessage */.gJ)(error)}; no role was created`);
                }
                await client.query('ROLLBACK TO SAVEPOINT globals');
                steps.warn(`${describeStatement(statement)} was not applied: ${(0,errors/* errorMessage */.gJ)(error)}`);
            }
        }
        await steps.beforeCommit();
        await client.query('COMMIT');
    }
    catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
    }
}
/**
 * A membership as granted by the backup's grantor where the server lets the restoring role say so
 * (a superuser may; on 16+ the grantor must hold ADMIN on the role): otherwise by the restoring
 * role, and the line says why.
 */
async function grantWithGrantor(client, statement, grantor, steps) {
    const what = `${describeStatement(statement)}: granted by the restoring role, not ${JSON.stringify(grantor)}`;
    let why = `the role ${JSON.stringify(grantor)} is not on this server`;
    if (steps.roles.has(grantor)) {
        await client.query('SAVEPOINT grantor');
        try {
            await client.query(single(withGrantor(statement.sql, grantor)));
            await client.query('RELEASE SAVEPOINT grantor');
            return;
        }
        catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT grantor');
            why = (0,errors/* errorMessage */.gJ)(error);
        }
    }
    await client.query('SAVEPOINT globals');
    try {
        await client.query(single(statement.sql));
        await client.query('RELEASE SAVEPOINT globals');
        steps.grantorsNotKept.push(`${what}: ${why}`);
    }
    catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT globals');
        steps.warn(`${describeStatement(statement)} was not applied: ${(0,errors/* errorMessage */.gJ)(error)}`);
    }
}
async function globals_createTablespace(client, { tablespace, location, statements }, warn) {
    const [create, ...rest] = statements;
    if (!create)
        return;
    try {
        await client.query(single(create.sql));
    }
    catch (error) {
        throw new Error(`restore-globals: cannot create the tablespace ${JSON.stringify(tablespace)} at ${JSON.stringify(location ?? '')}: ${(0,errors/* errorMessage */.gJ)(error)}; create the folder (empty, owned by the server's user) or the tablespace by hand, and run again`);
    }
    for (const statement of rest) {
        await client.query(single(statement.sql)).catch((error) => {
            warn(`${describeStatement(statement)} was not applied: ${(0,errors/* errorMessage */.gJ)(error)}`);
        });
    }
}
/** The `ALTER ROLE … IN DATABASE` settings of `database`, once it is restored. */
async function applyInDatabase(server, database, applied, log) {
    const statements = applied.plan.inDatabase.filter((item) => item.database === database);
    if (statements.length === 0)
        return;
    await withConnection(server, async (client) => {
        for (const { statement } of statements) {
            await client.query(single(statement.sql)).catch((error) => {
                const line = `${describeStatement(statement)} was not applied: ${(0,errors/* errorMessage */.gJ)(error)}`;
                applied.failed.push(line);
                log.warning(`restore-globals: ${line}`);
            });
        }
    });
}
/**
 * Drops the roles restore-globals made, after the databases that used them: what they still hold
 * on the server (privileges on parameters) goes first. Returns the roles it could not drop.
 */
async function dropRoles(server, roles, log) {
    if (roles.length === 0)
        return [];
    return withConnection(server, async (client) => {
        const list = roles.map(quoteIdent).join(', ');
        await client.query(`DROP OWNED BY ${list}`).catch(() => undefined);
        const left = [];
        for (const role of [...roles].reverse()) {
            try {
                await client.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
            }
            catch (error) {
                left.push(role);
                log.warning(`could not drop the role ${JSON.stringify(role)} that restore-globals made: ${(0,errors/* errorMessage */.gJ)(error)}`);
            }
        }
        return left;
    });
}

;// CONCATENATED MODULE: ./src/restore/scratch-lease.ts
/**
 * A restore-test's hold on its scratch server: the lock that marks what it makes (see
 * postgres/scratch-marks.ts), taken before anything is made, and what earlier runs killed outright
 * left behind (scratch databases, the backup's roles with their production attributes and
 * password hashes) dropped first, databases before the roles that own their objects.
 */






/** Runs `work` with the scratch server's leftovers gone and this run's mark held. */
async function withScratchLease(ctx, server, work) {
    const lease = await ScratchLease.take(server, ctx.signal);
    try {
        await scratch_lease_removeLeftovers(server, ctx.log);
        return await work(lease.mark);
    }
    finally {
        await lease.release();
    }
}
async function scratch_lease_removeLeftovers(server, log) {
    const { databases, roles } = await withConnection(server, findLeftovers);
    for (const name of databases) {
        log.warning(`dropping the scratch database ${database_names_printableName(name)}, left by a restore-test that was killed`);
        await dropDatabase(server, name).catch((error) => {
            log.warning(`could not drop the scratch database ${database_names_printableName(name)}: ${(0,errors/* errorMessage */.gJ)(error)}`);
        });
    }
    if (roles.length === 0)
        return;
    log.warning(`dropping the role(s) ${roles.map(quotedName).join(', ')}, made by a restore-test that was killed`);
    await dropRoles(server, roles, log);
}

;// CONCATENATED MODULE: ./src/kinds/database/restore-test.ts
/**
 * restore-test of a backup of one database: the scratch server and pg_restore are checked while
 * the archive downloads (a failed check stops it; every second before pg_restore counts in a test
 * of recovery time); the database is tested in a scratch database of its own
 * (restore/scratch-test.ts), which is dropped, pass, fail or cancel.
 */










async function testDatabaseBackup(manifest, settings, ctx, phases) {
    // The reusable workflows ask for the roles on every nightly test: a backup without any is no mistake.
    if (settings.restoreGlobals) {
        ctx.log.info(`restore-globals: backup ${manifest.id} is of one database and holds no roles; restored without owners`);
    }
    refuseServerInputs({ ...settings, restoreGlobals: false }, settings.checks, manifest.source.database);
    refuseUnrestorable(manifest.id, [manifest.source.database]);
    const server = scratchServer(settings);
    const part = databasePart(manifest);
    const download = startDownload(ctx, part, settings.decryption, phases);
    const { version, pgRestore } = await stopOnFailure(download, async () => {
        const version = await checkScratchServer(server, ctx.signal);
        return { version, pgRestore: await choosePgRestore(manifest, settings.client, ctx, version) };
    });
    const run = { settings, ctx, server, pgRestore };
    const test = { part, scratch: scratchName(settings.name), phases };
    const options = { checks: settings.checks, keepOwners: false, noTablespaces: false };
    return {
        run: () => stopOnFailure(download, () => withScratchLease(ctx, server, (mark) => testDatabase({ ...run, mark }, test, options, download))),
        problems: () => failures(test),
        rows: () => testRows(run, test, version),
    };
}
function testRows({ settings, pgRestore }, test, server) {
    const { part, comparison, checks, archive } = test;
    const { tables, rows } = restoredTotals(test);
    const compared = part.backup.rowCountsMode === 'exact' && part.rowCounts
        ? `${(0,format/* formatCount */.B4)(rows)} rows match the manifest`
        : `${(0,format/* formatCount */.B4)(rows)} rows (the manifest has no exact counts to compare)`;
    const passed = checks?.length ? `, ${checks.length} check(s) passed` : '';
    return {
        done: 'restored',
        summary: `${tables} tables, ${compared}${passed}`,
        outputs: { 'restored-tables': tables },
        facts: [
            ['Database settings', scratchSettingsLine(test.databaseSettings, settings.databaseSettings)],
            [
                'Tables / rows',
                comparison
                    ? `${(0,format/* formatCount */.B4)(tables)} / ${(0,format/* formatCount */.B4)(rows)}`
                    : 'not counted: the restore did not finish',
            ],
            [
                'Scratch database',
                `${test.scratch}${scratch_test_kept(settings, test) ? ' (kept)' : ' (dropped)'} on PostgreSQL ${server.version}`,
            ],
            [
                'pg_restore',
                `${pgRestore.program.version}, ${settings.jobs} job(s); archive ${archiveLine(part, archive)}`,
            ],
        ],
        tables: [...(comparison ? [countsTable(comparison)] : []), ...tableOfChecks(checks ?? [])],
        details: { scratch: test.scratch, comparison, checks },
    };
}
function archiveLine(part, archive) {
    const toc = archive?.toc;
    const dumpedBy = toc?.dumpedBy ?? part.backup.dump?.version ?? 'unknown';
    const from = toc?.dumpedFrom ?? part.serverVersion;
    return `${toc?.formatVersion ? `format ${toc.formatVersion}, ` : ''}pg_dump ${dumpedBy}${from ? ` of PostgreSQL ${from}` : ''}`;
}

;// CONCATENATED MODULE: ./src/kinds/database/index.ts
/**
 * One PostgreSQL database (`source: postgres`): one pg_dump custom archive, with every table's
 * row count taken in the dump's own snapshot.
 */












const databaseKind = {
    holds: (manifest) => `database ${manifest.source.database === undefined ? '(unnamed)' : database_names_printableName(manifest.source.database)}`,
    restoreInto: 'database',
    checks: postgresChecks,
    testInputs: POSTGRES_TEST_INPUTS,
    backup: {
        plan: planBackup,
        rows: (manifest) => objectRows(manifest.object, [serverFact(manifest), ...countsFact(manifest)]),
    },
    verify: {
        rules: () => [],
        async deep(manifest, settings, ctx) {
            // Chosen before the download, so a client that cannot read the archive fails first.
            const pgRestore = await restoreProgram(manifest, settings.client, ctx);
            return checkObject(manifest, settings, ctx, (archive) => listDumpArchive(archive, pgRestore));
        },
        rows: () => ({ facts: [], tables: [] }),
    },
    restoreTest: testDatabaseBackup,
    restore: restoreDatabaseBackup,
};
async function planBackup(settings, ctx, id) {
    const target = settings.database;
    const server = await withConnection(target, serverVersion, ctx.signal);
    const pgDump = await dumpProgram('pg_dump', server, settings.client, ctx);
    ctx.log.info(`pg_dump ${pgDump.version} (${pgDump.path}), server PostgreSQL ${server.version}`);
    const layers = objectExtension('pg_dump-custom', settings.compression, encryptionOf(settings.encryptionKeys));
    return {
        what: `database ${database_names_printableName(target.database)}`,
        parts: [dumpPart(settings, target, pgDump, objectKey(settings.name, id, layers))],
        jobs: 1,
        fields: ([dump]) => ({
            source: { kind: 'postgres', database: target.database, serverVersion: server.version },
            format: 'pg_dump-custom',
            object: dump.object,
            ...dump.facts,
            dump: { program: 'pg_dump', version: pgDump.version },
        }),
    };
}
function countsFact(manifest) {
    if (!manifest.rowCountsMode)
        return [];
    const counts = Object.values(manifest.rowCounts ?? {});
    const rows = counts.reduce((sum, n) => sum + n, 0);
    return [
        [
            'Tables / rows',
            `${(0,format/* formatCount */.B4)(counts.length)} / ${(0,format/* formatCount */.B4)(rows)} (${manifest.rowCountsMode})`,
        ],
    ];
}

// EXTERNAL MODULE: ./node_modules/ignore/index.js
var ignore = __webpack_require__(70298);
var ignore_default = /*#__PURE__*/__webpack_require__.n(ignore);
// EXTERNAL MODULE: ./node_modules/tinyglobby/dist/index.mjs + 1 modules
var dist = __webpack_require__(73382);
;// CONCATENATED MODULE: ./src/files/walk.ts






const UNREADABLE = new Set(['EACCES', 'EPERM', 'EIO']);
/** The error code when `error` means "cannot be read", else undefined. */
function unreadableCode(error) {
    const code = error.code;
    return code !== undefined && UNREADABLE.has(code) ? code : undefined;
}
function unreadableError(file, code) {
    return new Error(`${database_names_printableName(file)} cannot be read (${code}); fix its permissions, exclude it, or set skip-unreadable: true`);
}
function archiveName(file, cwd) {
    const relative = external_node_path_default().relative(cwd, file);
    if (relative === '')
        return '';
    const inside = relative !== '' && !relative.startsWith('..') && !external_node_path_default().isAbsolute(relative);
    const name = inside ? relative : file.replace(/^\/+/, '');
    return name.split((external_node_path_default()).sep).join('/');
}
async function excludeRules(options) {
    const rules = ignore_default()().add(options.exclude);
    if (options.excludeFrom)
        rules.add(await (0,promises_.readFile)(options.excludeFrom, 'utf8'));
    return rules;
}
/** Every entry to archive, in a stable order (sorted by archive name). Missing paths throw. */
async function walkTree(options) {
    const walk = {
        special: [],
        skipped: [],
        found: new Map(),
        options,
        rules: await excludeRules(options),
        storeId: options.store ? await (0,promises_.stat)(options.store).catch(() => undefined) : undefined,
    };
    for (const root of await expandPaths(options))
        await visit(root, walk);
    const entries = [...walk.found.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return { entries, special: walk.special, skipped: walk.skipped, store: walk.store };
}
async function expandPaths(options) {
    const roots = [];
    for (const pattern of options.paths) {
        if (!(0,dist/* isDynamicPattern */.ey)(pattern)) {
            const root = external_node_path_default().resolve(options.cwd, pattern);
            await (0,promises_.lstat)(root).catch((error) => {
                if (error.code !== 'ENOENT')
                    throw error;
                throw new errors/* InputError */.dz('paths', `"${pattern}" does not exist (in ${options.cwd}); give existing paths or globs, one per line`);
            });
            roots.push(root);
            continue;
        }
        const matches = await (0,dist/* glob */.TI)(pattern, {
            cwd: options.cwd,
            absolute: true,
            dot: true,
            onlyFiles: false,
            followSymbolicLinks: false,
            expandDirectories: false,
        });
        if (matches.length === 0) {
            throw new errors/* InputError */.dz('paths', `"${pattern}" matches nothing (in ${options.cwd})`);
        }
        roots.push(...matches.map((match) => external_node_path_default().resolve(match)));
    }
    return roots;
}
async function visit(file, walk) {
    const name = archiveName(file, walk.options.cwd);
    const info = await readable(file, name, walk, () => (0,promises_.lstat)(file));
    if (!info)
        return;
    const type = info.isSymbolicLink()
        ? 'symlink'
        : info.isDirectory()
            ? 'directory'
            : info.isFile()
                ? 'file'
                : undefined;
    if (name !== '' && walk.rules.ignores(type === 'directory' ? `${name}/` : name))
        return;
    if (!type) {
        walk.special.push(name);
        return;
    }
    if (type === 'directory' && info.dev === walk.storeId?.dev && info.ino === walk.storeId.ino) {
        walk.store = name === '' ? '.' : name;
        return;
    }
    // The working directory itself has no name in the archive; its contents do.
    if (name !== '')
        walk.found.set(name, { name, file, type });
    if (type !== 'directory')
        return;
    const children = await readable(file, name, walk, () => (0,promises_.readdir)(file));
    for (const child of (children ?? []).sort())
        await visit(external_node_path_default().join(file, child), walk);
}
/** `read()`'s result; undefined when it cannot be read and skip-unreadable lists it. */
async function readable(file, name, walk, read) {
    try {
        return await read();
    }
    catch (error) {
        const code = unreadableCode(error);
        if (code === undefined)
            throw error;
        if (!walk.options.skipUnreadable)
            throw unreadableError(file, code);
        walk.skipped.push({ name: name === '' ? '.' : name, code });
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/files/tar-source.ts
/**
 * The files source: a POSIX (pax) tar streamed from the tree, one file at a time with
 * backpressure, no temporary copy. A file that vanishes while the backup runs is a warning; one
 * that cannot be read fails the run, unless `skip-unreadable` lists it and goes on.
 */








/**
 * The tree of `paths`, walked before anything is stored: an empty selection fails here, and what
 * cannot be archived is said once.
 */
async function walkFiles(options) {
    const tree = await walkTree(options);
    if (tree.entries.length === 0)
        throw new Error('paths: nothing to back up (everything was excluded or empty)');
    if (tree.store)
        options.log.info(`${tree.store} is the store: not archived`);
    for (const name of tree.special)
        options.log.warning(`${database_names_printableName(name)} is a socket, FIFO or device: not archived`);
    for (const { name, code } of tree.skipped)
        options.log.warning(`${database_names_printableName(name)} cannot be read (${code}): skipped (skip-unreadable)`);
    return tree;
}
/** The walked tree as a tar, each file read as its turn comes. */
function packTree(tree, options) {
    const pack = tar_stream.pack();
    const listed = [];
    const done = writeEntries(pack, tree.entries, options, listed).then(() => pack.finalize(), (error) => {
        pack.destroy(error);
        throw error;
    });
    done.catch(() => undefined);
    return {
        output: external_node_stream_.Readable.from(pack),
        async finished() {
            await done;
            return { files: fileStats(listed) };
        },
        async close() {
            if (!pack.destroyed)
                pack.destroy();
            await done.catch(() => undefined);
        },
    };
}
async function writeEntries(pack, entries, options, listed) {
    for (const entry of entries) {
        try {
            const size = await writeEntry(pack, entry);
            listed.push({ name: entry.name, type: entry.type, size });
        }
        catch (error) {
            const unreadable = unreadableCode(error);
            if (error.code === 'ENOENT') {
                options.log.warning(`${database_names_printableName(entry.name)} vanished while the backup ran: not archived`);
            }
            else if (unreadable && options.skipUnreadable) {
                options.log.warning(`${database_names_printableName(entry.name)} cannot be read (${unreadable}): skipped (skip-unreadable)`);
            }
            else if (unreadable) {
                throw unreadableError(entry.file, unreadable);
            }
            else {
                throw error;
            }
        }
    }
}
/** Adds one entry; returns the content bytes written. */
async function writeEntry(pack, entry) {
    const info = await (0,promises_.lstat)(entry.file);
    const header = {
        name: entry.name,
        mode: info.mode & 0o7777,
        mtime: info.mtime,
        uid: info.uid,
        gid: info.gid,
    };
    if (entry.type === 'directory') {
        await add(pack, { ...header, type: 'directory' });
        return 0;
    }
    if (entry.type === 'symlink') {
        await add(pack, { ...header, type: 'symlink', linkname: await (0,promises_.readlink)(entry.file) });
        return 0;
    }
    // Open before writing the header, so an unreadable file fails before the archive holds a header for it.
    const stream = (0,external_node_fs_.createReadStream)(entry.file, {
        start: 0,
        end: Math.max(0, info.size - 1),
        highWaterMark: 1 << 20,
    });
    await new Promise((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
    });
    if (info.size === 0) {
        stream.destroy();
        await add(pack, { ...header, type: 'file', size: 0 });
        return 0;
    }
    const sink = pack.entry({ ...header, type: 'file', size: info.size });
    try {
        await (0,external_node_stream_promises_.pipeline)(stream, sink);
    }
    catch (error) {
        // The header promised info.size bytes; a file cut short mid-read cannot keep that promise.
        const now = await (0,promises_.lstat)(entry.file).catch(() => undefined);
        if (now && now.size < info.size) {
            throw new Error(`${database_names_printableName(entry.file)} shrank from ${info.size} to ${now.size} bytes while it was archived; a file still being written cannot be backed up consistently: exclude it, or stop what writes it during the backup`);
        }
        throw error;
    }
    return info.size;
}
/** Adds a header-only entry (folder, link, empty file); an empty body ends it at once. */
function add(pack, header) {
    return new Promise((resolve, reject) => pack.entry(header, Buffer.alloc(0), (error) => (error ? reject(error) : resolve())));
}

;// CONCATENATED MODULE: ./src/kinds/files/restore-target.ts
/**
 * A restore target that overlaps the directory store: with `clean`, the old contents are deleted,
 * and a store inside the target (or the target itself, or a folder holding it) would go with them;
 * without it, the restored tree would be written among the backups. Compared as real paths, so a
 * symbolic link or a `..` that leads into the store is found whichever way it is spelled.
 */



async function refuseStoreOverlap(targetPath, storage) {
    if (storage.kind !== 'directory')
        return;
    const [target, store] = await Promise.all([realPathOf(targetPath), realPathOf(storage.path)]);
    const overlap = target === store
        ? 'is the backup store'
        : within(target, store)
            ? `is inside the backup store ${storage.path}`
            : within(store, target)
                ? `holds the backup store ${storage.path}`
                : undefined;
    if (overlap) {
        throw new errors/* InputError */.dz('target-path', `${targetPath} ${overlap}; restoring there could delete or overwrite the backups, so give a folder outside it`);
    }
}
function within(inner, outer) {
    return inner.startsWith(outer.endsWith((external_node_path_default()).sep) ? outer : outer + (external_node_path_default()).sep);
}

;// CONCATENATED MODULE: ./src/kinds/files/restore.ts
/**
 * Restoring a files backup: into a temporary folder for restore-test (figures compared with the
 * manifest), or into `target-path` for restore. Extraction always goes to a staging folder first
 * and reaches the target only once every stored byte matched its checksum.
 *
 * The staging folder is a hidden folder inside the target itself, so it is on the target's own
 * filesystem whatever is mounted where (a volume, a symbolic link to elsewhere, a read-only
 * parent): moving the new tree into place is a rename, never a copy. With `clean`, the old
 * contents are first renamed aside and deleted only once the new tree is in place; a failure on
 * the way puts them back.
 */











/** restore-test: extract to a temporary folder and compare with the manifest's figures. */
function testFiles(ctx, manifest, keys, phases) {
    const done = { manifest, keys, phases };
    return {
        async run() {
            // Private, and removed by the next run if this one is killed: the files are decrypted.
            const dir = await makeRunFolder(external_node_os_default().tmpdir(), 'backup-action-files-', removeTree);
            try {
                // Beside the folder's owner file, never over it.
                const tree = external_node_path_default().join(dir, 'tree');
                await (0,promises_.mkdir)(tree);
                const where = `the temporary folder ${tree}`;
                const advice = '; set TMPDIR to a folder on a larger disk';
                const { settleTopFolders } = await extract(ctx, done, tree, where, advice);
                await settleTopFolders(tree);
            }
            finally {
                await removeTree(dir);
            }
        },
        problems: () => {
            if (!done.stats)
                return [];
            const mismatch = manifest.files
                ? filesMismatch(manifest.files, done.stats)
                : 'the manifest records no file figures';
            return mismatch ? [mismatch] : [];
        },
        rows: () => extractionRows(done, 'to a temporary folder'),
    };
}
/** restore into `targetPath`, which must be empty unless `clean`. */
async function restoreFiles(ctx, manifest, keys, phases, { targetPath, clean, storage }) {
    await refuseStoreOverlap(targetPath, storage);
    const target = await openTarget(targetPath);
    const existing = await (0,promises_.readdir)(target);
    if (existing.length > 0 && !clean) {
        throw new Error(`the target path ${targetPath} is not empty (${existing.length} entries); set clean: true to replace its contents`);
    }
    const done = { manifest, keys, phases };
    return {
        async run() {
            const staging = await (0,promises_.mkdtemp)(external_node_path_default().join(target, '.backup-action-staging-'));
            try {
                const where = `the target path ${targetPath}`;
                const { settleTopFolders } = await extract(ctx, done, staging, where);
                await moveIntoPlace(target, staging, existing, ctx.log);
                await settleTopFolders(target);
            }
            finally {
                await removeTree(staging);
            }
        },
        problems: () => [],
        rows: () => extractionRows(done, `into ${targetPath}`),
    };
}
/** Download, verify, decrypt, decompress and extract into `dir`, timed as one phase. */
async function extract(ctx, done, dir, where, advice = '') {
    const { manifest, keys, phases } = done;
    const extracted = await phases.time('download, verify, decrypt, decompress, extract', () => readObject(ctx.store, manifest.object, manifest, keys, (archive) => extractTar(archive, dir), ctx.signal).catch((error) => {
        const needed = manifest.files
            ? ` (the backup holds ${(0,format/* formatBytes */.z3)(manifest.files.bytes)})`
            : '';
        throw (0,errors/* diskFullError */.vB)(error, where, ` while extracting${needed}${advice}`) ?? error;
    }));
    done.stats = extracted.stats;
    return extracted;
}
function extractionRows({ stats }, where) {
    return {
        done: `extracted ${where}`,
        summary: stats
            ? `${(0,format/* formatCount */.B4)(stats.count)} entries, ${(0,format/* formatBytes */.z3)(stats.bytes)}`
            : 'not extracted',
        outputs: stats ? { 'restored-entries': stats.count } : {},
        facts: stats
            ? [
                ['Entries / bytes', `${(0,format/* formatCount */.B4)(stats.count)} / ${(0,format/* formatBytes */.z3)(stats.bytes)}`],
                ['List digest', stats.listDigest],
            ]
            : [['Entries / bytes', 'not counted: the extraction did not finish']],
        tables: [],
        details: { files: stats },
    };
}
/** The target folder's real path, made if missing; a file there is bad input. */
async function openTarget(targetPath) {
    try {
        await (0,promises_.mkdir)(targetPath, { recursive: true });
    }
    catch (error) {
        const code = error.code;
        if (code !== 'EEXIST' && code !== 'ENOTDIR')
            throw error;
        throw new errors/* InputError */.dz('target-path', `${targetPath} is a file, not a folder; give a folder (it is made if missing)`);
    }
    return (0,promises_.realpath)(targetPath);
}
/**
 * Old contents aside, new ones in, old ones deleted last; on failure every move is undone. Old
 * entries are renamed within the target (a folder moved to another parent must be writable, to
 * update its `..`; one renamed in place need not be, so read-only folders move aside too).
 */
async function moveIntoPlace(target, staging, existing, log) {
    const token = (0,external_node_crypto_.randomBytes)(4).toString('hex');
    const aside = existing.map((_, index) => external_node_path_default().join(target, `.backup-action-replaced-${token}-${index}`));
    const moved = [];
    const move = async (from, to) => {
        await (0,promises_.rename)(from, to);
        moved.push({ from, to });
    };
    try {
        for (const [index, name] of existing.entries())
            await move(external_node_path_default().join(target, name), aside[index] ?? '');
        for (const name of await (0,promises_.readdir)(staging))
            await move(external_node_path_default().join(staging, name), external_node_path_default().join(target, name));
    }
    catch (error) {
        for (const { from, to } of moved.reverse())
            await (0,promises_.rename)(to, from);
        throw error;
    }
    for (const old of aside) {
        await removeTree(old).catch((error) => log.warning(`replaced contents could not be deleted: ${(0,errors/* errorMessage */.gJ)(error)}`));
    }
}
/** rm -r that also gets through folders restored read-only (as a non-root user). */
async function removeTree(dir) {
    try {
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
    catch (error) {
        const code = error.code;
        if (code !== 'EACCES' && code !== 'EPERM')
            throw error;
        await makeWritable(dir);
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
}
async function makeWritable(dir) {
    await (0,promises_.chmod)(dir, 0o700);
    for (const entry of await (0,promises_.readdir)(dir, { withFileTypes: true }))
        if (entry.isDirectory())
            await makeWritable(external_node_path_default().join(dir, entry.name));
}

;// CONCATENATED MODULE: ./src/kinds/files/index.ts
/**
 * A directory tree (`source: files`): one POSIX tar of `paths`, with the count, bytes and list
 * digest of its entries, which every read of it is checked against.
 */








const filesKind = {
    holds: (manifest) => manifest.files ? `files: ${(0,format/* formatCount */.B4)(manifest.files.count)} entries` : 'files',
    restoreInto: 'path',
    testInputs: [],
    checks: { forms: [], refusal: () => 'run in a restored database; this backup is of files' },
    backup: { plan: files_planBackup, rows: (manifest) => objectRows(manifest.object) },
    verify: {
        rules: () => [],
        deep: (manifest, settings, ctx) => checkObject(manifest, settings, ctx, async (archive) => {
            const contents = await readTarArchive(archive);
            const mismatch = manifest.files && contents.files && filesMismatch(manifest.files, contents.files);
            if (mismatch)
                throw new Error(mismatch);
            return contents;
        }),
        rows: () => ({ facts: [], tables: [] }),
    },
    restoreTest: async (manifest, settings, ctx, phases) => testFiles(ctx, manifest, settings.decryption, phases),
    restore: (manifest, settings, ctx, phases) => restoreFiles(ctx, manifest, settings.decryption, phases, settings),
};
async function files_planBackup(settings, ctx, id) {
    // A store folder inside `paths` is left out, or each backup would hold all the earlier ones.
    const store = settings.storage.kind === 'directory' ? settings.storage.path : undefined;
    const options = { ...settings.files, store, log: ctx.log };
    const tree = await walkFiles(options);
    const layers = objectExtension('tar', settings.compression, encryptionOf(settings.encryptionKeys));
    return {
        what: 'files',
        parts: [
            { key: objectKey(settings.name, id, layers), open: async () => packTree(tree, options) },
        ],
        jobs: 1,
        fields: ([tar]) => ({
            source: { kind: 'files' },
            format: 'tar',
            object: tar.object,
            ...tar.facts,
        }),
    };
}

;// CONCATENATED MODULE: ./src/redis/crc64.ts
/**
 * CRC-64 as Redis computes it (the Jones polynomial, reflected, starting from 0): the checksum at
 * the end of an RDB file and of every DUMP payload. The 64-bit state is kept as two 32-bit halves
 * (BigInt arithmetic per byte would cost more than the rest of the parse), eight bytes a step
 * ("slicing by 8", eight tables of each half).
 */
const POLY_HI = 0x95ac9329; // 0xad93d23594c935a9, bits reversed
const POLY_LO = 0xac4bc9b5;
const HI = new Uint32Array(8 * 256);
const LO = new Uint32Array(8 * 256);
for (let index = 0; index < 256; index++) {
    let hi = 0;
    let lo = index;
    for (let bit = 0; bit < 8; bit++) {
        const odd = lo & 1;
        lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
        hi >>>= 1;
        if (odd) {
            hi = (hi ^ POLY_HI) >>> 0;
            lo = (lo ^ POLY_LO) >>> 0;
        }
    }
    HI[index] = hi;
    LO[index] = lo;
}
// Table k: the CRC of byte i followed by k zero bytes.
for (let k = 1; k < 8; k++) {
    for (let index = 0; index < 256; index++) {
        const hi = HI[(k - 1) * 256 + index];
        const lo = LO[(k - 1) * 256 + index];
        const slot = lo & 0xff;
        LO[k * 256 + index] = (((lo >>> 8) | (hi << 24)) ^ LO[slot]) >>> 0;
        HI[k * 256 + index] = ((hi >>> 8) ^ HI[slot]) >>> 0;
    }
}
class Crc64 {
    hi = 0;
    lo = 0;
    update(bytes) {
        let { hi, lo } = this;
        let index = 0;
        for (const end = bytes.length - 7; index < end; index += 8) {
            const a = lo ^
                (bytes[index] |
                    (bytes[index + 1] << 8) |
                    (bytes[index + 2] << 16) |
                    (bytes[index + 3] << 24));
            const b = hi ^
                (bytes[index + 4] |
                    (bytes[index + 5] << 8) |
                    (bytes[index + 6] << 16) |
                    (bytes[index + 7] << 24));
            lo =
                LO[7 * 256 + (a & 0xff)] ^
                    LO[6 * 256 + ((a >>> 8) & 0xff)] ^
                    LO[5 * 256 + ((a >>> 16) & 0xff)] ^
                    LO[4 * 256 + (a >>> 24)] ^
                    LO[3 * 256 + (b & 0xff)] ^
                    LO[2 * 256 + ((b >>> 8) & 0xff)] ^
                    LO[256 + ((b >>> 16) & 0xff)] ^
                    LO[b >>> 24];
            hi =
                HI[7 * 256 + (a & 0xff)] ^
                    HI[6 * 256 + ((a >>> 8) & 0xff)] ^
                    HI[5 * 256 + ((a >>> 16) & 0xff)] ^
                    HI[4 * 256 + (a >>> 24)] ^
                    HI[3 * 256 + (b & 0xff)] ^
                    HI[2 * 256 + ((b >>> 8) & 0xff)] ^
                    HI[256 + ((b >>> 16) & 0xff)] ^
                    HI[b >>> 24];
        }
        for (; index < bytes.length; index++) {
            const slot = (lo ^ bytes[index]) & 0xff;
            lo = ((lo >>> 8) | (hi << 24)) ^ LO[slot];
            hi = (hi >>> 8) ^ HI[slot];
        }
        this.hi = hi >>> 0;
        this.lo = lo >>> 0;
        return this;
    }
    /** The checksum as Redis stores it: 8 bytes, little-endian. */
    bytes() {
        const out = Buffer.alloc(8);
        out.writeUInt32LE(this.lo, 0);
        out.writeUInt32LE(this.hi, 4);
        return out;
    }
}

;// CONCATENATED MODULE: ./src/redis/rdb-error.ts
/** Bytes that are not a well-formed RDB snapshot: a cut stream, a flaw, or a format too new. */
class RdbFormatError extends Error {
    constructor(message) {
        super(message);
        this.name = 'RdbFormatError';
    }
}

;// CONCATENATED MODULE: ./src/redis/lzf.ts
/**
 * LZF decompression (liblzf's format, which Redis uses for long strings in an RDB): needed only
 * for keys and AUX fields, the strings a reader must know; values pass through untouched.
 */

function lzfDecompress(input, length) {
    const out = Buffer.alloc(length);
    let from = 0;
    let to = 0;
    const broken = () => new RdbFormatError('a compressed string that does not expand to its length');
    while (from < input.length) {
        const control = input[from++];
        if (control < 32) {
            // A literal run of control + 1 bytes.
            const end = from + control + 1;
            if (end > input.length || to + control + 1 > length)
                throw broken();
            out.set(input.subarray(from, end), to);
            to += control + 1;
            from = end;
            continue;
        }
        // A back reference: length in the top 3 bits (7 means one more byte), offset in the rest.
        let run = control >> 5;
        if (run === 7) {
            if (from >= input.length)
                throw broken();
            run += input[from++];
        }
        if (from >= input.length)
            throw broken();
        const back = to - ((control & 0x1f) << 8) - input[from++] - 1;
        run += 2;
        if (back < 0 || to + run > length)
            throw broken();
        // Byte by byte: the copy may overlap what it writes.
        for (let index = 0; index < run; index++)
            out[to++] = out[back + index];
    }
    if (to !== length)
        throw broken();
    return out;
}

;// CONCATENATED MODULE: ./src/redis/rdb.ts
/**
 * An RDB snapshot read as it streams past, without holding it: the header, the AUX fields, and
 * every key entry of every logical database, counted, with the file's own CRC-64 checked at its
 * end. Values are skipped by their lengths, never decoded; a restore asks for each entry's raw
 * value bytes, which are exactly a DUMP payload's body (redis/payload.ts).
 *
 * The format is Redis's (src/rdb.h and rdb.c): versions up to 12 (Redis 7.4 and 8). A stream cut
 * anywhere, a type this reader does not know, or bytes that break the format, fail with one line
 * naming the offset.
 */




/** The newest RDB format this reader knows (Redis 7.4 and 8.0 write it). */
const NEWEST_RDB_VERSION = 12;
const OPCODE = {
    slotInfo: 244,
    function2: 245,
    functionPreGa: 246,
    moduleAux: 247,
    idle: 248,
    freq: 249,
    aux: 250,
    resizeDb: 251,
    expireMs: 252,
    expireSeconds: 253,
    selectDb: 254,
    eof: 255,
};
const MODULE_OPCODE = { eof: 0, sint: 1, uint: 2, float: 3, double: 4, string: 5 };
/**
 * Feed it the stream's chunks in order, then call `end()`: it throws RdbFormatError at the first
 * flaw. `feed` returns how many bytes of the chunk belong to the snapshot (the rest follows its
 * end: redis-cli writes the replication stream's end mark there).
 */
class RdbReader {
    handlers;
    queue = [];
    queued = 0;
    consumed = 0;
    want;
    finished = false;
    crc = new Crc64();
    capture;
    parse;
    summary;
    rdbVersion = 0;
    /** Bytes after the snapshot's end. */
    trailing = [];
    constructor(handlers = {}) {
        this.handlers = handlers;
        this.parse = this.snapshot();
        this.step(undefined);
    }
    /** The snapshot's RDB version, once its header is read (0 before). */
    get version() {
        return this.rdbVersion;
    }
    /** Bytes of the snapshot read so far. */
    get offset() {
        return this.consumed;
    }
    feed(chunk) {
        if (this.finished) {
            this.trailing.push(chunk);
            return 0;
        }
        this.queue.push(chunk);
        this.queued += chunk.length;
        this.pump();
        if (!this.finished)
            return chunk.length;
        // Only the last chunk can hold bytes past the end: every earlier one was read through.
        const past = this.queued;
        if (past > 0)
            this.trailing.push(chunk.subarray(chunk.length - past));
        this.queue.length = 0;
        this.queued = 0;
        return chunk.length - past;
    }
    /** The snapshot's summary, once every byte of it arrived. */
    end() {
        if (!this.summary) {
            throw new RdbFormatError(`the snapshot ends after ${this.consumed} bytes, in the middle (no end marker and checksum)`);
        }
        return this.summary;
    }
    step(value) {
        try {
            const next = this.parse.next(value);
            if (next.done) {
                this.summary = next.value;
                this.finished = true;
                this.want = undefined;
            }
            else {
                this.want = next.value;
            }
        }
        catch (error) {
            if (error instanceof RdbFormatError) {
                throw new RdbFormatError(`${error.message} (at byte ${this.consumed})`);
            }
            throw error;
        }
    }
    pump() {
        while (this.want) {
            const want = this.want;
            if ('skip' in want) {
                const skipped = this.consume(want.skip, false);
                if (skipped < want.skip) {
                    want.skip -= skipped;
                    return;
                }
                this.step(undefined);
            }
            else {
                if (this.queued < want.take)
                    return;
                this.step(this.take(want.take));
            }
        }
    }
    take(bytes) {
        const first = this.queue[0];
        if (first.length >= bytes) {
            const out = first.subarray(0, bytes);
            this.consume(bytes, true);
            return out;
        }
        const parts = [];
        let left = bytes;
        for (const chunk of this.queue) {
            if (left === 0)
                break;
            const part = chunk.subarray(0, left);
            parts.push(part);
            left -= part.length;
        }
        this.consume(bytes, true);
        return Buffer.concat(parts, bytes);
    }
    /** Consumes up to `bytes` queued bytes (all of them, when `whole`); returns how many. */
    consume(bytes, whole) {
        let left = whole ? bytes : Math.min(bytes, this.queued);
        const count = left;
        while (left > 0) {
            const chunk = this.queue[0];
            const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
            this.crc.update(part);
            this.capture?.push(Buffer.from(part));
            if (part === chunk)
                this.queue.shift();
            else
                this.queue[0] = chunk.subarray(left);
            left -= part.length;
        }
        this.queued -= count;
        this.consumed += count;
        return count;
    }
    *snapshot() {
        const header = (yield { take: 9 });
        const magic = header.subarray(0, 5).toString('latin1');
        const digits = header.subarray(5).toString('latin1');
        if (magic !== 'REDIS' || !/^\d{4}$/.test(digits)) {
            throw new RdbFormatError('not an RDB snapshot (it does not begin with REDIS and a version)');
        }
        const version = Number(digits);
        if (version < 1 || version > NEWEST_RDB_VERSION) {
            throw new RdbFormatError(`RDB version ${version} is newer than this program reads (up to ${NEWEST_RDB_VERSION}, Redis 8)`);
        }
        this.rdbVersion = version;
        const counts = new Map();
        const state = { db: 0, redisVersion: undefined, functions: 0 };
        let expireAt;
        for (;;) {
            const type = yield* this.byte();
            switch (type) {
                case OPCODE.eof:
                    return {
                        version,
                        ...(state.redisVersion === undefined ? {} : { redisVersion: state.redisVersion }),
                        databases: [...counts.values()].sort((a, b) => a.db - b.db),
                        functions: state.functions,
                        checksummed: yield* this.checksum(version),
                    };
                case OPCODE.selectDb:
                    state.db = yield* this.length();
                    continue;
                case OPCODE.resizeDb:
                    yield* this.length();
                    yield* this.length();
                    continue;
                case OPCODE.slotInfo:
                    for (let index = 0; index < 3; index++)
                        yield* this.length();
                    continue;
                case OPCODE.expireMs:
                    expireAt = Number((yield* this.bytes(8)).readBigInt64LE());
                    continue;
                case OPCODE.expireSeconds:
                    expireAt = (yield* this.bytes(4)).readInt32LE() * 1000;
                    continue;
                case OPCODE.freq:
                    yield { skip: 1 };
                    continue;
                case OPCODE.idle:
                    yield* this.length();
                    continue;
                case OPCODE.aux: {
                    const name = (yield* this.string()).toString('latin1');
                    const value = (yield* this.string()).toString('utf8');
                    if (name === 'redis-ver')
                        state.redisVersion = value;
                    continue;
                }
                case OPCODE.moduleAux:
                    yield* this.length(); // module id
                    yield* this.moduleValue(2); // when_opcode, when, then the module's value
                    continue;
                case OPCODE.function2:
                    yield* this.library();
                    state.functions++;
                    continue;
                case OPCODE.functionPreGa:
                    throw new RdbFormatError('it holds functions in the format of Redis 7.0 release candidates');
                default: {
                    const db = counts.get(state.db) ?? { db: state.db, keys: 0, expires: 0 };
                    counts.set(state.db, db);
                    yield* this.keyEntry(type, state.db, expireAt);
                    db.keys++;
                    if (expireAt !== undefined)
                        db.expires++;
                    expireAt = undefined;
                }
            }
        }
    }
    *keyEntry(type, db, expireAt) {
        const key = yield* this.string();
        if (!this.handlers.entry) {
            yield* this.value(type);
            return;
        }
        const value = yield* this.captured(type);
        this.handlers.entry({ db, key, value, ...(expireAt === undefined ? {} : { expireAt }) });
    }
    /** The value's type byte and bytes, copied as they pass. */
    *captured(type) {
        this.capture = [Buffer.of(type)];
        try {
            yield* this.value(type);
            return Buffer.concat(this.capture);
        }
        finally {
            this.capture = undefined;
        }
    }
    *library() {
        if (!this.handlers.library) {
            yield* this.skipString();
            return;
        }
        this.capture = [Buffer.of(OPCODE.function2)];
        try {
            yield* this.skipString();
            this.handlers.library(Buffer.concat(this.capture));
        }
        finally {
            this.capture = undefined;
        }
    }
    *checksum(version) {
        if (version < 5)
            return false;
        const expected = this.crc.bytes();
        const stored = yield* this.bytes(8);
        if (stored.every((byte) => byte === 0))
            return false;
        if (!stored.equals(expected)) {
            throw new RdbFormatError(`its checksum does not match its bytes (stored ${stored.toString('hex')}, computed ${expected.toString('hex')})`);
        }
        return true;
    }
    /** Skips one value of RDB type `type` (rdbLoadObject's layouts). */
    *value(type) {
        switch (type) {
            case 0: // string
                return yield* this.skipString();
            case 1: // list
            case 2: // set
            case 14: // quicklist of ziplists
                return yield* this.repeat(1, () => this.skipString());
            case 3: // sorted set, scores as text
                return yield* this.repeat(1, () => this.pairWith(() => this.textDouble()));
            case 4: // hash
                return yield* this.repeat(2, () => this.skipString());
            case 5: // sorted set, binary scores
                return yield* this.repeat(1, () => this.pairWith(() => this.skip(8)));
            case 7: // module value, self-describing
                yield* this.length();
                return yield* this.moduleValue(0);
            case 9: // zipmap, ziplists, intset and listpacks: one blob each
            case 10:
            case 11:
            case 12:
            case 13:
            case 16:
            case 17:
            case 20:
            case 23:
                return yield* this.skipString();
            case 25: // hash listpack with field expiry: its earliest expiry, then the listpack
                yield* this.skip(8);
                return yield* this.skipString();
            case 18: // quicklist 2: a container kind before each node
                return yield* this.repeat(1, () => this.lengthThen(() => this.skipString()));
            case 15:
            case 19:
            case 21:
                return yield* this.stream(type);
            case 22: // hash with field expiry (7.4 release candidates): ttl, field, value
                return yield* this.repeat(1, () => this.hashFieldWithTtl());
            case 24: // hash with field expiry: earliest expiry, then ttl, field, value
                yield* this.skip(8);
                return yield* this.repeat(1, () => this.hashFieldWithTtl());
            case 6:
                throw new RdbFormatError('it holds a module value in the format of Redis 4.0 release candidates');
            default:
                throw new RdbFormatError(`unknown value type ${type}`);
        }
    }
    *stream(type) {
        yield* this.repeat(2, () => this.skipString()); // listpacks: master id, listpack
        const ids = type >= 19 ? 8 : 3; // length, last id; then first id, max deleted id, entries added
        for (let index = 0; index < ids; index++)
            yield* this.length();
        const groups = yield* this.length();
        for (let group = 0; group < groups; group++) {
            yield* this.skipString(); // name
            for (let index = 0; index < (type >= 19 ? 3 : 2); index++)
                yield* this.length();
            const pending = yield* this.length();
            for (let entry = 0; entry < pending; entry++) {
                yield* this.skip(16 + 8); // id, delivery time
                yield* this.length(); // delivery count
            }
            const consumers = yield* this.length();
            for (let consumer = 0; consumer < consumers; consumer++) {
                yield* this.skipString();
                yield* this.skip(type >= 21 ? 16 : 8); // seen time (and active time)
                const owned = yield* this.length();
                yield* this.skip(owned * 16);
            }
        }
    }
    *hashFieldWithTtl() {
        yield* this.length();
        yield* this.skipString();
        yield* this.skipString();
    }
    /** A module's value: typed items until its end marker; `items` leading items come untyped. */
    *moduleValue(untyped) {
        for (let index = 0; index < untyped; index++)
            yield* this.length();
        for (;;) {
            const opcode = yield* this.length();
            switch (opcode) {
                case MODULE_OPCODE.eof:
                    return;
                case MODULE_OPCODE.sint:
                case MODULE_OPCODE.uint:
                    yield* this.length();
                    break;
                case MODULE_OPCODE.float:
                    yield* this.skip(4);
                    break;
                case MODULE_OPCODE.double:
                    yield* this.skip(8);
                    break;
                case MODULE_OPCODE.string:
                    yield* this.skipString();
                    break;
                default:
                    throw new RdbFormatError(`unknown module value opcode ${opcode}`);
            }
        }
    }
    /** A count, then `per` items of `item` for each. */
    *repeat(per, item) {
        const count = yield* this.length();
        for (let index = 0; index < count * per; index++)
            yield* item();
    }
    *pairWith(score) {
        yield* this.skipString();
        yield* score();
    }
    *lengthThen(item) {
        yield* this.length();
        yield* item();
    }
    /** A score written as text: its length, or 253-255 for NaN and the infinities. */
    *textDouble() {
        const length = yield* this.byte();
        if (length < 253)
            yield* this.skip(length);
    }
    *byte() {
        return (yield { take: 1 })[0];
    }
    *bytes(count) {
        return (yield { take: count });
    }
    *skip(count) {
        if (count > 0)
            yield { skip: count };
    }
    /** A length (rdbLoadLen); an encoded string's marker is not a length here. */
    *length() {
        const { length, encoding } = yield* this.lengthOrEncoding();
        if (encoding !== undefined)
            throw new RdbFormatError('a string encoding where a length belongs');
        return length;
    }
    *lengthOrEncoding() {
        const first = yield* this.byte();
        switch (first >> 6) {
            case 0:
                return { length: first & 0x3f };
            case 1:
                return { length: ((first & 0x3f) << 8) | (yield* this.byte()) };
            case 3:
                return { length: 0, encoding: first & 0x3f };
        }
        if (first === 0x80)
            return { length: (yield* this.bytes(4)).readUInt32BE() };
        if (first === 0x81) {
            const length = (yield* this.bytes(8)).readBigUInt64BE();
            if (length > BigInt(Number.MAX_SAFE_INTEGER))
                throw new RdbFormatError('a length beyond 2^53');
            return { length: Number(length) };
        }
        throw new RdbFormatError(`unknown length encoding 0x${first.toString(16)}`);
    }
    /** A string's bytes, decoded: integers as their decimal text, LZF expanded. */
    *string() {
        const { length, encoding } = yield* this.lengthOrEncoding();
        switch (encoding) {
            case undefined:
                return yield* this.bytes(length);
            case 0:
                return Buffer.from(String((yield* this.bytes(1)).readInt8()));
            case 1:
                return Buffer.from(String((yield* this.bytes(2)).readInt16LE()));
            case 2:
                return Buffer.from(String((yield* this.bytes(4)).readInt32LE()));
            case 3: {
                const compressed = yield* this.length();
                const plain = yield* this.length();
                return lzfDecompress(yield* this.bytes(compressed), plain);
            }
            default:
                throw new RdbFormatError(`unknown string encoding ${encoding}`);
        }
    }
    *skipString() {
        const { length, encoding } = yield* this.lengthOrEncoding();
        switch (encoding) {
            case undefined:
                return yield* this.skip(length);
            case 0:
            case 1:
                return yield* this.skip(encoding + 1);
            case 2:
                return yield* this.skip(4);
            case 3: {
                const compressed = yield* this.length();
                yield* this.length();
                return yield* this.skip(compressed);
            }
            default:
                throw new RdbFormatError(`unknown string encoding ${encoding}`);
        }
    }
}

;// CONCATENATED MODULE: ./src/redis/rdb-stream.ts
/** A stored snapshot read as it passes on to where it goes (a check, a file). */


/** The same bytes, each read by `reader` on its way: a flaw errors the stream. */
function readWhilePassing(reader) {
    return new external_node_stream_.Transform({
        transform(chunk, _encoding, done) {
            try {
                reader.feed(chunk);
                done(null, chunk);
            }
            catch (error) {
                done(error);
            }
        },
    });
}
/** What a stored snapshot holds; its object must end exactly where the snapshot does. */
function storedSummary(reader) {
    const summary = reader.end();
    if (reader.trailing.length > 0) {
        throw new RdbFormatError('the backup holds bytes after its RDB snapshot ends');
    }
    return summary;
}

;// CONCATENATED MODULE: ./src/redis/check-rdb.ts
/**
 * `redis-check-rdb`, Redis's own check of an RDB snapshot's structure and checksum, on a snapshot
 * that streams from the store. It reads only a file by name, and Node's pipes to a program are
 * sockets, which /dev/stdin cannot open; so the bytes go through a named pipe (a FIFO) in a
 * private temporary folder: nothing of the snapshot is ever on disk. The same stream passes the
 * RDB reader, for the key counts the manifest is compared with.
 */










/** Runs redis-check-rdb on the snapshot; its verdict first, then the reader's figures. */
async function checkRdb(program, archive) {
    const reader = new RdbReader();
    await throughFifo(program, (0,external_node_stream_.pipeline)(archive, readWhilePassing(reader), () => undefined));
    return storedSummary(reader);
}
/**
 * Whether `program` reads RDB version `version`: asked of the program itself, with an empty
 * snapshot of that version, before anything is downloaded. Redis writes its format's version
 * and reads no newer one.
 */
async function readsRdbVersion(program, version) {
    try {
        await throughFifo(program, external_node_stream_.Readable.from([emptySnapshot(version)]));
        return true;
    }
    catch (error) {
        if (error instanceof NewerRdbError)
            return false;
        throw error;
    }
}
/** A snapshot of RDB version `version` that holds nothing, for asking a program if it reads it. */
function emptySnapshot(version) {
    return Buffer.concat([
        Buffer.from(`REDIS${String(version).padStart(4, '0')}`, 'latin1'),
        Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0]), // the end, and a zero (unchecked) checksum
    ]);
}
/** The program reads RDB versions up to its own, and this snapshot is newer. */
class NewerRdbError extends errors/* UnreadableArchiveError */.sU {
}
async function throughFifo(program, bytes) {
    const dir = await (0,promises_.mkdtemp)(external_node_path_default().join(external_node_os_default().tmpdir(), 'backup-action-rdb-'));
    try {
        const fifo = external_node_path_default().join(dir, 'snapshot.rdb');
        await makeFifo(fifo);
        const { child, exit } = start(program, [fifo], helperEnv());
        let stdout = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (text) => (stdout = (stdout + text).slice(-4000)));
        const written = writeInto(fifo, bytes, exit);
        const [sent, ended] = await Promise.allSettled([written, exit]);
        if (ended.status === 'rejected')
            throw new Error(`redis-check-rdb could not run: ${String(ended.reason)}`);
        // Bytes that stopped coming (a flaw the reader found, a broken download) end the checker's
        // input early: its "Unexpected EOF" follows from that cause, which is told instead. Only a
        // checker that closed its input first (EPIPE) has the finding.
        if (sent.status === 'rejected' && !closedByChecker(sent.reason))
            throw sent.reason;
        if (ended.value.code !== 0)
            throw verdict(stdout, ended.value.code);
        if (sent.status === 'rejected')
            throw sent.reason;
    }
    finally {
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
}
/**
 * Opening a FIFO to write waits for its reader; a checker that ends before it opens the FIFO
 * would leave that wait hanging, so its end opens the other side once to release it.
 */
async function writeInto(fifo, bytes, exit) {
    let opened = false;
    void exit.finally(() => {
        if (opened)
            return;
        try {
            (0,external_node_fs_.closeSync)((0,external_node_fs_.openSync)(fifo, external_node_fs_.constants.O_RDONLY | external_node_fs_.constants.O_NONBLOCK));
        }
        catch {
            // Already gone: nothing waits.
        }
    });
    const handle = await (0,promises_.open)(fifo, external_node_fs_.constants.O_WRONLY);
    opened = true;
    // The stream closes the handle when it ends or fails.
    await (0,external_node_stream_promises_.pipeline)(bytes, handle.createWriteStream());
}
function closedByChecker(error) {
    return error?.code === 'EPIPE';
}
async function makeFifo(file) {
    const mkfifo = await onPath('mkfifo');
    if (!mkfifo)
        throw new Error('mkfifo was not found on PATH (coreutils)');
    const { exit } = start({ path: mkfifo }, ['-m', '600', file], helperEnv());
    await succeeded('mkfifo', exit);
}
/** redis-check-rdb's finding, as one line. */
function verdict(stdout, code) {
    const lines = stdout.split('\n');
    const at = lines.findIndex((line) => line.includes('RDB ERROR DETECTED'));
    const finding = (at >= 0 ? lines[at + 1] : lines.at(-1))?.trim() ?? `exit code ${code}`;
    const newer = /Can't handle RDB format version (\d+)/.exec(finding);
    if (newer)
        return new NewerRdbError(`redis-check-rdb ${finding.replace(/^\[offset \d+\] /, '')}`);
    return new errors/* UnreadableArchiveError */.sU(`redis-check-rdb found the snapshot damaged: ${finding}`);
}

;// CONCATENATED MODULE: ./src/redis/connection.ts
/**
 * A connection to a Redis (the source, a restore's target, a scratch server) through the official
 * client, made from the one parsed `redis-url`: the same host, user, password and TLS files that
 * redis-cli gets. Replies stay as bytes: keys and DUMP payloads are binary.
 */


const CONNECT_TIMEOUT_MS = 10_000;
async function connectRedis(target, what) {
    // Loaded when a Redis is first reached: the client is as large as the rest of the bundle, and
    // no other run should pay for parsing it at start-up.
    const { createClient, RESP_TYPES } = await __webpack_require__.e(/* import() */ 488).then(__webpack_require__.t.bind(__webpack_require__, 90488, 23));
    const client = createClient({
        socket: {
            ...socketOptions(target),
            connectTimeout: CONNECT_TIMEOUT_MS,
            reconnectStrategy: false,
        },
        ...('host' in target && target.user !== undefined ? { username: target.user } : {}),
        ...('host' in target && target.password !== undefined ? { password: target.password } : {}),
    }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    // Errors reach the caller through each call; the event would otherwise end the process.
    client.on('error', () => undefined);
    try {
        await client.connect();
    }
    catch (error) {
        client.destroy();
        throw new Error(connectFailure(what, (0,errors/* errorMessage */.gJ)(error)), { cause: error });
    }
    return {
        call: (args) => client.sendCommand(args),
        close: async () => {
            await client.close().catch(() => client.destroy());
        },
    };
}
function connectFailure(what, message) {
    if (/^NOAUTH/.test(message)) {
        return `${what} asks for a password, and none was given: write redis://:password@host, or redis://user:password@host for an ACL user`;
    }
    return `cannot reach ${what}: ${message}`;
}
function socketOptions(target) {
    if (!('host' in target))
        return { path: target.path };
    const { tls } = target;
    if (!tls)
        return { host: target.host, port: target.port };
    const file = (name) => (name === undefined ? undefined : (0,external_node_fs_.readFileSync)(name));
    return {
        host: target.host,
        port: target.port,
        tls: true,
        servername: tls.sni ?? target.host,
        rejectUnauthorized: !tls.insecure,
        ...(tls.cacert ? { ca: file(tls.cacert) } : {}),
        ...(tls.cert ? { cert: file(tls.cert), key: file(tls.key) } : {}),
    };
}
/** A reply as text: INFO's sections, a status, a version. */
function replyText(reply) {
    if (Buffer.isBuffer(reply))
        return reply.toString('utf8');
    return String(reply);
}
/** `INFO <section>` as its `name:value` pairs. */
async function info(connection, section) {
    const text = replyText(await connection.call(['INFO', section]));
    const fields = new Map();
    for (const line of text.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon > 0 && !line.startsWith('#'))
            fields.set(line.slice(0, colon), line.slice(colon + 1));
    }
    return fields;
}
/** Keys per logical database, from `INFO keyspace` (`db0:keys=3,expires=1,avg_ttl=0`). */
async function keyspace(connection) {
    const counts = new Map();
    for (const [name, value] of await info(connection, 'keyspace')) {
        const db = /^db(\d+)$/.exec(name)?.[1];
        const keys = /(?:^|,)keys=(\d+)/.exec(value)?.[1];
        if (db !== undefined && keys !== undefined)
            counts.set(Number(db), Number(keys));
    }
    return counts;
}
/** Runs `work` on a connection that is closed afterwards, pass or fail. */
async function withRedis(target, what, work) {
    const connection = await connectRedis(target, what);
    try {
        return await work(connection);
    }
    finally {
        await connection.close();
    }
}

;// CONCATENATED MODULE: ./src/redis/programs.ts
/**
 * redis-cli, redis-check-rdb and redis-server, found on PATH with their versions, and how
 * redis-cli reaches a server: host, port, user and TLS options as arguments, the password only in
 * its environment (REDISCLI_AUTH), which no other user can read in the process list.
 */



const programs_run = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
async function findRedisProgram(name) {
    const file = await onPath(name);
    if (!file) {
        throw new Error(`${name} was not found on PATH; install Redis's tools (Debian and Ubuntu: apt-get install redis-tools${name === 'redis-server' ? ' redis-server' : ''})`);
    }
    let stdout;
    try {
        ({ stdout } = await programs_run(file, ['--version'], { env: helperEnv() }));
    }
    catch (error) {
        throw new Error(`${file} --version failed: ${error.message}`);
    }
    const match = /(?:v=|\s)(\d+)\.(\d+)\.(\d+)/.exec(stdout);
    if (!match)
        throw new Error(`cannot read the version of ${file} from "${stdout.trim()}"`);
    return { path: file, version: `${match[1]}.${match[2]}.${match[3]}`, major: Number(match[1]) };
}
/** redis-cli's arguments that reach `target` (the password is not among them). */
function cliConnectionArgs(target) {
    const args = ['-h', target.host, '-p', String(target.port), '--no-auth-warning'];
    if (target.user !== undefined)
        args.push('--user', target.user);
    const { tls } = target;
    if (tls) {
        args.push('--tls');
        if (tls.cacert)
            args.push('--cacert', tls.cacert);
        if (tls.cert && tls.key)
            args.push('--cert', tls.cert, '--key', tls.key);
        if (tls.sni)
            args.push('--sni', tls.sni);
        if (tls.insecure)
            args.push('--insecure');
    }
    return args;
}
/** redis-cli's environment: the helpers' few variables, and the password. */
function cliEnv(target) {
    const env = helperEnv();
    if (target.password !== undefined)
        env.REDISCLI_AUTH = target.password;
    return env;
}

;// CONCATENATED MODULE: ./src/redis/snapshot.ts
/**
 * A Redis server's snapshot as a backup's bytes: `redis-cli --rdb -` asks the server for the RDB
 * it sends a new replica (SYNC), and writes it to its stdout as it arrives. Every byte passes the
 * RDB reader on its way to the store, which counts each logical database's keys, checks the
 * snapshot's own checksum, and keeps only the snapshot: the end mark that redis-cli writes after
 * a diskless transfer is not part of it.
 */




/** What redis-cli appends after a diskless transfer: the 40 hex digits that mark its end. */
const END_MARK = /^[0-9a-f]{40}$/;
function openSnapshot(cli, target) {
    const { child, exit } = start(cli, [...cliConnectionArgs(target), '--rdb', '-'], cliEnv(target));
    const reader = new RdbReader();
    let summary = () => undefined;
    const read = new Promise((resolve) => (summary = resolve));
    const output = new external_node_stream_.Transform({
        transform(chunk, _encoding, done) {
            try {
                const belongs = reader.feed(chunk);
                done(null, belongs === chunk.length ? chunk : chunk.subarray(0, belongs));
            }
            catch (error) {
                done(error);
            }
        },
        flush(done) {
            exit.then((ended) => {
                try {
                    if (ended.code !== 0)
                        throw new Error(cliFailure(target, ended, reader.offset));
                    summary(wholeSnapshot(reader));
                    done();
                }
                catch (error) {
                    done(error);
                }
            }, (error) => done(new Error(`redis-cli could not run: ${error.message}`)));
        },
    });
    child.stdout.on('error', (error) => output.destroy(error));
    child.stdout.pipe(output);
    let failed = () => undefined;
    const failure = new Promise((_, reject) => (failed = reject));
    failure.catch(() => undefined);
    output.on('error', failed);
    return {
        output,
        async finished() {
            const { version, databases, redisVersion } = await Promise.race([read, failure]);
            return { rdb: { version, databases, ...(redisVersion ? { redisVersion } : {}) } };
        },
        close: async () => {
            stopIfRunning(child);
            await exit.catch(() => undefined);
        },
    };
}
/** The snapshot ended whole, and nothing but redis-cli's end mark came after it. */
function wholeSnapshot(reader) {
    const summary = reader.end();
    const after = Buffer.concat(reader.trailing).toString('latin1');
    if (after !== '' && !END_MARK.test(after)) {
        throw new RdbFormatError(`${after.length} unexpected bytes follow the snapshot's end`);
    }
    return summary;
}
/** redis-cli's failure in one line, with what to do where the cause is known. */
function cliFailure(target, ended, received) {
    const { stderr } = ended;
    const broke = /I\/O Error reading RDB payload[^\n]*/.exec(stderr)?.[0];
    if (broke) {
        return `the snapshot from ${target.display} broke off after ${received} bytes (redis-cli: ${broke})`;
    }
    if (/SYNC with master failed: -ERR unknown command/i.test(stderr)) {
        return `${target.display} refuses SYNC, the command a replica (and redis-cli --rdb) reads a snapshot with: managed services (ElastiCache, MemoryDB, Memorystore, Azure Cache for Redis, Upstash) disable it; use the provider's own snapshot export there (docs/redis.md)`;
    }
    if (/SYNC with master failed: -NOPERM/i.test(stderr)) {
        return `${target.display}: the user${target.user === undefined ? '' : ` ${target.user}`} may not run SYNC; grant it +sync +psync +replconf +info +ping (ACL SETUSER), or back up with a user that may`;
    }
    return failureLine('redis-cli --rdb', ended);
}

;// CONCATENATED MODULE: ./src/kinds/redis/figures.ts
/** A Redis backup's figures: what its manifest records against what a snapshot holds. */

/** One line naming the first difference, or undefined when the snapshot is the one recorded. */
function countsMismatch(recorded, found) {
    if (found.version !== recorded.version) {
        return `the snapshot is RDB version ${found.version}, but its manifest records ${recorded.version}`;
    }
    const line = (databases) => databases.map(({ db, keys, expires }) => `db${db} ${keys}/${expires}`).join(', ') || 'no keys';
    if (line(found.databases) !== line(recorded.databases)) {
        return `the snapshot holds ${line(found.databases)} (keys/expiring), but its manifest records ${line(recorded.databases)}`;
    }
    return undefined;
}
function totalKeys(rdb) {
    return rdb.databases.reduce((sum, database) => sum + database.keys, 0);
}
/** `613 keys in 3 databases` */
function keysLine(rdb) {
    const databases = rdb.databases.length;
    return `${(0,format/* formatCount */.B4)(totalKeys(rdb))} keys in ${databases} database${databases === 1 ? '' : 's'}`;
}
function figures_serverFact(manifest) {
    const server = manifest.source.serverVersion ?? '?';
    return [
        'Server',
        `Redis ${server}, RDB version ${manifest.rdb.version}, ${manifest.dump?.program ?? 'redis-cli'} ${manifest.dump?.version ?? '?'}`,
    ];
}
function databasesTable(rdb) {
    return {
        title: 'Keys per database',
        header: ['database', 'keys', 'expiring'],
        rows: rdb.databases.map(({ db, keys, expires }) => [
            `db${db}`,
            (0,format/* formatCount */.B4)(keys),
            (0,format/* formatCount */.B4)(expires),
        ]),
    };
}
/** The local Redis program (or the target) is older than the RDB format of the backup. */
function newerLine(manifest, program, version, advice = 'install a Redis at least as new as the one backed up') {
    const by = manifest.source.serverVersion
        ? ` (written by Redis ${manifest.source.serverVersion})`
        : '';
    return `backup ${manifest.id} is RDB version ${manifest.rdb.version}${by}, newer than ${program} ${version} reads; ${advice}`;
}

;// CONCATENATED MODULE: ./src/redis/replay.ts
/**
 * A snapshot written into a live Redis, key by key, as RESTORE commands: each key's value bytes
 * in the RDB are exactly a DUMP payload's body, so the payload is made from the snapshot itself
 * (its bytes, the snapshot's RDB version, and a CRC-64), with the key's expiry as an absolute
 * time. Nothing is decoded or re-encoded, the target needs only the ordinary commands that
 * managed services allow, and it takes the payload if it reads the snapshot's RDB version.
 * Function libraries go the same way through FUNCTION RESTORE.
 *
 * Commands go out in batches (a few thousand keys or a few megabytes), each awaited before the
 * next is read from the file: memory stays bounded whatever the snapshot's size.
 */




const BATCH_KEYS = 2000;
const BATCH_BYTES = 8 << 20;
/** A DUMP payload: the value's bytes, the RDB version (2 bytes), their CRC-64 (8 bytes). */
function dumpPayload(value, rdbVersion) {
    const footer = Buffer.alloc(2);
    footer.writeUInt16LE(rdbVersion);
    const body = Buffer.concat([value, footer]);
    return Buffer.concat([body, new Crc64().update(body).bytes()]);
}
async function replaySnapshot(file, target, options) {
    const pending = [];
    const libraries = [];
    const reader = new RdbReader({
        entry: (entry) => pending.push(entry),
        library: (raw) => libraries.push(raw),
    });
    const batch = new Batch(target);
    for await (const chunk of (0,external_node_fs_.createReadStream)(file, { signal: options.signal })) {
        reader.feed(chunk);
        for (const entry of pending.splice(0))
            await batch.add(entry, reader.version);
    }
    const summary = reader.end();
    await batch.flush();
    if (libraries.length > 0 || options.functions === 'FLUSH') {
        const payload = dumpPayload(Buffer.concat(libraries), summary.version);
        await target
            .call(['FUNCTION', 'RESTORE', payload, options.functions])
            .catch((error) => {
            throw new Error(`FUNCTION RESTORE of ${libraries.length} librar(ies) failed: ${(0,errors/* errorMessage */.gJ)(error)}`);
        });
    }
    return { summary, replayed: { keys: batch.sent, libraries: libraries.length } };
}
/** RESTORE commands in flight together, on the database each key belongs to. */
class Batch {
    target;
    calls = [];
    bytes = 0;
    db = 0;
    sent = 0;
    constructor(target) {
        this.target = target;
    }
    async add(entry, version) {
        if (entry.db !== this.db) {
            await this.flush();
            await this.target.call(['SELECT', String(entry.db)]);
            this.db = entry.db;
        }
        const args = [
            'RESTORE',
            entry.key,
            String(entry.expireAt ?? 0),
            dumpPayload(entry.value, version),
        ];
        if (entry.expireAt !== undefined)
            args.push('ABSTTL');
        this.calls.push(this.target.call(args).catch((error) => {
            throw new Error(restoreFailure(entry, (0,errors/* errorMessage */.gJ)(error)));
        }));
        this.bytes += entry.value.length;
        if (this.calls.length >= BATCH_KEYS || this.bytes >= BATCH_BYTES)
            await this.flush();
    }
    async flush() {
        const calls = this.calls;
        this.calls = [];
        this.bytes = 0;
        const results = await Promise.allSettled(calls);
        const failed = results.find((result) => result.status === 'rejected');
        if (failed)
            throw failed.reason;
        this.sent += calls.length;
    }
}
function restoreFailure(entry, message) {
    const key = printable(entry.key);
    if (/BUSYKEY/.test(message)) {
        return `db${entry.db} key ${key} already exists in the target (written there since the check?): ${message}`;
    }
    if (/payload version or checksum/i.test(message)) {
        return `the target refuses db${entry.db} key ${key}: it reads an older RDB format than this backup's (restore into a Redis at least as new as the one backed up): ${message}`;
    }
    return `RESTORE of db${entry.db} key ${key} failed: ${message}`;
}
/** A key for a message: as text when it is printable, else its first bytes in hex. */
function printable(key) {
    const text = key.toString('utf8');
    if (/^[\x20-\x7e]{1,80}$/.test(text))
        return JSON.stringify(text);
    return `0x${key.subarray(0, 32).toString('hex')}${key.length > 32 ? '…' : ''}`;
}

;// CONCATENATED MODULE: ./src/redis/probe.ts
/**
 * What a restore asks the target before anything is written or flushed, with the commands the
 * restore itself sends: RESTORE of the snapshot's own keys and values (with an expiry already
 * past, so Redis checks the user's right to the key, the payload's RDB version and its bytes,
 * then creates nothing), SELECT of each database, and FUNCTION RESTORE of an empty payload
 * (which checks the right and the version and changes nothing). Each answers undefined when the
 * target takes it, else the target's refusal.
 */





/** Keys tried per database: the first ones, in case some already exist in the target. */
const FIRST_KEYS = 8;
/** A value's bytes as the snapshot holds them: a string (type 0) of one byte. */
const PROBE_VALUE = Buffer.from([0, 1, 0x78]);
/**
 * A first look, before the download: a key of the action's own name. A NOPERM here proves
 * nothing about the backup's keys (a user may be limited to their pattern), so it is left to
 * `keysRefusal`, which asks with the snapshot's own key names.
 */
async function versionRefusal(target, rdbVersion) {
    const refusal = await refusalOf(target, [
        'RESTORE',
        `backup-action:probe:${(0,external_node_crypto_.randomUUID)()}`,
        '1',
        dumpPayload(PROBE_VALUE, rdbVersion),
        'ABSTTL',
    ]);
    return refusal !== undefined && /NOPERM/.test(refusal) ? undefined : refusal;
}
/** FUNCTION RESTORE of no library, APPEND: changes nothing. */
function functionsRefusal(target, rdbVersion) {
    return refusalOf(target, [
        'FUNCTION',
        'RESTORE',
        dumpPayload(Buffer.alloc(0), rdbVersion),
        'APPEND',
    ]);
}
/**
 * Per database of the snapshot: its first keys and the first key of each value type (a module
 * type among them), each restored already expired; a key the target holds (BUSYKEY: the right to
 * it was checked) is passed over for the next.
 */
async function keysRefusal(target, file, rdbVersion) {
    for (const [db, entries] of await sampleEntries(file)) {
        const selected = await refusalOf(target, ['SELECT', String(db)]);
        if (selected !== undefined)
            return { db, message: selected };
        for (const entry of entries) {
            const payload = dumpPayload(entry.value, rdbVersion);
            const refusal = await refusalOf(target, ['RESTORE', entry.key, '1', payload, 'ABSTTL']);
            if (refusal !== undefined && !/BUSYKEY/.test(refusal)) {
                return { db, key: entry.key, message: refusal };
            }
        }
    }
    await target.call(['SELECT', '0']);
    return undefined;
}
async function sampleEntries(file) {
    const sample = new Map();
    const types = new Set();
    const reader = new RdbReader({
        entry: (entry) => {
            const kept = sample.get(entry.db) ?? [];
            const type = `${entry.db}:${entry.value[0]}`;
            if (kept.length < FIRST_KEYS || !types.has(type))
                kept.push(entry);
            types.add(type);
            sample.set(entry.db, kept);
        },
    });
    for await (const chunk of (0,external_node_fs_.createReadStream)(file))
        reader.feed(chunk);
    reader.end();
    return sample;
}
async function refusalOf(target, command) {
    try {
        await target.call(command);
        return undefined;
    }
    catch (error) {
        return (0,errors/* errorMessage */.gJ)(error);
    }
}

;// CONCATENATED MODULE: ./src/kinds/redis/compare.ts
/**
 * Key counts after a restore against the snapshot's. A key with a time to live may have expired
 * since the backup (Redis drops it as it loads or restores it), so each database must hold every
 * key that does not expire, and at most every key: exact where the snapshot can say, and a loss
 * of keys that never expire is always caught.
 */

function compareKeys(recorded, restored) {
    const dbs = [...new Set([...recorded.databases.map(({ db }) => db), ...restored.keys()])].sort((a, b) => a - b);
    const rows = dbs.map((db) => {
        const { keys = 0, expires = 0 } = recorded.databases.find((one) => one.db === db) ?? {};
        const found = restored.get(db) ?? 0;
        const gone = keys - found;
        const result = gone === 0
            ? 'match'
            : gone > 0 && gone <= expires
                ? `match (${gone} expired since)`
                : 'DIFFERS';
        return { db, keys, expires, restored: found, result };
    });
    const differing = rows
        .filter((row) => row.result === 'DIFFERS')
        .map((row) => `db${row.db}: ${row.keys} keys in the snapshot (${row.expires} expiring), ${row.restored} restored`);
    return { rows, differing };
}
function keysTable(comparison) {
    return {
        title: 'Keys per database',
        header: ['database', 'in the snapshot', 'expiring', 'restored', 'result'],
        rows: comparison.rows.map((row) => [
            `db${row.db}`,
            (0,format/* formatCount */.B4)(row.keys),
            (0,format/* formatCount */.B4)(row.expires),
            (0,format/* formatCount */.B4)(row.restored),
            row.result,
        ]),
    };
}
function compare_differenceLine(differing) {
    return `key counts differ from the backup's: ${differing.join('; ')}`;
}

;// CONCATENATED MODULE: ./src/kinds/redis/snapshot-file.ts
/**
 * The backup's snapshot as one file in a private temporary folder, for what needs a file (a
 * scratch redis-server loads one; a restore reads its keys twice: checked, then written): every
 * stored byte checked against the manifest, the snapshot's own checksum and structure checked,
 * and its key counts compared with the manifest's, before anything is done with it. The folder
 * is removed at the end, pass or fail.
 */











const snapshot_file_DOWNLOAD_PHASE = 'download, verify, decrypt, decompress';
async function withSnapshotFile(ctx, manifest, keys, phases, work) {
    // mkdtemp makes the folder private (0700): the snapshot in it is decrypted.
    const dir = await (0,promises_.mkdtemp)(external_node_path_default().join(ctx.env.RUNNER_TEMP || external_node_os_default().tmpdir(), 'backup-action-redis-'));
    try {
        const file = external_node_path_default().join(dir, 'dump.rdb');
        const summary = await phases
            .time(snapshot_file_DOWNLOAD_PHASE, () => readObject(ctx.store, manifest.object, manifest, keys, (archive) => save(archive, file), ctx.signal))
            .catch((error) => {
            const needed = ` for the snapshot (${(0,format/* formatBytes */.z3)(manifest.object.size)} as stored, more once decompressed); point TMPDIR (or RUNNER_TEMP) at a larger disk`;
            throw (0,errors/* diskFullError */.vB)(error, dir, needed) ?? error;
        });
        const mismatch = countsMismatch(manifest.rdb, summary);
        if (mismatch)
            throw new Error(mismatch);
        return await work({ dir, file, summary });
    }
    finally {
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
}
async function save(archive, file) {
    const reader = new RdbReader();
    await (0,external_node_stream_promises_.pipeline)(archive, readWhilePassing(reader), (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 }));
    return storedSummary(reader);
}

;// CONCATENATED MODULE: ./src/kinds/redis/restore.ts
/**
 * restore of a Redis backup into the Redis of `redis-url`, guarded by `confirm` (its host:port).
 * A target that holds keys is refused unless `clean`, which flushes it (FLUSHALL) first.
 *
 * What it cannot do atomically: Redis has no way to swap a whole dataset in (SWAPDB swaps one
 * logical database with another of the same server, which a restore cannot fill unseen), so keys
 * arrive one by one (RESTORE, redis/replay.ts) and clients see the target partly restored until
 * the end; with `clean`, the old keys are gone from the flush on. So everything that can fail is
 * checked first: the target (reachable, a primary, not a cluster, empty or clean), then every
 * byte of the backup and its snapshot's own checksum and key counts, in a local file; only then
 * is the target flushed and written.
 */








async function restoreRedisBackup(manifest, settings, ctx, phases) {
    const target = settings.redis;
    const state = await withRedis(target, target.display, (connection) => restore_inspectTarget(connection, manifest, target));
    const held = [...state.keys]
        .filter(([, keys]) => keys > 0)
        .map(([db, keys]) => `${(0,format/* formatCount */.B4)(keys)} keys in db${db}`);
    if (state.functions > 0)
        held.push(`${(0,format/* formatCount */.B4)(state.functions)} function librar(ies)`);
    if (held.length > 0 && !settings.clean) {
        throw new Error(`the target ${target.display} holds ${held.join(', ')}; set clean: true to flush it (FLUSHALL, and its function libraries) and restore the backup in its place`);
    }
    const restore = {
        manifest,
        target,
        state,
        clean: settings.clean,
        stage: 'untouched',
    };
    return {
        run: () => withSnapshotFile(ctx, manifest, settings.decryption, phases, ({ file, summary }) => withRedis(target, target.display, async (connection) => {
            const functions = settings.clean && state.functions > 0 ? 'FLUSH' : 'APPEND';
            await refuseUnwritable(connection, restore, file, summary.functions > 0 || functions === 'FLUSH');
            if (settings.clean) {
                await phases.time('flush the target (FLUSHALL)', () => connection.call(['FLUSHALL']));
                restore.stage = 'flushed';
            }
            restore.stage = 'writing';
            const { replayed } = await phases.time('restore (RESTORE each key)', () => replaySnapshot(file, connection, {
                functions,
                signal: ctx.signal,
            }));
            restore.replayed = replayed;
            restore.stage = 'restored';
            await connection.call(['SELECT', '0']);
            restore.comparison = compareKeys(manifest.rdb, await keyspace(connection));
        })),
        problems: () => restore.comparison?.differing.length ? [compare_differenceLine(restore.comparison.differing)] : [],
        rows: () => restore_restoreRows(restore),
    };
}
/**
 * The target's version and keys; a replica, a cluster node, or a target that cannot take the
 * snapshot (too few logical databases, an older RDB format, a user without RESTORE) is refused
 * before anything is downloaded or flushed.
 */
async function restore_inspectTarget(connection, manifest, target) {
    const server = await info(connection, 'server');
    const replication = await info(connection, 'replication');
    if (replication.get('role') === 'slave') {
        throw new Error('the target is a replica, which takes no writes; restore into its primary');
    }
    if (server.get('redis_mode') === 'cluster') {
        throw new Error('the target is a Redis Cluster node; a snapshot restores into a standalone Redis (docs/redis.md)');
    }
    const version = server.get('redis_version') ?? '?';
    await selectsEveryDatabase(connection, manifest, target);
    const refusal = await versionRefusal(connection, manifest.rdb.version);
    if (refusal !== undefined)
        throw new Error(refusalLine(refusal, manifest, target, version));
    return {
        version,
        keys: await keyspace(connection),
        functions: await functionCount(connection, target),
    };
}
/** A Redis older than 7 has no functions (and no FUNCTION command): none. */
async function functionCount(connection, target) {
    try {
        const libraries = await connection.call(['FUNCTION', 'LIST']);
        return Array.isArray(libraries) ? libraries.length : 0;
    }
    catch (error) {
        const message = (0,errors/* errorMessage */.gJ)(error);
        if (/unknown command/i.test(message))
            return 0;
        throw new Error(refusalLine(message, undefined, target, '', 'list function libraries (FUNCTION LIST)'));
    }
}
/**
 * Every command the restore sends after the flush, tried first on the target with the
 * snapshot's own keys: nothing is flushed before each is shown to be allowed.
 */
async function refuseUnwritable(connection, { manifest, target, state }, file, sendsFunctions) {
    const refused = await keysRefusal(connection, file, manifest.rdb.version);
    if (refused)
        throw new Error(keyRefusalLine(refused, manifest, target, state.version));
    if (!sendsFunctions)
        return;
    const refusal = await functionsRefusal(connection, manifest.rdb.version);
    if (refusal !== undefined) {
        const what = 'restore function libraries (FUNCTION RESTORE)';
        throw new Error(refusalLine(refusal, manifest, target, state.version, what));
    }
}
/** The highest logical database the snapshot uses exists on the target. */
async function selectsEveryDatabase(connection, manifest, target) {
    const highest = Math.max(0, ...manifest.rdb.databases.map(({ db }) => db));
    try {
        await connection.call(['SELECT', String(highest)]);
    }
    catch (error) {
        const message = (0,errors/* errorMessage */.gJ)(error);
        if (/NOPERM/.test(message)) {
            throw new Error(refusalLine(message, undefined, target, '', `SELECT db${highest}`));
        }
        throw new Error(`the target ${target.display} has no db${highest}, which the backup uses (${(0,errors/* errorMessage */.gJ)(error)}); set databases ${highest + 1} or more in its configuration`);
    }
    finally {
        await connection.call(['SELECT', '0']).catch(() => undefined);
    }
}
/** A refusal of one of the snapshot's keys; the key is named. */
function keyRefusalLine(refused, manifest, target, version) {
    const what = refused.key
        ? `write db${refused.db} key ${printable(refused.key)}`
        : `SELECT db${refused.db}`;
    return refusalLine(refused.message, manifest, target, version, what);
}
function refusalLine(refusal, manifest, target, version, what = "write the backup's keys") {
    if (manifest && /payload version or checksum/i.test(refusal)) {
        return newerLine(manifest, `the target's Redis`, version, 'restore into a Redis at least as new as the one backed up');
    }
    if (/NOPERM/.test(refusal)) {
        return `${target.display}: the user${target.user === undefined ? '' : ` ${target.user}`} may not ${what} (${refusal}); grant it +restore +select +info +flushall +function and the backup's key patterns (ACL SETUSER)`;
    }
    return `the target ${target.display} refuses to ${what}: ${refusal}`;
}
const STANDING = {
    untouched: 'untouched',
    flushed: 'flushed (clean: true), and the restore did not start: the target is empty',
    writing: 'partly restored: the restore stopped after some keys were written',
    restored: 'restored',
};
function restore_restoreRows(restore) {
    const { manifest, target, state, comparison, replayed } = restore;
    const restored = comparison?.rows.reduce((sum, row) => sum + row.restored, 0);
    const before = [...state.keys.values()].reduce((sum, keys) => sum + keys, 0);
    return {
        done: `restored into ${target.display}`,
        summary: restored === undefined
            ? 'not counted: the restore did not finish'
            : `${(0,format/* formatCount */.B4)(restored)} keys of the snapshot's ${keysLine(manifest.rdb)}`,
        outputs: { 'restored-keys': restored ?? 0 },
        facts: [
            figures_serverFact(manifest),
            ['Target', `${target.display} (Redis ${state.version})`],
            ['Target now', STANDING[restore.stage]],
            [
                'Flushed first',
                restore.clean
                    ? `yes (clean: true; ${(0,format/* formatCount */.B4)(before)} keys were there)`
                    : 'no (the target was empty)',
            ],
            [
                'Atomic',
                'no: keys arrived one by one (RESTORE); clients could see the target partly restored',
            ],
            ['Functions', replayed ? `${replayed.libraries} librar(ies) restored` : 'not restored'],
        ],
        tables: comparison ? [keysTable(comparison)] : [],
        details: { target: target.display, targetNow: restore.stage, comparison, replayed },
    };
}

;// CONCATENATED MODULE: ./src/redis/scratch.ts
/**
 * A scratch redis-server on a snapshot: its own folder (the snapshot and its log), a Unix socket
 * instead of a port (nothing to collide with, and nothing else on the machine can reach it through
 * its folder's 0700), no saving, no persistence. The socket's folder is a short one of its own in
 * the system's temporary folder, as a socket's path must stay under 108 bytes and the snapshot's
 * folder (RUNNER_TEMP) can be deep. It is stopped and its socket's folder removed, and the caller
 * removes the snapshot's folder, pass, fail or cancel; a cancelled run stops it with every other program it
 * started (process/signals.ts), and it dies with this process (setpriv's parent-death signal).
 */








/** Redis's default number of logical databases; a snapshot that uses more gets as many. */
const DEFAULT_DATABASES = 16;
async function startScratchRedis(server, dir, file, highestDb, signal) {
    const socketDir = await (0,promises_.mkdtemp)(external_node_path_default().join(external_node_os_default().tmpdir(), 'backup-action-redis-socket-'));
    const socket = external_node_path_default().join(socketDir, 'redis.sock');
    const log = external_node_path_default().join(dir, 'redis.log');
    const args = [
        '--port',
        '0',
        '--unixsocket',
        socket,
        '--unixsocketperm',
        '700',
        '--dir',
        dir,
        '--dbfilename',
        external_node_path_default().basename(file),
        '--logfile',
        log,
        '--save',
        '',
        '--appendonly',
        'no',
        '--databases',
        String(Math.max(DEFAULT_DATABASES, highestDb + 1)),
    ];
    const { child, exit } = start(server, args, helperEnv());
    let ended;
    void exit.then((value) => (ended = value), () => undefined);
    const stop = async () => {
        stopIfRunning(child);
        await exit.catch(() => undefined);
        await (0,promises_.rm)(socketDir, { recursive: true, force: true });
    };
    try {
        for (;;) {
            if (signal.aborted)
                throw new errors/* CancelledError */.cc();
            if (ended)
                throw await stoppedError(server, log, ended);
            const connection = await ready(socket);
            if (connection)
                return {
                    connection,
                    stop: async () => {
                        await connection.close();
                        await stop();
                    },
                };
            await (0,external_node_timers_promises_.setTimeout)(100);
        }
    }
    catch (error) {
        await stop();
        throw error;
    }
}
/** A connection once the server answers (not LOADING), else undefined. */
async function ready(socket) {
    let connection;
    try {
        connection = await connectRedis({ path: socket }, 'the scratch redis-server');
        await connection.call(['PING']);
        return connection;
    }
    catch {
        await connection?.close();
        return undefined;
    }
}
/**
 * Whether `server` loads RDB version `version`: asked of it with an empty snapshot of that
 * version, before anything is downloaded. Redis reads no RDB version newer than its own.
 */
async function serverReadsRdbVersion(server, version, signal) {
    const dir = await (0,promises_.mkdtemp)(external_node_path_default().join(external_node_os_default().tmpdir(), 'backup-action-rdb-'));
    try {
        const file = external_node_path_default().join(dir, 'empty.rdb');
        await (0,promises_.writeFile)(file, emptySnapshot(version), { mode: 0o600 });
        await (await startScratchRedis(server, dir, file, 0, signal)).stop();
        return true;
    }
    catch (error) {
        if (error instanceof NewerRdbError)
            return false;
        throw error;
    }
    finally {
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
}
/** Why the server stopped, from its log: a snapshot newer than it reads is told apart. */
async function stoppedError(server, log, ended) {
    const why = await logTail(log, ended);
    const newer = /Can't handle RDB format version \d+/.exec(why)?.[0];
    if (newer)
        return new NewerRdbError(`redis-server ${server.version}: ${newer}`);
    return new Error(`redis-server stopped while loading the snapshot: ${why}`);
}
/** The lines of the server's log that say why it stopped, without its pid and time prefix. */
async function logTail(log, ended) {
    const text = await (0,promises_.readFile)(log, 'utf8').catch(() => '');
    const lines = text
        .split('\n')
        .map((line) => line.replace(/^\d+:[A-Z] \d{2} \w{3} \d{4} [\d:.]+ [*#.-] /, '').trim())
        .filter((line) => line !== '');
    const telling = lines.filter((line) => /error|can't|cannot|wrong|fatal|short read|bad|fail/i.test(line));
    return (telling.length > 0 ? telling : lines).slice(-2).join(' | ') || `exit code ${ended.code}`;
}

;// CONCATENATED MODULE: ./src/kinds/redis/restore-test.ts
/**
 * restore-test of a Redis backup: the snapshot, checked, in a private folder; a scratch
 * redis-server loads it (redis/scratch.ts); each database's keys are compared with the manifest
 * and the checks run; the server is stopped and the folder removed, pass, fail or cancel.
 *
 * Checks name a logical database (`db3: …`; without one, db0): `keys >= N` bounds its key count,
 * `exists KEY` needs a key (the rest of the line, or a JSON string for any other bytes).
 */











const redisChecks = {
    forms: ['count', 'exists'],
    refusal: (check) => `"${check.text}" is SQL; a Redis backup takes "dbN: keys >= N" and "dbN: exists KEY"`,
};
async function testRedisBackup(manifest, settings, ctx, phases) {
    const planned = settings.checks.map(planCheck);
    const server = await findRedisProgram('redis-server');
    // Asked of the local server before the download: a snapshot it cannot load fails first.
    if (!(await serverReadsRdbVersion(server, manifest.rdb.version, ctx.signal))) {
        throw new Error(newerLine(manifest, 'redis-server', server.version));
    }
    const test = { manifest, serverVersion: server.version, checks: [] };
    const highestDb = Math.max(0, ...manifest.rdb.databases.map(({ db }) => db));
    return {
        run: () => withSnapshotFile(ctx, manifest, settings.decryption, phases, async ({ dir, file }) => {
            ctx.log.info(`Loading the snapshot into a scratch redis-server ${server.version} in ${dir}`);
            const scratch = await phases.time('load (redis-server)', () => startScratchRedis(server, dir, file, highestDb, ctx.signal));
            try {
                test.comparison = compareKeys(manifest.rdb, await keyspace(scratch.connection));
                for (const one of planned)
                    test.checks.push(await restore_test_runCheck(scratch.connection, one));
            }
            finally {
                await scratch.stop();
            }
        }),
        problems: () => problems(test),
        rows: () => restore_test_testRows(test),
    };
}
function planCheck(check) {
    const db = check.database === undefined ? 0 : /^db(\d{1,5})$/.exec(check.database)?.[1];
    if (db === undefined) {
        throw new errors/* InputError */.dz('checks', `"${check.text}" names ${check.database}; a Redis check names its database as db0, db1, …`);
    }
    if (check.kind === 'count' &&
        (check.table !== 'public.keys' || /public\.keys/.test(check.text))) {
        throw new errors/* InputError */.dz('checks', `"${check.text}" counts a table; a Redis backup counts keys: "db0: keys >= N"`);
    }
    return { check, db: Number(db) };
}
async function restore_test_runCheck(connection, { check, db }) {
    try {
        await connection.call(['SELECT', String(db)]);
        return check.kind === 'exists'
            ? await keyExists(connection, check)
            : await keyCount(connection, check);
    }
    catch (error) {
        return { text: check.text, passed: false, value: `error: ${error.message}` };
    }
}
async function keyExists(connection, check) {
    const found = Number(await connection.call(['EXISTS', check.key])) === 1;
    const key = printable(Buffer.from(check.key));
    return { text: check.text, passed: found, value: found ? `${key} exists` : `${key} is missing` };
}
async function keyCount(connection, check) {
    const found = Number(await connection.call(['DBSIZE']));
    return {
        text: check.text,
        passed: checks_compare(found, check.operator, check.value),
        value: String(found),
    };
}
function problems({ comparison, checks }) {
    const failed = checks.filter((check) => !check.passed);
    return [
        ...(comparison?.differing.length ? [compare_differenceLine(comparison.differing)] : []),
        ...(failed.length > 0
            ? [
                `${failed.length} check(s) failed: ${failed.map((check) => `${check.text} (${check.value})`).join(', ')}`,
            ]
            : []),
    ];
}
function restore_test_testRows(test) {
    const { manifest, comparison, checks } = test;
    const restored = comparison?.rows.reduce((sum, row) => sum + row.restored, 0);
    const passed = checks.length > 0 ? `, ${checks.length} check(s) passed` : '';
    return {
        done: 'restored',
        summary: restored === undefined
            ? 'not counted: the restore did not finish'
            : `${(0,format/* formatCount */.B4)(restored)} keys, ${comparison?.differing.length ? 'differing from' : 'matching'} the snapshot's ${keysLine(manifest.rdb)}${passed}`,
        outputs: { 'restored-keys': restored ?? 0 },
        facts: [
            figures_serverFact(manifest),
            [
                'Scratch server',
                `redis-server ${test.serverVersion ?? '?'} on a Unix socket in a temporary folder (removed)`,
            ],
            [
                'Keys',
                restored === undefined
                    ? 'not counted: the restore did not finish'
                    : `${(0,format/* formatCount */.B4)(restored)} restored of ${keysLine(manifest.rdb)}`,
            ],
        ],
        tables: [...(comparison ? [keysTable(comparison)] : []), ...tableOfChecks(checks)],
        details: { comparison, checks },
    };
}

;// CONCATENATED MODULE: ./src/kinds/redis/index.ts
/**
 * A Redis server (`source: redis`): one RDB snapshot of every logical database, read from the
 * server as a replica reads it (`redis-cli --rdb -`), with each database's key count, the RDB
 * version and the Redis that wrote it taken from the snapshot's own bytes as they are stored.
 */











const redisKind = {
    holds: (manifest) => `Redis: ${keysLine(manifest.rdb)}`,
    restoreInto: 'redis',
    testInputs: [],
    checks: redisChecks,
    backup: {
        plan: redis_planBackup,
        rows: (manifest) => ({
            ...objectRows(manifest.object, [figures_serverFact(manifest), ['Keys', keysLine(manifest.rdb)]]),
            tables: [databasesTable(manifest.rdb)],
        }),
    },
    verify: {
        rules: () => [],
        async deep(manifest, settings, ctx) {
            // Asked of the local tool before the download: a snapshot it cannot read fails first.
            const checker = await findRedisProgram('redis-check-rdb');
            if (!(await readsRdbVersion(checker, manifest.rdb.version))) {
                throw new Error(newerLine(manifest, 'redis-check-rdb', checker.version));
            }
            return checkObject(manifest, settings, ctx, async (archive) => {
                const found = await checkRdb(checker, archive);
                const mismatch = countsMismatch(manifest.rdb, found);
                if (mismatch)
                    throw new Error(mismatch);
                return { entries: totalKeys(found) };
            });
        },
        rows: (manifest) => ({ facts: [figures_serverFact(manifest)], tables: [] }),
    },
    restoreTest: testRedisBackup,
    restore: restoreRedisBackup,
};
async function redis_planBackup(settings, ctx, id) {
    const target = settings.redis;
    const cli = await findRedisProgram('redis-cli');
    const server = await withRedis(target, target.display, (connection) => info(connection, 'server').catch((error) => {
        throw new Error(`${target.display}: cannot read INFO (${(0,errors/* errorMessage */.gJ)(error)}); the backup's user needs +sync +psync +replconf +info +ping (docs/redis.md)`);
    }));
    ctx.log.info(`redis-cli ${cli.version} (${cli.path}), server Redis ${server.get('redis_version') ?? '?'}`);
    if (server.get('redis_mode') === 'cluster') {
        ctx.log.warning(`${target.display} is a Redis Cluster node: the backup holds only the slots this node serves`);
    }
    const layers = objectExtension('rdb', settings.compression, encryptionOf(settings.encryptionKeys));
    return {
        what: `Redis ${target.display}`,
        parts: [
            { key: objectKey(settings.name, id, layers), open: async () => openSnapshot(cli, target) },
        ],
        jobs: 1,
        fields: ([snapshot]) => {
            const rdb = snapshot.facts.rdb;
            if (!rdb)
                throw new Error('the snapshot was stored without its figures');
            return {
                source: { kind: 'redis', ...(rdb.redisVersion ? { serverVersion: rdb.redisVersion } : {}) },
                format: 'rdb',
                object: snapshot.object,
                rdb: { version: rdb.version, databases: rdb.databases },
                dump: { program: 'redis-cli', version: cli.version },
            };
        },
    };
}

;// CONCATENATED MODULE: ./src/postgres/globals.ts


/** pg_dumpall's SQL opens with a comment line; anything else (a message, nothing) is no dump. */
const SQL_DUMP = {
    prefix: Buffer.from('--'),
    failure: 'pg_dumpall wrote something other than SQL (it does not begin with --); nothing was published',
};
/**
 * Started only when its bytes are first read, and read through Node, never handed to a
 * compressor program: the SQL is a few kilobytes that pg_dumpall writes at once, and a finished
 * child's unread stdout is drained and dropped by Node, so any wait between starting it and
 * reading it could lose the globals.
 */
function openGlobalsSource(program, target, { rolePasswords }) {
    const args = [
        '--globals-only',
        '--no-password',
        ...(rolePasswords ? [] : ['--no-role-passwords']),
        `--dbname=${connectionString(target)}`,
    ];
    let started;
    let output;
    const run = () => {
        if (!started) {
            const { child, exit } = start(program, args, libpqEnv(target));
            const done = succeeded('pg_dumpall', exit);
            done.catch(() => undefined);
            started = { child, exit, done };
        }
        return started;
    };
    return {
        get output() {
            if (output)
                return output;
            const { child, done } = run();
            return (output = guardedStdout(child.stdout, done, SQL_DUMP));
        },
        async finished() {
            await run().done;
            return {};
        },
        async close() {
            if (!started)
                return;
            stopIfRunning(started.child);
            await started.exit.catch(() => undefined);
        },
    };
}

;// CONCATENATED MODULE: ./src/postgres/server-databases.ts




/** The databases to dump, by exact name, in the server's order of names. */
async function selectDatabases(client, selection, log) {
    const { rows } = await client.query(`SELECT datname, datallowconn, has_database_privilege(oid, 'CONNECT') AS connectable
     FROM pg_database WHERE datname <> ALL ($1::text[]) ORDER BY datname`, [SERVER_TEMPLATES]);
    return chooseDatabases(rows, selection, log);
}
/** Pure: the selection applied to the server's databases, each mistake one line. */
function chooseDatabases(rows, selection, log) {
    const names = rows.map((row) => row.datname);
    const { selected, unmatched } = selectNames(names, selection.databases, selection.exclude);
    if (unmatched.length > 0) {
        const own = unmatched.some((entry) => SERVER_TEMPLATES.includes(entry));
        throw new errors/* InputError */.dz('databases', `${unmatched.map(quotedName).join(', ')} matches no database on the server (it has ${names.map(quotedName).join(', ')})${own ? '; template0 and template1 are the server’s own, which every server has: they are never backed up' : ''}`);
    }
    const byName = new Map(rows.map((row) => [row.datname, row]));
    const asked = askedByName(selection.databases);
    const skip = (why, closed) => {
        const names = selected.filter((name) => closed(byName.get(name)));
        refuseAskedFor(names.filter((name) => asked.has(name)), why);
        if (names.length > 0) {
            log.warning(`skipping ${names.map(quotedName).join(', ')}: ${why}`);
        }
        return new Set(names);
    };
    const closed = skip('does not accept connections (ALLOW_CONNECTIONS false)', (row) => !row.datallowconn);
    const refused = skip('the role has no CONNECT privilege on it (a managed service keeps databases of its own)', (row) => row.datallowconn && !row.connectable);
    const chosen = selected.filter((name) => !closed.has(name) && !refused.has(name));
    refuseLineBreaks(chosen);
    if (chosen.length === 0) {
        throw new errors/* InputError */.dz('databases', 'selects no database that accepts connections; check databases and exclude-databases');
    }
    sameFileName(chosen);
    return chosen;
}
/** The names the selection gives exactly (no pattern): each one the user expects in the backup. */
function askedByName(databases) {
    return new Set(databases === 'all' ? [] : databases.filter((entry) => !isGlob(entry)));
}
/** A database asked for by its exact name is never skipped: a backup without it is not a success. */
function refuseAskedFor(names, why) {
    if (names.length === 0)
        return;
    throw new errors/* InputError */.dz('databases', `${names.map(quotedName).join(', ')} cannot be backed up: ${why}; grant the role access, or leave it out`);
}
/**
 * pg_dump dumps such a database, but no restore can recreate it: the backup fails before any
 * work, as pg_dumpall does, rather than publish a database that can never come back.
 */
function refuseLineBreaks(names) {
    const found = lineBreakNames(names);
    if (found === undefined)
        return;
    throw new errors/* InputError */.dz('databases', `${found} cannot be backed up: ${LINE_BREAK_WHY}, so no restore could recreate it; rename it, or leave it out with exclude-databases (? matches the line break)`);
}
/** Two names made safe as one file name would overwrite each other's object. */
function sameFileName(names) {
    const byFile = new Map();
    for (const name of names) {
        const file = databaseFileName(name);
        const other = byFile.get(file);
        if (other !== undefined) {
            throw new errors/* InputError */.dz('databases', `${quotedName(other)} and ${quotedName(name)} would be stored under one file name (${file}); leave one out with exclude-databases`);
        }
        byFile.set(file, name);
    }
}
/** Whether the role can read `pg_authid`, where the password hashes are (not on managed services). */
async function canReadPasswords(client) {
    const { rows } = await client.query("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok");
    return rows[0]?.ok === true;
}
/** The roles `pg_dumpall --globals-only` writes: every one but the built-in `pg_` roles. */
async function dumpedRoles(client) {
    const { rows } = await client.query("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname");
    return rows.map((row) => row.rolname);
}

;// CONCATENATED MODULE: ./src/kinds/server/backup.ts
/**
 * backup of a server (`databases`): every chosen database dumped to its own object, the globals
 * (roles, memberships, tablespaces) to another, and one manifest listing them, last. Each
 * database is consistent in itself, not with the others, exactly as with pg_dumpall.
 */










async function planServerBackup(settings, ctx, id) {
    const { database: target, server: selection } = settings;
    const plan = await askServer(target, selection, ctx);
    const pgDump = await dumpProgram('pg_dump', plan.server, settings.client, ctx);
    const globals = plan.globals && {
        ...plan.globals,
        pgDumpall: await dumpProgram('pg_dumpall', plan.server, settings.client, ctx),
    };
    const dumpall = globals
        ? `pg_dumpall ${globals.pgDumpall.version} (${globals.pgDumpall.path}), `
        : '';
    ctx.log.info(`pg_dump ${pgDump.version} (${pgDump.path}), ${dumpall}server PostgreSQL ${plan.server.version}`);
    const layers = [settings.compression, encryptionOf(settings.encryptionKeys)];
    const parts = plan.databases.map((database) => ({
        ...dumpPart(settings, withDatabase(target, database), pgDump, databaseObjectKey(settings.name, id, database, ...layers)),
        label: `database ${quotedName(database)}`,
        database,
    }));
    if (globals) {
        const { roles, rolePasswords, pgDumpall } = globals;
        parts.push({
            label: 'globals',
            key: globalsObjectKey(settings.name, id, ...layers),
            open: async () => openGlobalsSource(pgDumpall, target, { rolePasswords }),
            globals: { roles, rolePasswords },
        });
    }
    return {
        what: `${plan.databases.length} database(s) of ${target.display}${globals ? ' and the globals' : ''}`,
        parts,
        jobs: selection.jobs,
        fields: (stored) => serverFields(plan.server, pgDump, stored),
    };
}
/** Everything asked of the server before any work: a mistake here stores nothing. */
async function askServer(target, selection, ctx) {
    return withConnection(target, async (client) => {
        const server = await serverVersion(client);
        const databases = await selectDatabases(client, selection, ctx.log);
        if (selection.globals === 'false')
            return { server, databases };
        const roles = await dumpedRoles(client);
        const rolePasswords = await canReadPasswords(client);
        if (!rolePasswords)
            refusePasswordless(selection.globals, target, ctx);
        return { server, databases, globals: { roles, rolePasswords } };
    }, ctx.signal);
}
/** Managed services let no role read pg_authid: `auto` goes on without passwords, `true` stops. */
function refusePasswordless(globals, target, ctx) {
    if (globals === 'true') {
        throw new errors/* InputError */.dz('globals', `true, but role ${JSON.stringify(target.user)} cannot read pg_authid (the role passwords; managed services allow no role to); use globals: auto to back up the roles without their passwords, or false`);
    }
    ctx.log.warning(`role ${JSON.stringify(target.user)} cannot read pg_authid: the roles are backed up without their passwords (pg_dumpall --no-role-passwords); set every role's password again after a restore`);
}
function serverFields(server, pgDump, stored) {
    const databases = stored.flatMap((one) => 'database' in one
        ? [
            {
                name: one.database,
                object: one.object,
                ...(one.facts.rowCounts ? { rowCounts: one.facts.rowCounts } : {}),
                serverVersion: server.version,
            },
        ]
        : []);
    const globals = stored.flatMap((one) => 'globals' in one ? [{ object: one.object, ...one.globals }] : [])[0];
    const rowCountsMode = stored[0]?.facts.rowCountsMode;
    return {
        source: { kind: 'server', serverVersion: server.version },
        format: 'pg_dump-custom',
        databases,
        ...(globals ? { globals } : {}),
        ...(rowCountsMode ? { rowCountsMode } : {}),
        dump: { program: 'pg_dump', version: pgDump.version },
    };
}
function serverBackupRows(manifest) {
    const folder = `${manifest.name}/${manifest.id}/`;
    const rowsOf = (record) => Object.values(record.rowCounts ?? {}).reduce((sum, n) => sum + n, 0);
    const { globals } = manifest;
    const passwords = globals
        ? [['Role passwords', globals.rolePasswords ? 'yes' : 'no: set them again after a restore']]
        : [];
    return {
        key: folder,
        where: [
            ['Objects', folder],
            ['Databases', (0,format/* formatCount */.B4)(manifest.databases.length)],
            [
                'Globals',
                globals ? `yes, ${(0,format/* formatCount */.B4)(globals.roles.length)} role(s)` : 'no (globals: false)',
            ],
            ...passwords,
        ],
        facts: [serverFact(manifest)],
        tables: [
            {
                title: 'Databases',
                header: ['Database', 'Object', 'Size', 'Tables', 'Rows'],
                rows: manifest.databases.map((record) => [
                    record.name,
                    record.object.key,
                    (0,format/* formatBytes */.z3)(record.object.size),
                    record.rowCounts ? (0,format/* formatCount */.B4)(Object.keys(record.rowCounts).length) : '-',
                    record.rowCounts ? (0,format/* formatCount */.B4)(rowsOf(record)) : '-',
                ]),
            },
        ],
    };
}

;// CONCATENATED MODULE: ./src/core/at-once.ts
/**
 * Work on several items `jobs` at a time, all or nothing: the first failure aborts the signal the
 * others were given and starts no more, and once every started one has settled it is the error
 * thrown, prefixed with the item's name (the others' are the stop it set off). The run's own
 * cancellation stops them the same way; it, and a bad input (a key that opens nothing), are
 * thrown as they came: neither is the item's doing.
 */

/** `jobs` spread over `count` items: as many lanes as items allow, the rest inside each one. */
function spreadJobs(jobs, count) {
    const lanes = Math.max(1, Math.min(jobs, count));
    return { lanes, share: Math.max(1, Math.floor(jobs / lanes)) };
}
async function eachAtOnce(items, lanes, outer, name, work) {
    const stop = new AbortController();
    const relay = () => stop.abort(outer.reason);
    outer.addEventListener('abort', relay, { once: true });
    if (outer.aborted)
        relay();
    let first;
    let next = 0;
    const lane = async () => {
        while (next < items.length && !stop.signal.aborted) {
            const item = items[next++];
            try {
                await work(item, stop.signal);
            }
            catch (error) {
                first ??= { error: named(error, name(item), outer) };
                stop.abort(error);
            }
        }
    };
    try {
        await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
    }
    finally {
        outer.removeEventListener('abort', relay);
    }
    if (first)
        throw first.error;
    outer.throwIfAborted();
}
function named(error, name, outer) {
    if (outer.aborted || error instanceof errors/* InputError */.dz)
        return error;
    return new Error(`${name}: ${(0,errors/* errorMessage */.gJ)(error)}`, { cause: error });
}
/** How the jobs were spent, for a summary: `2 databases at once, 1 job each` or `4 job(s)`. */
function jobsLine({ lanes, share }) {
    return lanes > 1 ? `${lanes} databases at once, ${share} job(s) each` : `${share} job(s)`;
}

;// CONCATENATED MODULE: ./src/restore/phases.ts
/** Phase timing for restores, on the run's injectable clock. */

class Phases {
    now;
    done = [];
    started;
    constructor(now) {
        this.now = now;
        this.started = now().getTime();
    }
    /** Runs `work` as the named phase and records how long it took, even when it fails. */
    async time(name, work) {
        const start = this.now().getTime();
        try {
            return await work();
        }
        finally {
            this.done.push([name, (this.now().getTime() - start) / 1000]);
        }
    }
    totalSeconds() {
        return (this.now().getTime() - this.started) / 1000;
    }
    /** Seconds per phase, for the report. */
    record() {
        return Object.fromEntries(this.done);
    }
    table() {
        return {
            title: 'Recovery time',
            header: ['phase', 'duration'],
            rows: [
                ...this.done.map(([name, seconds]) => [name, (0,format/* formatSeconds */.Xo)(seconds)]),
                ['total', (0,format/* formatSeconds */.Xo)(this.totalSeconds())],
            ],
        };
    }
}

;// CONCATENATED MODULE: ./src/kinds/server/parts.ts
const serverDatabasePart = (manifest, record) => ({
    backup: manifest,
    ...record,
    serverVersion: record.serverVersion ?? manifest.source.serverVersion,
});
/** The phase of one database in a run's table of phases, and its seconds in the report. */
const phaseName = (database) => `database ${database}`;

;// CONCATENATED MODULE: ./src/kinds/server/roles.ts

/**
 * One line: what was made, left alone, skipped or refused. `left` is for restore-test, which
 * drops the roles it made once done: those still there afterwards.
 */
function rolesLine(asked, applied, left) {
    if (!asked) {
        const owners = left ? ': objects restored without owners and privileges' : '';
        return `not restored (restore-globals: false)${owners}`;
    }
    if (!applied)
        return 'not restored: the run stopped before';
    const { created, plan, failed, grantorsNotKept } = applied;
    const dropped = left && [
        left.length > 0 ? `not dropped: ${names(left)}` : 'the roles made were dropped afterwards',
    ];
    const listed = (label, lines) => lines.length > 0 ? [`${label}: ${lines.join('; ')}`] : [];
    return [
        `${created.length} created${created.length > 0 ? ` (${names(created)})` : ''}`,
        ...listed('left as they were', plan.existing.length > 0 ? [names(plan.existing)] : []),
        ...listed('tablespaces created', plan.tablespaces.length > 0 ? [names(plan.tablespaces.map((step) => step.tablespace))] : []),
        ...listed('allowed by allow-privileged-roles', plan.allowed),
        ...listed('skipped', plan.skipped),
        ...listed('grantor not kept', grantorsNotKept),
        ...listed('not applied', failed),
        ...(dropped ?? []),
    ].join('; ');
}

;// CONCATENATED MODULE: ./src/kinds/server/restore.ts
/**
 * restore of a server backup: the chosen databases (default all), each into a database of the
 * same name on the server of `database-url` (or the one `target-database` maps it to). Every
 * target is checked before anything is restored: a non-empty one without `clean` refuses the whole
 * run, and `confirm` must name every target. A target that does not exist is created. With
 * `restore-globals` the backup's roles come first (roles the server has are left as they are) and
 * its missing tablespaces are created where the source had them. Each database is then restored as
 * a backup of one database is (restore/restore-database.ts), `jobs` databases at a time.
 */

















async function restoreServerBackup(manifest, into, ctx, phases) {
    const pairs = restoreTargets(manifest, into);
    if (into.restoreGlobals && !manifest.globals) {
        throw new Error(`restore-globals: backup ${manifest.id} holds no globals (made with globals: false); restore it without restore-globals`);
    }
    const server = into.database;
    const { databases, version } = await checkTargets(server, into, ctx, manifest, pairs);
    const pgRestore = await choosePgRestore(manifest, into.client, ctx, version);
    const run = {
        manifest,
        settings: into,
        server,
        ctx,
        phases,
        pgRestore,
        databases,
        roles: into.restoreGlobals ? manifest.globals : undefined,
    };
    return {
        run: () => restoreAll(run, pairs).catch((error) => {
            throw finalOnceWritten(error, databases.map((one) => one.restored));
        }),
        problems: () => databases.flatMap(({ source, restored }) => {
            const differing = restored.comparison?.differing ?? [];
            return differing.length > 0 ? [`${source}: ${differenceLine(differing)}`] : [];
        }),
        rows: () => server_restore_restoreRows(run),
    };
}
/**
 * The roles, then the databases `jobs` at a time; a database that fails to restore stops the
 * others and the run (each leaves its target as restoreDatabase says).
 */
async function restoreAll(run, pairs) {
    const { ctx, settings, phases, pgRestore } = run;
    if (run.roles)
        await restoreRoles(run, run.roles, pairs);
    const { lanes, share } = spreadJobs(settings.jobs, run.databases.length);
    const name = (one) => database_names_printableName(one.source);
    await eachAtOnce(run.databases, lanes, ctx.signal, name, async (one, signal) => {
        one.phases = new Phases(ctx.now);
        const single = {
            settings: { ...settings, jobs: share },
            ctx: { ...ctx, signal },
            pgRestore,
            phases: one.phases,
            restored: one.restored,
        };
        await phases.time(phaseName(one.source), () => restoreDatabase(run, single));
    });
}
/**
 * Every target as it stands, before anything is restored: each must exist and be empty, or not
 * exist (it is created), or be replaced whole with clean; the ones refused are named together.
 */
async function checkTargets(server, settings, ctx, manifest, pairs) {
    const existing = await withConnection(server, async (client) => {
        const { rows } = await client.query('SELECT datname AS name FROM pg_database');
        return { names: new Set(rows.map((row) => row.name)), version: await serverVersion(client) };
    }, ctx.signal);
    const states = [];
    for (const { record, target } of pairs) {
        const into = withDatabase(server, target);
        const exists = existing.names.has(target);
        const state = exists
            ? await inspectTarget(into, ctx.signal)
            : { server: existing.version, tables: 0 };
        states.push({ record, into, exists, state });
    }
    const refused = states.filter(({ state }) => state.tables > 0 && !settings.clean);
    if (refused.length > 0) {
        throw new Error(notEmptyLine(refused.map(({ into, state }) => ({ database: into.database, tables: state.tables }))));
    }
    const databases = [];
    for (const { record, into, exists, state } of states) {
        const replacement = exists && settings.clean ? await prepareReplacement(into, ctx.log, ctx.signal) : undefined;
        const restored = {
            part: serverDatabasePart(manifest, record),
            target: into,
            state,
            replacement,
            created: !exists,
            outcome: 'untouched',
        };
        databases.push({ source: record.name, restored, phases: new Phases(ctx.now) });
    }
    return { databases, version: existing.version };
}
async function restoreRoles(run, roles, pairs) {
    const { ctx, settings, manifest, phases, server } = run;
    const script = await phases.time('read the globals', () => readGlobals(ctx, roles, manifest, settings.decryption));
    const sameName = new Set(pairs.filter((pair) => pair.target === pair.record.name).map((pair) => pair.target));
    run.globals = await phases.time('apply the globals', () => applyGlobals(server, script, { sameName, tablespaceMode: 'create', allowPrivileged: settings.allowPrivilegedRoles }, ctx.log));
    const { created, plan } = run.globals;
    ctx.log.info(`restore-globals: ${created.length} role(s) created${plan.existing.length > 0 ? `; left as they were: ${names(plan.existing)}` : ''}`);
}
/**
 * Creates a missing target, restores into it, then the roles' settings in it. A target this run
 * created is dropped again when its restore fails: the server keeps no half-restored database
 * that was not there before.
 */
async function restoreDatabase(run, single) {
    const { restored } = single;
    const { server, ctx } = run;
    const name = restored.target.database;
    try {
        if (restored.created) {
            await single.phases.time('create the database', () => createDatabase(server, name));
        }
        await restoreOne(single);
    }
    catch (error) {
        if (restored.created) {
            await dropDatabase(server, name).then(() => (restored.outcome = 'untouched'), (dropError) => ctx.log.warning(`could not drop ${database_names_printableName(name)}, created by this run: ${(0,errors/* errorMessage */.gJ)(dropError)}`));
        }
        throw error;
    }
    if (run.globals)
        await applyInDatabase(server, name, run.globals, ctx.log);
}
function server_restore_restoreRows(run) {
    const { phases, databases, settings } = run;
    const counted = databases.map(({ restored }) => restoredCounts(restored));
    const tables = counted.reduce((sum, one) => sum + one.tables, 0);
    const rows = counted.reduce((sum, one) => sum + one.rows, 0);
    const done = databases.filter(({ restored }) => restored.outcome.startsWith('re')).length;
    return {
        done: `restored onto ${settings.database.display}`,
        summary: `${done} of ${databases.length} database(s), ${(0,format/* formatCount */.B4)(tables)} tables, ${(0,format/* formatCount */.B4)(rows)} rows`,
        outputs: { 'restored-tables': tables },
        facts: [
            ['Server', settings.database.display],
            ['Roles', rolesLine(settings.restoreGlobals, run.globals)],
        ],
        tables: [
            restore_databasesTable(run),
            ...databases.flatMap(({ source, restored }) => restored.comparison && restored.comparison.differing.length > 0
                ? [{ ...countsTable(restored.comparison), title: `${source}: row counts` }]
                : []),
        ],
        details: {
            databases: databases.map(({ source, restored }) => ({
                name: source,
                target: restored.target.database,
                targetNow: restored.outcome,
                comparison: restored.comparison,
                ownersRestored: restored.archive !== undefined && ownersRestored(restored),
                statistics: restored.statistics,
                restoreSeconds: phases.record()[phaseName(source)],
            })),
            roles: run.globals && {
                created: run.globals.created,
                existing: run.globals.plan.existing,
                allowed: run.globals.plan.allowed,
                skipped: run.globals.plan.skipped,
                grantorsNotKept: run.globals.grantorsNotKept,
                failed: run.globals.failed,
            },
        },
    };
}
/** One row per database: where it went, what it holds now, owners, seconds. */
function restore_databasesTable({ databases, phases }) {
    return {
        title: 'Databases',
        header: ['database', 'target', 'tables', 'rows', 'owners', 'target now', 'seconds'],
        rows: databases.map(({ source, restored }) => {
            const { tables, rows } = restoredCounts(restored);
            const seconds = phases.record()[phaseName(source)];
            const has = restored.comparison !== undefined;
            return [
                source,
                `${restored.target.database}${restored.created ? ' (created)' : ''}`,
                has ? (0,format/* formatCount */.B4)(tables) : '—',
                has ? (0,format/* formatCount */.B4)(rows) : '—',
                restored.archive ? ownersLine(restored) : '—',
                standing(restored),
                seconds === undefined ? '—' : (0,format/* formatSeconds */.Xo)(seconds),
            ];
        }),
    };
}

;// CONCATENATED MODULE: ./src/kinds/server/restore-test.ts
/**
 * restore-test of a server backup: every database into a scratch database of its own on the
 * scratch server (named from the set, never the production names), each tested as a backup of one
 * database is; the checks run against the database they name. With `restore-globals` the roles
 * are restored first, so owners and grants restore as in production, and the roles made are
 * dropped after the scratch databases: the scratch server is left as it was found. Tablespaces
 * are not restored (pg_restore --no-tablespaces): a scratch server has none of the source's folders.
 */

















async function testServerBackup(manifest, settings, ctx, phases) {
    const server = scratchServer(settings);
    const chosen = chosenDatabases(manifest, settings.databases);
    const checks = checksByDatabase(manifest, settings.checks, chosen);
    // The reusable workflows ask for the roles on every nightly test: say so, and test the rest.
    if (settings.restoreGlobals && !manifest.globals) {
        ctx.log.warning(`restore-globals: backup ${manifest.id} holds no globals (made with globals: false); its databases are restored without owners`);
    }
    const version = await checkScratchServer(server, ctx.signal);
    const pgRestore = await choosePgRestore(manifest, settings.client, ctx, version);
    // Scratch names `restore_test_<set>_<hex>_<n>`: the set cut so that any n fits in 63 bytes.
    const base = scratchName(settings.name.slice(0, 34));
    const test = {
        run: { settings, ctx, server, pgRestore },
        manifest,
        version,
        phases,
        tests: chosen.map((record) => ({
            database: record.name,
            part: serverDatabasePart(manifest, record),
            scratch: `${base}_${manifest.databases.indexOf(record) + 1}`,
            phases: new Phases(ctx.now),
        })),
        roles: settings.restoreGlobals ? manifest.globals : undefined,
        rolesLeft: [],
    };
    return {
        run: () => withScratchLease(ctx, server, async (mark) => {
            try {
                await testAll(test, checks, mark);
            }
            finally {
                // The roles go last, pass, fail or cancel, and before the summary, which says whether they went.
                await dropRolesMade(test);
            }
        }),
        problems: () => [
            ...test.tests.flatMap((one) => failures(one, `${restore_test_shown(one)}: `)),
            ...(test.rolesLeft.length > 0
                ? [`the role(s) ${names(test.rolesLeft)} restore-globals made could not be dropped`]
                : []),
        ],
        rows: () => server_restore_test_testRows(test),
    };
}
/**
 * The globals, then the databases `jobs` at a time; a database that fails to restore stops the
 * others (each drops its scratch database) and the run.
 */
async function testAll(test, checks, mark) {
    const { manifest, phases, roles } = test;
    const run = { ...test.run, mark };
    const { settings, ctx, server } = run;
    if (roles) {
        const script = await phases.time('read the globals', () => readGlobals(ctx, roles, manifest, settings.decryption));
        test.globals = await phases.time('apply the globals', () => applyGlobals(server, script, {
            sameName: new Set(),
            tablespaceMode: 'skip',
            allowPrivileged: settings.allowPrivilegedRoles,
            mark,
        }, ctx.log));
    }
    const { lanes, share } = spreadJobs(settings.jobs, test.tests.length);
    await eachAtOnce(test.tests, lanes, ctx.signal, restore_test_shown, async (one, signal) => {
        // Its own clock from its own start: its seconds in the table of databases.
        one.phases = new Phases(ctx.now);
        ctx.log.info(`${restore_test_shown(one)}: testing in scratch database ${one.scratch}`);
        const lane = { ...run, settings: { ...settings, jobs: share }, ctx: { ...ctx, signal } };
        await phases.time(phaseName(one.database), () => testDatabase(lane, one, {
            checks: checks.get(one.database) ?? [],
            keepOwners: roles !== undefined,
            noTablespaces: true,
        }));
        ctx.log.info(`${restore_test_shown(one)}: ${doneLine(one)}`);
    });
}
/** A database's name as its lines in the log and the report show it. */
const restore_test_shown = (one) => database_names_printableName(one.database);
/** What one database's test found, as its line in the log. */
function doneLine(one) {
    const { tables, rows } = restoredTotals(one);
    const problems = failures(one);
    return `${(0,format/* formatCount */.B4)(tables)} tables, ${(0,format/* formatCount */.B4)(rows)} rows${problems.length > 0 ? `; ${problems.join('; ')}` : ', matched'}`;
}
/** After every scratch database is gone: keep-database keeps the roles its databases use. */
async function dropRolesMade(test) {
    const { run, globals, tests } = test;
    const created = globals?.created ?? [];
    if (created.length === 0)
        return;
    if (tests.some((one) => scratch_test_kept(run.settings, one))) {
        run.ctx.log.info(`keep-database: the roles restore-globals made are kept with the scratch databases: ${names(created)}`);
        test.rolesLeft = [];
        await withConnection(run.server, (client) => unmark(client, 'ROLE', created));
        return;
    }
    try {
        test.rolesLeft = await dropRoles(run.server, created, run.ctx.log);
    }
    catch (error) {
        test.rolesLeft = created;
        run.ctx.log.warning(`could not drop the roles restore-globals made: ${(0,errors/* errorMessage */.gJ)(error)}`);
    }
}
function server_restore_test_testRows(test) {
    const { run, phases, tests, version } = test;
    const { settings } = run;
    const totals = tests.map(restoredTotals);
    const tables = totals.reduce((sum, one) => sum + one.tables, 0);
    const rows = totals.reduce((sum, one) => sum + one.rows, 0);
    const done = tests.filter((one) => one.comparison !== undefined).length;
    const keptAny = tests.some((one) => scratch_test_kept(settings, one));
    return {
        done: 'restored',
        summary: `${done} of ${tests.length} databases${chosenLine(test)}, ${(0,format/* formatCount */.B4)(tables)} tables, ${(0,format/* formatCount */.B4)(rows)} rows`,
        outputs: { 'restored-tables': tables },
        facts: [
            ['Roles', rolesLine(test.roles !== undefined, test.globals, test.rolesLeft)],
            ['Tablespaces', 'not restored (restore-test restores with --no-tablespaces)'],
            [
                'Scratch databases',
                `${tests.map((one) => one.scratch).join(', ')}${keptAny ? ' (kept: keep-database)' : ' (dropped)'} on PostgreSQL ${version.version}`,
            ],
            [
                'pg_restore',
                `${run.pgRestore.program.version}, ${jobsLine(spreadJobs(settings.jobs, tests.length))}`,
            ],
        ],
        tables: [
            restore_test_databasesTable(test),
            ...tests.flatMap((one) => one.comparison && one.comparison.differing.length > 0
                ? [{ ...countsTable(one.comparison), title: `${restore_test_shown(one)}: row counts` }]
                : []),
            ...tableOfChecks(tests.flatMap((one) => one.checks ?? [])),
        ],
        details: {
            databases: tests.map((one) => ({
                name: one.database,
                scratch: one.scratch,
                comparison: one.comparison,
                checks: one.checks,
                ownersSkipped: one.ownersSkipped,
                restoreSeconds: phases.record()[phaseName(one.database)],
            })),
            roles: test.globals && {
                created: test.globals.created,
                existing: test.globals.plan.existing,
                allowed: test.globals.plan.allowed,
                skipped: test.globals.plan.skipped,
                grantorsNotKept: test.globals.grantorsNotKept,
                failed: test.globals.failed,
                left: test.rolesLeft,
            },
        },
    };
}
/** One row per database: name, tables, rows, matched, seconds. */
/** Where `databases` left some of the backup's out: how many it holds. */
function chosenLine({ tests, manifest }) {
    const held = manifest.databases.length;
    return tests.length < held ? ` (chosen by databases, of the ${held} the backup holds)` : '';
}
function restore_test_databasesTable({ tests, phases }) {
    return {
        title: 'Databases',
        header: ['database', 'tables', 'rows', 'matched', 'seconds'],
        rows: tests.map((one) => {
            const { tables, rows } = restoredTotals(one);
            const { comparison } = one;
            const failedChecks = (one.checks ?? []).filter((check) => !check.passed).length;
            const seconds = phases.record()[phaseName(one.database)];
            const matched = !comparison
                ? one.restoreStarted
                    ? '❌ not finished'
                    : '— not restored'
                : comparison.differing.length > 0
                    ? `❌ ${comparison.differing.length} differ`
                    : failedChecks > 0
                        ? `❌ ${failedChecks} check(s) failed`
                        : '✅';
            return [
                one.database,
                comparison ? (0,format/* formatCount */.B4)(tables) : '—',
                comparison ? (0,format/* formatCount */.B4)(rows) : '—',
                matched,
                seconds === undefined ? '—' : (0,format/* formatSeconds */.Xo)(seconds),
            ];
        }),
    };
}

;// CONCATENATED MODULE: ./src/verify/globals-check.ts

const HEADER = '--\n-- PostgreSQL database cluster dump\n--\n';
const FOOTER = '--\n-- PostgreSQL database cluster dump complete\n--';
/** The footer comes after at most a `\unrestrict` line and blank lines. */
const TAIL_CHARS = 4096;
async function checkGlobals(sql) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let head = '';
    let tail = '';
    let line = '';
    let bytes = 0;
    let roles = 0;
    const take = (text) => {
        if (head.length < HEADER.length)
            head += text.slice(0, HEADER.length - head.length);
        tail = (tail + text).slice(-TAIL_CHARS);
        const lines = (line + text).split('\n');
        line = lines.pop() ?? '';
        roles += lines.filter((each) => each.startsWith('CREATE ROLE ')).length;
    };
    try {
        for await (const chunk of sql) {
            const buffer = chunk;
            bytes += buffer.length;
            take(decoder.decode(buffer, { stream: true }));
        }
        take(decoder.decode());
    }
    catch (error) {
        if (!(error instanceof TypeError))
            throw error;
        throw new errors/* UnreadableArchiveError */.sU(`the globals are not UTF-8 text (byte ${bytes} or before)`);
    }
    const problem = globalsProblem(head, tail);
    if (problem)
        throw new errors/* UnreadableArchiveError */.sU(`the globals are not a pg_dumpall dump: ${problem}`);
    return { bytes, roles };
}
function globalsProblem(head, tail) {
    if (head.length === 0)
        return 'they are empty';
    if (head !== HEADER)
        return 'they do not start with its "PostgreSQL database cluster dump" header';
    if (!tail.trimEnd().endsWith(FOOTER)) {
        return 'they do not end with its "cluster dump complete" footer (cut short?)';
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/verify/rules.ts
/** The freshness and size rules of verify-latest, as pure decisions over figures already read. */



/** Every rule the newest backup breaks, each as one line, most fundamental first. */
function brokenRules(figures, limits) {
    const problems = [];
    if (figures.ageMs > limits.maxAgeMs) {
        problems.push(`the newest backup is ${formatDuration(figures.ageMs)} old, older than max-age ${formatDuration(limits.maxAgeMs)}: backups may have stopped`);
    }
    const size = figures.size;
    if (limits.minSize !== undefined && size < limits.minSize) {
        problems.push(`it is ${(0,format/* formatBytes */.z3)(size)}, below min-size ${(0,format/* formatBytes */.z3)(limits.minSize)}`);
    }
    const shrink = shrinkage(size, figures.previousSize);
    if (shrink !== undefined && shrink > limits.maxShrink) {
        problems.push(`it shrank ${percent(shrink)} against the previous backup (${(0,format/* formatBytes */.z3)(figures.previousSize ?? 0)} → ${(0,format/* formatBytes */.z3)(size)}), more than max-shrink ${percent(limits.maxShrink)}`);
    }
    return problems;
}
/** How much smaller than the previous backup (0.8 = 80% smaller); undefined without one. */
function shrinkage(size, previousSize) {
    if (previousSize === undefined || previousSize === 0)
        return undefined;
    return Math.max(0, 1 - size / previousSize);
}
/** A signed change in size, for the trend table: `+2.1%`, `-80.0%`, or `` for the oldest shown. */
function sizeChange(size, previousSize) {
    if (previousSize === undefined || previousSize === 0)
        return '';
    const change = (size - previousSize) / previousSize;
    return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}
function percent(fraction) {
    return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}
/**
 * Each database against the same database (by exact name) in the previous backup: a whole
 * backup can hold its size while one of its databases is emptied, and a dropped database (or one
 * `databases` no longer selects) shows only here.
 */
function databaseChanges(newest, previous, maxShrink) {
    const before = new Map(previous.map((database) => [database.name, database.size]));
    const shrank = newest.flatMap(({ name, size }) => {
        const previousSize = before.get(name);
        const shrink = shrinkage(size, previousSize);
        if (shrink === undefined || shrink <= maxShrink)
            return [];
        return [
            `database ${quotedName(name)} shrank ${percent(shrink)} against the previous backup (${(0,format/* formatBytes */.z3)(previousSize ?? 0)} → ${(0,format/* formatBytes */.z3)(size)}), more than max-shrink ${percent(maxShrink)}`,
        ];
    });
    const names = new Set(newest.map((database) => database.name));
    const gone = previous.map((database) => database.name).filter((name) => !names.has(name));
    return { shrank, gone };
}

;// CONCATENATED MODULE: ./src/kinds/server/verify.ts







/**
 * Each database that shrank more than max-shrink against the previous backup, as a problem; and
 * a database the previous backup held and the newest does not, unless allow-missing-databases
 * says one may go (dropped on purpose): then a warning.
 */
function databaseRules(manifest, previous, { maxShrink, allowMissingDatabases }, log) {
    if (!previous)
        return [];
    const sizes = (m) => m.databases.map((d) => ({ name: d.name, size: d.object.size }));
    const { shrank, gone } = databaseChanges(sizes(manifest), sizes(previous), maxShrink);
    if (gone.length === 0)
        return shrank;
    const line = `the previous backup ${previous.id} holds database(s) the newest does not: ${gone.map(quotedName).join(', ')}`;
    if (allowMissingDatabases) {
        log.warning(`${line} (allow-missing-databases: true)`);
        return shrank;
    }
    return [
        ...shrank,
        `${line}; if they were dropped or left out on purpose, set allow-missing-databases: true`,
    ];
}
/** Every database's archive listed by pg_restore, and the globals read as pg_dumpall's SQL. */
async function checkServerBackup(manifest, settings, ctx) {
    // Chosen before any download, so a client that cannot read the archives fails first.
    const pgRestore = await restoreProgram(manifest, settings.client, ctx);
    const reader = { store: ctx.store, decryption: settings.decryption, signal: ctx.signal };
    const dumps = await readParts(manifest.databases.map(({ name, object }) => ({
        label: `database ${quotedName(name)}`,
        object,
        read: (archive) => listDumpArchive(archive, pgRestore),
    })), manifest, reader);
    const globals = manifest.globals;
    const sql = globals
        ? await readParts([{ label: 'the globals', object: globals.object, read: checkGlobals }], manifest, reader)
        : undefined;
    const checked = new Map();
    const databases = manifest.databases.flatMap(({ name, object }) => {
        const archive = dumps.found.get(object.key);
        const line = `sha256, archive: ${(0,format/* formatCount */.B4)(archive?.entries ?? 0)} entries, ${archive?.tablesWithData ?? 0} with table data`;
        checked.set(object.key, archive ? line : 'DAMAGED');
        return archive ? [[name, archive]] : [];
    });
    const roles = globals && sql?.found.get(globals.object.key);
    if (globals) {
        checked.set(globals.object.key, roles ? `sha256, SQL: ${(0,format/* formatCount */.B4)(roles.roles)} CREATE ROLE` : 'DAMAGED');
    }
    return {
        damaged: [...dumps.damaged.values(), ...(sql?.damaged.values() ?? [])],
        checked,
        facts: [
            ['sha256', `every object's matches its stored bytes (${(0,format/* formatCount */.B4)(checked.size)})`],
            [
                'Archives',
                `readable: ${(0,format/* formatCount */.B4)(databases.length)} database(s)${roles ? ', the globals as pg_dumpall SQL' : ''}`,
            ],
        ],
        contents: { databases: Object.fromEntries(databases), globals: roles },
    };
}
function serverVerifyRows(manifest, deep, found) {
    return {
        facts: serverFacts(manifest),
        tables: [databaseTable(manifest, deep, found)],
    };
}
function serverFacts(manifest) {
    const names = manifest.databases.map((d) => d.name);
    const shown = names.slice(0, 10).map(quotedName).join(', ') + (names.length > 10 ? ', …' : '');
    const globals = manifest.globals;
    const roles = globals
        ? `${(0,format/* formatCount */.B4)(globals.roles.length)} role(s)${globals.rolePasswords ? '' : ', without their passwords'}`
        : 'not in this backup';
    return [
        ['Databases', `${(0,format/* formatCount */.B4)(names.length)}: ${shown}`],
        ['Globals', roles],
    ];
}
/** One row per database (and the globals): its size, what its manifest counted, what was checked. */
function databaseTable(manifest, deep, found) {
    const estimate = manifest.rowCountsMode === 'estimate' ? '~' : '';
    const checked = (key) => deep ? (found?.checked.get(key) ?? 'not read') : 'listed at its size';
    const rows = manifest.databases.map(({ name, object, rowCounts }) => {
        const counts = rowCounts && Object.values(rowCounts);
        return [
            name,
            (0,format/* formatBytes */.z3)(object.size),
            counts ? (0,format/* formatCount */.B4)(counts.length) : '',
            counts ? `${estimate}${(0,format/* formatCount */.B4)(counts.reduce((sum, n) => sum + n, 0))}` : '',
            checked(object.key),
        ];
    });
    const globals = manifest.globals;
    if (globals) {
        rows.push(['(globals)', (0,format/* formatBytes */.z3)(globals.object.size), '', '', checked(globals.object.key)]);
    }
    return {
        title: `Databases of ${manifest.id}`,
        header: ['database', 'size', 'tables', 'rows', 'checked'],
        rows,
    };
}

;// CONCATENATED MODULE: ./src/kinds/server/index.ts






const serverKind = {
    holds: (manifest) => `${manifest.databases.length} database(s)${manifest.globals ? ' and the globals' : ''}`,
    restoreInto: 'database',
    checks: postgresChecks,
    testInputs: KIND_TEST_INPUTS,
    backup: { plan: planServerBackup, rows: serverBackupRows },
    verify: { rules: databaseRules, deep: checkServerBackup, rows: serverVerifyRows },
    restoreTest: testServerBackup,
    restore: restoreServerBackup,
};

;// CONCATENATED MODULE: ./src/kinds/index.ts




const KINDS = {
    database: databaseKind,
    server: serverKind,
    files: filesKind,
    redis: redisKind,
};
/** The kind each manifest's `source.kind` was written by. */
const KIND_OF_SOURCE = {
    postgres: 'database',
    server: 'server',
    files: 'files',
    redis: 'redis',
};
/** The kind a parsed manifest was written by. */
function kindOf(manifest) {
    return KINDS[KIND_OF_SOURCE[manifest.source.kind]];
}
/** The kind of the source the backup settings name. */
function kindFor(settings) {
    return KINDS[settings.kind];
}

;// CONCATENATED MODULE: ./src/kinds/report.ts
/**
 * The reports of the modes that work on a backup, the same for every kind: the kind adds its
 * rows (kind.ts), these put them around what every backup has (its set, id, size, layers and
 * times), and a failure carries the report as it stood.
 */





const sizeFact = (size) => [
    'Size',
    `${(0,format/* formatBytes */.z3)(size)} (${(0,format/* formatCount */.B4)(size)} bytes)`,
];
function backupReport(published, holds, rows, seconds) {
    const { manifest, stored } = published;
    const size = manifestSize(manifest);
    const counted = stored.map((one) => one.rawBytes);
    // Known only when Node saw every source's bytes (zstd's program reads pg_dump unseen).
    const rawBytes = counted.every((bytes) => bytes !== undefined)
        ? counted.reduce((sum, bytes) => sum + bytes, 0)
        : undefined;
    return {
        headline: `Backed up ${manifest.name}/${manifest.id} (${holds}): ${(0,format/* formatBytes */.z3)(size)} in ${(0,format/* formatSeconds */.Xo)(seconds)}`,
        outputs: {
            'backup-id': manifest.id,
            'backup-key': rows.key,
            'manifest-key': published.manifestKey,
            'size-bytes': size,
            ...(rows.sha256 === undefined ? {} : { sha256: rows.sha256 }),
            'duration-seconds': Number(seconds.toFixed(3)),
        },
        facts: [
            ['Set', manifest.name],
            ['Backup id', manifest.id],
            ...rows.where,
            sizeFact(size),
            ['Compression', compressionFact(manifest.compression, rawBytes, size)],
            ['Encryption', manifest.encryption],
            ['Duration', (0,format/* formatSeconds */.Xo)(seconds)],
            [
                'Throughput',
                rawBytes === undefined
                    ? `${(0,format/* formatRate */.CE)(size, seconds)} stored`
                    : (0,format/* formatRate */.CE)(rawBytes, seconds),
            ],
            ...rows.facts,
        ],
        tables: rows.tables,
        details: { manifest, rawBytes, durationSeconds: seconds },
    };
}
/** The ratio, when the bytes before compression were counted. */
function compressionFact(compression, rawBytes, size) {
    if (rawBytes === undefined || size === 0)
        return compression;
    return `${compression}, ${(rawBytes / size).toFixed(2)}× (${(0,format/* formatBytes */.z3)(rawBytes)} before)`;
}
function verifyReport({ manifest, holds, ageMs, trend, deep, rows, found, }) {
    const size = manifestSize(manifest);
    const passed = found && found.damaged.length === 0 ? found : undefined;
    const skipped = deep ? [] : [['Deep check', 'skipped (deep: false)']];
    const verified = passed
        ? `, ${passed.checked.size > 1 ? 'every checksum and archive' : 'checksum and archive'} verified`
        : '';
    return {
        headline: `Newest backup ${manifest.name}/${manifest.id} (${holds}) is ${formatDuration(ageMs)} old${verified}`,
        outputs: {
            'latest-id': manifest.id,
            'age-seconds': Math.round(ageMs / 1000),
            'size-bytes': size,
        },
        facts: [
            ['Set', manifest.name],
            ['Newest backup', manifest.id],
            ['Age', formatDuration(ageMs)],
            sizeFact(size),
            ['Format', `${manifest.format}, ${manifest.compression}, encryption ${manifest.encryption}`],
            ...rows.facts,
            ...(passed ? passed.facts : skipped),
        ],
        tables: [trend, ...rows.tables],
        details: { manifest, ageSeconds: Math.round(ageMs / 1000), contents: found?.contents },
    };
}
/** restore-test and restore: the backup, the recovery time, and what the kind restored. */
function restoreReport(manifest, holds, phases, rows) {
    const seconds = phases.totalSeconds();
    const encryption = manifest.encryption === 'none' ? 'not encrypted' : `${manifest.encryption}-encrypted`;
    const made = `made ${manifest.createdAt}, ${holds}, ${(0,format/* formatBytes */.z3)(manifestSize(manifest))}, ${encryption}`;
    return {
        headline: `Backup ${manifest.name}/${manifest.id} ${rows.done} in ${(0,format/* formatSeconds */.Xo)(seconds)}: ${rows.summary}`,
        outputs: {
            'backup-id': manifest.id,
            ...rows.outputs,
            'restore-seconds': Number(seconds.toFixed(3)),
        },
        facts: [
            ['Set', manifest.name],
            ['Backup', `${manifest.id} (${made})`],
            ...rows.facts,
            ['Recovery time', (0,format/* formatSeconds */.Xo)(seconds)],
        ],
        tables: [phases.table(), ...rows.tables],
        details: { manifest, ...rows.details, restoreSeconds: seconds, phases: phases.record() },
    };
}
/** Runs `work`; a failure carries `report()`, the report as it stood then. */
async function reporting(work, report) {
    try {
        return await work();
    }
    catch (error) {
        if (error instanceof ModeFailure)
            throw error;
        throw new ModeFailure((0,errors/* errorMessage */.gJ)(error), report(), error);
    }
}
/** A restore or restore-test to its end: a failure, or a problem found once done, fails it. */
async function finishRun(run, report) {
    await reporting(() => run.run(), report);
    const result = report();
    const problems = run.problems();
    // What the restore found (rows that differ, a failed check) is a finding: never run again.
    if (problems.length > 0)
        throw new ModeFailure(problems.join('; '), result, undefined, true);
    return result;
}

;// CONCATENATED MODULE: ./src/core/sshsig.ts
/**
 * Signatures in OpenSSH's SSHSIG format (PROTOCOL.sshsig), so a person checks a backup's manifest
 * with `ssh-keygen -Y verify -n backup-action` and no tool of ours. The namespace binds a
 * signature to its use: a signature this key made for anything else never passes as a manifest's.
 */



const SIGNATURE_NAMESPACE = 'backup-action';
const sshsig_MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;
const HASH = 'sha512';
const sshsig_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
/** ssh-keygen wraps the armored signature at 70 characters; it reads any width. */
const LINE = 70;
/** A signature is a few hundred bytes; anything much larger is not one. */
const SIGNATURE_MAX_BYTES = 16 * 1024;
/** The armored SSHSIG signature of `message`, as `ssh-keygen -Y sign` writes it. */
function signMessage(message, key) {
    const signature = (0,external_node_crypto_.sign)(null, signedData(message, HASH), key.privateKey);
    const blob = Buffer.concat([
        sshsig_MAGIC,
        wireUint32(VERSION),
        wireString(key.publicBlob),
        wireString(SIGNATURE_NAMESPACE),
        wireString(''),
        wireString(HASH),
        wireString(Buffer.concat([wireString(ED25519), wireString(signature)])),
    ]);
    const base64 = blob.toString('base64');
    const lines = base64.match(new RegExp(`.{1,${LINE}}`, 'g')) ?? [];
    return `${sshsig_BEGIN}\n${lines.join('\n')}\n${END}\n`;
}
/** What the blob that is signed holds: the magic, the namespace and the message's hash. */
function signedData(message, hash) {
    return Buffer.concat([
        sshsig_MAGIC,
        wireString(SIGNATURE_NAMESPACE),
        wireString(''),
        wireString(hash),
        wireString((0,external_node_crypto_.createHash)(hash).update(message).digest()),
    ]);
}
/** Whether `armored` is an SSHSIG of `message` in our namespace by one of `keys`. */
function verifyMessage(message, armored, keys) {
    let parts;
    try {
        parts = readSignature(armored);
    }
    catch (error) {
        if (error instanceof WireError)
            return { problem: `its signature is unreadable (${error.message})` };
        throw error;
    }
    const key = keys.find((each) => each.publicBlob.equals(parts.publicBlob));
    if (!key) {
        return {
            problem: `it is signed by ${fingerprintOf(parts.publicBlob)}, which is not among signing-public-key`,
        };
    }
    if (parts.namespace !== SIGNATURE_NAMESPACE) {
        return {
            problem: `its signature is for ${JSON.stringify(parts.namespace)}, not for ${SIGNATURE_NAMESPACE}`,
        };
    }
    const valid = (0,external_node_crypto_.verify)(null, signedData(message, parts.hash), key.publicKey, parts.signature);
    return valid
        ? { signer: key.fingerprint }
        : { problem: `its signature by ${key.fingerprint} does not match its manifest` };
}
function readSignature(armored) {
    const text = armored.trim();
    if (!text.startsWith(sshsig_BEGIN) || !text.endsWith(END))
        throw new WireError('not an SSH signature');
    const blob = Buffer.from(text.slice(sshsig_BEGIN.length, -END.length).replace(/\s+/g, ''), 'base64');
    if (!blob.subarray(0, sshsig_MAGIC.length).equals(sshsig_MAGIC))
        throw new WireError('not an SSH signature');
    const wire = new WireReader(blob.subarray(sshsig_MAGIC.length));
    if (wire.uint32() !== VERSION)
        throw new WireError('an unknown version');
    const publicBlob = wire.string();
    const namespace = wire.text();
    wire.string(); // reserved
    const hash = wire.text();
    if (hash !== 'sha256' && hash !== 'sha512')
        throw new WireError(`an unknown hash ${hash}`);
    const inner = new WireReader(wire.string());
    if (!wire.done)
        throw new WireError('bytes after its end');
    if (inner.text() !== ED25519)
        throw new WireError('not an Ed25519 signature');
    const signature = inner.string();
    if (signature.length !== 64 || !inner.done)
        throw new WireError('not an Ed25519 signature');
    return { publicBlob, namespace, hash, signature };
}

;// CONCATENATED MODULE: ./src/pipeline/compressed-prefix.ts
/**
 * The first bytes of what the zstd program compressed, read back from its output. Where programs
 * read pg_dump's output directly, Node never sees the archive itself; decompressing the start of
 * zstd's output is what still proves that a custom-format archive, not plain SQL, was stored.
 */

/** Compressed bytes fed past this without an answer mean the start never decompressed. */
const MAX_FED = 8 << 20;
class CompressedPrefix {
    expected;
    inflate = (0,external_node_zlib_.createZstdDecompress)();
    seen = Buffer.alloc(0);
    fed = 0;
    settled = false;
    resolveVerdict;
    verdict = new Promise((resolve) => (this.resolveVerdict = resolve));
    constructor(expected) {
        this.expected = expected;
        const { prefix } = expected;
        this.inflate.on('data', (chunk) => {
            this.seen = Buffer.concat([this.seen, chunk.subarray(0, prefix.length - this.seen.length)]);
            if (this.seen.length >= prefix.length)
                this.settle(this.seen.equals(prefix));
        });
        this.inflate.on('end', () => this.settle(false));
        this.inflate.on('error', () => this.settle(false));
    }
    /** Takes the next compressed bytes; copied, since the caller may reuse its buffer. */
    feed(chunk) {
        if (this.settled)
            return;
        this.fed += chunk.byteLength;
        if (this.fed > MAX_FED) {
            this.settle(false);
            return;
        }
        this.inflate.write(Buffer.from(chunk));
    }
    /** Once every byte was fed: throws the expected failure unless the output began with the prefix. */
    async check() {
        if (!this.settled)
            this.inflate.end();
        if (!(await this.verdict))
            throw new Error(this.expected.failure);
    }
    settle(matched) {
        if (this.settled)
            return;
        this.settled = true;
        this.resolveVerdict(matched);
        this.inflate.destroy();
    }
}

;// CONCATENATED MODULE: ./src/pipeline/batch.ts
/**
 * Gathers a producer's small writes into large chunks, counting the bytes as they go by. pg_dump
 * writes its archive a few kilobytes at a time; each piece sent on alone would cost a trip through
 * every stage after it (a compressor call on the thread pool, a cipher call, a hash update, a
 * file write or part copy), which on a small machine costs a large share of what compressing does.
 */


/** Large enough that per-chunk costs vanish, small enough that memory stays bounded. */
const batch_BATCH_BYTES = 1024 * 1024;
class Batcher extends external_node_stream_.Transform {
    /** Bytes that went through (before compression, for ratios and progress). */
    bytes = 0;
    held = [];
    heldBytes = 0;
    constructor() {
        super({ readableHighWaterMark: batch_BATCH_BYTES, writableHighWaterMark: batch_BATCH_BYTES });
    }
    _transform(chunk, _encoding, done) {
        this.bytes += chunk.length;
        this.held.push(chunk);
        this.heldBytes += chunk.length;
        if (this.heldBytes >= batch_BATCH_BYTES)
            this.pushHeld();
        done();
    }
    _flush(done) {
        if (this.heldBytes > 0)
            this.pushHeld();
        done();
    }
    pushHeld() {
        const [only] = this.held;
        const batch = this.held.length === 1 && only ? only : (0,owned/* own */.Z)(Buffer.concat(this.held, this.heldBytes));
        this.held = [];
        this.heldBytes = 0;
        this.push(batch);
    }
}

;// CONCATENATED MODULE: ./src/pipeline/hash.ts
/** Hashing (sha256) and counting the bytes as stored. */



/** A pass-through stage that hashes and counts the bytes as they go by. */
class HashingCounter extends external_node_stream_.Transform {
    hash = (0,external_node_crypto_.createHash)('sha256');
    bytes = 0;
    /** Also given every byte hashed (a check of what the bytes hold). */
    onBytes;
    _transform(chunk, _encoding, done) {
        this.update(chunk);
        done(null, chunk);
    }
    /** Hashes and counts bytes that reach the store some other way than through this stream. */
    update(chunk) {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        this.onBytes?.(chunk);
    }
    /** The hex digest; call once the stream has ended. */
    digest() {
        return this.hash.digest('hex');
    }
}
/**
 * Hashes a file into `hasher` while a program writes it, reading each piece once it is there,
 * until `written` resolves and the end is read. A piece just written is still in the page cache,
 * so this costs a copy and the hash, in one reused buffer. Rejects as `written` does.
 */
async function hashWhileWritten(file, written, hasher, pollMs = 20) {
    let done = false;
    const finished = written.then(() => {
        done = true;
    });
    finished.catch(() => undefined); // raced below, whenever the file has nothing new
    const buffer = Buffer.allocUnsafe(1 << 20);
    let position = 0;
    for (;;) {
        // Read after seeing the writer finish: a read that then finds nothing is the end.
        const last = done;
        const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
        position += bytesRead;
        if (bytesRead > 0)
            hasher.update(buffer.subarray(0, bytesRead));
        else if (last)
            return;
        else
            await Promise.race([finished, (0,external_node_timers_promises_.setTimeout)(pollMs)]);
    }
}

;// CONCATENATED MODULE: ./src/pipeline/store-object.ts
/**
 * One object of a backup on its way into the store: source → compress → encrypt → hash → store.
 * A failure at any step (or a cancel) leaves no object behind.
 */









/** Deletes objects of a failed backup; a store that refuses is warned about, not fatal. */
async function deleteStored(keys, options) {
    if (keys.length === 0)
        return;
    // A writer may not delete: the run still fails for its own reason, the objects are swept later.
    await options.store
        .delete(keys)
        .catch((failed) => options.log.warning(`could not delete ${keys.join(', ')} after the failed backup (${(0,errors/* errorMessage */.gJ)(failed)}); retention-prune's orphan sweep removes ${keys.length > 1 ? 'them' : 'it'} once older than orphan-grace`));
}
/**
 * source → compress → encrypt → hash → store, as `key`. A failure at any step (or a cancel)
 * leaves no object behind and rejects; the source is closed in every case.
 */
async function storeObject(key, source, options) {
    const { signal } = options;
    const hasher = new HashingCounter();
    let stopProgress = () => undefined;
    const onAbort = () => void source.close();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted)
        onAbort();
    let uploaded = false;
    try {
        const { stored, raw, probe } = await storing(key, source, options, hasher);
        stopProgress = reportProgress(options, raw, hasher);
        const upload = stored.then((object) => {
            uploaded = true;
            return object;
        });
        const [{ size }, facts] = await uploadThenSource(
        // A store that fails leaves pg_dump blocked on a full pipe: stop it.
        upload.catch(async (error) => {
            await source.close();
            throw error;
        }), source.finished());
        if (signal.aborted)
            throw new errors/* CancelledError */.cc();
        await probe?.check();
        if (size !== hasher.bytes) {
            throw new Error(`the store holds ${size} bytes of ${key}, but ${hasher.bytes} were sent`);
        }
        return {
            object: { key, size, sha256: hasher.digest() },
            facts,
            ...(raw ? { rawBytes: raw.bytes } : {}),
        };
    }
    catch (error) {
        if (uploaded)
            await deleteStored([key], options);
        throw signal.aborted ? new errors/* CancelledError */.cc() : error;
    }
    finally {
        stopProgress();
        signal.removeEventListener('abort', onAbort);
        await source.close();
    }
}
/**
 * Waits for both, even when one fails, so that no upload is still being cleaned up when the run
 * reports. The upload's failure wins: it carries the first error on the data's path (the
 * producer's, a compressor's or the store's), of which a failing source is then a consequence
 * (pg_dump stopped by a broken pipe, a tar writer whose stream was torn down).
 */
async function uploadThenSource(upload, source) {
    const [uploaded, finished] = await Promise.allSettled([upload, source]);
    if (uploaded.status === 'rejected')
        throw uploaded.reason;
    if (finished.status === 'rejected')
        throw finished.reason;
    return [uploaded.value, finished.value];
}
/**
 * Starts the bytes on their way into the store, hashed as stored. When programs can make every
 * layer (zstd, then age or gpg), they read pg_dump's output through the system's pipes; into a directory
 * store the last of them writes the file itself and Node only reads it back to hash it. Streamed
 * through Node (a socket read, a file write and a buffer per piece) the compressed bytes would cost
 * CPU that on a 2-core machine comes out of pg_dump's and zstd's share (docs/benchmarks.md).
 */
async function storing(key, source, options, hasher) {
    const { store, signal } = options;
    const sizing = { signal, expectedBytes: source.sizeEstimate };
    const upload = (body) => store.upload(key, (0,external_node_stream_.pipeline)(body, hasher, () => undefined), sizing);
    const zstd = options.compression === 'zstd' ? await findZstdProgram(options.env) : undefined;
    const filters = source.direct ? await programsFor(options, zstd) : undefined;
    if (filters && source.direct) {
        const sink = store.fileSink ? await store.fileSink(key) : undefined;
        // The producer starts here: nothing may wait between its start and the programs reading it.
        const direct = source.direct();
        // Only zstd's own output opens here: behind the encrypting program the bytes are sealed.
        const probe = options.sealer ? undefined : prefixProbe(direct);
        if (probe)
            hasher.onBytes = (chunk) => probe.feed(chunk);
        if (sink) {
            say(options, `${describeChain(filters)}, which writes the file itself`);
            return { stored: programsIntoFile(sink, filters, direct, hasher), probe };
        }
        say(options, describeChain(filters));
        return { stored: upload(chainFrom(filters, direct)), probe };
    }
    if (zstd)
        say(options, `Compressing with ${zstd}`);
    const { body, raw, probe } = await layered(source, options, zstd);
    return { stored: upload(body), raw, probe };
}
function prefixProbe(direct) {
    return direct.expected ? new CompressedPrefix(direct.expected) : undefined;
}
/**
 * The programs that make every layer of the stored bytes (`zstd`, the zstd program found, if
 * any), or undefined when one needs Node.
 */
async function programsFor(options, zstd) {
    const filters = [];
    if (options.compression === 'gzip')
        return undefined;
    if (options.compression === 'zstd') {
        if (!zstd)
            return undefined;
        filters.push(zstdFilter(zstd, levelOf('zstd', options.compressionLevel)));
    }
    if (options.sealer) {
        const encrypting = await options.sealer.program();
        if (!encrypting)
            return undefined;
        filters.push(encrypting);
    }
    return filters.length > 0 ? filters : undefined;
}
async function programsIntoFile(sink, filters, input, hasher) {
    const { written, stop } = chainInto(filters, input, sink.file.fd);
    try {
        await hashWhileWritten(sink.file, written, hasher);
        return await sink.commit();
    }
    catch (error) {
        stop();
        await written.catch(() => undefined);
        await sink.discard();
        throw error;
    }
}
/**
 * source → compress → encrypt: the bytes as stored, not yet hashed. zstd's own program reads a
 * program source directly; otherwise the source's bytes are batched and counted on the way.
 */
async function layered(source, options, zstd) {
    const encrypted = (stream) => (options.sealer ? options.sealer.seal(stream) : stream);
    if (zstd && source.direct) {
        const level = levelOf('zstd', options.compressionLevel);
        const direct = source.direct();
        const compressed = chainFrom([zstdFilter(zstd, level)], direct);
        const probe = prefixProbe(direct);
        return { body: await encrypted(probe ? tapped(compressed, probe) : compressed), probe };
    }
    const raw = new Batcher();
    const compress = compressor(options.compression, options.compressionLevel, zstd);
    const noop = () => undefined;
    const compressed = compress
        ? (0,external_node_stream_.pipeline)(source.output, raw, compress, noop)
        : (0,external_node_stream_.pipeline)(source.output, raw, noop);
    return { body: await encrypted(compressed), raw };
}
/** The same stream, its bytes also fed to `probe` (before Node encrypts them). */
function tapped(stream, probe) {
    const tap = new external_node_stream_.Transform({
        transform(chunk, _encoding, done) {
            probe.feed(chunk);
            done(null, chunk);
        },
    });
    return (0,external_node_stream_.pipeline)(stream, tap, () => undefined);
}
/** A log line, after the object's label when several are stored at once. */
function say(options, line) {
    options.log.info(options.label === undefined ? line : `${options.label}: ${line}`);
}
function reportProgress(options, raw, stored) {
    const started = options.now().getTime();
    const timer = setInterval(() => {
        const seconds = (options.now().getTime() - started) / 1000;
        const dumped = raw?.bytes;
        say(options, dumped === undefined
            ? `… ${(0,format/* formatBytes */.z3)(stored.bytes)} stored (${(0,format/* formatRate */.CE)(stored.bytes, seconds)})`
            : `… ${(0,format/* formatBytes */.z3)(dumped)} dumped (${(0,format/* formatRate */.CE)(dumped, seconds)}), ${(0,format/* formatBytes */.z3)(stored.bytes)} stored`);
    }, options.progressEveryMs ?? 10_000);
    timer.unref();
    return () => clearInterval(timer);
}

;// CONCATENATED MODULE: ./src/pipeline/store-all.ts
/**
 * Several objects of one backup stored `jobs` at a time, all or none: the first failure stops
 * the others and deletes every object already stored, so a failed run leaves nothing half made.
 */



async function storeAll(parts, options) {
    const outer = options.signal;
    const inner = new AbortController();
    const onAbort = () => inner.abort();
    outer.addEventListener('abort', onAbort, { once: true });
    if (outer.aborted)
        onAbort();
    const stored = [];
    const results = [];
    let failure;
    let next = 0;
    const several = options.jobs > 1 && parts.length > 1;
    const worker = async () => {
        for (let index = next++; index < parts.length && !inner.signal.aborted; index = next++) {
            const part = parts[index];
            const label = part.label && capitalised(part.label);
            try {
                if (label)
                    options.log.info(`${label}: storing as ${part.key}`);
                const source = await part.open(inner.signal);
                const result = await storeObject(part.key, source, {
                    ...options,
                    signal: inner.signal,
                    ...(several ? { label } : {}),
                });
                stored.push(result);
                results[index] = { ...part, ...result };
                if (label)
                    options.log.info(`${label}: ${describeStored(result)}`);
            }
            catch (error) {
                // The first failure is the cause; the others' are the stop it set off.
                failure ??= {
                    error: part.label
                        ? new Error(`${part.label}: ${(0,errors/* errorMessage */.gJ)(error)}`, { cause: error })
                        : error,
                };
                inner.abort();
            }
        }
    };
    try {
        await Promise.all(Array.from({ length: Math.min(options.jobs, parts.length) }, worker));
    }
    finally {
        outer.removeEventListener('abort', onAbort);
    }
    if (failure || outer.aborted) {
        await deleteStored(stored.map((result) => result.object.key), options);
        throw outer.aborted ? new errors/* CancelledError */.cc() : failure?.error;
    }
    // Every part was stored (or the run failed above), each at its own index.
    return results;
}
function describeStored({ object, facts }) {
    const counts = facts.rowCounts && Object.values(facts.rowCounts);
    const rows = counts
        ? ` (${(0,format/* formatCount */.B4)(counts.length)} tables, ${(0,format/* formatCount */.B4)(counts.reduce((sum, n) => sum + n, 0))} rows)`
        : '';
    return `${(0,format/* formatBytes */.z3)(object.size)} stored${rows}`;
}
const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

;// CONCATENATED MODULE: ./src/pipeline/publish.ts
/**
 * The write path every backup takes: each of its objects stored (pipeline/store-all.ts), then
 * the manifest, last. A failure at any step leaves neither an object nor a manifest behind.
 */









async function publish(options) {
    const { encryption } = options;
    // One scrypt for the backup: the objects go to an identity of its own, sealed with the passphrase.
    const own = encryption?.method === 'age' && encryption.passphrase !== undefined
        ? await makeIdentity(encryption.passphrase)
        : undefined;
    const sealer = await openSealer(own ? { method: 'age', ...own.keys } : encryption, options.env);
    let stored;
    try {
        stored = await storeAll(options.parts, { ...options, sealer });
    }
    finally {
        await sealer?.close();
    }
    const identity = own && {
        record: identityRecord(options.name, options.id, own.sealed),
        body: own.sealed,
    };
    const manifest = assemble(options, options.fields(stored), identity?.record);
    const signature = await writeManifest(manifest, stored.map((one) => one.object), options, identity);
    return { manifest, manifestKey: manifestKey(manifest.name, manifest.id), stored, signature };
}
/** The manifest in the order every release wrote it: envelope, source, layers, objects, tools. */
function assemble(options, fields, identity) {
    const { source, format, dump, ...objects } = fields;
    // One cast: TypeScript cannot see that the envelope and the kind's fields make up M.
    return {
        version: 1,
        id: options.id,
        name: options.name,
        createdAt: options.createdAt.toISOString(),
        completedAt: options.now().toISOString(),
        source,
        format,
        compression: options.compression,
        encryption: encryptionOf(options.encryption),
        ...(identity ? { identity } : {}),
        ...objects,
        tool: options.tool,
        ...(dump ? { dump } : {}),
        ...(options.run ? { run: options.run } : {}),
    };
}
/**
 * Writes the manifest, last: the backup exists from then on. The backup's identity and the
 * manifest's signature (of exactly the bytes written) go before it, so a signed backup is never
 * seen unsigned. A manifest that cannot be written takes the backup's objects with it.
 */
async function writeManifest(manifest, data, options, identity) {
    const text = serializeManifest(manifest);
    const signed = options.signingKey && {
        key: signatureKey(manifest.name, manifest.id),
        text: signMessage(Buffer.from(text, 'utf8'), options.signingKey),
    };
    const objects = identity ? [...data, identity.record] : data;
    try {
        if (options.signal.aborted)
            throw new errors/* CancelledError */.cc();
        if (identity)
            await options.store.put(identity.record.key, identity.body);
        await confirmListed(options.store, `${manifest.name}/${manifest.id}`, objects);
        if (signed)
            await options.store.put(signed.key, signed.text);
        await options.store.put(manifestKey(manifest.name, manifest.id), text);
    }
    catch (error) {
        const keys = objects.map((object) => object.key);
        await deleteStored(signed ? [...keys, signed.key] : keys, options);
        throw options.signal.aborted ? new errors/* CancelledError */.cc() : error;
    }
    return signed && { key: signed.key, size: Buffer.byteLength(signed.text) };
}
/**
 * One listing of the backup's keys, to see that every object is still there at its size: a
 * prune may have swept a long backup's first objects, and a manifest over them would be a torn
 * backup reported as a success. A listing, not a read: a writer's credentials may not read.
 */
async function confirmListed(store, prefix, objects) {
    const listed = new Map();
    for await (const { key, size } of store.list(prefix))
        listed.set(key, size);
    const gone = objects.filter((object) => listed.get(object.key) !== object.size);
    if (gone.length === 0)
        return;
    throw new Error(`${gone.length} of this backup's ${objects.length} object(s) are no longer in the store as stored (${gone.map((object) => object.key).join(', ')}), so its manifest was not written: a retention-prune whose orphan-grace is shorter than this backup took may have deleted them`);
}

;// CONCATENATED MODULE: ./src/core/lag.ts
/**
 * How far a store is behind the store it copies: since when the oldest of the source's backups
 * newer than the newest one the store holds was made; 0 when it holds the newest. A store that
 * missed one night's copy is behind from the moment that backup was made. Pure.
 */

/** `backups`: the source's complete backups, newest first; `held`: which the store holds. */
function lagMs(backups, held, now) {
    const newestHeld = backups.findIndex(({ id }) => held(id));
    const missing = newestHeld < 0 ? backups : backups.slice(0, newestHeld);
    const oldestMissing = missing.at(-1);
    if (!oldestMissing)
        return 0;
    return Math.max(0, now.getTime() - Date.parse(oldestMissing.createdAt));
}
function formatLag(ms) {
    return ms === 0 ? 'holds the newest' : `${formatDuration(ms)} behind`;
}

;// CONCATENATED MODULE: ./src/storage/catalog.ts
/**
 * What a set holds, from one paged listing of `<name>/`: backups (ids with a manifest), leftovers
 * of failed runs (objects with no manifest), and how many keys were not ours. Ids sort by their
 * second, so the listing alone orders backups to the second; within one second only the manifests
 * order them (`newestFirst`), and only the manifests a mode needs are read.
 *
 * A listed manifest is not yet a backup. Only a *complete* backup (a manifest that parses as
 * exactly what a backup writes, for its own key, dated no later than the clock allows, whose
 * object is listed at the size it records) is counted, kept or chosen as the newest. Anything
 * else is *unusable*: reported by name, never counted, and never deleted by a keep-policy.
 */




/** A manifest is a few kilobytes (row counts of thousands of tables fit well under this). */
const MANIFEST_MAX_BYTES = 1 << 20;
/**
 * How far ahead of this machine's clock a backup may be dated and still count: two machines'
 * clocks differ a little (5 minutes is the usual bound, as in Kerberos). Beyond it the date is
 * wrong, and a wrong date would win every "newest" and every keep-within window.
 */
const CLOCK_TOLERANCE_MS = 5 * 60_000;
/** Every key an entry holds besides its manifest: what goes when the backup or leftover goes. */
function keysBesideManifest(entry) {
    return entry.signature ? [...entry.objects, entry.signature] : entry.objects;
}
const isComplete = (judged) => 'manifest' in judged;
async function listSet(store, name, prefix = `${name}/`) {
    const entries = new Map();
    const records = [];
    let foreignKeys = 0;
    for await (const object of store.list(prefix)) {
        const kind = classifyKey(name, object.key);
        if (!kind) {
            foreignKeys += 1;
            continue;
        }
        if (kind.kind === 'record') {
            records.push({ ...object, id: kind.id, mode: kind.mode });
            continue;
        }
        const entry = entries.get(kind.id) ?? { id: kind.id, objects: [] };
        if (kind.kind === 'manifest')
            entry.manifest = object;
        else if (kind.kind === 'signature')
            entry.signature = object;
        else
            entry.objects.push(object);
        entries.set(kind.id, entry);
    }
    const newestFirst = [...entries.values()].sort(newestIdFirst);
    return {
        backups: newestFirst.filter((entry) => entry.manifest),
        leftovers: newestFirst.filter((entry) => !entry.manifest),
        records: records.sort(newestIdFirst),
        foreignKeys,
    };
}
/** Newest second first: the order a listing alone can give (ids of one second tie in time). */
const newestIdFirst = (a, b) => a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
/**
 * An entry's size as listed: its data object's, or the sum of a server backup's objects (those
 * in its folder), which for a complete backup is what its manifest records (its identity is not
 * data: manifestSize leaves it out too).
 */
function listedSize(entry) {
    const inFolder = entry.objects.filter((object) => object.key.includes(`/${entry.id}/`));
    if (inFolder.length === 0) {
        return entry.objects.find((object) => !isIdentityKey(object.key, entry.id))?.size;
    }
    return inFolder.reduce((sum, object) => sum + object.size, 0);
}
const manifestKeyOf = (name, entry) => entry.manifest?.key ?? `${name}/${entry.id}.manifest.json`;
/**
 * Whether a listed entry is a complete backup, from its manifest's text. Pure. `now` is the
 * clock that dates may not run ahead of; without it (a backup the user named by id) dates are
 * only checked against each other.
 */
function judgeBackup(entry, text, name, now) {
    const key = manifestKeyOf(name, entry);
    let manifest;
    try {
        manifest = parseManifest(text, key, name);
    }
    catch (error) {
        if (error instanceof ManifestError)
            return { entry, key, problem: error.message };
        throw error;
    }
    const dating = datingProblem(manifest, entry, key, now);
    if (dating)
        return { entry, key, problem: dating };
    const torn = catalog_objectProblem(manifest, entry, key);
    return torn ? { entry, key, problem: torn, torn: manifest } : { entry, manifest };
}
function datingProblem(manifest, entry, key, now) {
    if (manifest.id !== entry.id)
        return `corrupt manifest ${key}: records id ${manifest.id}`;
    // The id is the start time to the second: createdAt is that second, plus a fraction.
    const idMs = idTime(manifest.id)?.getTime() ?? NaN;
    const createdMs = Date.parse(manifest.createdAt);
    if (!(createdMs >= idMs && createdMs < idMs + 1000)) {
        return `corrupt manifest ${key}: createdAt ${manifest.createdAt} disagrees with its id`;
    }
    if (Date.parse(manifest.completedAt) < createdMs) {
        return `corrupt manifest ${key}: completedAt ${manifest.completedAt} is before createdAt`;
    }
    const latest = Math.max(idMs, Date.parse(manifest.completedAt));
    if (now && latest > now.getTime() + CLOCK_TOLERANCE_MS) {
        return `backup ${key} is dated ${new Date(latest).toISOString()}, ahead of this machine's clock (${now.toISOString()}): the clock of the machine that made it, or of this one, is wrong`;
    }
    return undefined;
}
/** Every object must be listed beside its manifest, at the size recorded: else the backup is torn. */
function catalog_objectProblem(manifest, entry, manifestKey) {
    for (const { key, size } of manifestObjects(manifest)) {
        const stored = entry.objects.find((object) => object.key === key);
        if (!stored)
            return `torn backup ${manifestKey}: its object ${key} is missing from the store`;
        if (stored.size !== size) {
            return `torn backup ${manifestKey}: its object ${key} holds ${stored.size} bytes, but its manifest records ${size}`;
        }
    }
    return undefined;
}
/** Reads an entry's manifest (never more than MANIFEST_MAX_BYTES of it) and judges it. */
async function judgeEntry(store, name, entry, now) {
    const key = manifestKeyOf(name, entry);
    const tooLarge = {
        entry,
        key,
        problem: `corrupt manifest ${key}: larger than ${MANIFEST_MAX_BYTES} bytes, not read`,
    };
    if ((entry.manifest?.size ?? 0) > MANIFEST_MAX_BYTES)
        return tooLarge;
    let bytes;
    try {
        bytes = await store.read(key, MANIFEST_MAX_BYTES);
    }
    catch (error) {
        if (error instanceof core_store/* ObjectTooLarge */.Xs)
            return tooLarge;
        throw error;
    }
    return judgeBackup(entry, bytes.toString('utf8'), name, now);
}
/** Manifests read at once: enough to hide a store's latency, few enough to be a polite client. */
const READS_AT_ONCE = 8;
/**
 * Judges every entry given (a listing's backups, newest first), in order. A manifest that cannot
 * be read at all (the store failed) fails the whole call: a prune must stop rather than decide
 * from what it missed.
 */
async function judgeAll(store, name, entries, now) {
    return inParallel(entries, (entry) => judgeEntry(store, name, entry, now));
}
/** `read` for each item, at most READS_AT_ONCE at a time, the results in the items' order. */
async function inParallel(items, read) {
    const results = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const index = next++;
            results[index] = await read(items[index]);
        }
    };
    await Promise.all(Array.from({ length: READS_AT_ONCE }, worker));
    return results;
}
/**
 * The newest complete backup, reading manifests newest first only as far as needed, and the
 * unusable entries newer than it (which a reader must report: they hide a newer run's failure).
 */
async function newestComplete(store, name, entries, now) {
    const newer = [];
    for (const [i, entry] of entries.entries()) {
        const judged = await judgeEntry(store, name, entry, now);
        if (isComplete(judged)) {
            const sameSecond = entries.slice(i + 1).filter((other) => sameIdSecond(entry.id, other.id));
            return { newest: await startedLast(store, name, judged, sameSecond, now), newer };
        }
        newer.push(judged);
    }
    return { newer };
}
/** A complete backup as the one order of backups (`newestFirst`) reads it. */
const datedOf = ({ entry, manifest }) => ({
    id: entry.id,
    createdAt: manifest.createdAt,
});
/** Complete backups in the one order of backups, newest first. */
function completeNewestFirst(backups) {
    return [...backups].sort((a, b) => newestFirst(datedOf(a), datedOf(b)));
}
/**
 * Ids of one second sort by their random suffix, not by time: among the complete backups
 * started in the same second as `first`, the one whose manifest says it started last.
 */
async function startedLast(store, name, first, ofItsSecond, now) {
    let newest = first;
    for (const entry of ofItsSecond) {
        const judged = await judgeEntry(store, name, entry, now);
        if (isComplete(judged) && startedAfter(datedOf(judged), datedOf(newest)))
            newest = judged;
    }
    return newest;
}
/**
 * The complete backup made before `newest`, which `newestComplete` found in `entries` (so it is
 * the last started of its second): the listing cannot order a second's ids, so every other entry
 * of its second is a candidate, whatever its suffix.
 */
async function completeBefore(store, name, entries, newest, now) {
    const second = secondOf(newest.entry.id);
    const older = entries.filter((entry) => entry.id !== newest.entry.id && secondOf(entry.id) <= second);
    return (await newestComplete(store, name, older, now)).newest;
}
/** The lines that name unusable entries, at most `shown` of them, for a log or a failure. */
function unusableText(unusable, shown = 3) {
    const more = unusable.length > shown ? `; and ${unusable.length - shown} more` : '';
    return (unusable
        .slice(0, shown)
        .map((item) => item.problem)
        .join('; ') + more);
}
/**
 * The manifest of `backupId` in the set, or of its newest complete backup for `latest` (naming
 * any unusable newer entry in a warning). A named backup must be complete too, but its date is
 * not held against the clock: the user chose it.
 */
async function findBackup(ctx, name, backupId) {
    const { store } = ctx;
    if (backupId === 'latest') {
        const listing = await listSet(store, name);
        const { newest, newer } = await newestComplete(store, name, listing.backups, ctx.now());
        if (newer.length > 0) {
            ctx.log.warning(`skipped ${newer.length} unusable backup(s) newer than the newest complete one: ${unusableText(newer)}`);
        }
        if (!newest) {
            throw new Error(`no complete backup of set "${name}" in ${store.description}`);
        }
        return newest.manifest;
    }
    const judged = await judgeId(store, name, backupId);
    if (!judged)
        throw new Error(`no backup ${backupId} in set "${name}" (${store.description})`);
    if (!isComplete(judged))
        throw new Error(judged.problem);
    return judged.manifest;
}
/** The backup `id` of the set as the store holds it, judged; undefined when it has no manifest. */
async function judgeId(store, name, id) {
    // Ids have one length, so this prefix holds this id's manifest and objects (a server backup's
    // are in its own folder) and nothing of any other id.
    const entry = (await listSet(store, name, `${name}/${id}`)).backups[0];
    return entry?.id === id ? judgeEntry(store, name, entry) : undefined;
}

;// CONCATENATED MODULE: ./src/copy/backup.ts
/**
 * One backup copied byte for byte: each object streamed from the source into the destination,
 * its sha256 and size checked as it passes (an object that does not match never completes
 * there), then its signature when it has one, then the manifest's exact bytes, last. Nothing is
 * decrypted or recompressed, so the copy opens with the same keys, its manifest holds and its
 * signature verifies; a copy cut short publishes no manifest.
 */








/**
 * Copies the backup `entry` lists in the source. Its manifest is read again and judged here:
 * what is published is exactly the text whose checksums the objects were checked against.
 */
async function copyBackup(entry, ctx) {
    const key = manifestKey(ctx.name, entry.id);
    const text = await ctx.source.read(key, MANIFEST_MAX_BYTES);
    const judged = judgeBackup(entry, text.toString('utf8'), ctx.name, ctx.now());
    if (!isComplete(judged))
        throw new Error(`in the source: ${judged.problem}`);
    for (const object of manifestObjects(judged.manifest))
        await copyObject(object, ctx);
    if (ctx.signal.aborted)
        throw new errors/* CancelledError */.cc();
    // Before the manifest, as the backup wrote it: a signed backup is never there unsigned.
    if (entry.signature) {
        const signature = await ctx.source.read(entry.signature.key, SIGNATURE_MAX_BYTES);
        await ctx.destination.put(entry.signature.key, signature);
    }
    await ctx.destination.put(key, text);
    return judged.manifest;
}
async function copyObject(object, ctx) {
    const { signal } = ctx;
    const body = await ctx.source.download(object.key, { signal });
    try {
        const checked = (0,external_node_stream_.pipeline)(body, ownedChunks(), checkedBytes(object), () => undefined);
        const { size } = await ctx.destination.upload(object.key, checked, {
            signal,
            size: object.size,
        });
        if (size !== object.size) {
            throw new Error(`the destination holds ${size} bytes of ${object.key}, not ${object.size}`);
        }
    }
    catch (error) {
        throw signal.aborted ? new errors/* CancelledError */.cc() : error;
    }
    finally {
        body.destroy();
    }
}
/**
 * Marks each chunk of a download as owned: a socket read made it, and it goes on whole to one
 * consumer, so the store that copies or writes it last can release its memory at once instead of
 * leaving it to the collector (process/owned.ts): memory stays flat whatever the object's size.
 */
function ownedChunks() {
    return new external_node_stream_.Transform({
        transform: (chunk, _encoding, done) => done(null, (0,owned/* own */.Z)(chunk)),
    });
}

;// CONCATENATED MODULE: ./src/copy/check.ts
/**
 * `copy-check: sha256`: a backup the listing shows complete at the destination is read back
 * there, its manifest compared byte for byte with the source's and every object hashed against
 * it, before it is left as it is. An object in an archive class there (GLACIER, DEEP_ARCHIVE)
 * cannot be read until thawed: it is judged by the listing alone. Needs read access at the
 * destination, which write-only credentials lack: a refusal fails the copy to that store and
 * says so.
 */







async function compareBytes(id, manifest, ctx) {
    try {
        const key = manifestKey(ctx.name, id);
        const [ours, theirs] = await Promise.all([
            ctx.source.read(key, MANIFEST_MAX_BYTES),
            ctx.destination.read(key, MANIFEST_MAX_BYTES),
        ]);
        if (!ours.equals(theirs))
            return { equal: false, reason: 'its manifest there differs from the source’s' };
        for (const object of manifestObjects(manifest)) {
            await checkStored(ctx.destination, object, ctx.signal).catch((error) => {
                // Cold there: it cannot be read unthawed, and the listing already found it at its size.
                if (!(error instanceof core_store/* ArchivedObject */.oN))
                    throw error;
            });
        }
        return { equal: true };
    }
    catch (error) {
        if (error instanceof ChecksumError)
            return { equal: false, reason: `there, ${error.message}` };
        if (ctx.signal.aborted)
            throw error;
        throw new Error(`copy-check: sha256 reads every backup at the destination back, and it could not (${(0,errors/* errorMessage */.gJ)(error)}); give read access there, or use copy-check: listing`, { cause: error });
    }
}

;// CONCATENATED MODULE: ./src/copy/compare.ts
/**
 * Whether a backup is already at a destination, complete and equal, from the destination's
 * listing alone (what write-only credentials may see): its manifest at the size of the source's,
 * every object at the size its manifest records, and none written after the manifest. A copy
 * writes the manifest last, so an object newer than its manifest was rewritten since: not the
 * copy that was made. Pure.
 */

function compareListed(source, manifest, there) {
    const differs = (reason) => ({ equal: false, reason });
    if (!there?.manifest) {
        return differs(there?.objects.length ? 'only objects without a manifest there' : 'not there');
    }
    if (there.manifest.size !== source.manifest?.size) {
        return differs(`its manifest there holds ${there.manifest.size} bytes, the source's ${source.manifest?.size ?? '?'}`);
    }
    if (source.signature && there.signature?.size !== source.signature.size) {
        return differs(there.signature ? 'its signature there differs in size' : 'its signature is missing there');
    }
    const published = there.manifest.modified?.getTime();
    for (const { key, size } of manifestObjects(manifest)) {
        const object = there.objects.find((listed) => listed.key === key);
        if (!object)
            return differs(`${key} is missing there`);
        if (object.size !== size)
            return differs(`${key} holds ${object.size} bytes there, not ${size}`);
        const written = object.modified?.getTime();
        if (published !== undefined && written !== undefined && written > published) {
            return differs(`${key} was written there after its manifest`);
        }
    }
    return { equal: true };
}

;// CONCATENATED MODULE: ./src/copy/to-store.ts
/**
 * Backups copied to one destination: its listing first (a store that cannot be listed fails at
 * once, before anything is read), then each backup, newest first, left as it is when already
 * there complete and equal, copied otherwise. One backup that fails does not stop the others.
 * Nothing is ever deleted at the destination: what a failed copy left there is no backup (it has
 * no manifest), and the next copy completes it; retention-prune runs per store.
 */








/** `backups` are the source's, newest first. */
async function copyToStore(backups, options) {
    const { store, log } = options;
    const result = { store, backups: [], lagMs: 0 };
    let there;
    try {
        const listing = await listSet(options.destination, options.name);
        there = new Map(listing.backups.concat(listing.leftovers).map((entry) => [entry.id, entry]));
    }
    catch (error) {
        if (options.signal.aborted)
            throw new errors/* CancelledError */.cc();
        log.warning(`${store}: cannot be listed (${(0,errors/* errorMessage */.gJ)(error)})`);
        const failed = { ...result, error: `cannot be listed: ${(0,errors/* errorMessage */.gJ)(error)}`, cause: error };
        return { ...failed, lagMs: lagOf(backups, failed, options.now()) };
    }
    for (const backup of backups) {
        const copy = await copyOne(backup, there.get(backup.entry.id), options);
        result.cause ??= copy.cause;
        result.backups.push(copy.record);
    }
    return { ...result, lagMs: lagOf(backups, result, options.now()) };
}
async function copyOne({ entry, manifest }, there, options) {
    const { store, log } = options;
    const id = entry.id;
    try {
        const verdict = await verdictOf(entry, manifest, there, options);
        if (verdict.equal) {
            log.info(`${store}: ${id} is there, complete and equal`);
            return { record: { id, result: 'already there' } };
        }
        log.info(`${store}: copying ${id} (${(0,format/* formatBytes */.z3)(manifestSize(manifest))}; ${verdict.reason})`);
        const started = options.now().getTime();
        await copyBackup(entry, options);
        const seconds = (options.now().getTime() - started) / 1000;
        log.info(`${store}: ${id} copied in ${(0,format/* formatSeconds */.Xo)(seconds)}`);
        return { record: { id, result: 'copied', detail: verdict.reason } };
    }
    catch (error) {
        if (options.signal.aborted || error instanceof errors/* CancelledError */.cc)
            throw new errors/* CancelledError */.cc();
        log.warning(`${store}: ${id} was not copied: ${(0,errors/* errorMessage */.gJ)(error)}`);
        return { record: { id, result: 'failed', detail: (0,errors/* errorMessage */.gJ)(error) }, cause: error };
    }
}
async function verdictOf(entry, manifest, there, options) {
    const listed = compareListed(entry, manifest, there);
    if (!listed.equal || options.check === 'listing')
        return listed;
    return compareBytes(entry.id, manifest, options);
}
function lagOf(backups, result, now) {
    const held = new Set(result.backups.filter((b) => b.result !== 'failed').map((b) => b.id));
    const ids = backups.map(({ entry, manifest }) => ({
        id: entry.id,
        createdAt: manifest.createdAt,
    }));
    return lagMs(ids, (id) => held.has(id), now);
}

;// CONCATENATED MODULE: ./src/copy/index.ts
/**
 * Backups copied to several stores, one store after another, each tried again on its own when it
 * failed for a reason that passes: a copy is idempotent (what is there is left as it is), so
 * trying again costs only what is missing.
 */




/** Opens every destination before anything is copied: one that cannot be opened stops the run. */
async function openDestinations(ctx, stores) {
    return Promise.all(stores.map(async (store) => ({
        label: storeLabel(store.location),
        store: await openOther(ctx, store),
    })));
}
class StoreCopyFailed extends Error {
    copy;
    constructor(copy) {
        super(copy_failureLine(copy), { cause: copy.cause });
        this.copy = copy;
    }
}
/** `backups` (the source's, newest first) to each destination in turn. */
async function copyToStores(backups, destinations, options, ctx) {
    const copies = [];
    for (const { label, store } of destinations) {
        const failed = [];
        const attempt = async () => {
            const copy = await copyToStore(backups, {
                ...ctx,
                source: ctx.store,
                destination: store,
                store: label,
                name: options.name,
                check: options.check,
            });
            if (copy_failureLine(copy))
                throw new StoreCopyFailed(copy);
            return copy;
        };
        try {
            const copy = await retrying(`copy to ${label}`, attempt, options.retry, ctx, failed);
            copies.push({ ...copy, attempts: failed.length + 1 });
        }
        catch (error) {
            if (!(error instanceof StoreCopyFailed))
                throw error;
            copies.push({ ...error.copy, attempts: failed.length });
        }
    }
    return copies;
}
/** The line of each store whose copy failed, and the first failure's cause, for the run's error. */
function copyFailures(copies) {
    const lines = copies.map(copy_failureLine).filter((line) => line !== '');
    return { lines, cause: copies.find((copy) => copy.cause !== undefined)?.cause };
}
/** What failed in one store's copy, in one line; empty when nothing did. */
function copy_failureLine(copy) {
    if (copy.error)
        return `${copy.store}: ${copy.error}`;
    const failed = copy.backups.filter((backup) => backup.result === 'failed');
    if (failed.length === 0)
        return '';
    const first = failed[0];
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
    return `${copy.store}: ${first.id} was not copied: ${first.detail ?? 'failed'}${more}`;
}

;// CONCATENATED MODULE: ./src/copy/report.ts
/** What copies report, alike from the copy mode and from a backup with copy-to. Pure. */


const count = (copy, result) => copy.backups.filter((backup) => backup.result === result).length;
/** One row per store: what was copied, left, failed, and how far behind it is now. */
function storesTable(copies) {
    return {
        title: 'Copies',
        header: ['store', 'copied', 'already there', 'failed', 'attempts', 'lag'],
        rows: copies.map((copy) => [
            copy.store,
            (0,format/* formatCount */.B4)(count(copy, 'copied')),
            (0,format/* formatCount */.B4)(count(copy, 'already there')),
            copy.error ? `store: ${copy.error}` : (0,format/* formatCount */.B4)(count(copy, 'failed')),
            (0,format/* formatCount */.B4)(copy.attempts),
            formatLag(copy.lagMs),
        ]),
    };
}
/** Each backup copied or not copied, with why; those left as they were are only counted. */
function changesTable(copies) {
    return {
        title: 'Backups copied or failed',
        header: ['store', 'backup', 'result', 'why'],
        rows: copies.flatMap((copy) => copy.backups
            .filter((backup) => backup.result !== 'already there')
            .map((backup) => [copy.store, backup.id, backup.result, backup.detail ?? ''])),
    };
}
/** The copies as the report output keeps them: no error objects, lag in seconds. */
function copiesDetails(copies) {
    return copies.map(({ store, backups, error, attempts, lagMs }) => ({
        store,
        backups,
        ...(error ? { error } : {}),
        attempts,
        lagSeconds: Math.round(lagMs / 1000),
    }));
}
/** Backups of one result (copied, already there), all stores together. */
function resultCount(copies, result) {
    return copies.reduce((sum, copy) => sum + count(copy, result), 0);
}

;// CONCATENATED MODULE: ./src/storage/signature.ts
/**
 * A reader's check of a signed backup: given `signing-public-key`, a backup is used only when its
 * signature (`<id>.manifest.json.sig`) is an SSHSIG by one of those keys of its manifest's exact
 * bytes, and those bytes are the manifest the reader chose. Anyone who can write the store can
 * write a manifest and its sha256s, but not this signature.
 */




/** A backup refused for its signature: one line naming the backup and why. */
class SignatureRefused extends Error {
    constructor(manifest, why) {
        super(`backup ${manifest.name}/${manifest.id} is refused: ${why}`);
        this.name = 'SignatureRefused';
    }
}
/**
 * The fingerprint of the key that signed `manifest` in `store`; undefined when no keys are given
 * (nothing is checked). Throws SignatureRefused for an unsigned or wrongly signed backup.
 */
async function checkSignature(store, manifest, keys) {
    if (keys.length === 0)
        return undefined;
    const { name, id } = manifest;
    const sigKey = signatureKey(name, id);
    if (!(await isListed(store, sigKey))) {
        throw new SignatureRefused(manifest, `it is not signed (no ${sigKey}), and signing-public-key accepts only signed backups`);
    }
    const [signature, bytes] = await Promise.all([
        store.read(sigKey, SIGNATURE_MAX_BYTES),
        store.read(manifestKey(name, id), MANIFEST_MAX_BYTES),
    ]);
    const verdict = verifyMessage(bytes, signature.toString('latin1'), keys);
    if ('problem' in verdict)
        throw new SignatureRefused(manifest, verdict.problem);
    if (!sameManifest(bytes, manifest)) {
        throw new SignatureRefused(manifest, 'its manifest changed while it was read');
    }
    return verdict.signer;
}
/** As checkSignature, with a refusal returned as its line rather than thrown. */
async function signatureVerdict(store, manifest, keys) {
    try {
        return { signer: await checkSignature(store, manifest, keys) };
    }
    catch (error) {
        if (error instanceof SignatureRefused)
            return { refused: error.message };
        throw error;
    }
}
async function isListed(store, key) {
    for await (const object of store.list(key))
        if (object.key === key)
            return true;
    return false;
}
/** Whether the signed bytes are the manifest the reader chose (read earlier, maybe elsewhere). */
function sameManifest(bytes, chosen) {
    try {
        const signed = parseManifest(bytes.toString('utf8'), manifestKey(chosen.name, chosen.id), chosen.name);
        return JSON.stringify(signed) === JSON.stringify(chosen);
    }
    catch {
        return false;
    }
}
/** A report with the signature's fact, when one was checked. */
function withSignature(result, signer) {
    if (signer === undefined)
        return result;
    return {
        ...result,
        facts: [...result.facts, ['Signature', `good, by ${signer}`]],
        details: { ...result.details, signedBy: signer },
    };
}

;// CONCATENATED MODULE: ./src/modes/backup.ts
/** The `backup` mode: dump the source, compress, encrypt, upload while hashing, then publish the manifest. */













async function backup(settings, ctx) {
    // Opened first: a destination that cannot be opened (its keys missing) fails before the dump.
    const destinations = await openDestinations(ctx, settings.copyTo);
    const started = ctx.now();
    await ctx.store.checkWritable(`${settings.name}/`).catch((error) => {
        throw new errors/* InputError */.dz('storage', `${ctx.store.description} cannot be written (${(0,errors/* errorMessage */.gJ)(error)})`);
    });
    const id = newBackupId(started);
    const kind = kindFor(settings);
    const plan = await kind.backup.plan(settings, ctx, id);
    const atOnce = plan.jobs > 1 ? `, ${plan.jobs} at a time` : '';
    ctx.log.info(`Backing up ${plan.what} to ${ctx.store.description} as ${settings.name}/${id}${atOnce}`);
    const published = await publish({
        ...ctx,
        name: settings.name,
        id,
        createdAt: started,
        compression: settings.compression,
        compressionLevel: settings.compressionLevel,
        encryption: settings.encryptionKeys,
        tool: { ...TOOL },
        run: githubRun(ctx.env),
        parts: plan.parts,
        jobs: plan.jobs,
        fields: plan.fields,
        signingKey: settings.signingKey,
    });
    const seconds = (ctx.now().getTime() - started.getTime()) / 1000;
    const { manifest } = published;
    const report = withSignature(backupReport(published, kind.holds(manifest), kind.backup.rows(manifest), seconds), settings.signingKey && fingerprintOf(settings.signingKey.publicBlob));
    if (destinations.length === 0)
        return report;
    return withCopies(report, await copyPublished(published, destinations, settings, ctx), settings);
}
/** The backup just published, copied to each destination. */
function copyPublished(published, destinations, settings, ctx) {
    const { manifest } = published;
    const entry = {
        id: manifest.id,
        manifest: { key: published.manifestKey, size: Buffer.byteLength(serializeManifest(manifest)) },
        objects: manifestObjects(manifest).map(({ key, size }) => ({ key, size })),
        ...(published.signature ? { signature: published.signature } : {}),
    };
    ctx.log.info(`Copying ${manifest.name}/${manifest.id} to ${destinations.map((d) => d.label).join(', ')}`);
    const options = { name: settings.name, check: settings.copyCheck, retry: settings.retry };
    return copyToStores([{ entry, manifest }], destinations, options, ctx);
}
/**
 * The report with each copy's row. A failed copy fails the run, unless copies are best-effort
 * (a warning then); either way the backup stays published, and the run is not tried again whole.
 */
function withCopies(report, copies, settings) {
    const failures = copyFailures(copies);
    const made = copies.length - failures.lines.length;
    const result = {
        ...report,
        headline: `${report.headline}; copied to ${made} of ${copies.length} store(s)`,
        facts: [...report.facts, ['Copies', `${made} of ${copies.length} store(s)`]],
        tables: [...report.tables, storesTable(copies)],
        details: { ...report.details, stores: copiesDetails(copies) },
    };
    if (failures.lines.length === 0 || settings.copyBestEffort)
        return result;
    const line = `the backup ${String(report.outputs['backup-id'])} is published, but a copy failed: ${failures.lines.join('; ')}`;
    throw new ModeFailure(line, result, failures.cause, true);
}

;// CONCATENATED MODULE: ./src/core/figures.ts
/**
 * The figures a mode's report gives (its outputs and details), read back for the metrics and the
 * history records. Pure. A report is checked as strictly as anything read from a store.
 */

/** A numeric output, when the report has one. */
function outputNumber(report, name) {
    const value = report.outputs?.[name];
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
/** The manifest the report carries, checked as strictly as one read from a store. */
function reportManifest(report, name) {
    const manifest = report.details?.manifest;
    if (manifest === undefined)
        return undefined;
    try {
        return parseManifest(JSON.stringify(manifest), 'the run report', name);
    }
    catch {
        return undefined;
    }
}
/** Tables and rows every database of the backup recorded; none when no count was taken. */
function rowTotals(manifest) {
    if (!manifest)
        return undefined;
    const counted = manifestRowCounts(manifest).filter((counts) => counts !== undefined);
    if (counted.length === 0)
        return undefined;
    const values = counted.flatMap((counts) => Object.values(counts));
    return { tables: values.length, rows: values.reduce((sum, rows) => sum + rows, 0) };
}
/** The checks' verdicts: one database's (`checks`) or each database's of a server backup. */
function checkVerdicts(report) {
    const { checks, databases } = report.details ?? {};
    const lists = [checks, ...(Array.isArray(databases) ? databases : []).map(checksOf)];
    const present = lists.filter((list) => Array.isArray(list));
    if (present.length === 0)
        return undefined;
    const verdicts = present.flat().map((check) => (isRecord(check) ? check.passed : undefined));
    return {
        passed: verdicts.filter((passed) => passed === true).length,
        failed: verdicts.filter((passed) => passed === false).length,
    };
}
function checksOf(database) {
    return isRecord(database) ? database.checks : undefined;
}
function isRecord(value) {
    return typeof value === 'object' && value !== null;
}

;// CONCATENATED MODULE: ./src/core/history.ts
/**
 * A set's history: the record each restore-test and verify-latest run leaves beside the backups
 * (`<name>/history/<run>.<mode>.json`, see layout.ts), and how one read back is judged. Pure.
 *
 * A record holds figures and verdicts, never a secret: the problem that failed a run is
 * redacted before it is written, and no input's value is kept. Like a manifest, a record read
 * back may have been written by anyone with access to the store: it counts only when it is
 * exactly what a run of this set writes for its own key, dated no later than the clock allows.
 */




const FIGURE_NAMES = [
    'restoreSeconds',
    'tables',
    'rows',
    'checksPassed',
    'checksFailed',
    'ageSeconds',
    'sizeBytes',
];
/** A record is a few hundred bytes; anything much larger was not written by a run. */
const RECORD_MAX_BYTES = 64 * 1024;
/** The longest problem a record keeps: the summary of that run holds the whole text. */
const PROBLEM_MAX_CHARS = 500;
/**
 * Characters a record's problem never holds: control characters (line breaks, the terminal's
 * escapes) and the Unicode ones that break or reorder a line. A problem is one line of text that
 * summaries, terminals and alerts show as it is; one that holds these was not written by a run.
 */
const NOT_ONE_LINE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const NOT_ONE_LINE_RUNS = new RegExp(`\\s*(?:${NOT_ONE_LINE.source}\\s*)+`, 'gu');
/** `text` as the one line a record keeps: each run of what NOT_ONE_LINE refuses, one space. */
const oneLine = (text) => text.replace(NOT_ONE_LINE_RUNS, ' ').trim();
function serializeRecord(record) {
    return `${JSON.stringify(record, null, 2)}\n`;
}
/** A record's key, from the record itself. */
const keyOfRecord = (record) => recordKey(record.name, record.id, record.mode);
const history_isRecord = (judged) => 'record' in judged;
/**
 * Judges the text stored under a record's key: a record of this set, this mode and this run
 * (what the key says), well formed, its times agreeing with its id, and none of it ahead of
 * `now` by more than `toleranceMs`.
 */
function judgeRecord(key, text, now, toleranceMs) {
    const ahead = aheadProblem(key.key, key.id, now, toleranceMs);
    if (ahead)
        return { key: key.key, problem: ahead };
    let value;
    try {
        value = JSON.parse(text);
    }
    catch {
        return { key: key.key, problem: `torn record ${key.key}: not valid JSON` };
    }
    if (isObject(value) && typeof value.version === 'number' && value.version > 1) {
        return {
            key: key.key,
            problem: `record ${key.key} is of version ${value.version}, written by a newer backup-action; this one (${TOOL.version}) reads version 1: it is not counted`,
        };
    }
    const problem = shapeProblem(value) ?? ownershipProblem(value, key);
    if (problem)
        return { key: key.key, problem: `${problem[0]} record ${key.key}: ${problem[1]}` };
    const record = value;
    const finished = Date.parse(record.finishedAt);
    if (finished > now.getTime() + toleranceMs) {
        return {
            key: key.key,
            problem: `record ${key.key} says its run finished at ${record.finishedAt}, ahead of this machine's clock (${now.toISOString()})`,
        };
    }
    return { key: key.key, record };
}
/** A record whose key is dated ahead of the clock: known from the key alone, before any read. */
function aheadProblem(key, id, now, toleranceMs) {
    const time = idTime(id);
    if (time && time.getTime() <= now.getTime() + toleranceMs)
        return undefined;
    return `record ${key} is dated ${time?.toISOString() ?? id}, ahead of this machine's clock (${now.toISOString()}): it is not counted`;
}
function shapeProblem(r) {
    if (!isObject(r))
        return ['torn', 'not a JSON object'];
    if (r.version !== 1)
        return ['torn', 'unsupported version'];
    if (!oneOf(r.mode, RECORD_MODES))
        return ['torn', 'bad mode'];
    if (typeof r.id !== 'string' || !isBackupId(r.id))
        return ['torn', 'bad id'];
    if (typeof r.name !== 'string')
        return ['torn', 'bad name'];
    if (!isIsoTime(r.startedAt) || !isIsoTime(r.finishedAt))
        return ['torn', 'bad startedAt/finishedAt'];
    if (typeof r.ok !== 'boolean')
        return ['torn', 'bad ok'];
    if (r.backupId !== undefined && !(typeof r.backupId === 'string' && isBackupId(r.backupId)))
        return ['torn', 'bad backupId'];
    if (r.problem !== undefined &&
        !(typeof r.problem === 'string' &&
            r.problem.length <= PROBLEM_MAX_CHARS &&
            !NOT_ONE_LINE.test(r.problem)))
        return ['torn', 'bad problem (a run writes one line of text)'];
    if (!r.ok && r.problem === undefined)
        return ['torn', 'a failed run without its problem'];
    if (!isObject(r.tool) || typeof r.tool.name !== 'string' || typeof r.tool.version !== 'string')
        return ['torn', 'bad tool'];
    return figuresProblem(r.figures);
}
function figuresProblem(figures) {
    if (!isObject(figures))
        return ['torn', 'bad figures'];
    for (const name of FIGURE_NAMES) {
        const value = figures[name];
        const fine = name === 'restoreSeconds' || name === 'ageSeconds' ? isSeconds(value) : isCount(value);
        if (value !== undefined && !fine)
            return ['torn', `bad figures.${name}`];
    }
    return undefined;
}
const isSeconds = (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
/** The key says whose record this is; a record that claims otherwise was put there by hand. */
function ownershipProblem(r, key) {
    if (r.name !== key.name)
        return ['forged', `records set "${r.name}"`];
    if (r.mode !== key.mode)
        return ['forged', `records a ${r.mode} run`];
    if (r.id !== key.id)
        return ['forged', `records run ${r.id}`];
    // The id is the start time to the second, as a backup's id is its createdAt's.
    const idMs = idTime(r.id)?.getTime() ?? NaN;
    const started = Date.parse(r.startedAt);
    if (!(started >= idMs && started < idMs + 1000))
        return ['forged', `startedAt ${r.startedAt} disagrees with its id`];
    if (Date.parse(r.finishedAt) < started)
        return ['forged', `finishedAt ${r.finishedAt} is before startedAt`];
    return undefined;
}

;// CONCATENATED MODULE: ./src/core/trends.ts
/**
 * The trends of a set, as charts: size and duration of its last backups (from their manifests),
 * recovery time and rows of its last restore-tests (from their records). Pure.
 */


/** Size and duration of the backups given (oldest first); none for fewer than two. */
function backupCharts(points) {
    const size = sizeChart(points);
    if (!size)
        return [];
    const durations = points.map((point) => point.durationSeconds);
    const time = secondsScale(durations);
    return [
        size,
        {
            title: `Backup duration, last ${points.length} backups`,
            unit: time.unit,
            labels: size.labels,
            values: durations.map((seconds) => seconds / time.divisor),
            style: 'line',
        },
    ];
}
/** The size of the backups given (oldest first); none for fewer than two. */
function sizeChart(points) {
    if (points.length < 2)
        return undefined;
    const sizes = points.map((point) => point.sizeBytes);
    const scale = bytesScale(sizes);
    return {
        title: `Backup size, last ${points.length} backups`,
        unit: scale.unit,
        labels: pointLabels(points.map((point) => ({ iso: point.createdAt }))),
        values: sizes.map((bytes) => bytes / scale.divisor),
        style: 'bar',
    };
}
/**
 * Recovery time and rows of the restore-tests given (oldest first); a test that failed is marked
 * ✗ and shows what it measured before it failed (0 when nothing).
 */
function restoreCharts(records) {
    if (records.length < 2)
        return [];
    const labels = pointLabels(records.map((record) => ({ iso: record.startedAt, failed: !record.ok })));
    const seconds = records.map((record) => record.figures.restoreSeconds ?? 0);
    const scale = secondsScale(seconds);
    const n = records.length;
    const time = {
        title: `Recovery time, last ${n} restore-tests`,
        unit: scale.unit,
        labels,
        values: seconds.map((value) => value / scale.divisor),
        style: 'line',
    };
    // Only backups of databases count rows: a set of files has none to draw.
    if (!records.some((record) => record.figures.rows !== undefined))
        return [time];
    const rows = {
        title: `Rows restored, last ${n} restore-tests`,
        unit: 'rows',
        labels,
        values: records.map((record) => record.figures.rows ?? 0),
        style: 'bar',
    };
    return [time, rows];
}
/** `15.1 KiB ▁▂▃▅ +2%`: the newest size, the shape of the last ones, the change from the one before. */
function sizeTrend(points) {
    const newest = points.at(-1);
    if (!newest)
        return '';
    const before = points.at(-2);
    const change = before && before.sizeBytes > 0
        ? ` ${signed(((newest.sizeBytes - before.sizeBytes) / before.sizeBytes) * 100)}%`
        : '';
    const shape = points.length > 1 ? ` ${chart_sparkline(points.map((point) => point.sizeBytes))}` : '';
    return `${(0,format/* formatBytes */.z3)(newest.sizeBytes)}${shape}${change}`;
}
function signed(percent) {
    const rounded = Math.abs(percent) >= 10 ? percent.toFixed(0) : percent.toFixed(1);
    return percent >= 0 ? `+${rounded}` : rounded;
}

;// CONCATENATED MODULE: ./src/storage/history.ts
/**
 * A set's history as stored: the backups (from their manifests) and the records of restore-tests
 * and verifies (from `<name>/history/`). Only what a listing names is read, newest first, and only
 * as far as asked. What is not what it claims (a torn or forged record, one dated ahead of the
 * clock, an unusable backup) is returned by name and never counted.
 */





/** Charts and trends look this far back: a month of nightly runs. */
const HISTORY_LENGTH = 30;
/**
 * The newest `limit` complete backups among `entries` (newest first), oldest first for charts,
 * and the unusable ones met among them.
 */
async function backupHistory(store, name, entries, now, limit = HISTORY_LENGTH) {
    const judged = await judgeAll(store, name, entries.slice(0, limit), now);
    const points = judged.filter(isComplete).map(({ manifest }) => {
        const counted = manifestRowCounts(manifest).filter((counts) => counts !== undefined);
        const rows = counted.flatMap((counts) => Object.values(counts));
        return {
            id: manifest.id,
            createdAt: manifest.createdAt,
            sizeBytes: manifestSize(manifest),
            durationSeconds: (Date.parse(manifest.completedAt) - Date.parse(manifest.createdAt)) / 1000,
            ...(counted.length ? { rows: rows.reduce((sum, n) => sum + n, 0) } : {}),
        };
    });
    const unusable = judged.filter((one) => !isComplete(one));
    // Oldest first, in the one order of backups: the listing's id order splits no second right.
    return { points: points.sort((a, b) => newestFirst(b, a)), unusable };
}
/**
 * The newest `limit` records of `mode` among `entries` (newest first), oldest first, and every
 * unusable one met on the way. Records are read a batch at a time, only as far as needed. A key
 * names its run's second and a random suffix, so runs of one second are ordered by their records'
 * start times: a batch takes in every record of its last second.
 */
async function readRecords(store, name, entries, mode, now, limit = HISTORY_LENGTH) {
    const ofMode = entries.filter((entry) => entry.mode === mode);
    const records = [];
    const unusable = [];
    for (let start = 0; start < ofMode.length && records.length < limit;) {
        const end = endOfSecond(ofMode, Math.min(start + limit, ofMode.length));
        const batch = ofMode.slice(start, end);
        const judged = await inParallel(batch, (entry) => readRecord(store, name, entry, now));
        for (const one of judged) {
            if (history_isRecord(one))
                records.push(one.record);
            else
                unusable.push(one);
        }
        start = end;
    }
    return { records: records.sort(newestRunFirst).slice(0, limit).reverse(), unusable };
}
/** Records as `readRecords` gives them, with `record` (when there is one) in its place among them. */
function withRecord(records, record, limit = HISTORY_LENGTH) {
    const others = records.filter((one) => one.id !== record?.id);
    return [...others, ...(record ? [record] : [])].sort(newestRunFirst).slice(0, limit).reverse();
}
/** `end`, moved past the entries (newest first) of the same second as the one before it. */
function endOfSecond(entries, end) {
    const last = entries[end - 1].id;
    let past = end;
    while (past < entries.length && sameIdSecond(entries[past].id, last))
        past += 1;
    return past;
}
/** By the second its id names (which a record's times must agree with), then by its start. */
function newestRunFirst(a, b) {
    if (!sameIdSecond(a.id, b.id))
        return a.id < b.id ? 1 : -1;
    return Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1);
}
async function readRecord(store, name, entry, now) {
    const key = { key: entry.key, name, id: entry.id, mode: entry.mode };
    const tooLarge = {
        key: entry.key,
        problem: `torn record ${entry.key}: larger than ${RECORD_MAX_BYTES} bytes, not read`,
    };
    if (entry.size > RECORD_MAX_BYTES)
        return tooLarge;
    let bytes;
    try {
        bytes = await store.read(entry.key, RECORD_MAX_BYTES);
    }
    catch (error) {
        if (error instanceof core_store/* ObjectTooLarge */.Xs)
            return tooLarge;
        throw error;
    }
    return judgeRecord(key, bytes.toString('utf8'), now, CLOCK_TOLERANCE_MS);
}
/** Writes a run's record under its own key, whole. */
async function writeRecord(store, record) {
    const key = keyOfRecord(record);
    await store.put(key, serializeRecord(record));
    return key;
}

;// CONCATENATED MODULE: ./src/history/runs.ts
/**
 * The history the nightly modes leave and draw. Each restore-test and verify-latest run, passed or
 * failed, leaves one record beside the backups (`<name>/history/<run>.<mode>.json`); then its
 * summary, like backup's, shows the set's trend. Neither ever changes the run's own result: a
 * record or a chart that cannot be written or read is one warning.
 */










/** `run`, leaving a record of how it went and drawing the set's trend in its report. */
function recorded(run) {
    return async (settings, ctx) => {
        const started = ctx.now();
        const finish = async (result, problem) => {
            const record = recordOf(settings, started, ctx.now(), result, problem);
            // The trend is read while the record is written, and drawn with it once it is kept.
            const kept = keepRecord(record, ctx);
            const [, charts] = await Promise.all([
                kept,
                trendCharts(settings, ctx, kept.then((written) => (written ? record : undefined))),
            ]);
            return withCharts(result, charts);
        };
        let result;
        try {
            result = await run(settings, ctx);
        }
        catch (error) {
            if (ctx.signal.aborted || error instanceof errors/* CancelledError */.cc)
                throw error;
            const failure = error instanceof ModeFailure ? error : undefined;
            const partial = await finish(failure?.partial ?? {}, (0,errors/* errorMessage */.gJ)(error));
            // The cause and finality go on with it: the retry policy judges the run's failure by them.
            throw new ModeFailure((0,errors/* errorMessage */.gJ)(error), partial, failure?.cause ?? error, failure?.final);
        }
        return finish(result);
    };
}
/** backup's run, its report showing the size of the set's last backups as listed. */
function charted(run) {
    return async (settings, ctx) => {
        const result = await run(settings, ctx);
        const chart = await drawing(ctx, async () => {
            const listing = await listSet(ctx.store, settings.name);
            const points = listing.backups.slice(0, HISTORY_LENGTH).flatMap((entry) => {
                const size = listedSize(entry);
                const time = idTime(entry.id);
                return size === undefined || !time
                    ? []
                    : [{ createdAt: time.toISOString(), sizeBytes: size }];
            });
            const chart = sizeChart(points.reverse());
            return chart ? [chart] : [];
        });
        return withCharts(result, chart);
    };
}
function withCharts(result, charts) {
    return charts.length ? { ...result, charts: [...(result.charts ?? []), ...charts] } : result;
}
/** What the run found, as figures: none of an input's values, the problem's secrets redacted. */
function recordOf(settings, started, finished, result, problem) {
    const backupId = result.outputs?.['backup-id'] ?? result.outputs?.['latest-id'];
    return {
        version: 1,
        mode: settings.mode,
        id: newBackupId(started),
        name: settings.name,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        ok: problem === undefined,
        ...(typeof backupId === 'string' ? { backupId } : {}),
        ...(problem === undefined
            ? {}
            : { problem: oneLine(redactor(settings.secrets)(problem)).slice(0, PROBLEM_MAX_CHARS) }),
        figures: figuresOf(settings, result),
        tool: { ...TOOL },
    };
}
function figuresOf(settings, result) {
    const figures = settings.mode === 'verify-latest'
        ? {
            ageSeconds: outputNumber(result, 'age-seconds'),
            sizeBytes: outputNumber(result, 'size-bytes'),
        }
        : {
            restoreSeconds: outputNumber(result, 'restore-seconds'),
            tables: outputNumber(result, 'restored-tables'),
            rows: rowTotals(reportManifest(result, settings.name))?.rows,
            checksPassed: checkVerdicts(result)?.passed,
            checksFailed: checkVerdicts(result)?.failed,
        };
    return Object.fromEntries(Object.entries(figures).filter(([, value]) => value !== undefined));
}
/** Whether the record was written. */
async function keepRecord(record, ctx) {
    try {
        const key = await writeRecord(ctx.store, record);
        ctx.log.info(`Recorded this run in the set's history: ${key}`);
        return true;
    }
    catch (error) {
        ctx.log.warning(`history: this run's record was not written (${(0,errors/* errorMessage */.gJ)(error)}); the run's own result stands. A store role needs s3:PutObject on <prefix>/*/history/* (examples/iam/verifier.json)`);
        return false;
    }
}
/** verify-latest: size and duration of the last backups; restore-test: its last tests'. */
function trendCharts(settings, ctx, kept) {
    return drawing(ctx, async () => {
        const now = ctx.now();
        const listing = await listSet(ctx.store, settings.name);
        if (settings.mode === 'verify-latest') {
            return backupCharts((await backupHistory(ctx.store, settings.name, listing.backups, now)).points);
        }
        const { records } = await readRecords(ctx.store, settings.name, listing.records, 'restore-test', now);
        return restoreCharts(withRecord(records, await kept));
    });
}
async function drawing(ctx, draw) {
    try {
        return await draw();
    }
    catch (error) {
        ctx.log.warning(`history: the trend charts were not drawn (${(0,errors/* errorMessage */.gJ)(error)})`);
        return [];
    }
}

;// CONCATENATED MODULE: ./src/modes/copy.ts
/**
 * The `copy` mode: complete backups from `storage` to each store of `copy-to`, byte for byte
 * (src/copy/). All complete backups, or the newest `copy-last`; a backup already at a
 * destination, complete and equal, is left as it is, and nothing is ever deleted there. The
 * source's unusable entries (corrupt, torn, dated ahead, foreign) are named and never copied.
 */







async function copy(settings, ctx) {
    const destinations = await openDestinations(ctx, settings.copyTo);
    const source = storeLabel(settings.storage);
    const listing = await listSet(ctx.store, settings.name);
    const judged = await judgeAll(ctx.store, settings.name, listing.backups, ctx.now());
    const complete = completeNewestFirst(judged.filter(isComplete));
    const unusable = judged.filter((item) => !isComplete(item));
    if (unusable.length > 0) {
        ctx.log.warning(`${unusable.length} unusable entr${unusable.length > 1 ? 'ies' : 'y'} in ${source}, not copied: ${unusableText(unusable)}`);
    }
    if (complete.length === 0) {
        throw new ModeFailure(`no complete backup of set "${settings.name}" in ${source} to copy`, {});
    }
    const newest = complete.slice(0, settings.last ?? complete.length);
    const { chosen, refused } = await signedOnly(newest, settings, ctx);
    ctx.log.info(`Copying ${(0,format/* formatCount */.B4)(chosen.length)} backup(s) of ${settings.name} from ${source} to ${destinations.map((d) => d.label).join(', ')}`);
    const copies = await copyToStores(chosen, destinations, { name: settings.name, check: settings.copyCheck, retry: settings.retry }, ctx);
    const chose = settings.last === undefined ? 'all' : `the newest ${settings.last}`;
    const result = copyReport(settings.name, source, copies, {
        backups: `${(0,format/* formatCount */.B4)(chosen.length)} of ${(0,format/* formatCount */.B4)(complete.length)} complete (${chose})`,
        unusable: unusable.map((item) => item.problem),
    });
    const failures = copyFailures(copies);
    const lines = [...refused, ...failures.lines];
    if (lines.length > 0) {
        throw new ModeFailure(lines.join('; '), result, failures.cause, true);
    }
    return result;
}
/**
 * With signing-public-key, the backups whose signature holds; the others are not copied (a forged
 * backup must not spread to every copy) and fail the run by name once the rest are copied.
 */
async function signedOnly(backups, settings, ctx) {
    const chosen = [];
    const refused = [];
    for (const backup of backups) {
        const verdict = await signatureVerdict(ctx.store, backup.manifest, settings.signingPublicKeys);
        if (verdict.refused === undefined) {
            chosen.push(backup);
            continue;
        }
        ctx.log.warning(`${verdict.refused}; not copied`);
        refused.push(`${verdict.refused}; not copied`);
    }
    return { chosen, refused };
}
function copyReport(name, source, copies, about) {
    const copied = resultCount(copies, 'copied');
    const there = resultCount(copies, 'already there');
    const changes = changesTable(copies);
    return {
        headline: `Copied ${name} to ${(0,format/* formatCount */.B4)(copies.length)} store(s): ${(0,format/* formatCount */.B4)(copied)} backup copies made, ${(0,format/* formatCount */.B4)(there)} already there`,
        outputs: { copied },
        facts: [
            ['Set', name],
            ['Source', source],
            ['Backups', about.backups],
            ...(about.unusable.length > 0
                ? [['Not copied (unusable)', (0,format/* formatCount */.B4)(about.unusable.length)]]
                : []),
        ],
        tables: [storesTable(copies), ...(changes.rows.length > 0 ? [changes] : [])],
        details: { source, stores: copiesDetails(copies), unusable: about.unusable },
    };
}

;// CONCATENATED MODULE: ./src/modes/notify.ts

function notifyMode(settings) {
    const what = settings.message ?? `the workflow's jobs ended with: ${settings.result}`;
    const healed = settings.result === 'healed';
    const result = {
        headline: settings.result === 'success' ? what : `${settings.name}: ${what}`,
        // A night that needed mending ends well, but someone should hear of it, once.
        ...(healed ? { notice: true } : {}),
        outputs: {},
        facts: [
            ['Set', settings.name],
            ['Result', settings.result],
        ],
        tables: [],
        details: { result: settings.result, message: settings.message },
    };
    if (settings.result !== 'success' && !healed)
        throw new ModeFailure(result.headline, result);
    return result;
}

;// CONCATENATED MODULE: ./src/kinds/accepts.ts
/**
 * What a kind takes from the restore inputs, checked for every kind alike before the kind is asked
 * anything: the target (`database-url`, `target-path`, `redis-url`) and the forms of `checks`.
 */



/** A target of another kind is refused, naming the input this backup needs instead. */
function refuseOtherTarget(kind, manifest, settings) {
    if (settings.into === kind.restoreInto)
        return;
    throw new errors/* InputError */.dz(TARGET_INPUTS[settings.into], `backup ${manifest.id} holds ${kind.holds(manifest)}; give ${TARGET_INPUTS[kind.restoreInto]} to restore it`);
}
/** The first input given that the kind's restore-test does not use, refused naming what it holds. */
function refuseOtherTestInputs(kind, manifest, settings, log) {
    const others = settings.kindInputs.filter((name) => !kind.testInputs.includes(name));
    const takes = kind.testInputs.length > 0 ? kind.testInputs.join(', ') : 'none of them';
    const notUsed = `is not used by restore-test of backup ${manifest.id}, which holds ${kind.holds(manifest)} (of ${KIND_TEST_INPUTS.join(', ')} it takes ${takes})`;
    const refused = others.find((name) => !settings.sharedKindInputs.includes(name));
    if (refused !== undefined)
        throw new errors/* InputError */.dz(refused, `${notUsed}; remove it`);
    for (const name of others)
        log.warning(`input "${name}" from the environment ${notUsed}; ignored`);
}
/** The first check the kind cannot run, refused in the kind's own words. */
function refuseOtherChecks(kind, settings) {
    const other = settings.checks.find((check) => !kind.checks.forms.includes(check.kind));
    if (other)
        throw new errors/* InputError */.dz('checks', kind.checks.refusal(other));
}

;// CONCATENATED MODULE: ./src/kinds/any-store.ts
/**
 * restore and restore-test from any copy: `storage` lists the stores, one per line, in the order
 * they are tried. The backup is chosen first: the id asked for; for `latest`, the primary's newest
 * complete backup (a newer one found only in a copy is not this set's history as the primary
 * knows it), or, when the primary cannot be listed or holds none, the newest complete backup of
 * the other stores, said so in a warning. Then each store in turn: the first whose manifest of
 * that id is readable and valid (complete or torn) sets what every other copy must hold, object
 * for object (key, size, sha256); a store that cannot be listed, lacks a complete copy, holds
 * another manifest, holds it in an archive class, or whose bytes fail their sha256 while the kind
 * restores them, is passed over for the next. The kinds check every byte before anything is
 * touched, and leave a target they could not restore as it was, so the next store starts afresh.
 * The report says which copy was restored and why the others were passed over.
 */












async function restoreFromStores(settings, ctx, start) {
    if (settings.otherStores.length === 0)
        return restoreFrom(settings, settings.backupId, ctx, start);
    const sources = await openSources(settings, ctx);
    const id = settings.backupId === 'latest'
        ? await chooseLatest(sources, settings.name, ctx)
        : settings.backupId;
    const passed = [];
    const pass = (source, why) => {
        passed.push([source.label, why]);
        ctx.log.warning(`${source.label} passed over: ${why}`);
    };
    let reference;
    for (const source of sources) {
        const found = source.unreachable ?? (await copyIn(source, id, settings.name, ctx));
        if (typeof found === 'string') {
            pass(source, found);
            continue;
        }
        if (found.manifest && reference && !sameObjects(found.manifest, reference.manifest)) {
            pass(source, `its manifest of ${id} differs from ${reference.label}'s (the sha256 of its objects)`);
            continue;
        }
        if (found.manifest)
            reference ??= { manifest: found.manifest, label: source.label };
        if (found.problem !== undefined || !found.manifest) {
            pass(source, found.problem ?? `no usable copy of ${id}`);
            continue;
        }
        try {
            const result = await restoreFrom(settings, id, { ...ctx, store: source.store }, start, found.manifest);
            return withSources(result, source.label, passed, sources);
        }
        catch (error) {
            const reason = storeFault(error);
            if (reason === undefined || ctx.signal.aborted)
                throw withSourcesOnFailure(error, passed, sources);
            pass(source, reason);
        }
    }
    const table = sourcesTable(passed, sources);
    throw new ModeFailure(`no store holds a usable copy of ${settings.name}/${id}: ${passed.map(([store, why]) => `${store}: ${why}`).join('; ')}`, { tables: [table] });
}
/**
 * From one store: the backup found there (unless given), its kind's run, and the report. With
 * signing-public-key, a backup whose signature there does not hold is refused before anything is
 * read or touched; `latest` then fails naming it rather than fall back on an older one, which
 * would hide that someone wrote the store.
 */
async function restoreFrom(settings, backupId, ctx, start, found) {
    const phases = new Phases(ctx.now);
    const manifest = found ?? (await findBackup(ctx, settings.name, backupId));
    const signer = await checkSignature(ctx.store, manifest, settings.signingPublicKeys);
    const kind = kindOf(manifest);
    const run = await start(kind, manifest, ctx, phases);
    return withSignature(await finishRun(run, () => restoreReport(manifest, kind.holds(manifest), phases, run.rows())), signer);
}
async function openSources(settings, ctx) {
    const others = settings.otherStores.map(async (store) => {
        const label = storeLabel(store.location);
        try {
            return { label, store: await openOther(ctx, store) };
        }
        catch (error) {
            return { label, unreachable: `cannot be opened: ${(0,errors/* errorMessage */.gJ)(error)}` };
        }
    });
    return [
        { label: storeLabel(settings.storage), store: ctx.store },
        ...(await Promise.all(others)),
    ];
}
/**
 * `latest`: the primary's newest complete backup; the other stores' newest only when the primary
 * cannot be listed or holds none (a warning says so). A store that cannot be listed is marked so.
 */
async function chooseLatest(sources, name, ctx) {
    const [primary, ...others] = sources;
    const own = primary ? await newestIn(primary, name, ctx) : undefined;
    if (own !== undefined)
        return own.id;
    let newest;
    let where;
    for (const source of others) {
        const found = await newestIn(source, name, ctx);
        if (found && (newest === undefined || startedAfter(found, newest)))
            [newest, where] = [found, source.label];
    }
    if (newest === undefined) {
        const why = sources
            .map((s) => `${s.label}: ${s.unreachable ?? 'no complete backup'}`)
            .join('; ');
        throw new ModeFailure(`no complete backup of set "${name}" in any store (${why})`, {});
    }
    ctx.log.warning(`the primary store ${primary?.label ?? ''} ${primary?.unreachable ?? 'holds no complete backup'}: latest is the newest complete backup of the other stores, ${newest.id} (${where ?? ''})`);
    return newest.id;
}
/** The store's newest complete backup; undefined when none or it cannot be listed. */
async function newestIn(source, name, ctx) {
    if (!source.store)
        return undefined;
    try {
        const listing = await listSet(source.store, name);
        const { newest } = await newestComplete(source.store, name, listing.backups, ctx.now());
        return newest && datedOf(newest);
    }
    catch (error) {
        if (ctx.signal.aborted)
            throw error;
        source.unreachable = `cannot be listed: ${(0,errors/* errorMessage */.gJ)(error)}`;
        return undefined;
    }
}
/**
 * The store's manifest of `id` when it is readable and valid (complete or torn), and why the
 * store cannot be restored from when it cannot; a string when it holds no manifest to go by.
 */
async function copyIn(source, id, name, ctx) {
    try {
        const judged = await judgeId(source.store, name, id);
        if (!judged)
            return `no backup ${id} in set "${name}"`;
        return isComplete(judged)
            ? { manifest: judged.manifest }
            : { manifest: judged.torn, problem: judged.problem };
    }
    catch (error) {
        if (ctx.signal.aborted)
            throw error;
        return `cannot be read: ${(0,errors/* errorMessage */.gJ)(error)}`;
    }
}
/** Whether two manifests record the same objects: each key at the same size and sha256. */
function sameObjects(one, other) {
    const records = (m) => JSON.stringify(manifestObjects(m)
        .map(({ key, size, sha256 }) => [key, size, sha256])
        .sort());
    return records(one) === records(other);
}
/** Why a failure is this store's copy's, not the target's: its bytes, or its storage class. */
function storeFault(error) {
    for (let each = error; each; each = each.cause) {
        if (each instanceof ChecksumError)
            return `its copy fails its sha256: ${each.message}`;
        if (each instanceof core_store/* ArchivedObject */.oN)
            return `its copy is archived and must be thawed first: ${each.message}`;
    }
    return undefined;
}
function sourcesTable(passed, sources, used) {
    const why = new Map(passed);
    return {
        title: 'Stores',
        header: ['store', 'copy'],
        rows: sources.map(({ label }) => [
            label,
            label === used
                ? 'restored from here'
                : why.has(label)
                    ? `passed over: ${why.get(label)}`
                    : 'not needed',
        ]),
    };
}
function withSources(result, used, passed, sources) {
    const over = passed.length > 0 ? ` (passed over: ${passed.map(([store]) => store).join(', ')})` : '';
    return {
        ...result,
        headline: `${result.headline}; restored from ${used}${over}`,
        facts: [...result.facts, ['Restored from', `${used}${over}`]],
        tables: [...result.tables, sourcesTable(passed, sources, used)],
        details: { ...result.details, restoredFrom: used, passedOver: Object.fromEntries(passed) },
    };
}
function withSourcesOnFailure(error, passed, sources) {
    if (!(error instanceof ModeFailure) || passed.length === 0)
        return error;
    const tables = [...(error.partial.tables ?? []), sourcesTable(passed, sources)];
    return new ModeFailure(error.message, { ...error.partial, tables }, error.cause, error.final);
}

;// CONCATENATED MODULE: ./src/modes/restore.ts


async function restore(settings, ctx) {
    return restoreFromStores(settings, ctx, (kind, manifest, from, phases) => {
        refuseOtherTarget(kind, manifest, settings);
        return kind.restore(manifest, settings, from, phases);
    });
}

;// CONCATENATED MODULE: ./src/modes/restore-test.ts


async function restoreTest(settings, ctx) {
    return restoreFromStores(settings, ctx, (kind, manifest, from, phases) => {
        refuseOtherTestInputs(kind, manifest, settings, ctx.log);
        refuseOtherChecks(kind, settings);
        return kind.restoreTest(manifest, settings, from, phases);
    });
}

;// CONCATENATED MODULE: ./src/retention/plan.ts
/**
 * Which keys a prune deletes, from one listing and the policy's decisions. Pure. Only keys that
 * the listing classified as this set's layout can appear here, so nothing foreign is ever touched,
 * and only complete backups can be deleted by the policy: an unusable one is nobody's to judge.
 */



function planPrune(set, decisions, now, orphanGraceMs) {
    const newest = set.complete[0]?.id;
    const deleted = decisions.filter((decision) => !decision.keep);
    if (deleted.some((decision) => decision.id === newest)) {
        throw new Error('refusing to delete the newest backup');
    }
    const doomed = new Set(deleted.map((decision) => decision.id));
    const entries = set.complete.filter((entry) => doomed.has(entry.id));
    if (entries.length !== doomed.size) {
        throw new Error('refusing to delete a backup that is not a complete backup of this set');
    }
    const cutoff = now.getTime() - orphanGraceMs;
    const orphans = set.leftovers.filter((entry) => lastWritten(entry) < cutoff);
    const kept = decisions.filter((decision) => decision.keep);
    // Kept ones always include the newest backup, so a record being written now is never older;
    // with no backup kept (none complete), no record is older than one.
    const oldestKept = kept.length
        ? Math.min(...kept.map((decision) => decision.createdAt.getTime()))
        : -Infinity;
    const records = set.records.filter((record) => (idTime(record.id)?.getTime() ?? Infinity) < oldestKept);
    return {
        kept,
        deleted,
        manifestKeys: entries.flatMap((entry) => (entry.manifest ? [entry.manifest.key] : [])),
        objectKeys: entries.flatMap((entry) => keysBesideManifest(entry).map((object) => object.key)),
        orphanKeys: orphans.flatMap((entry) => keysBesideManifest(entry).map((object) => object.key)),
        recordKeys: records.map((record) => record.key),
    };
}
/**
 * When the store last wrote any of a leftover's objects. Not its id's time: a backup that runs
 * longer than the grace is still writing, and an id is only a name anyone can choose. An object
 * the store gives no time for keeps the leftover (it is never known to be stale).
 */
function lastWritten(entry) {
    const times = keysBesideManifest(entry).map((object) => object.modified?.getTime() ?? Infinity);
    return Math.max(-Infinity, ...times);
}
/**
 * Incomplete uploads to abort: only those of this set's layout (another tool's upload under the
 * same prefix is not ours), started before the grace, so a backup running right now is safe.
 */
function staleUploads(uploads, name, now, orphanGraceMs) {
    const cutoff = now.getTime() - orphanGraceMs;
    return uploads.filter((upload) => classifyKey(name, upload.key) && upload.initiated.getTime() < cutoff);
}

;// CONCATENATED MODULE: ./src/modes/retention-prune.ts
/**
 * The `retention-prune` mode: delete the backups a keep-policy does not keep, and the leftovers of
 * failed runs. Decided from one listing and the manifests it lists: a backup's time is its id's
 * (the UTC start time its manifest's createdAt agrees with), never the store's modification times. Only
 * complete backups are counted and deleted; an unusable one (corrupt, torn, dated ahead of the
 * clock, another set's) is reported and left alone. Deletes manifests before objects, in
 * batches; `dry-run` reports the same plan and deletes nothing.
 */










/** Summary tables list at most this many rows each; the report holds them all. */
const ROWS_SHOWN = 200;
async function retentionPrune(settings, ctx) {
    const now = ctx.now();
    const listing = await listSet(ctx.store, settings.name);
    const judged = await judgeAll(ctx.store, settings.name, listing.backups, now);
    const complete = judged.filter(isComplete);
    const unusable = judged.filter((item) => !isComplete(item));
    reportUnusable(unusable, ctx);
    const candidates = complete.map(({ entry, manifest }) => ({
        id: entry.id,
        createdAt: startedAt(entry.id, manifest.createdAt) ?? new Date(NaN),
    }));
    const decisions = candidates.length === 0 ? [] : decide(candidates, settings.policy, settings.timeZone);
    // Newest first as the policy ordered them: by their start, a second's backups by their
    // manifests' time as `latest` orders them, so the guard's newest is the one latest names.
    const order = new Map(decisions.map((decision, index) => [decision.id, index]));
    const rank = (entry) => order.get(entry.id) ?? Infinity;
    const plan = planPrune({
        complete: complete.map((item) => item.entry).sort((a, b) => rank(a) - rank(b)),
        leftovers: listing.leftovers,
        records: listing.records,
    }, decisions, now, settings.orphanGraceMs);
    const uploads = await findStaleUploads(settings, ctx);
    const aheadRecords = recordsAhead(listing.records, now);
    reportRecordsAhead(aheadRecords, ctx);
    logKeys(settings, plan, uploads.stale, ctx);
    let notAborted = [];
    let retained = [];
    if (!settings.dryRun) {
        retained = await deleteOrKeep(settings.name, plan, ctx);
        notAborted = await abortUploads(uploads.stale, ctx);
    }
    return pruneReport(settings, plan, { ...uploads, notAborted }, listing.foreignKeys, [...unusable, ...aheadRecords], retained);
}
/** Records dated ahead of the clock: not counted in any history, and never deleted by a rule. */
function recordsAhead(records, now) {
    return records.flatMap((record) => {
        const problem = aheadProblem(record.key, record.id, now, CLOCK_TOLERANCE_MS);
        return problem ? [{ key: record.key, problem }] : [];
    });
}
function reportRecordsAhead(ahead, ctx) {
    if (ahead.length === 0)
        return;
    ctx.log.warning(`${ahead.length} history record(s) dated ahead of the clock, neither counted nor deleted: ${ahead
        .slice(0, 3)
        .map((item) => item.key)
        .join(', ')}`);
}
/**
 * Deletes manifests, then the objects of the backups whose manifest went. A key the store keeps
 * (Object Lock retention, a WORM bucket) is reported and the prune goes on: its backup stays
 * whole, and the next prune tries again. A refused object whose manifest went is an orphan then.
 */
async function deleteOrKeep(name, plan, ctx) {
    const keptManifests = await refusedOf(plan.manifestKeys, ctx);
    const idOf = (key) => classifyKey(name, key)?.id;
    const keptIds = new Set(keptManifests.map(({ key }) => idOf(key)));
    const objects = plan.objectKeys.filter((key) => !keptIds.has(idOf(key)));
    const rest = [...objects, ...plan.orphanKeys, ...plan.recordKeys];
    const kept = [...keptManifests, ...(await refusedOf(rest, ctx))];
    if (kept.length > 0) {
        for (const { key, reason } of kept)
            ctx.log.info(`the store keeps ${key}: ${reason}`);
        ctx.log.warning(`the store refused to delete ${kept.length} key(s) (Object Lock retention or a WORM bucket?), e.g. ${kept[0]?.key}: ${kept[0]?.reason}; they stay, and the next prune tries again`);
    }
    return kept;
}
async function refusedOf(keys, ctx) {
    try {
        await ctx.store.delete(keys);
        return [];
    }
    catch (error) {
        if (error instanceof core_store/* DeleteRefused */.c_)
            return [...error.refused];
        throw error;
    }
}
/** One warning for them all (a run's warnings are few and short), every one in the log. */
function reportUnusable(unusable, ctx) {
    if (unusable.length === 0)
        return;
    for (const item of unusable)
        ctx.log.info(`not counted, not deleted: ${item.problem}`);
    ctx.log.warning(`${unusable.length} unusable backup(s), neither counted nor deleted (remove them by hand once looked at): ${unusableText(unusable)}`);
}
/** Every key, in the log: the report holds ids only, as step outputs are limited to 1 MB. */
function logKeys(settings, plan, uploads, ctx) {
    const verb = settings.dryRun ? 'would delete' : 'deleting';
    for (const key of [
        ...plan.manifestKeys,
        ...plan.objectKeys,
        ...plan.orphanKeys,
        ...plan.recordKeys,
    ]) {
        ctx.log.info(`${verb} ${key}`);
    }
    for (const upload of uploads) {
        ctx.log.info(`${settings.dryRun ? 'would abort' : 'aborting'} the upload of ${upload.key}`);
    }
}
/** A store that cannot list incomplete uploads gets a warning: the prune itself still runs. */
async function findStaleUploads(settings, ctx) {
    const uploads = [];
    try {
        for await (const upload of ctx.store.incompleteUploads(`${settings.name}/`)) {
            uploads.push(upload);
        }
    }
    catch (error) {
        const unchecked = (0,errors/* errorMessage */.gJ)(error);
        ctx.log.warning(`could not list incomplete uploads (${unchecked}); they were not checked`);
        return { stale: [], unchecked };
    }
    return { stale: staleUploads(uploads, settings.name, ctx.now(), settings.orphanGraceMs) };
}
/** Aborts each upload; a refusal is a warning (the next prune tries again), not a failed run. */
async function abortUploads(uploads, ctx) {
    const refused = [];
    for (const upload of uploads) {
        try {
            await ctx.store.abortUpload(upload);
        }
        catch (error) {
            refused.push(upload);
            ctx.log.warning(`could not abort the incomplete upload of ${upload.key} (${(0,errors/* errorMessage */.gJ)(error)})`);
        }
    }
    return refused;
}
function pruneReport(settings, plan, uploads, foreign, unusable, retained) {
    const verb = settings.dryRun ? 'would delete' : 'deleted';
    const leftovers = plan.orphanKeys.length + uploads.stale.length;
    const untouched = unusable.length ? `; ${unusable.length} unusable left untouched` : '';
    // A backup whose manifest the store kept was not deleted: it is still whole and still listed.
    const keptKeys = new Set(retained.map(({ key }) => key));
    const deleted = plan.deleted.filter((d) => !keptKeys.has(manifestKey(settings.name, d.id)));
    return {
        headline: `${settings.dryRun ? 'Dry run: ' : ''}kept ${plan.kept.length} backup(s) of ${settings.name}, ${verb} ${deleted.length}${leftovers ? ` and ${leftovers} leftover(s)` : ''}${untouched}`,
        outputs: { kept: plan.kept.length, deleted: deleted.length },
        facts: [
            ['Set', settings.name],
            ['Policy', policyText(settings)],
            ['Kept', (0,format/* formatCount */.B4)(plan.kept.length)],
            [settings.dryRun ? 'Would delete' : 'Deleted', (0,format/* formatCount */.B4)(deleted.length)],
            ['Leftovers of failed runs', leftoverText(plan, uploads)],
            [
                `History records ${settings.dryRun ? 'that would go' : 'deleted'} (runs before the oldest backup kept)`,
                (0,format/* formatCount */.B4)(plan.recordKeys.length),
            ],
            ['Unusable backups and records (not counted, untouched)', (0,format/* formatCount */.B4)(unusable.length)],
            ['Keys not in the layout (untouched)', (0,format/* formatCount */.B4)(foreign)],
            ...(retained.length
                ? [
                    ['Kept by the store (refused to delete)', (0,format/* formatCount */.B4)(retained.length)],
                ]
                : []),
            ...(settings.dryRun ? [['Dry run', 'nothing was deleted']] : []),
        ],
        tables: [
            decisionTable('Kept', plan.kept, true),
            decisionTable(settings.dryRun ? 'Would delete' : 'Deleted', deleted, false),
            ...(leftovers ? [leftoverTable(plan, uploads.stale)] : []),
            ...(unusable.length ? [unusableTable(unusable)] : []),
        ],
        details: {
            dryRun: settings.dryRun,
            kept: plan.kept.map((d) => ({ id: d.id, rules: d.rules })),
            deleted: deleted.map((d) => d.id),
            orphanKeys: plan.orphanKeys,
            recordKeys: plan.recordKeys,
            unusable: unusable.map((item) => ({ key: item.key, problem: item.problem })),
            incompleteUploads: uploads.stale.map((upload) => upload.key),
            uploadsNotAborted: uploads.notAborted.map((upload) => upload.key),
            refusedKeys: retained.map(({ key }) => key),
            ...(uploads.unchecked === undefined ? {} : { uploadsUnchecked: uploads.unchecked }),
        },
    };
}
function leftoverText(plan, uploads) {
    const objects = `${(0,format/* formatCount */.B4)(plan.orphanKeys.length)} object(s)`;
    if (uploads.unchecked !== undefined) {
        return `${objects}; incomplete uploads could not be checked (${uploads.unchecked})`;
    }
    const refused = uploads.notAborted.length
        ? ` (${(0,format/* formatCount */.B4)(uploads.notAborted.length)} refused to abort)`
        : '';
    return `${objects}, ${(0,format/* formatCount */.B4)(uploads.stale.length)} incomplete upload(s)${refused}`;
}
function policyText(settings) {
    const { withinMs, ...counts } = settings.policy;
    const parts = Object.entries(counts)
        .filter(([, value]) => value !== undefined && value > 0)
        .map(([rule, value]) => `keep-${rule} ${value}`);
    if (withinMs)
        parts.push(`keep-within ${formatDuration(withinMs)}`);
    return `${parts.join(', ')} (${settings.timeZone})`;
}
/** A summary table of at most ROWS_SHOWN rows, its title saying how many more the report holds. */
function cappedTable(title, header, rows) {
    const more = rows.length > ROWS_SHOWN
        ? ` (first ${ROWS_SHOWN} of ${(0,format/* formatCount */.B4)(rows.length)}; all in the report output)`
        : '';
    return { title: `${title}${more}`, header, rows: rows.slice(0, ROWS_SHOWN) };
}
function decisionTable(title, decisions, withRules) {
    const rows = decisions.map((d) => {
        const row = [d.id, d.createdAt.toISOString()];
        return withRules ? [...row, d.rules.join(', ')] : row;
    });
    return cappedTable(title, withRules ? ['id', 'created', 'kept by'] : ['id', 'created'], rows);
}
function leftoverTable(plan, uploads) {
    const rows = [
        ...plan.orphanKeys.map((key) => [key, 'object with no manifest']),
        ...uploads.map((upload) => [
            upload.key,
            `incomplete upload from ${upload.initiated.toISOString()}`,
        ]),
    ];
    return cappedTable('Leftovers of failed runs', ['key', 'what'], rows);
}
function unusableTable(unusable) {
    const rows = unusable.map((item) => [item.key, item.problem]);
    return cappedTable('Unusable backups and records (not counted, never deleted)', ['key', 'problem'], rows);
}

;// CONCATENATED MODULE: ./src/core/status.ts
/**
 * A set at a glance: its newest backup in each store, the age of it, its last restore-test and
 * verify, its size trend and what retention will do next; and what needs attention. One set's
 * status is one row of the table that `status` shows for a whole store and the fleet workflow
 * for every set it runs. Pure: modes/status.ts gathers the figures from the stores.
 */





/**
 * The most not-counted keys a set's status lists. A store may hold any number of them (a flood of
 * torn records); the `status` output, the report file and the summary must stay within GitHub's
 * limits (1 MB of outputs per job) whatever it holds, so the rest is only counted.
 */
const UNUSABLE_SHOWN = 20;
/** The not-counted keys `all` as a status lists them: the first few, and how many. */
function unusableOf(all) {
    return { unusable: all.slice(0, UNUSABLE_SHOWN), unusableCount: all.length };
}
/** What makes a set need attention, from what was found. Pure. */
function setProblems(status, maxAgeMs, failedOutcome) {
    const problems = [];
    if (failedOutcome)
        problems.push(`nightly run: ${status.outcome}`);
    for (const view of status.stores) {
        if (view.newestId === undefined)
            problems.push(`no complete backup in ${view.store}`);
        else if ((view.ageSeconds ?? 0) * 1000 > maxAgeMs)
            problems.push(`newest backup is ${formatDuration((view.ageSeconds ?? 0) * 1000)} old (max-age ${formatDuration(maxAgeMs)})${status.stores.length > 1 ? ` in ${view.store}` : ''}`);
    }
    for (const [what, run] of [
        ['restore-test', status.lastRestoreTest],
        ['verify-latest', status.lastVerify],
    ])
        if (run && !run.ok)
            problems.push(`last ${what} failed: ${run.problem ?? 'no reason recorded'}`);
    return problems;
}
/** The newest backup over every store: the one a restore would take first. */
function newestView(status) {
    return status.stores.find((view) => view.newestId !== undefined);
}
/** `passed 3h ago: 12.3 s, 1,203 rows` or `FAILED 3h ago: …`; `none recorded`. */
function lastRunText(run, now) {
    if (!run)
        return 'none recorded';
    const ago = `${formatDuration(Math.max(0, now.getTime() - Date.parse(run.at)))} ago`;
    if (!run.ok)
        return `FAILED ${ago}: ${run.problem ?? 'no reason recorded'}`;
    const figures = [
        run.restoreSeconds === undefined ? undefined : (0,format/* formatSeconds */.Xo)(run.restoreSeconds),
        run.rows === undefined ? undefined : `${(0,format/* formatCount */.B4)(run.rows)} rows`,
    ].filter(Boolean);
    return `passed ${ago}${figures.length ? `: ${figures.join(', ')}` : ''}`;
}
/** One row per set: the table of `status` over a whole store, and of the fleet workflow. */
function statusTable(title, sets, now) {
    const withRetention = sets.some((status) => status.retention);
    return {
        title,
        header: [
            'set',
            'outcome',
            'newest backup',
            'age',
            'size (trend)',
            'last restore-test',
            ...(withRetention ? ['retention next'] : []),
        ],
        rows: sets.map((status) => {
            const newest = newestView(status);
            return [
                status.name,
                status.ok ? '✅ ok' : `❌ ${status.problems.join('; ')}`,
                newest?.newestId ?? 'none',
                newest?.ageSeconds === undefined ? '' : formatDuration(newest.ageSeconds * 1000),
                status.sizeTrend,
                lastRunText(status.lastRestoreTest, now),
                ...(withRetention ? [retentionText(status)] : []),
            ];
        }),
    };
}
function retentionText(status) {
    if (!status.retention)
        return '';
    const { keep, delete: doomed } = status.retention;
    return doomed.length ? `keep ${keep}, delete ${doomed.length}` : `keep ${keep}, delete none`;
}
/** The newest backup in each store, one row each. */
function status_storesTable(status) {
    return {
        title: 'Newest backup per store',
        header: ['store', 'newest backup', 'age', 'size', 'backups listed'],
        rows: status.stores.map((view) => [
            view.store,
            view.newestId ?? 'none',
            view.ageSeconds === undefined ? '' : formatDuration(view.ageSeconds * 1000),
            view.sizeBytes === undefined ? '' : (0,format/* formatBytes */.z3)(view.sizeBytes),
            (0,format/* formatCount */.B4)(view.backups),
        ]),
    };
}
/**
 * A set's status read back from a report file (the fleet's): checked field by field, as anything
 * read from outside is, so that a hand-edited file can neither break the table nor pass as a
 * set it is not. Undefined when it is not a status.
 */
function parseSetStatus(value) {
    if (!isObject(value) || typeof value.name !== 'string' || !isValidSetName(value.name))
        return undefined;
    if (typeof value.ok !== 'boolean' || !isTexts(value.problems))
        return undefined;
    if (!value.ok && value.problems.length === 0)
        return undefined;
    if (!Array.isArray(value.stores) || !value.stores.every(isStoreView))
        return undefined;
    if (typeof value.sizeTrend !== 'string' || !Array.isArray(value.unusable))
        return undefined;
    if (!optionalText(value.outcome))
        return undefined;
    for (const run of [value.lastRestoreTest, value.lastVerify])
        if (run !== undefined && !isLastRun(run))
            return undefined;
    const retention = value.retention;
    if (retention !== undefined &&
        !(isObject(retention) && status_isCount(retention.keep) && isTexts(retention.delete)))
        return undefined;
    const unusable = value.unusable.filter((item) => isObject(item) && typeof item.key === 'string' && typeof item.problem === 'string');
    // A report of an earlier release lists every key and no count.
    const count = status_isCount(value.unusableCount) ? value.unusableCount : 0;
    return {
        ...value,
        ...unusableOf(unusable),
        unusableCount: Math.max(count, unusable.length),
    };
}
const status_isCount = (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isTexts = (value) => Array.isArray(value) && value.every((item) => typeof item === 'string');
const optionalText = (value) => value === undefined || typeof value === 'string';
const optionalCount = (value) => value === undefined || status_isCount(value);
function isStoreView(value) {
    return (isObject(value) &&
        typeof value.store === 'string' &&
        status_isCount(value.backups) &&
        (value.newestId === undefined ||
            (typeof value.newestId === 'string' && isBackupId(value.newestId))) &&
        optionalCount(value.ageSeconds) &&
        optionalCount(value.sizeBytes));
}
function isLastRun(value) {
    return (isObject(value) &&
        typeof value.at === 'string' &&
        !Number.isNaN(Date.parse(value.at)) &&
        typeof value.ok === 'boolean' &&
        optionalText(value.problem) &&
        (value.backupId === undefined ||
            (typeof value.backupId === 'string' && isBackupId(value.backupId))) &&
        optionalCount(value.restoreSeconds) &&
        optionalCount(value.rows));
}

;// CONCATENATED MODULE: ./src/history/status-reports.ts
/**
 * The fleet's status: the status reports its runs left (the nightly workflow's status job keeps
 * its report as an artifact; the fleet's last job downloads them all into one folder). Every file
 * is read as hostile: at most REPORT_MAX_BYTES, JSON, a `status` report whose sets parse as
 * statuses. A set the fleet runs whose report is missing needs attention: its run never got as
 * far as its status job.
 */





/** A status report of a few sets is kilobytes; a whole store's of thousands, a few megabytes. */
const REPORT_MAX_BYTES = 8 << 20;
async function readStatusReports(source) {
    const warnings = [];
    const found = new Map();
    for (const file of await reportFiles(source.folder)) {
        const sets = await setsOf(file).catch((error) => {
            warnings.push(`${file} was not read: ${(0,errors/* errorMessage */.gJ)(error)}`);
            return [];
        });
        for (const set of sets) {
            if (!source.sets.includes(set.name)) {
                warnings.push(`${file} reports the set "${set.name}", which the fleet does not run`);
            }
            else if (found.has(set.name)) {
                found.set(set.name, twice(found.get(set.name), file));
            }
            else
                found.set(set.name, set);
        }
    }
    const statuses = source.sets.map((name) => found.get(name) ?? missing(name));
    return { statuses, warnings };
}
async function reportFiles(folder) {
    const names = await (0,promises_.readdir)(folder).catch((error) => {
        if (error.code === 'ENOENT')
            return [];
        throw error;
    });
    return names
        .filter((name) => name.endsWith('.json'))
        .sort()
        .map((name) => external_node_path_default().join(folder, name));
}
async function setsOf(file) {
    const { size, isFile } = await (0,promises_.stat)(file).then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile)
        throw new Error('not a file');
    if (size > REPORT_MAX_BYTES)
        throw new Error(`larger than ${REPORT_MAX_BYTES} bytes`);
    let report;
    try {
        report = JSON.parse(await (0,promises_.readFile)(file, 'utf8'));
    }
    catch {
        throw new Error('not valid JSON');
    }
    const sets = isObject(report) && isObject(report.details) ? report.details.sets : undefined;
    if (!isObject(report) || report.mode !== 'status' || !Array.isArray(sets))
        throw new Error('not the report of a status run');
    const parsed = sets.map(parseSetStatus);
    if (parsed.some((set) => set === undefined))
        throw new Error('a set in it is not a status');
    return parsed;
}
function missing(name) {
    return {
        name,
        ok: false,
        problems: [
            'no status report: its nightly run never reached its status job (a runner that did not start, a cancelled run?)',
        ],
        stores: [],
        sizeTrend: '',
        unusable: [],
        unusableCount: 0,
    };
}
function twice(status, file) {
    return {
        ...status,
        ok: false,
        problems: [...status.problems, `a second status report for this set, in ${file}`],
    };
}

;// CONCATENATED MODULE: ./src/modes/status.ts
/**
 * The `status` mode: a set at a glance (`name`), every set of a store (no `name`), or every set
 * of the fleet from the status reports its runs left (`status-reports`); or, with `sets` alone,
 * the fleet's sets checked before its runs start, as fleet.yml's matrix. Read only: it lists the
 * store, reads the newest manifests and history records, and writes nothing there. The run fails
 * when a set needs attention (a failed run it follows, no backup, one too old, a failed
 * restore-test or verify), naming each; what it cannot count (torn, forged, dated ahead) is a
 * warning naming the key.
 */












/** A whole store's table shows a short trend per set: fewer manifests to read per set. */
const STORE_TREND = 8;
async function status_status(settings, open) {
    if (settings.source.kind === 'sets')
        return fleetSets(settings.source.sets);
    if (settings.source.kind === 'reports') {
        const { statuses, warnings } = await readStatusReports(settings.source);
        return manyReport(settings, statuses, warnings, 'the fleet', new Date());
    }
    const ctx = await open(settings.source);
    // One store today; a set copied to several is looked at in each, the first one's history read.
    const stores = [ctx.store];
    if (settings.name) {
        const found = await setStatus(settings.name, stores, settings, ctx, HISTORY_LENGTH);
        for (const warning of unusableWarning(found.status))
            ctx.log.warning(warning);
        return oneReport(found, ctx.now());
    }
    const names = await setsIn(ctx.store);
    const statuses = [];
    for (const name of names)
        statuses.push((await setStatus(name, stores, settings, ctx, STORE_TREND)).status);
    const warnings = statuses.flatMap(unusableWarning);
    for (const warning of warnings)
        ctx.log.warning(warning);
    return manyReport(settings, statuses, [], ctx.store.description, ctx.now());
}
/** The fleet's sets, checked when the inputs were read: the matrix of fleet.yml's legs. */
function fleetSets(sets) {
    return {
        headline: `${sets.length} set(s) in the fleet, each checked: ${sets.map((set) => set.name).join(', ')}`,
        outputs: { sets: JSON.stringify(sets) },
        facts: [['Sets', String(sets.length)]],
        tables: [
            {
                title: 'The fleet',
                header: ['set', 'storage'],
                rows: sets.map((set) => [set.name, set.storage]),
            },
        ],
        details: { fleet: sets.map((set) => set.name) },
    };
}
/** Every set the store holds: a first folder with a key of the layout in it. */
async function setsIn(store) {
    const names = new Set();
    for await (const { key } of store.list('')) {
        const name = key.slice(0, key.indexOf('/'));
        if (!names.has(name) && isValidSetName(name) && classifyKey(name, key))
            names.add(name);
    }
    return [...names].sort();
}
async function setStatus(name, stores, settings, ctx, trendLength) {
    const now = ctx.now();
    const listings = await Promise.all(stores.map((store) => listSet(store, name)));
    const views = await Promise.all(stores.map((store, index) => storeView(store, name, listings[index], now)));
    const [store, listing] = [stores[0], listings[0]];
    const history = await backupHistory(store, name, listing.backups, now, trendLength);
    const tests = await readRecords(store, name, listing.records, 'restore-test', now);
    const verifies = await readRecords(store, name, listing.records, 'verify-latest', now, 1);
    const next = settings.retention
        ? await nextDeletions(store, name, listing, settings, now)
        : undefined;
    const doomed = next?.delete ?? [];
    const outcome = settings.outcome
        ? (settings.outcome.message ?? settings.outcome.result)
        : undefined;
    const found = {
        name,
        ...(outcome === undefined ? {} : { outcome }),
        stores: views.map((view) => view.view),
        lastRestoreTest: lastRun(tests.records.at(-1)),
        lastVerify: lastRun(verifies.records.at(-1)),
        sizeTrend: sizeTrend(history.points),
        ...(next ? { retention: next } : {}),
        ...unusableOf(distinctKeys([
            ...views.flatMap((view) => view.unusable),
            ...history.unusable.map(({ key, problem }) => ({ key, problem })),
            ...tests.unusable,
            ...verifies.unusable,
        ])),
    };
    const failed = settings.outcome !== undefined && settings.outcome.result !== 'success';
    const problems = setProblems(found, settings.maxAgeMs, failed);
    return {
        status: { ...found, ok: problems.length === 0, problems },
        charts: [...backupCharts(history.points), ...restoreCharts(tests.records)],
        doomed,
    };
}
/** Each key once, the first time it is met: a backup may be unusable to two readers. */
function distinctKeys(items) {
    const seen = new Map();
    for (const item of items)
        if (!seen.has(item.key))
            seen.set(item.key, item);
    return [...seen.values()];
}
async function storeView(store, name, listing, now) {
    const { newest, newer } = await newestComplete(store, name, listing.backups, now);
    const unusable = newer.map(({ key, problem }) => ({ key, problem }));
    const base = { store: store.description, backups: listing.backups.length };
    if (!newest)
        return { view: base, unusable };
    const { manifest } = newest;
    return {
        view: {
            ...base,
            newestId: manifest.id,
            ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(manifest.createdAt)) / 1000)),
            sizeBytes: manifestSize(manifest),
        },
        unusable,
    };
}
/** What retention-prune would delete now: decided from every complete backup, as it would. */
async function nextDeletions(store, name, listing, settings, now) {
    const { policy, timeZone } = settings.retention;
    const complete = (await judgeAll(store, name, listing.backups, now)).filter(isComplete);
    if (complete.length === 0)
        return { keep: 0, delete: [] };
    const candidates = complete.map(({ entry }) => ({
        id: entry.id,
        createdAt: idTime(entry.id) ?? new Date(NaN),
    }));
    const doomed = decide(candidates, policy, timeZone)
        .filter((decision) => !decision.keep)
        .map((decision) => decision.id);
    return { keep: complete.length - doomed.length, delete: doomed };
}
function lastRun(record) {
    if (!record)
        return undefined;
    const { restoreSeconds, rows } = record.figures;
    return {
        at: record.finishedAt,
        ok: record.ok,
        ...(record.backupId ? { backupId: record.backupId } : {}),
        ...(record.problem ? { problem: record.problem } : {}),
        ...(restoreSeconds === undefined ? {} : { restoreSeconds }),
        ...(rows === undefined ? {} : { rows }),
    };
}
function unusableWarning(status) {
    const count = status.unusableCount;
    if (count === 0)
        return [];
    const shown = status.unusable
        .slice(0, 3)
        .map((item) => item.problem)
        .join('; ');
    const more = count > 3 ? `; and ${count - 3} more` : '';
    return [`${status.name}: ${count} not counted: ${shown}${more}`];
}
/** The `status` output: the sets' statuses as compact JSON. */
const statusOutput = (statuses) => JSON.stringify({ sets: statuses });
function oneReport(found, now) {
    const { status: set, charts, doomed } = found;
    const newest = newestView(set);
    const facts = [
        ['Set', set.name],
        ...(set.outcome === undefined ? [] : [['Nightly run', set.outcome]]),
        ['Newest backup', newest?.newestId ?? 'none'],
        ['Age', newest?.ageSeconds === undefined ? '' : formatDuration(newest.ageSeconds * 1000)],
        ['Size (trend)', set.sizeTrend],
        ['Last restore-test', lastRunText(set.lastRestoreTest, now)],
        ['Last verify-latest', lastRunText(set.lastVerify, now)],
        ...(set.retention ? [['Retention next', retentionText(set)]] : []),
        ...(set.ok ? [] : [['Needs attention', set.problems.join('; ')]]),
    ];
    const tables = [
        status_storesTable(set),
        ...(doomed.length
            ? [{ title: 'Retention would delete next', header: ['id'], rows: doomed.map((id) => [id]) }]
            : []),
        ...unusableTables([set]),
    ];
    const result = {
        headline: set.ok
            ? `${set.name}: newest backup ${newest?.newestId} is ${formatDuration((newest?.ageSeconds ?? 0) * 1000)} old (${(0,format/* formatBytes */.z3)(newest?.sizeBytes ?? 0)}); last restore-test ${lastRunText(set.lastRestoreTest, now)}`
            : `${set.name} needs attention: ${set.problems.join('; ')}`,
        outputs: {
            status: statusOutput([set]),
            ...(newest?.newestId
                ? {
                    'latest-id': newest.newestId,
                    'age-seconds': newest.ageSeconds ?? 0,
                    'size-bytes': newest.sizeBytes ?? 0,
                }
                : {}),
        },
        facts,
        tables,
        charts,
        details: { sets: [set] },
    };
    if (!set.ok)
        throw new ModeFailure(result.headline, result);
    return result;
}
function manyReport(settings, statuses, warnings, where, now) {
    const failing = statuses.filter((set) => !set.ok);
    const result = {
        headline: failing.length === 0
            ? `${statuses.length} set(s) in ${where}: all ok`
            : `${failing.length} of ${statuses.length} set(s) in ${where} need attention: ${failing
                .map((set) => `${set.name} (${set.problems.join('; ')})`)
                .join('; ')}`,
        outputs: { status: statusOutput(statuses) },
        facts: [
            ['Sets', String(statuses.length)],
            ['Need attention', failing.map((set) => set.name).join(', ') || 'none'],
            ['Max age', formatDuration(settings.maxAgeMs)],
            ...warnings.map((warning) => ['Note', warning]),
        ],
        tables: [statusTable(`Every set in ${where}`, statuses, now), ...unusableTables(statuses)],
        details: { sets: statuses },
    };
    if (statuses.length === 0)
        throw new ModeFailure(`no backup set in ${where}`, result);
    if (failing.length > 0)
        throw new ModeFailure(result.headline, result);
    return result;
}
function unusableTables(statuses) {
    const rows = statuses.flatMap((set) => [
        ...set.unusable.map((item) => [set.name, item.key, item.problem]),
        ...(set.unusableCount > set.unusable.length
            ? [[set.name, '…', `and ${set.unusableCount - set.unusable.length} more not listed`]]
            : []),
    ]);
    return rows.length
        ? [
            {
                title: 'Not counted (torn, forged or dated ahead)',
                header: ['set', 'key', 'problem'],
                rows,
            },
        ]
        : [];
}

;// CONCATENATED MODULE: ./src/verify/stores.ts
/**
 * verify-latest over several stores (`storage`, one per line, the first the primary): each other
 * store's newest complete backup, its age, and how far it lags the primary. The primary's newest
 * backup must be in every store, complete, under the same manifest, and with `deep` every byte of
 * each copy is hashed against it (the bytes are the primary's, whose archive was read: a matching
 * sha256 is the same archive). A store that lacks it, holds it damaged, or cannot be reached fails
 * the run, named.
 */












/** Every other store, checked in order against the primary's newest backup. */
async function checkOtherStores(newest, primary, settings, ctx) {
    const checks = [];
    for (const other of settings.otherStores) {
        checks.push(await checkStore(other, newest, primary, settings, ctx));
    }
    return checks;
}
async function checkStore(settings, newest, primary, verify, ctx) {
    const label = storeLabel(settings.location);
    const now = ctx.now();
    try {
        const store = await openOther(ctx, settings);
        const listing = await listSet(store, verify.name);
        const found = await newestComplete(store, verify.name, listing.backups, now);
        const there = found.newest && datedOf(found.newest);
        const lagMs = await lagBehind(primary, there, verify.name, ctx);
        const copy = await checkCopy(store, label, listing, newest, verify, ctx);
        const check = { store: label, newest: there, lagMs, status: copy.status };
        return copy.problem ? { ...check, problem: copy.problem } : check;
    }
    catch (error) {
        if (ctx.signal.aborted)
            throw error;
        const line = `${label} cannot be read: ${(0,errors/* errorMessage */.gJ)(error)}`;
        return {
            store: label,
            status: `UNREACHABLE: ${(0,errors/* errorMessage */.gJ)(error)}`,
            problem: { kind: 'unreachable', line, cause: error },
        };
    }
}
/** The primary's newest backup in this store: present, complete, the same, and (deep) intact. */
async function checkCopy(store, label, listing, newest, settings, ctx) {
    const entry = listing.backups.find((each) => each.id === newest.id);
    const missing = (why) => ({
        status: `MISSING: ${why}`,
        problem: {
            kind: 'missing',
            line: `the newest backup ${newest.id} is missing in ${label}: ${why}`,
        },
    });
    if (!entry)
        return missing('not there');
    const judged = await judgeEntry(store, settings.name, entry, ctx.now());
    if (!isComplete(judged))
        return missing(judged.problem);
    if (JSON.stringify(judged.manifest) !== JSON.stringify(newest)) {
        return missing('its manifest there is not the primary’s');
    }
    const { refused } = await signatureVerdict(store, newest, settings.signingPublicKeys);
    if (refused) {
        const line = `the copy in ${label}: ${refused}`;
        return { status: `UNSIGNED: ${refused}`, problem: { kind: 'unsigned', line } };
    }
    if (!settings.deep)
        return { status: 'complete (listing)' };
    const archived = [];
    for (const object of manifestObjects(newest)) {
        try {
            await checkStored(store, object, ctx.signal);
        }
        catch (error) {
            // A store that fails mid-read (a cut, a refused connection) cannot be read: not damage.
            if (ctx.signal.aborted || diagnose(error).transient)
                throw error;
            // Cold, not damaged: the listing (present, at its size) is all that can be judged unthawed.
            if (error instanceof core_store/* ArchivedObject */.oN) {
                archived.push(object.key);
                continue;
            }
            const line = `the copy of ${newest.id} in ${label} is damaged: ${(0,errors/* errorMessage */.gJ)(error)}`;
            return { status: `DAMAGED: ${(0,errors/* errorMessage */.gJ)(error)}`, problem: { kind: 'damaged', line } };
        }
    }
    if (archived.length === 0)
        return { status: 'sha256 of every object matches' };
    return {
        status: `archived: ${archived.length} object(s) in an archive class, judged by listing (present, at their size); a deep check needs them thawed (restore-object) first`,
    };
}
/**
 * How long ago the oldest of the primary's complete backups made after the store's newest was
 * made (0 when the store holds the primary's newest). Only the primary's entries of that second
 * or later are judged: the listing orders seconds, only manifests order a second's backups.
 */
async function lagBehind(primary, newestThere, name, ctx) {
    const candidates = primary.backups.filter((entry) => newestThere === undefined || secondOf(entry.id) >= secondOf(newestThere.id));
    const newer = [];
    for (const entry of candidates) {
        const judged = await judgeEntry(ctx.store, name, entry, ctx.now());
        if (!isComplete(judged))
            continue;
        const dated = datedOf(judged);
        if (newestThere === undefined || startedAfter(dated, newestThere))
            newer.push(dated);
    }
    // None of them is in the store: its newest is older than each.
    return lagMs(newer.sort(newestFirst), () => false, ctx.now());
}
/** The stores table: the primary first, then each other store. */
function stores_storesTable(primary, checks, now) {
    const age = (createdAt) => formatDuration(Math.max(0, now.getTime() - Date.parse(createdAt)));
    return {
        title: 'Stores',
        header: ['store', 'newest complete backup', 'age', 'lag', `copy of ${primary.id}`],
        rows: [
            [primary.store, primary.id, age(primary.createdAt), 'primary', 'verified above'],
            ...checks.map((check) => [
                check.store,
                check.newest?.id ?? 'none',
                check.newest ? age(check.newest.createdAt) : '',
                check.lagMs === undefined ? '?' : formatLag(check.lagMs),
                check.status,
            ]),
        ],
    };
}

;// CONCATENATED MODULE: ./src/modes/verify-latest.ts
/**
 * The `verify-latest` mode: is the newest backup fresh and intact? One listing finds it (ids sort
 * by second, manifests order a second's), its manifest is read, the rules are checked against the listing's sizes, and with
 * `deep` every stored byte is hashed, decrypted, decompressed and read by the archive's own tool.
 * The newest thing in the set must be a complete backup: anything newer that is not (a corrupt
 * or torn manifest, a backup dated ahead of the clock) fails the run by name, as it hides what
 * the last run really left.
 */














const TREND_ROWS = 7;
async function verifyLatest(settings, ctx) {
    const { manifest, previous, ageMs, trend, listing } = await findNewest(settings, ctx);
    const kind = kindOf(manifest);
    const sameKind = previous && kindOf(previous) === kind ? previous : undefined;
    const rules = brokenRules({ ageMs, size: manifestSize(manifest), previousSize: previous && manifestSize(previous) }, settings);
    const signature = await signatureVerdict(ctx.store, manifest, settings.signingPublicKeys);
    const problems = [
        ...(signature.refused ? [{ kind: 'unsigned', line: signature.refused }] : []),
        ...rules.map((line, i) => ({
            kind: i === 0 && ageMs > settings.maxAgeMs ? 'stale' : 'small',
            line,
        })),
        ...kind.verify.rules(manifest, sameKind, settings, ctx.log).map((line) => ({
            kind: 'small',
            line,
        })),
    ];
    let stores = [];
    const report = (checked) => withStores(withSignature(verifyReport({
        manifest,
        holds: kind.holds(manifest),
        ageMs,
        trend,
        deep: settings.deep,
        rows: kind.verify.rows(manifest, settings.deep, checked),
        found: checked,
    }), signature.signer), settings, manifest, stores, ctx.now());
    let checked;
    if (problems.length === 0 && settings.deep) {
        const found = await kind.verify.deep(manifest, settings, ctx).catch((error) => {
            throw deepStopped(error, report());
        });
        checked = withIdentity(found, manifest, settings);
        problems.push(...checked.damaged.map((line) => ({ kind: 'damaged', line })));
    }
    stores = await checkOtherStores(manifest, listing, settings, ctx);
    problems.push(...stores.flatMap((store) => (store.problem ? [store.problem] : [])));
    if (problems.length > 0)
        throw failure(problems, report(checked));
    return report(checked);
}
/**
 * A passphrase backup's identity, which the deep check opened before any object: named in the
 * facts, unless it was the damage found (or the identity given by hand opened the objects).
 */
function withIdentity(found, manifest, settings) {
    const { identity } = manifest;
    if (!identity || settings.decryption.passphrase === undefined)
        return found;
    if (found.damaged.some((line) => line.includes(identity.key)))
        return found;
    const fact = [
        'Identity',
        `${identity.key}: sha256 matches, opened with encryption-passphrase`,
    ];
    return { ...found, facts: [...found.facts, fact] };
}
/**
 * The run's failure: every problem, and the `problem` output naming the worst kind. What it found
 * of the backup is final (another attempt finds the same); a store it could not read is not, and
 * its error is the cause the retry policy judges.
 */
function failure(problems, report) {
    const worst = PROBLEM_ORDER.find((kind) => problems.some((problem) => problem.kind === kind));
    const found = problems.some((problem) => problem.kind !== 'unreachable');
    const causes = problems.flatMap((problem) => problem.cause === undefined ? [] : [problem.cause]);
    return new ModeFailure(problems.map((problem) => problem.line).join('; '), { ...report, outputs: { ...report.outputs, ...(worst ? { problem: worst } : {}) } }, found || causes.length === 0 ? undefined : new AggregateError(causes), found);
}
/**
 * The deep check stopped before it judged every object: a store that failed mid-read (a cut
 * response, a refused connection) is the store's failure, `unreachable`, and passes (the run is
 * tried again); a key that opens nothing fails as itself.
 */
function deepStopped(error, report) {
    if (error instanceof ModeFailure)
        return error;
    if (!diagnose(error).transient)
        return new ModeFailure((0,errors/* errorMessage */.gJ)(error), report, error);
    const outputs = { ...report.outputs, problem: 'unreachable' };
    return new ModeFailure((0,errors/* errorMessage */.gJ)(error), { ...report, outputs }, error);
}
/** Most fundamental first: the `problem` output names the first kind found. */
const PROBLEM_ORDER = [
    'missing',
    'unsigned',
    'damaged',
    'stale',
    'small',
    'unreachable',
];
/** With several stores: the stores table, and each store's lag for the metrics. */
function withStores(report, settings, manifest, stores, now) {
    if (settings.otherStores.length === 0)
        return report;
    const primary = {
        store: storeLabel(settings.storage),
        id: manifest.id,
        createdAt: manifest.createdAt,
    };
    return {
        ...report,
        tables: [...report.tables, stores_storesTable(primary, stores, now)],
        details: {
            ...report.details,
            stores: stores.map(({ store, newest, lagMs, status }) => ({
                store,
                newest: newest?.id,
                ...(lagMs === undefined ? {} : { lagSeconds: Math.round(lagMs / 1000) }),
                status,
            })),
        },
    };
}
/**
 * The newest complete backup, which must be the newest thing in the set: anything newer that is
 * not complete fails the run by name.
 */
async function findNewest(settings, ctx) {
    const now = ctx.now();
    const listing = await listSet(ctx.store, settings.name);
    reportLeftovers(listing, ctx);
    if (listing.backups.length === 0) {
        throw new ModeFailure(`no backup of set "${settings.name}" in ${ctx.store.description}`, {
            outputs: { problem: 'missing' },
        });
    }
    const found = await newestComplete(ctx.store, settings.name, listing.backups, now);
    if (found.newer.length > 0 || !found.newest) {
        const none = found.newest ? '' : `; no complete backup of set "${settings.name}"`;
        const trend = trendTable(listing.backups, now, found.newer);
        throw new ModeFailure(`${unusableText(found.newer)}${none}`, {
            tables: [trend],
            outputs: { problem: 'missing' },
        });
    }
    const { manifest } = found.newest;
    const previous = await completeBefore(ctx.store, settings.name, listing.backups, found.newest, now);
    const recorded = [found.newest, previous].flatMap((item) => item ? [[item.entry.id, manifestSize(item.manifest)]] : []);
    return {
        manifest,
        listing,
        previous: previous?.manifest,
        // Never negative: a complete backup is dated at most the clock tolerance ahead.
        ageMs: Math.max(0, now.getTime() - Date.parse(manifest.createdAt)),
        trend: trendTable(listing.backups, now, found.newer, new Map(recorded)),
    };
}
function reportLeftovers(listing, ctx) {
    if (listing.leftovers.length === 0)
        return;
    const keys = listing.leftovers.flatMap((entry) => entry.objects.map((object) => object.key));
    ctx.log.warning(`${keys.length} object(s) have no manifest (failed or running backups; retention-prune removes them after orphan-grace): ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}`);
}
/** The newest entries as listed; those found unusable say so instead of an age. */
function trendTable(backups, now, unusable, recorded = new Map()) {
    const dataSize = (entry) => recorded.get(entry.id) ?? listedSize(entry);
    const shown = backups.slice(0, TREND_ROWS);
    const rows = shown.map((entry, index) => {
        const size = dataSize(entry);
        const previous = shown[index + 1] ?? backups[index + 1];
        const time = idTime(entry.id);
        const age = unusable.some((item) => item.entry === entry)
            ? 'unusable'
            : time && time <= now
                ? formatDuration(now.getTime() - time.getTime())
                : '?';
        return [
            entry.id,
            age,
            size === undefined ? 'missing' : (0,format/* formatBytes */.z3)(size),
            size === undefined || !previous ? '' : sizeChange(size, dataSize(previous)),
        ];
    });
    return {
        title: `Newest backups (${(0,format/* formatCount */.B4)(backups.length)} in all)`,
        header: ['id', 'age', 'size', 'change'],
        rows,
    };
}

;// CONCATENATED MODULE: ./src/modes/index.ts






















/** A mode that works on a store: its context (and so the store) is opened when it runs. */
function withStore(read, run) {
    return { read, run: async (settings, open) => run(settings, await open(settings)) };
}
const REGISTRY = {
    backup: { ...withStore(readBackup, charted(backup)), picks: 'source' },
    'verify-latest': withStore(readVerify, recorded(verifyLatest)),
    'restore-test': withStore(readRestoreTest, recorded(restoreTest)),
    restore: withStore(readRestore, restore),
    'retention-prune': withStore(readPrune, retentionPrune),
    copy: withStore(readCopy, copy),
    notify: { read: readNotifyMode, run: notifyMode },
    status: { read: readStatus, run: status_status },
};
/**
 * Builds and validates the settings for the mode the inputs name. Nothing here touches the
 * network, the database or the store: a bad input is found before any work starts.
 */
async function readSettings(source, cwd = process.cwd(), env = process.env) {
    return (await readRun(source, cwd, env)).settings;
}
/**
 * The settings. An input given a value of its own that the mode never read is refused in one line
 * (a mistake, such as an input meant for another mode or source, is never dropped), unless
 * `shared` says its value came from an environment every service of a host shares
 * (BACKUP_ACTION_<INPUT>): those are named in `unused`, one warning line each.
 */
async function readRun(source, cwd = process.cwd(), env = process.env, shared = () => false) {
    const inputs = new Inputs(source, env);
    const mode = inputs.oneOf('mode', MODES, 'backup');
    if (!COPYING.includes(mode) && inputs.text('copy-to') !== '') {
        throw new errors/* InputError */.dz('copy-to', `is for backup and copy; ${mode} makes no copies (verify-latest, restore-test and restore read other stores listed in storage, one per line)`);
    }
    const definition = REGISTRY[mode];
    const settings = await definition.read(inputs, cwd);
    if (settings.mode === 'restore-test') {
        settings.sharedKindInputs = settings.kindInputs.filter(shared);
    }
    const { picks } = definition;
    const picked = picks && `${picks} ${inputs.text(picks) || INPUT_DEFAULTS[picks]}`;
    const scope = `mode ${mode}${picked ? ` with ${picked}` : ''}`;
    const notUsed = (name) => {
        const why = inputs.reason(name);
        return `is not used by ${scope}${why ? ` (${why})` : ''}`;
    };
    const unread = inputs.unread();
    const refused = unread.find((name) => !shared(name));
    if (refused)
        throw new errors/* InputError */.dz(refused, `${notUsed(refused)}; remove it`);
    const unused = unread.map((name) => `input "${name}" from the environment ${notUsed(name)}; ignored`);
    return { settings, unused };
}
/**
 * Where a run refused for bad input still reports its failure: the notification inputs that can
 * be read and the set's name, each read alone (a mistyped notify-on, or one bad URL, must not
 * silence the only alarm of a run under cron).
 */
function readRefusalNotice(source, cwd = process.cwd()) {
    const inputs = new Inputs(source);
    const notify = readNotify(inputs, cwd, { readable: true });
    return { notify, name: modes_attempt(() => readName(inputs, undefined)) };
}
function modes_attempt(read) {
    try {
        return read();
    }
    catch {
        return undefined;
    }
}
/** The modes that take copy-to. */
const COPYING = ['backup', 'copy'];
async function runMode(settings, open) {
    // TypeScript cannot pair a union member with its own entry; the registry's type guarantees it.
    const definition = REGISTRY[settings.mode];
    return definition.run(settings, open);
}

;// CONCATENATED MODULE: ./src/notify/messages.ts
function webhookPayload(report, runUrl) {
    return {
        version: 1,
        event: 'backup-action.run',
        ok: report.ok,
        mode: report.mode,
        name: report.name,
        headline: report.headline,
        runUrl,
        report,
    };
}
/** A Slack incoming-webhook message; Mattermost and Discord's /slack endpoint take it too. */
function slackMessage(report, runUrl) {
    const notice = report.ok && report.notice === true;
    const status = notice ? 'needed attention' : report.ok ? 'succeeded' : 'FAILED';
    const set = report.name ?? '?';
    const icon = notice ? ':warning:' : report.ok ? ':white_check_mark:' : ':x:';
    const text = `${icon} backup-action ${report.mode} of ${set} ${status}: ${report.headline}`;
    const fields = [
        { title: 'Set', value: set, short: true },
        { title: 'Mode', value: report.mode, short: true },
        { title: report.ok ? 'Result' : 'Reason', value: report.headline, short: false },
    ];
    if (runUrl)
        fields.push({ title: 'Run', value: runUrl, short: false });
    return {
        text: runUrl ? `${text} (<${runUrl}|run>)` : text,
        attachments: [
            { color: notice ? 'warning' : report.ok ? 'good' : 'danger', fallback: text, fields },
        ],
    };
}
function issueTitle(name) {
    return `backup-action: ${name} is failing`;
}
function issueBody(report, runUrl) {
    return [
        `**${report.mode}** of set **${report.name ?? '?'}** failed at ${report.finishedAt}.`,
        '',
        `> ${report.headline}`,
        '',
        runUrl ? `Run: ${runUrl}` : '',
        '',
        'This issue is closed automatically by the next successful run.',
    ].join('\n');
}

;// CONCATENATED MODULE: ./src/notify/github-issue.ts

const ISSUE_LABEL = 'backup-failure';
async function updateFailureIssue(report, token, env, runUrl) {
    const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
    if (!owner || !repo)
        throw new Error('failure-issue needs GITHUB_REPOSITORY (it runs on GitHub)');
    // Loaded only here: Octokit is large, and most runs never open an issue.
    const { getOctokit } = await __webpack_require__.e(/* import() */ 413).then(__webpack_require__.bind(__webpack_require__, 92413));
    const octokit = getOctokit(token, { baseUrl: env.GITHUB_API_URL ?? 'https://api.github.com' });
    const title = issueTitle(report.name ?? report.mode);
    const open = await octokit.rest.issues.listForRepo({
        owner,
        repo,
        state: 'open',
        labels: ISSUE_LABEL,
        per_page: 100,
    });
    const existing = open.data.find((issue) => issue.title === title);
    if (!report.ok) {
        if (existing) {
            await octokit.rest.issues.createComment({
                owner,
                repo,
                issue_number: existing.number,
                body: issueBody(report, runUrl),
            });
        }
        else {
            await octokit.rest.issues.create({
                owner,
                repo,
                title,
                body: issueBody(report, runUrl),
                labels: [ISSUE_LABEL],
            });
        }
        return;
    }
    if (!existing)
        return;
    await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: existing.number,
        body: `Recovered: **${report.mode}** succeeded at ${report.finishedAt}. ${report.headline}${runUrl ? `\n\nRun: ${runUrl}` : ''}`,
    });
    await octokit.rest.issues.update({ owner, repo, issue_number: existing.number, state: 'closed' });
}

;// CONCATENATED MODULE: ./src/notify/http.ts
/**
 * Delivery for every channel: a request with a time limit, retried a few times with exponential
 * backoff. The sleep is injectable so tests of retries do not wait. URLs are secrets: errors name
 * the channel, never the URL.
 */
const defaultDelivery = {
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    attempts: 3,
    timeoutMs: 10_000,
    fetch: (input, init) => fetch(input, init),
};
class DeliveryError extends Error {
    reason;
    answered;
    constructor(channel, 
    /** What went wrong, without the URL: `after 3 attempts (HTTP 500)`. */
    reason, 
    /** Whether the server answered at all (an HTTP error), rather than not being reached in time. */
    answered = false) {
        super(`${channel} notification was not delivered ${reason}`);
        this.reason = reason;
        this.answered = answered;
        this.name = 'DeliveryError';
    }
}
/** No answer this tool reads is larger (a Pushgateway's metrics); a longer one is refused. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
class AnswerTooLarge extends Error {
}
/** Sends the request until a 2xx answer, and returns its body; throws DeliveryError after the last attempt. */
async function send(channel, url, init, delivery) {
    let last = '';
    let answered = false;
    for (let attempt = 1; attempt <= delivery.attempts; attempt += 1) {
        try {
            const response = await delivery.fetch(url, {
                method: init.method,
                body: init.body,
                headers: {
                    ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
                    ...init.headers,
                },
                signal: AbortSignal.timeout(delivery.timeoutMs),
            });
            if (response.ok)
                return await answer(response);
            last = `HTTP ${response.status}`;
            answered = true;
            await response.body?.cancel();
        }
        catch (error) {
            last = http_failure(error);
        }
        if (attempt < delivery.attempts)
            await delivery.sleep(500 * 2 ** (attempt - 1));
    }
    throw new DeliveryError(channel, `after ${delivery.attempts} attempts (${last})`, answered);
}
/** The body, read within the request's time limit and up to MAX_ANSWER_BYTES. */
async function answer(response) {
    const reader = response.body?.getReader();
    const chunks = [];
    let size = 0;
    for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
        size += read.value.byteLength;
        if (size > MAX_ANSWER_BYTES) {
            await reader?.cancel();
            throw new AnswerTooLarge('an answer over 16 MiB');
        }
        chunks.push(read.value);
    }
    return Buffer.concat(chunks).toString('utf8');
}
/** A network error's code (ECONNREFUSED, ENOTFOUND), else the error's kind (TimeoutError). */
function http_failure(error) {
    const code = error.cause?.code;
    if (typeof code === 'string')
        return code;
    if (error instanceof AnswerTooLarge)
        return error.message;
    // fetch refuses some ports outright ("bad port"): its cause says so, its name does not.
    const cause = error.cause;
    if (cause instanceof Error && cause.message)
        return cause.message;
    return error instanceof Error ? error.name : 'network error';
}

;// CONCATENATED MODULE: ./src/notify/exposition.ts
/**
 * Prometheus' text exposition format (version 0.0.4), both ways: what a metrics file or a
 * Pushgateway gets, and what is read back from them to merge with. Pure, so it is tested directly;
 * promtool and a real Pushgateway check what it writes. Reading is strict: a file or a gateway
 * answer is hostile until checked, so a line that is not exactly a sample of an accepted family
 * is counted and left out, never half-read.
 */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ['gauge', 'counter', 'untyped'];
/** A label value as the format quotes it: backslash, double quote and line feed escaped. */
function escapeLabelValue(value) {
    return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
function escapeHelp(text) {
    return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
/** Go's spelling of the special values; every other number as JavaScript writes it. */
function formatValue(value) {
    if (Number.isNaN(value))
        return 'NaN';
    if (value === Infinity)
        return '+Inf';
    if (value === -Infinity)
        return '-Inf';
    return String(value);
}
/** One identity per series: its name and its labels, in order. */
function seriesKey(sample) {
    const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify([sample.name, labels]);
}
/**
 * The samples as text: each family once, its HELP and TYPE first and its samples together
 * (the format requires it), families and samples in a stable order so that files diff well.
 */
function renderExposition(samples, familyOf) {
    const byName = new Map();
    for (const sample of samples) {
        if (!METRIC_NAME.test(sample.name))
            throw new Error(`not a metric name: ${sample.name}`);
        byName.set(sample.name, [...(byName.get(sample.name) ?? []), sample]);
    }
    const lines = [];
    for (const name of [...byName.keys()].sort()) {
        const family = familyOf(name);
        lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
        const series = [...(byName.get(name) ?? [])].sort((a, b) => seriesKey(a) < seriesKey(b) ? -1 : 1);
        for (const sample of series)
            lines.push(sampleLine(sample));
    }
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
function sampleLine({ name, labels, value }) {
    const pairs = Object.keys(labels)
        .sort()
        .map((label) => {
        if (!LABEL_NAME.test(label))
            throw new Error(`not a label name: ${label}`);
        return `${label}="${escapeLabelValue(labels[label] ?? '')}"`;
    });
    return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}
/**
 * The samples of the families `accept` takes, with their HELP and TYPE. Samples with a
 * timestamp are dropped too: node_exporter's textfile collector refuses them.
 */
function parseExposition(text, accept) {
    const parsed = { samples: [], families: new Map(), unreadable: 0, foreign: 0 };
    for (const raw of text.split('\n')) {
        const line = raw.replace(/\r$/, '').trim();
        if (line === '')
            continue;
        if (line.startsWith('#')) {
            readComment(line, accept, parsed);
            continue;
        }
        const sample = parseSample(line);
        if (!sample)
            parsed.unreadable += 1;
        else if (accept(sample.name))
            parsed.samples.push(sample);
        else
            parsed.foreign += 1;
    }
    return parsed;
}
function readComment(line, accept, parsed) {
    const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (!match)
        return;
    const [, kind, name = '', rest = ''] = match;
    if (!METRIC_NAME.test(name) || !accept(name))
        return;
    const family = parsed.families.get(name) ?? { help: '', type: 'untyped' };
    if (kind === 'HELP')
        family.help = unescapeHelp(rest);
    else if (TYPES.includes(rest.trim()))
        family.type = rest.trim();
    parsed.families.set(name, family);
}
function unescapeHelp(text) {
    return text.replace(/\\(\\|n)/g, (_, char) => (char === 'n' ? '\n' : '\\'));
}
/** One sample line without a timestamp, or undefined when it is anything else. */
function parseSample(line) {
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name)
        return undefined;
    let rest = line.slice(name.length);
    let labels = {};
    if (rest.startsWith('{')) {
        const read = readLabels(rest);
        if (!read)
            return undefined;
        labels = read.labels;
        rest = rest.slice(read.length);
    }
    const value = /^[ \t]+(\S+)$/.exec(rest)?.[1];
    const number = value === undefined ? undefined : parseValue(value);
    return number === undefined ? undefined : { name, labels, value: number };
}
function parseValue(text) {
    const special = { NaN: NaN, '+Inf': Infinity, '-Inf': -Infinity };
    if (text in special)
        return special[text];
    return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}
/** `{a="x",b="y"}` at the start of `text`: the labels and how many characters they took. */
function readLabels(text) {
    const labels = {};
    let at = 1;
    const skipBlanks = () => {
        while (text[at] === ' ' || text[at] === '\t')
            at += 1;
    };
    for (;;) {
        skipBlanks();
        if (text[at] === '}')
            return { labels, length: at + 1 };
        const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(at))?.[0];
        // Names starting with __ are Prometheus' own: a file holding one is refused whole.
        if (!name || name in labels || name.startsWith('__'))
            return undefined;
        at += name.length;
        skipBlanks();
        if (text[at] !== '=')
            return undefined;
        at += 1;
        skipBlanks();
        const value = readQuoted(text, at);
        if (!value)
            return undefined;
        labels[name] = value.text;
        at = value.end;
        skipBlanks();
        if (text[at] === ',')
            at += 1;
        else if (text[at] !== '}')
            return undefined;
    }
}
/** A double-quoted label value starting at `start`, its escapes undone. */
function readQuoted(text, start) {
    if (text[start] !== '"')
        return undefined;
    let out = '';
    for (let at = start + 1; at < text.length; at += 1) {
        const char = text[at];
        if (char === '"')
            return { text: out, end: at + 1 };
        if (char !== '\\') {
            out += char;
            continue;
        }
        const next = text[(at += 1)];
        if (next === '\\' || next === '"')
            out += next;
        else if (next === 'n')
            out += '\n';
        else
            return undefined;
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/notify/metrics.ts
/**
 * What a run tells Prometheus: every metric the tool writes, the figures each mode's report gives
 * them, and how a run's samples merge with what earlier runs left (in a metrics file or a
 * Pushgateway group). Pure: the sinks (metrics-file.ts, pushgateway.ts) do the I/O.
 *
 * Every series is labelled with the set and the mode, and nothing else but a store (for metrics
 * about one store): never an id or a time, so a set has a handful of series whatever it holds.
 */





const METRIC_PREFIX = 'backup_action_';
const EVERY_MODE = MODES;
/** Every metric, by name. The docs (docs/monitoring.md) and the example alerts use these names. */
const METRICS = {
    backup_action_last_run_timestamp_seconds: {
        help: 'When the last run of this mode for this set ended, as a Unix time.',
        type: 'gauge',
        modes: EVERY_MODE,
    },
    backup_action_last_run_success: {
        help: 'Whether the last run of this mode for this set succeeded (1) or failed or was cancelled (0).',
        type: 'gauge',
        modes: EVERY_MODE,
    },
    backup_action_last_run_duration_seconds: {
        help: 'How long the last run of this mode for this set took, from reading its inputs to its report.',
        type: 'gauge',
        modes: EVERY_MODE,
    },
    backup_action_last_success_timestamp_seconds: {
        help: 'When the last successful run of this mode for this set ended, as a Unix time.',
        type: 'gauge',
        modes: EVERY_MODE,
    },
    backup_action_backup_size_bytes: {
        help: 'Size as stored of the backup the last successful backup run made, every object together.',
        type: 'gauge',
        modes: ['backup'],
    },
    backup_action_backup_previous_size_bytes: {
        help: 'Size as stored of the backup made by the successful backup run before the last one.',
        type: 'gauge',
        modes: ['backup'],
    },
    backup_action_backup_duration_seconds: {
        help: 'How long the last successful backup took to dump, compress, encrypt and upload.',
        type: 'gauge',
        modes: ['backup'],
    },
    backup_action_backup_tables: {
        help: 'Tables whose rows the last successful backup recorded in its manifest.',
        type: 'gauge',
        modes: ['backup'],
    },
    backup_action_backup_rows: {
        help: 'Rows the last successful backup recorded in its manifest (exact or estimated, as row-counts says).',
        type: 'gauge',
        modes: ['backup'],
    },
    backup_action_latest_backup_timestamp_seconds: {
        help: 'When the newest backup was made, as a Unix time: the one just made (backup) or the newest complete one found (verify-latest; status, labelled by store).',
        type: 'gauge',
        modes: ['backup', 'verify-latest', 'status'],
    },
    backup_action_latest_backup_age_seconds: {
        help: 'Age of the newest complete backup when verify-latest (or status, labelled by store) last looked.',
        type: 'gauge',
        modes: ['verify-latest', 'status'],
    },
    backup_action_latest_backup_size_bytes: {
        help: 'Size as stored of the newest complete backup when verify-latest (or status, labelled by store) last looked.',
        type: 'gauge',
        modes: ['verify-latest', 'status'],
    },
    backup_action_restore_duration_seconds: {
        help: "Recovery time of the last restore: download, restore and checks (the restore-seconds output; status: the set's last restore-test).",
        type: 'gauge',
        modes: ['restore-test', 'restore', 'status'],
    },
    backup_action_restore_tables: {
        help: 'Tables the last restore restored and compared.',
        type: 'gauge',
        modes: ['restore-test', 'restore'],
    },
    backup_action_restore_checks_passed: {
        help: 'Checks of the checks input (conditions on table rows, SQL queries; not the comparison with the manifest) that passed in the last restore-test that ran them.',
        type: 'gauge',
        modes: ['restore-test'],
    },
    backup_action_restore_checks_failed: {
        help: 'Checks of the checks input (conditions on table rows, SQL queries; not the comparison with the manifest) that failed in the last restore-test that ran them.',
        type: 'gauge',
        modes: ['restore-test'],
    },
    backup_action_prune_kept_backups: {
        help: 'Complete backups the last retention-prune kept.',
        type: 'gauge',
        modes: ['retention-prune'],
    },
    backup_action_prune_deleted_backups: {
        help: 'Backups the last retention-prune deleted (a dry run deletes none and reports none).',
        type: 'gauge',
        modes: ['retention-prune'],
    },
    backup_action_copy_lag_seconds: {
        help: 'How long ago the oldest backup a store lacks (newer than its newest copy) was made; 0 when it holds the newest. Labelled by store.',
        type: 'gauge',
        modes: ['copy', 'backup', 'verify-latest'],
    },
};
function isMetricName(name) {
    return Object.hasOwn(METRICS, name);
}
/** Our families: the tool's prefix. Names from a newer version of the tool are kept as read. */
const isOurs = (name) => name.startsWith(METRIC_PREFIX);
/** HELP and TYPE of a family: ours as defined, one read from a file as it was read. */
function familyOf(read) {
    return (name) => isMetricName(name) ? METRICS[name] : (read.get(name) ?? { help: name, type: 'untyped' });
}
const MODE_FIGURES = {
    backup: backupFigures,
    'verify-latest': verifyFigures,
    'restore-test': (report) => [
        ...(restoreCompleted(report) ? restoreFigures(report) : []),
        ...checkFigures(report),
    ],
    restore: (report) => (report.ok ? restoreFigures(report) : []),
    'retention-prune': pruneFigures,
    copy: lagFigures,
    notify: () => [],
    status: () => [],
};
/**
 * The run's samples, labelled with its set and mode; none for a run that has no set (its inputs
 * were refused before the set was known). A figure the report does not give is left out, so the
 * value an earlier run wrote stands (a failed backup keeps the last good backup's size). A status
 * run reports each set it looked at, as that set's.
 */
function runSamples(report) {
    const mode = MODES.find((known) => known === report.mode);
    const finishedMs = Date.parse(report.finishedAt);
    const startedMs = Date.parse(report.startedAt);
    if (!mode || !Number.isFinite(finishedMs) || !Number.isFinite(startedMs))
        return [];
    const times = {
        finished: finishedMs / 1000,
        duration: Math.max(0, finishedMs - startedMs) / 1000,
    };
    const sets = mode === 'status' ? statusSets(report) : [];
    if (sets.length > 0)
        return sets.flatMap((set) => statusSamples(set, times));
    if (!report.name)
        return [];
    return labelled({ set: report.name, mode }, [
        ...runFigures(report.ok, times),
        ...MODE_FIGURES[mode](report),
    ]);
}
function runFigures(ok, { finished, duration }) {
    return [
        ['backup_action_last_run_timestamp_seconds', finished],
        ['backup_action_last_run_success', ok ? 1 : 0],
        ['backup_action_last_run_duration_seconds', duration],
        ['backup_action_last_success_timestamp_seconds', ok ? finished : undefined],
    ];
}
function labelled(labels, figures) {
    return figures.flatMap(([name, value, more]) => value === undefined || !Number.isFinite(value)
        ? []
        : [{ name, labels: { ...labels, ...more }, value }]);
}
/** The sets a status report holds, each checked as a status read from a file would be. */
function statusSets(report) {
    const sets = report.details.sets;
    if (!Array.isArray(sets))
        return [];
    return sets.map(parseSetStatus).filter((set) => set !== undefined);
}
/** A set as status saw it: whether it needs attention, and its newest backup in each store. */
function statusSamples(set, times) {
    const labels = { set: set.name, mode: 'status' };
    return [
        ...labelled(labels, [
            ...runFigures(set.ok, times),
            ['backup_action_restore_duration_seconds', set.lastRestoreTest?.restoreSeconds],
        ]),
        ...set.stores.flatMap((view) => labelled({ ...labels, store: view.store }, [
            [
                'backup_action_latest_backup_timestamp_seconds',
                view.newestId === undefined
                    ? undefined
                    : (idTime(view.newestId)?.getTime() ?? NaN) / 1000,
            ],
            ['backup_action_latest_backup_age_seconds', view.ageSeconds],
            ['backup_action_latest_backup_size_bytes', view.sizeBytes],
        ])),
    ];
}
/**
 * When a run reports the first metric of a pair, the value it replaces becomes the second: a
 * backup's size and the size before it, so that an alert sees a shrink without a query over time.
 */
const CARRIED = [
    ['backup_action_backup_size_bytes', 'backup_action_backup_previous_size_bytes'],
];
/** What earlier runs left, with this run's samples in place of theirs; every other series kept. */
function mergeRun(previous, run) {
    const merged = new Map(previous.map((sample) => [seriesKey(sample), sample]));
    for (const sample of run) {
        const key = seriesKey(sample);
        const pair = CARRIED.find(([from]) => from === sample.name);
        if (pair) {
            const before = { name: pair[1], labels: sample.labels };
            const old = merged.get(key);
            if (old)
                merged.set(seriesKey(before), { ...before, value: old.value });
            else
                merged.delete(seriesKey(before));
        }
        merged.set(key, sample);
    }
    return [...merged.values()];
}
/** A backup id's time (the UTC time the backup began, as its manifest's createdAt), in seconds. */
function idSeconds(report, name) {
    const id = report.outputs[name];
    const time = typeof id === 'string' ? idTime(id) : undefined;
    return time && time.getTime() / 1000;
}
function backupFigures(report) {
    const counts = rowTotals(reportManifest(report, report.name));
    return [
        ...lagFigures(report),
        ['backup_action_backup_size_bytes', outputNumber(report, 'size-bytes')],
        ['backup_action_backup_duration_seconds', outputNumber(report, 'duration-seconds')],
        ['backup_action_backup_tables', counts?.tables],
        ['backup_action_backup_rows', counts?.rows],
        ['backup_action_latest_backup_timestamp_seconds', idSeconds(report, 'backup-id')],
    ];
}
function verifyFigures(report) {
    return [
        ...lagFigures(report),
        ['backup_action_latest_backup_age_seconds', outputNumber(report, 'age-seconds')],
        ['backup_action_latest_backup_size_bytes', outputNumber(report, 'size-bytes')],
        // A newest backup that failed verification (corrupt, torn) is no backup to be counted on.
        [
            'backup_action_latest_backup_timestamp_seconds',
            report.ok ? idSeconds(report, 'latest-id') : undefined,
        ],
    ];
}
/**
 * Each store's lag, as the copy mode, a backup's copy-to, or verify-latest over several stores
 * report it (`details.stores`, with each store's `lagSeconds`): one series per store.
 */
function lagFigures(report) {
    const stores = report.details.stores;
    if (!Array.isArray(stores))
        return [];
    return stores.flatMap((store) => {
        if (!isRecord(store) || typeof store.store !== 'string')
            return [];
        const lag = typeof store.lagSeconds === 'number' ? store.lagSeconds : undefined;
        return [['backup_action_copy_lag_seconds', lag, { store: store.store }]];
    });
}
function restoreFigures(report) {
    return [
        ['backup_action_restore_duration_seconds', outputNumber(report, 'restore-seconds')],
        ['backup_action_restore_tables', outputNumber(report, 'restored-tables')],
    ];
}
/**
 * Whether a restore-test restored everything (a check may still have failed): one stopped
 * mid-restore (cancelled, pg_restore failed) has no recovery time or table count to report.
 */
function restoreCompleted({ ok, details }) {
    if (ok)
        return true;
    const restored = (part) => isRecord(part) && part.comparison !== undefined;
    return Array.isArray(details.databases)
        ? details.databases.length > 0 && details.databases.every(restored)
        : restored(details);
}
/** The checks' verdicts: one database's (`checks`) or each database's of a server backup. */
function checkFigures(report) {
    const verdicts = checkVerdicts(report);
    if (!verdicts)
        return [];
    return [
        ['backup_action_restore_checks_passed', verdicts.passed],
        ['backup_action_restore_checks_failed', verdicts.failed],
    ];
}
function pruneFigures(report) {
    const dryRun = report.details.dryRun === true;
    return [
        ['backup_action_prune_kept_backups', outputNumber(report, 'kept')],
        ['backup_action_prune_deleted_backups', dryRun ? undefined : outputNumber(report, 'deleted')],
    ];
}

;// CONCATENATED MODULE: ./src/notify/metrics-file.ts
/**
 * The metrics file, for node_exporter's textfile collector: one file holds the state of every
 * set and mode written into it. A run reads it, puts its own series in place of theirs, and
 * replaces it whole by a rename, so the collector never reads half a file.
 *
 * Two runs (two modes of a set, or two sets sharing the file) must not both read the old file
 * and each write it without the other's lines: a lock file beside it (`<file>.lock`, made with
 * O_EXCL) makes their read-merge-write take turns. A writer holds it for milliseconds; a lock
 * older than `staleMs` was left by a run that was killed, and is broken.
 */






const defaultFileOptions = {
    waitMs: 30_000,
    staleMs: 20_000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
/** A file larger than this is not a metrics file this tool wrote: it is not read into memory. */
const MAX_READ_BYTES = 16 * 1024 * 1024;
/**
 * Merges the run's samples into the file. Returns warnings (lines of the old file that were
 * dropped); throws, naming the file, when it cannot be written: the caller turns that into one
 * warning, since monitoring never fails the run.
 */
async function writeMetricsFile(file, run, options = defaultFileOptions) {
    const target = await linkTarget(file);
    const release = await lock(`${target}.lock`, options).catch((error) => {
        throw new Error(`${file} was not written: ${problem(error, external_node_path_default().dirname(target))}`);
    });
    try {
        const old = await readOld(target);
        const parsed = parseExposition(old.text, isOurs);
        const text = renderExposition(mergeRun(parsed.samples, run), familyOf(parsed.families));
        await replace(target, text).catch((error) => {
            throw new Error(`${file} was not written: ${problem(error, external_node_path_default().dirname(target))}`);
        });
        const dropped = parsed.unreadable + parsed.foreign;
        return [
            ...old.warnings,
            ...(dropped === 0
                ? []
                : [`${dropped} line(s) of ${file} were not backup-action metrics and were left out`]),
        ];
    }
    finally {
        await release();
    }
}
/** A symbolic link stays one: the file it points to (there yet or not) is what is replaced. */
async function linkTarget(file) {
    const real = await (0,promises_.realpath)(file).catch(() => undefined);
    if (real)
        return real;
    const to = await (0,promises_.readlink)(file).catch(() => undefined);
    return to === undefined ? file : external_node_path_default().resolve(external_node_path_default().dirname(file), to);
}
/** The file as it is: none yet, or one too large to be ours, is started afresh. */
async function readOld(file) {
    try {
        const { size } = await (0,promises_.stat)(file);
        if (size > MAX_READ_BYTES) {
            return {
                text: '',
                warnings: [`${file} was over 16 MiB, not metrics of this tool: written anew`],
            };
        }
        return { text: await (0,promises_.readFile)(file, 'utf8'), warnings: [] };
    }
    catch (error) {
        if (error.code === 'ENOENT')
            return { text: '', warnings: [] };
        throw new Error(`${file} could not be read: ${problem(error, external_node_path_default().dirname(file), 'read it')}`);
    }
}
/** Writes beside the file (a name the collector skips: not `*.prom`), then renames over it. */
async function replace(file, text) {
    const temporary = `${file}.${(0,external_node_crypto_.randomBytes)(4).toString('hex')}.tmp`;
    try {
        const handle = await (0,promises_.open)(temporary, 'wx', 0o644);
        try {
            // Readable by all whatever the umask: node_exporter often runs as its own user.
            await handle.chmod(0o644);
            await handle.writeFile(text);
            await handle.sync();
        }
        finally {
            await handle.close();
        }
        await (0,promises_.rename)(temporary, file);
    }
    catch (error) {
        await (0,promises_.unlink)(temporary).catch(() => undefined);
        throw error;
    }
}
/** Takes the lock, waiting for another writer; returns how to let it go. */
async function lock(lockFile, options) {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
        const taken = await tryLock(lockFile);
        if (taken)
            return taken;
        if (await breakStale(lockFile, options.staleMs))
            continue;
        if (Date.now() >= deadline) {
            throw new Error(`another run held ${lockFile} for over ${Math.round(options.waitMs / 1000)}s (remove it if no run is writing)`);
        }
        await options.sleep(50);
    }
}
async function tryLock(lockFile) {
    let handle;
    try {
        handle = await (0,promises_.open)(lockFile, 'wx', 0o644);
    }
    catch (error) {
        if (error.code === 'EEXIST')
            return undefined;
        throw error;
    }
    const mine = await handle.stat();
    await handle.close();
    // Only our own lock is removed: one broken as stale meanwhile (a run that hung) is another's.
    return async () => {
        const now = await (0,promises_.stat)(lockFile).catch(() => undefined);
        if (now && now.ino === mine.ino && now.dev === mine.dev)
            await (0,promises_.unlink)(lockFile).catch(() => { });
    };
}
/**
 * Removes a lock older than `staleMs`. It is first renamed to a name of our own, so that of two
 * runs breaking it at once only one succeeds; should the one renamed be a fresh lock taken in
 * between, it is put back.
 */
async function breakStale(lockFile, staleMs) {
    const seen = await (0,promises_.stat)(lockFile).catch(() => undefined);
    if (!seen)
        return true;
    // Never ours: renaming it aside would only leave it there under another name.
    if (!seen.isFile())
        throw new Error(`${lockFile} is not a lock file (remove it)`);
    if (Date.now() - seen.mtimeMs < staleMs)
        return false;
    const aside = `${lockFile}.${(0,external_node_crypto_.randomBytes)(4).toString('hex')}.stale`;
    try {
        await (0,promises_.rename)(lockFile, aside);
    }
    catch {
        return true;
    }
    const moved = await (0,promises_.stat)(aside);
    if (moved.ino !== seen.ino || moved.dev !== seen.dev) {
        await (0,promises_.link)(aside, lockFile).catch(() => undefined);
        await (0,promises_.unlink)(aside);
        return false;
    }
    await (0,promises_.unlink)(aside);
    return true;
}
/** Why a file could not be written (or read), in words a person acts on. */
function problem(error, folder, what = `write in ${folder}`) {
    switch (error.code) {
        case 'ENOENT':
            return `the folder ${folder} does not exist`;
        case 'ENOTDIR':
            return `${folder} is not a folder`;
        case 'EACCES':
        case 'EPERM':
            return `no permission to ${what}`;
        case 'EROFS':
            return `${folder} is on a read-only file system`;
        case 'ENOSPC':
        case 'EDQUOT':
            return `no space left in ${folder}`;
        case 'EISDIR':
            return 'it is a folder';
        default:
            return (0,errors/* errorMessage */.gJ)(error);
    }
}

;// CONCATENATED MODULE: ./src/notify/pushgateway.ts
/**
 * A Pushgateway, for runs that no Prometheus scrapes (CronJobs, CI runners): the run's metrics go
 * to the group of their set and mode, under the job `backup-action` (a status of many sets pushes
 * one group per set). The group is read back first
 * and merged as a metrics file is, so the size before the last backup can be told; the push is a
 * POST, which replaces only the metrics it holds, so a failed run leaves the group's last success
 * time and last backup size as they were even when the group could not be read.
 */




const PUSH_JOB = 'backup-action';
const CHANNEL = 'pushgateway-url';
/** The gateway's URL without credentials, and the credentials as a Basic authorization header. */
function gatewayTarget(base) {
    const url = new URL(base);
    const headers = {};
    if (url.username || url.password) {
        const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
        headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
        url.username = '';
        url.password = '';
    }
    url.pathname = url.pathname.replace(/\/+$/, '');
    return { url: url.href.replace(/\/$/, ''), headers };
}
/**
 * The group's path: the set's name in base64 (URL-safe), as the Pushgateway accepts any label
 * value, so that no name can be taken for a path segment of another meaning.
 */
function groupPath(set, mode) {
    const encoded = Buffer.from(set).toString('base64url') || '=';
    return `/metrics/job/${PUSH_JOB}/set@base64/${encoded}/mode/${encodeURIComponent(mode)}`;
}
/**
 * Pushes the run's samples, each set's to its own group (a status over a whole store or fleet
 * reports many sets). Returns warnings, or throws when a group was not pushed.
 */
async function pushMetrics(base, run, delivery) {
    const groups = groupsOf(run);
    if (groups.length === 0)
        return [];
    const { url, headers } = gatewayTarget(base);
    const warnings = [];
    let previous = [];
    let families = new Map();
    try {
        const parsed = parseExposition(await send(CHANNEL, `${url}/metrics`, { method: 'GET', headers }, delivery), isOurs);
        previous = parsed.samples;
        families = parsed.families;
    }
    catch (error) {
        // A gateway that did not answer at all would only make the push wait as long again.
        if (error instanceof DeliveryError && !error.answered) {
            throw new Error(`the metrics were not pushed ${reason(error)}`);
        }
        warnings.push(`the group could not be read back ${reason(error)}; pushed without the previous backup size`);
    }
    const failed = await pushGroups(url, headers, groups, { previous, families }, delivery);
    if (failed) {
        const which = groups.length > 1 ? ` of set(s) ${failed.sets.join(', ')}` : '';
        throw new Error(`the metrics${which} were not pushed ${failed.reason}`);
    }
    return warnings;
}
/** The run's samples by the group they belong to: their set and mode. */
function groupsOf(run) {
    const groups = new Map();
    for (const sample of run) {
        const { set, mode } = sample.labels;
        if (set === undefined || mode === undefined)
            continue;
        const key = JSON.stringify([set, mode]);
        const group = groups.get(key) ?? { set, mode, samples: [] };
        group.samples.push(sample);
        groups.set(key, group);
    }
    return [...groups.values()];
}
const ADDED = ['job', 'instance'];
/** A sample of the group, without the labels the gateway adds (job, instance). */
function inGroup(sample, set, mode) {
    const { job, set: itsSet, mode: itsMode } = sample.labels;
    if (job !== PUSH_JOB || itsSet !== set || itsMode !== mode)
        return [];
    const labels = Object.entries(sample.labels).filter(([name]) => !ADDED.includes(name));
    return [{ ...sample, labels: Object.fromEntries(labels) }];
}
function reason(error) {
    return error instanceof DeliveryError ? error.reason : `(${(0,errors/* errorMessage */.gJ)(error)})`;
}
/**
 * Every group pushed, one failing not stopping the next (each set's metrics would go stale
 * without a word); a gateway that stops answering at all ends it, the rest counted as failed.
 */
async function pushGroups(url, headers, groups, { previous, families }, delivery) {
    const sets = [];
    let first = '';
    for (const [index, { set, mode, samples }] of groups.entries()) {
        const before = previous.flatMap((sample) => inGroup(sample, set, mode));
        const body = renderExposition(mergeRun(before, samples), familyOf(families));
        try {
            await send(CHANNEL, `${url}${groupPath(set, mode)}`, {
                method: 'POST',
                body,
                headers: { ...headers, 'content-type': 'text/plain; version=0.0.4' },
            }, delivery);
        }
        catch (error) {
            first ||= reason(error);
            const gone = error instanceof DeliveryError && !error.answered;
            sets.push(...(gone ? groups.slice(index).map((group) => group.set) : [set]));
            if (gone)
                break;
        }
    }
    return sets.length > 0 ? { sets: [...new Set(sets)], reason: first } : undefined;
}

;// CONCATENATED MODULE: ./src/notify/metrics-publish.ts
/**
 * The run's metrics to where the inputs send them: the metrics file and the Pushgateway, whatever
 * notify-on says (they hold the set's state, not alerts). Neither ever fails the run: each that
 * cannot be written gives one warning naming its input.
 */





async function publishMetrics(report, settings, delivery = defaultDelivery, fileOptions = defaultFileOptions) {
    const run = runSamples(report);
    const { file, pushgatewayUrl } = settings;
    const sinks = [];
    if (run.length > 0 && file) {
        sinks.push(['metrics-file', () => writeMetricsFile(file, run, fileOptions)]);
    }
    if (run.length > 0 && pushgatewayUrl) {
        sinks.push(['pushgateway-url', () => pushMetrics(pushgatewayUrl, run, delivery)]);
    }
    const results = await Promise.allSettled(sinks.map(([, write]) => write()));
    return results.flatMap((result, index) => {
        const input = sinks[index]?.[0] ?? '';
        return result.status === 'fulfilled'
            ? result.value.map((warning) => `${input}: ${warning}`)
            : [`${input}: ${(0,errors/* errorMessage */.gJ)(result.reason)}`];
    });
}

;// CONCATENATED MODULE: ./src/notify/index.ts
/**
 * Notifications after every mode: Slack, a JSON webhook, a heartbeat (healthchecks.io
 * convention), a GitHub issue, and the run's metrics. A channel that cannot be reached is a
 * warning; it never hides or replaces the mode's own result.
 */






/** `<url>/start`, `<url>`, `<url>/fail`: the healthchecks.io convention. */
function heartbeatUrl(base, phase) {
    if (phase === 'success')
        return base;
    const url = new URL(base);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${phase}`;
    return url.href;
}
/** Tells the heartbeat the run began, so a run that never ends is noticed too. */
async function notifyStart(settings, delivery = defaultDelivery) {
    if (!settings.heartbeatUrl || settings.on === 'never')
        return [];
    return notify_collect([
        () => send('heartbeat', heartbeatUrl(settings.heartbeatUrl, 'start'), { method: 'GET' }, delivery),
    ]);
}
/**
 * Sends what the settings ask for, and the metrics whatever notify-on says; returns one warning
 * per channel that failed.
 */
async function notifyEnd(report, settings, env, delivery = defaultDelivery) {
    const [metrics, channels] = await Promise.all([
        publishMetrics(report, settings.metrics, delivery),
        announce(report, settings, env, delivery),
    ]);
    return [...metrics, ...channels];
}
async function announce(report, settings, env, delivery) {
    if (settings.on === 'never')
        return [];
    const runUrl = githubRun(env)?.url;
    const announce = settings.on === 'always' || !report.ok || report.notice === true;
    const tasks = [];
    const post = (channel, url, body) => () => send(channel, url, { method: 'POST', body: JSON.stringify(body) }, delivery);
    if (announce && settings.slackWebhookUrl)
        tasks.push(post('Slack', settings.slackWebhookUrl, slackMessage(report, runUrl)));
    if (announce && settings.webhookUrl)
        tasks.push(post('webhook', settings.webhookUrl, webhookPayload(report, runUrl)));
    if (settings.heartbeatUrl) {
        const url = heartbeatUrl(settings.heartbeatUrl, report.ok ? 'success' : 'fail');
        tasks.push(() => send('heartbeat', url, { method: 'GET' }, delivery));
    }
    if (settings.failureIssue && settings.githubToken) {
        const token = settings.githubToken;
        tasks.push(() => updateFailureIssue(report, token, env, runUrl).catch((error) => {
            throw new Error(`the failure issue was not updated: ${(0,errors/* errorMessage */.gJ)(error)}`);
        }));
    }
    return notify_collect(tasks);
}
async function notify_collect(tasks) {
    const results = await Promise.allSettled(tasks.map((task) => task()));
    return results.flatMap((result) => result.status === 'rejected' ? [(0,errors/* errorMessage */.gJ)(result.reason)] : []);
}

;// CONCATENATED MODULE: ./src/run.ts
/**
 * The shared implementation behind both entry points (the action and the command line): read and
 * check the inputs, run the mode, and hand the edge a report with every secret redacted.
 */








async function execute(source, edge, options) {
    const now = options.now ?? (() => new Date());
    const startedAt = now();
    const warnings = [];
    let redact = (text) => text;
    const log = {
        info: (message) => edge.info(redact(message)),
        warning: (message) => {
            warnings.push(redact(message));
            edge.warning(redact(message));
        },
    };
    let settings;
    let report;
    const failed = [];
    const given = givenSecrets(source);
    for (const secret of given)
        edge.mask(secret);
    redact = redactor(given);
    try {
        const read = await readRun(source, options.cwd, options.env, options.shared);
        settings = read.settings;
        for (const secret of settings.secrets)
            edge.mask(secret);
        redact = redactor([...given, ...settings.secrets]);
        for (const line of read.unused)
            log.warning(line);
        for (const warning of await notifyStart(settings.notify))
            log.warning(warning);
        const open = ({ location, s3 }) => openStore(location, s3, log.warning, options.env);
        const context = async (common) => ({
            store: await open({ location: common.storage, s3: common.s3 }),
            open,
            log,
            now,
            signal: options.signal,
            env: options.env,
            sleep: options.sleep,
        });
        const chosen = settings;
        const run = () => runMode(chosen, context);
        const result = 'retry' in chosen
            ? await retrying('the run', run, chosen.retry, { ...options, log }, failed)
            : await run();
        report = withAttempts(buildReport(source, settings, startedAt, now(), warnings, result), failed);
    }
    catch (error) {
        const failure = failureReport(source, settings, startedAt, now(), warnings, error, options.signal);
        report = withAttempts(failure, failed);
    }
    // A run refused for bad input alerts too, on every notification input that can be read.
    const notice = settings ?? readRefusalNotice(source, options.cwd);
    const safe = redactDeep({ ...report, name: report.name ?? notice.name }, redact);
    for (const warning of await notifyEnd(safe, notice.notify, options.env)) {
        edge.warning(redact(warning));
        safe.warnings.push(redact(warning));
    }
    for (const [name, value] of Object.entries(safe.outputs))
        edge.setOutput(name, String(value));
    const reportFile = await edge.saveReport?.(JSON.stringify(safe)).catch((error) => {
        edge.warning(`could not write the report file: ${(0,errors/* errorMessage */.gJ)(error)}`);
        return undefined;
    });
    if (reportFile)
        edge.setOutput('report-file', reportFile);
    edge.setOutput('report', reportJson(safe, reportFile));
    await edge
        .writeSummary(safe)
        .catch((error) => edge.warning(`could not write the job summary: ${(0,errors/* errorMessage */.gJ)(error)}`));
    if (safe.ok)
        edge.info(safe.headline);
    else
        edge.error(safe.error ?? safe.headline);
    return safe;
}
/** The attempts, in the summary and the report, when there was more than one. */
function withAttempts(report, failed) {
    const fact = attemptsFact(failed, report.ok);
    if (fact === undefined)
        return report;
    return {
        ...report,
        facts: [...report.facts, ['Attempts', fact]],
        details: { ...report.details, attempts: failed },
    };
}
function buildReport(source, settings, startedAt, finishedAt, warnings, result, error) {
    return {
        mode: settings?.mode ?? (source('mode').trim() || 'backup'),
        name: settings?.name,
        ok: error === undefined,
        headline: error ?? result.headline ?? '',
        ...(error === undefined ? {} : { error }),
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        outputs: result.outputs ?? {},
        facts: result.facts ?? [],
        tables: result.tables ?? [],
        ...(result.charts?.length ? { charts: result.charts } : {}),
        warnings,
        details: result.details ?? {},
        ...(error === undefined && result.notice ? { notice: true } : {}),
    };
}
function failureReport(source, settings, startedAt, finishedAt, warnings, error, signal) {
    const partial = error instanceof ModeFailure ? error.partial : {};
    const cancelled = signal.aborted || error instanceof errors/* CancelledError */.cc;
    const message = cancelled
        ? 'the run was cancelled; nothing was published'
        : error instanceof errors/* InputError */.dz
            ? error.message
            : (0,errors/* errorMessage */.gJ)(error);
    return buildReport(source, settings, startedAt, finishedAt, warnings, partial, message);
}
function redactDeep(value, redact) {
    if (typeof value === 'string')
        return redact(value);
    if (Array.isArray(value))
        return value.map((item) => redactDeep(item, redact));
    if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)]));
    }
    return value;
}

;// CONCATENATED MODULE: ./src/process/signals.ts

/**
 * Cancellation: GitHub sends SIGINT, then SIGTERM, when a run is cancelled. The first signal aborts
 * the run: every program is stopped at that moment (none drains what it holds, none writes on),
 * the upload is aborted and nothing is published. A second one exits at once.
 */
function cancelOnSignals() {
    const controller = new AbortController();
    const onSignal = (name) => {
        if (controller.signal.aborted)
            process.exit(130);
        process.stderr.write(`Received ${name}: cancelling; nothing will be published\n`);
        // The run learns of the cancel first (its upload is aborted, not failed by a broken stream).
        controller.abort();
        stopAllPrograms();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return {
        signal: controller.signal,
        dispose: () => {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
        },
    };
}

;// CONCATENATED MODULE: ./src/main.ts
/** The action's edge: inputs from the runner, outputs, masking and the job summary through @actions/core. */








const actionEdge = {
    // warning and error lines travel inside a command whose data the toolkit escapes; info is raw.
    info: (line) => core/* info */.pq(inertLines(line)),
    warning: (line) => core/* warning */.$e(line),
    error: (line) => core/* error */.z3(line),
    mask: (secret) => core/* setSecret */.Pq(secret),
    setOutput: (name, value) => core/* setOutput */.uH(name, value),
    async writeSummary(report) {
        if (!process.env.GITHUB_STEP_SUMMARY)
            return;
        await core/* summary */.z.addRaw(summaryMarkdown(report), true).write();
    },
    // The runner's temporary folder, emptied after each job: there for a later step to read or
    // upload, while the `report` output may be cut to fit GitHub's limit. Without a runner there is
    // no folder that anyone empties, so no file is left behind.
    async saveReport(json) {
        const dir = process.env.RUNNER_TEMP;
        if (!dir)
            return undefined;
        const file = external_node_path_default().join(dir, `backup-action-report-${(0,external_node_crypto_.randomBytes)(6).toString('hex')}.json`);
        await (0,promises_.writeFile)(file, json, { mode: 0o600, flag: 'wx' });
        return file;
    },
};
async function main_run() {
    const { signal, dispose } = cancelOnSignals();
    try {
        const report = await execute((name) => core/* getInput */.V4(name), actionEdge, {
            env: process.env,
            signal,
        });
        if (!report.ok)
            process.exitCode = 1;
    }
    finally {
        dispose();
    }
}


/***/ }),

/***/ 68856:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Z: () => (/* binding */ own),
/* harmony export */   _: () => (/* binding */ release)
/* harmony export */ });
/**
 * Buffers that nothing else refers to, released by the stage that uses them last.
 *
 * A backup streams its bytes in 64 KiB pieces, each a fresh allocation outside V8's heap (a pipe
 * read, a sealed age chunk). V8 frees them only when it next collects, which it does by its own
 * measure of that memory, and tens of megabytes of dead pieces piled up before it did
 * (docs/benchmarks.md). A piece that a producer marks as owned (it made it, and hands it on whole
 * to one consumer) can instead be released by the last stage to touch it, the moment it is done
 * with it: its memory returns at once, and peak memory stays flat whatever the pace of the
 * collector.
 *
 * Release is opt-in at both ends, so it cannot reach a buffer that anything else still holds: an
 * unmarked buffer (a library's, a slice of Node's shared pool) is never touched, and a stage that
 * passes a piece on never releases it.
 */
const owned = new WeakSet();
/** Marks `chunk` as owned when it is the whole of its memory; returns it. */
function own(chunk) {
    const memory = chunk.buffer;
    if (chunk.byteOffset === 0 &&
        chunk.byteLength === memory.byteLength &&
        typeof memory.transfer === 'function') {
        owned.add(memory);
    }
    return chunk;
}
/**
 * Frees an owned chunk's memory now (`ArrayBuffer.prototype.transfer(0)` detaches it, leaving a
 * zero-length buffer); does nothing to any other. Call only when nothing will read `chunk` again.
 */
function release(chunk) {
    const memory = chunk.buffer;
    if (owned.delete(memory))
        memory.transfer?.(0);
}


/***/ })

};
