// A bench beside the main one (--startup, --copy): it measures in a scratch folder and keeps its
// results in bench-results/, or with --render reads them back; then prints its tables, and with
// --docs writes them between its markers in docs/benchmarks.md.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { log } from './measure.ts';
import type { Options } from './options.ts';
import { writePage } from './render.ts';
import type { Machine, Target } from './results.ts';

export interface SideBench<R> {
  /** Where its results are kept, e.g. bench-results/copy.json. */
  results: string;
  /** The scratch folder's name prefix under the system's temporary folder. */
  scratch: string;
  measure: (options: Options, work: string) => Promise<R>;
  render: (report: R) => string;
  markers: readonly [string, string];
}

export async function runSideBench<R>(bench: SideBench<R>, options: Options): Promise<void> {
  let report: R;
  if (options.render) {
    report = JSON.parse(await readFile(bench.results, 'utf8')) as R;
  } else {
    const work = await mkdtemp(path.join(os.tmpdir(), bench.scratch));
    try {
      report = await bench.measure(options, work);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    await writeFile(bench.results, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${bench.results}`);
  }
  const markdown = bench.render(report);
  console.log(markdown);
  if (options.docs) await writePage(markdown, undefined, bench.markers);
}

/** The targets' table of a side bench: each goal, what was measured, and whether it was met. */
export function targetRows(targets: readonly Target[]): string[] {
  return [
    '| target | goal | measured | |',
    '| --- | --- | ---: | --- |',
    ...targets.map(
      (t) => `| ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'met' : '**missed**'} |`,
    ),
  ];
}

/** The line over a side bench's tables: when, on what, how it measured, and how to run it. */
export function measuredLine(
  r: { date: string; machine: Machine; node: string },
  how: string,
  flag: string,
): string {
  const { nproc, cpu, os } = r.machine;
  return `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${nproc} cores (${cpu}), ${os}, Node ${r.node}: ${how}. Run it: \`npm run bench -- --${flag}\`.`;
}
