// The results as Markdown tables, and the benchmark page that holds them.
import { readFile, writeFile } from 'node:fs/promises';
import { mb } from './measure.ts';
import type { Report, TimingRow } from './results.ts';

export const PAGE = 'docs/benchmarks.md';
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(2));
const size = (n: number | undefined) => (n ? `${mb(n).toFixed(1)} MB` : '');
const percent = (n: number, digits: number) => `${(n * 100).toFixed(digits)}%`;

/** A timing row's ratio: against the floor, or for restore rows against the restore floor. */
function ratioCell(t: TimingRow): string {
  if (t.key === 'restore-test') return `${f2(t.ratio)} × restore floor`;
  if (t.part) return `+${f2(t.ratio)} × restore floor`;
  if (t.key === 'restore-floor') return '';
  return f2(t.ratio);
}

function timingLine(t: TimingRow): string {
  const vs = t.fasterThanCommon
    ? `${t.fasterThanCommon.toFixed(1)}× faster, ${percent((t.sizeVsCommon ?? Number.NaN) - 1, 1)} size`
    : '';
  const secs = t.reportedSeconds
    ? `${f2(t.seconds)} s (reported ${f2(t.reportedSeconds)} s)`
    : `${f2(t.seconds)} s`;
  const busy = t.cpuSeconds ? `${t.cpuSeconds.toFixed(1)} core-s` : '';
  return `| ${t.what} | ${secs} | ${ratioCell(t)} | ${busy} | ${size(t.outputBytes)} | ${vs} |`;
}

export function renderMarkdown(r: Report): string {
  const lines = [
    `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memoryGb} GB memory, ${r.machine.os}, Node ${r.node}, ${r.postgres}; ` +
      `a ${mb(r.database.bytes).toFixed(0)} MB database (4 tables: text, uuid, numeric, jsonb, bytea, 2 secondary indexes), ` +
      `medians of ${r.rounds} rounds (each runs them in a rotated order), wall time of each whole process. Run it: \`npm run bench\` (\`-- --size-mb 50 --rounds 3\` for a quick look).`,
    '',
    '| run | median | × floor | CPU, whole machine | output | vs common script |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...r.timings.map(timingLine),
  ];
  if (r.memory.length) {
    const doubled = r.database.doubledBytes
      ? `${mb(r.database.doubledBytes).toFixed(0)} MB database`
      : '2×';
    lines.push(
      '',
      `| peak memory (RSS, VmHWM of the CLI process and its zstd and age) | ${mb(r.database.bytes).toFixed(0)} MB database | ${doubled} | change |`,
      '| --- | ---: | ---: | ---: |',
      ...r.memory.map(
        (m) =>
          `| ${m.what} | ${m.peakMb.toFixed(0)} MB | ${m.peakMbDouble ? `${m.peakMbDouble.toFixed(0)} MB` : ''} | ${m.change === undefined ? '' : percent(m.change, 0)} |`,
      ),
    );
  }
  if (r.requests.length) {
    lines.push(
      '',
      `| store requests, a set of ${r.backups.toLocaleString('en')} backups (in-memory S3 server) | requests | minimum | × minimum |`,
      '| --- | --- | ---: | ---: |',
      ...r.requests.map((q) => {
        const detail = Object.entries(q.counts)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ');
        const minimum = `${q.minimum ?? ''}${q.minimumIs ? ` (${q.minimumIs})` : ''}`;
        return `| ${q.mode} | ${q.total}: ${detail} | ${minimum} | ${q.minimum ? f2(q.total / q.minimum) : ''} |`;
      }),
    );
  }
  if (r.targets?.length) {
    lines.push(
      '',
      '| target | goal | measured | | what the machine allows |',
      '| --- | --- | ---: | --- | --- |',
      ...r.targets.map(
        (t) =>
          `| ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'met' : '**missed**'} | ${t.bound ?? ''} |`,
      ),
    );
  }
  return lines.join('\n');
}

/** Puts `markdown` between a pair of the page's markers (the bench's by default), which must be there. */
export async function writePage(
  markdown: string,
  file = PAGE,
  [open, close]: readonly [string, string] = [START, END],
): Promise<void> {
  const text = await readFile(file, 'utf8');
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start)
    throw new Error(`bench: ${file} has no ${open} … ${close} block for the tables`);
  await writeFile(file, `${text.slice(0, start)}${open}\n\n${markdown}\n\n${text.slice(end)}`);
}
