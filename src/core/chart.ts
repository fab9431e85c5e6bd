/**
 * Trend charts: Mermaid `xychart-beta` for job summaries (GitHub renders ```mermaid blocks), a
 * line of block characters for the command line. Pure.
 */

/** One series over labelled points, oldest first. */
export interface Chart {
  title: string;
  /** The unit of the values, the y axis's title. */
  unit: string;
  /** One label per point (a date, with ✗ for a run that failed). */
  labels: string[];
  values: number[];
  /** Bars for amounts (sizes, rows), a line for times. */
  style: 'bar' | 'line';
}

/** Mermaid's chart text: quoted strings must hold no quote, and a line no line break. */
const label = (text: string): string => `"${text.replace(/["\\\r\n]/g, ' ')}"`;

/** Enough digits to tell points apart, no more: values are rounded for reading, not stored. */
function figure(value: number): string {
  if (!Number.isFinite(value)) return '0';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

/**
 * The plots' colour. Mermaid's default theme draws the first plot in its lightest colour
 * (#ECECFF), a line all but invisible on white; this blue reads on GitHub's light and dark pages.
 */
export const PLOT_COLOUR = '#1f6feb';

/** The chart as a Mermaid `xychart-beta` diagram (the text inside a ```mermaid block). */
export function mermaidChart(chart: Chart): string {
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
export function sparkline(values: readonly number[]): string {
  const top = Math.max(0, ...values.filter(Number.isFinite));
  return values
    .map((value) => {
      const share = top > 0 && Number.isFinite(value) ? Math.max(0, value) / top : 0;
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.round(share * (BLOCKS.length - 1)))];
    })
    .join('');
}

/** Bytes in the unit that keeps the largest under 1024 of it, for an axis. */
export function bytesScale(values: readonly number[]): { unit: string; divisor: number } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let divisor = 1;
  let unit = 0;
  const top = Math.max(0, ...values);
  while (top / divisor >= 1024 && unit < units.length - 1) {
    divisor *= 1024;
    unit += 1;
  }
  return { unit: units[unit]!, divisor };
}

/** Seconds, or minutes once the longest is over ten minutes. */
export function secondsScale(values: readonly number[]): { unit: string; divisor: number } {
  return Math.max(0, ...values) > 600 ? { unit: 'min', divisor: 60 } : { unit: 's', divisor: 1 };
}

/**
 * `03-14 02:00`: each point's UTC day and time, short enough for thirty on one axis; to the
 * second where two share a minute, and numbered where they share a second, since Mermaid draws
 * points with one label as one. A run that failed is marked ✗.
 */
export function pointLabels(points: readonly { iso: string; failed?: boolean }[]): string[] {
  const minute = (iso: string) => `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  const second = (iso: string) => `${iso.slice(5, 10)} ${iso.slice(11, 19)}`;
  const shared = (text: (iso: string) => string, iso: string) =>
    points.filter((point) => text(point.iso) === text(iso)).length > 1;
  const seen = new Map<string, number>();
  return points.map(({ iso, failed }) => {
    let label = shared(minute, iso) ? second(iso) : minute(iso);
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    if (count > 1 || shared(second, iso)) label = `${label} #${count}`;
    return failed ? `${label} ✗` : label;
  });
}
