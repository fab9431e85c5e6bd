/**
 * Prometheus' text exposition format (version 0.0.4), both ways: what a metrics file or a
 * Pushgateway gets, and what is read back from them to merge with. Pure, so it is tested directly;
 * promtool and a real Pushgateway check what it writes. Reading is strict: a file or a gateway
 * answer is hostile until checked, so a line that is not exactly a sample of an accepted family
 * is counted and left out, never half-read.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export type MetricType = 'gauge' | 'counter' | 'untyped';

export interface Family {
  help: string;
  type: MetricType;
}

export interface Parsed {
  samples: Sample[];
  /** HELP and TYPE of the accepted families, as the text gave them. */
  families: Map<string, Family>;
  /** Lines that are not a sample the format allows (or carry a timestamp). */
  unreadable: number;
  /** Samples of families `accept` did not take. */
  foreign: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['gauge', 'counter', 'untyped'];

/** A label value as the format quotes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's spelling of the special values; every other number as JavaScript writes it. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** One identity per series: its name and its labels, in order. */
export function seriesKey(sample: Pick<Sample, 'name' | 'labels'>): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([sample.name, labels]);
}

/**
 * The samples as text: each family once, its HELP and TYPE first and its samples together
 * (the format requires it), families and samples in a stable order so that files diff well.
 */
export function renderExposition(
  samples: readonly Sample[],
  familyOf: (name: string) => Family,
): string {
  const byName = new Map<string, Sample[]>();
  for (const sample of samples) {
    if (!METRIC_NAME.test(sample.name)) throw new Error(`not a metric name: ${sample.name}`);
    byName.set(sample.name, [...(byName.get(sample.name) ?? []), sample]);
  }
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const family = familyOf(name);
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
    const series = [...(byName.get(name) ?? [])].sort((a, b) =>
      seriesKey(a) < seriesKey(b) ? -1 : 1,
    );
    for (const sample of series) lines.push(sampleLine(sample));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function sampleLine({ name, labels, value }: Sample): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((label) => {
      if (!LABEL_NAME.test(label)) throw new Error(`not a label name: ${label}`);
      return `${label}="${escapeLabelValue(labels[label] ?? '')}"`;
    });
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}

/**
 * The samples of the families `accept` takes, with their HELP and TYPE. Samples with a
 * timestamp are dropped too: node_exporter's textfile collector refuses them.
 */
export function parseExposition(text: string, accept: (name: string) => boolean): Parsed {
  const parsed: Parsed = { samples: [], families: new Map(), unreadable: 0, foreign: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      readComment(line, accept, parsed);
      continue;
    }
    const sample = parseSample(line);
    if (!sample) parsed.unreadable += 1;
    else if (accept(sample.name)) parsed.samples.push(sample);
    else parsed.foreign += 1;
  }
  return parsed;
}

function readComment(line: string, accept: (name: string) => boolean, parsed: Parsed): void {
  const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
  if (!match) return;
  const [, kind, name = '', rest = ''] = match;
  if (!METRIC_NAME.test(name) || !accept(name)) return;
  const family = parsed.families.get(name) ?? { help: '', type: 'untyped' };
  if (kind === 'HELP') family.help = unescapeHelp(rest);
  else if ((TYPES as readonly string[]).includes(rest.trim()))
    family.type = rest.trim() as MetricType;
  parsed.families.set(name, family);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, char: string) => (char === 'n' ? '\n' : '\\'));
}

/** One sample line without a timestamp, or undefined when it is anything else. */
export function parseSample(line: string): Sample | undefined {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const read = readLabels(rest);
    if (!read) return undefined;
    labels = read.labels;
    rest = rest.slice(read.length);
  }
  const value = /^[ \t]+(\S+)$/.exec(rest)?.[1];
  const number = value === undefined ? undefined : parseValue(value);
  return number === undefined ? undefined : { name, labels, value: number };
}

function parseValue(text: string): number | undefined {
  const special: Record<string, number> = { NaN: NaN, '+Inf': Infinity, '-Inf': -Infinity };
  if (text in special) return special[text];
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}

/** `{a="x",b="y"}` at the start of `text`: the labels and how many characters they took. */
function readLabels(text: string): { labels: Record<string, string>; length: number } | undefined {
  const labels: Record<string, string> = {};
  let at = 1;
  const skipBlanks = () => {
    while (text[at] === ' ' || text[at] === '\t') at += 1;
  };
  for (;;) {
    skipBlanks();
    if (text[at] === '}') return { labels, length: at + 1 };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(at))?.[0];
    // Names starting with __ are Prometheus' own: a file holding one is refused whole.
    if (!name || name in labels || name.startsWith('__')) return undefined;
    at += name.length;
    skipBlanks();
    if (text[at] !== '=') return undefined;
    at += 1;
    skipBlanks();
    const value = readQuoted(text, at);
    if (!value) return undefined;
    labels[name] = value.text;
    at = value.end;
    skipBlanks();
    if (text[at] === ',') at += 1;
    else if (text[at] !== '}') return undefined;
  }
}

/** A double-quoted label value starting at `start`, its escapes undone. */
function readQuoted(text: string, start: number): { text: string; end: number } | undefined {
  if (text[start] !== '"') return undefined;
  let out = '';
  for (let at = start + 1; at < text.length; at += 1) {
    const char = text[at];
    if (char === '"') return { text: out, end: at + 1 };
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = text[(at += 1)];
    if (next === '\\' || next === '"') out += next;
    else if (next === 'n') out += '\n';
    else return undefined;
  }
  return undefined;
}
