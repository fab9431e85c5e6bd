/**
 * The trend charts as GitHub shows them. A set is made by the bundle (files backups into a
 * directory store, verify-latest, restore-tests), and every Mermaid block its job summaries hold
 * (backup's, verify-latest's, restore-test's, status') is parsed by Mermaid's own parser (the
 * npm package, in a happy-dom window for the DOMPurify it sanitises labels with). Then status'
 * summary is rendered, Markdown to HTML and Mermaid's browser bundle served from node_modules on
 * loopback, in Debian's headless Chromium (no network, a fresh profile), to a PNG that is checked
 * not blank: its pixels vary, and the chart's own bar and line colours are in it. The picture in
 * docs/ is one such render, kept for the docs; this run's goes to a temporary folder.
 *
 * Mermaid is the version github.com renders with (GITHUB_MERMAID names the source).
 *
 * Covers: src/core/chart.ts, src/core/trends.ts, src/core/report.ts, src/history/runs.ts,
 * src/modes/status.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { marked } from 'marked';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLOT_COLOUR } from '../../src/core/chart.js';
import { runAction, type ActionRun } from '../support/action.js';
import { requireInCI } from '../support/require-in-ci.js';

export const CHROMIUM = '/usr/bin/chromium';
/** The picture the docs show (docs/history.md). */
export const DOCS_PICTURE = 'docs/status-summary.png';

let work: string;
const summaries: { mode: string; run: ActionRun }[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'charts-render-'));
  const data = path.join(work, 'data');
  await mkdir(data);
  const store = path.join(work, 'store');
  const run = async (inputs: Record<string, string>) => {
    const done = await runAction({ storage: store, name: 'docs', ...inputs }, { cwd: work });
    summaries.push({ mode: inputs.mode ?? 'backup', run: done });
    return done;
  };
  for (let i = 0; i < 4; i += 1) {
    // Notes that grow and do not compress away, so that the size chart has a shape.
    await appendFile(path.join(data, 'notes.txt'), randomBytes(3000 * (i + 1)).toString('base64'));
    // A backup id names its second: two backups in one second would not sort by time.
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await run({ source: 'files', paths: 'data' })).code).toBe(0);
    if (i > 0) {
      const verified = await run({ mode: 'verify-latest' });
      expect(verified.code, verified.stdout).toBe(0);
    }
    expect((await run({ mode: 'restore-test' })).code).toBe(0);
  }
  expect((await run({ mode: 'status', 'keep-last': '3' })).code).toBe(0);
}, 180_000);
afterAll(() => rm(work, { recursive: true, force: true }));

const mermaidBlocks = (summary: string): string[] =>
  [...summary.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);

/**
 * The Mermaid github.com draws Markdown with: its `info` diagram (the way docs.github.com's
 * "Creating diagrams" gives to see the version) showed 11.17.2 on 2026-09-22, as reported in
 * mermaid-js/mermaid#8289. package.json pins that version, so the parser below is GitHub's.
 */
export const GITHUB_MERMAID = '11.17.2';

describe("Mermaid's own parser", () => {
  it('is the version GitHub renders with, as package.json pins it', async () => {
    const installed = JSON.parse(await readFile('node_modules/mermaid/package.json', 'utf8')) as {
      version: string;
    };
    expect(installed.version).toBe(GITHUB_MERMAID);
    const pinned = JSON.parse(await readFile('package.json', 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    expect(pinned.devDependencies.mermaid).toBe(GITHUB_MERMAID);
  });

  it('accepts every chart of every summary, and refuses a broken one', async () => {
    const { Window } = await import('happy-dom');
    const window = new Window();
    const globals = globalThis as Record<string, unknown>;
    globals.window = window;
    globals.document = window.document;
    try {
      const { default: mermaid } = await import('mermaid');
      const blocks = summaries.flatMap(({ mode, run }) =>
        mermaidBlocks(run.summary).map((text) => ({ mode, text })),
      );
      const modes = new Set(blocks.map((block) => block.mode));
      expect([...modes].sort()).toEqual(['backup', 'restore-test', 'status', 'verify-latest']);
      for (const { mode, text } of blocks)
        expect(await mermaid.parse(text), `${mode}: ${text}`).toEqual({
          diagramType: 'xychart',
          config: { themeVariables: { xyChart: { plotColorPalette: PLOT_COLOUR } } },
        });
      await expect(mermaid.parse(blocks[0]!.text.replace(']', ''))).rejects.toThrow(/Parse error/);
    } finally {
      await window.happyDOM.close();
      delete globals.window;
      delete globals.document;
    }
  });
});

/** WCAG's contrast ratio of a `#rrggbb` colour against white. */
function contrastWithWhite(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  return 1.05 / (luminance + 0.05);
}

/** Serves the summary page and Mermaid's browser bundle, on loopback only. */
async function serve(html: string): Promise<{ server: Server; url: string }> {
  const bundle = await readFile('node_modules/mermaid/dist/mermaid.min.js');
  const server = createServer((request, response) => {
    if (request.url === '/mermaid.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/` };
}

/** The summary as GitHub shows it: Markdown to HTML, each ```mermaid block drawn by Mermaid. */
function page(summary: string): string {
  const body = marked
    .parse(summary, { async: false })
    .replace(
      /<pre><code class="language-mermaid">([\s\S]*?)<\/code><\/pre>/g,
      '<pre class="mermaid">$1</pre>',
    );
  return `<!doctype html><html><head><meta charset="utf-8"><style>
    body { font-family: sans-serif; margin: 24px; width: 960px; background: #fff; color: #1f2328; }
    table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: 4px 8px; }
  </style><script src="/mermaid.min.js"></script></head><body>${body}
  <script>
    mermaid.initialize({ startOnLoad: false, theme: 'default' });
    mermaid.run().then(() => { document.body.dataset.drawn = 'yes'; },
      (error) => { document.body.dataset.drawn = 'failed: ' + error; });
  </script></body></html>`;
}

describe.skipIf(
  requireInCI(
    existsSync(CHROMIUM) ? undefined : `${CHROMIUM} (Debian's chromium; .ci/run installs it)`,
  ),
)('headless Chromium', () => {
  let browser: BrowserContext;
  let server: Server | undefined;
  let profile: string;

  beforeAll(async () => {
    profile = await mkdtemp(path.join(os.tmpdir(), 'chromium-profile-'));
    // A fresh profile (--user-data-dir, which playwright passes for a persistent context).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1000, height: 800 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await rm(profile, { recursive: true, force: true });
  });

  it("renders status' summary to a PNG that is not blank and holds the charts' colours", async () => {
    const status = summaries.find((s) => s.mode === 'status')!.run.summary;
    expect(mermaidBlocks(status)).toHaveLength(3);
    const served = await serve(page(status));
    server = served.server;
    const tab = await browser.newPage();
    const outside: string[] = [];
    tab.on('request', (request) => {
      if (!request.url().startsWith(served.url) && !request.url().startsWith('data:'))
        outside.push(request.url());
    });
    await tab.goto(served.url);
    await tab.waitForFunction(() => document.body.dataset.drawn !== undefined);
    expect(await tab.evaluate(() => document.body.dataset.drawn)).toBe('yes');
    const charts = await tab.evaluate(() =>
      Array.from(document.querySelectorAll('pre.mermaid svg')).map((svg) => ({
        bars: Array.from(svg.querySelectorAll('.bar-plot-0 rect')).map((r) =>
          r.getAttribute('fill'),
        ),
        lines: Array.from(svg.querySelectorAll('.line-plot-0 path')).map((p) =>
          p.getAttribute('stroke'),
        ),
      })),
    );
    expect(charts).toHaveLength(3);
    const colours = [...new Set(charts.flatMap((c) => [...c.bars, ...c.lines]))].filter(
      (c): c is string => Boolean(c),
    );
    // Every plot in the colour asked, which stands out from the white page (WCAG's 3:1 for
    // graphics); Mermaid's default first colour, #ECECFF, would be all but invisible.
    expect(colours).toEqual([PLOT_COLOUR]);
    expect(contrastWithWhite(PLOT_COLOUR)).toBeGreaterThanOrEqual(3);
    const png = await tab.screenshot({ fullPage: true });
    const out = path.join(work, 'status-summary.png');
    await writeFile(out, png);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The PNG read back by the browser itself: how much its pixels vary, and which colours it has.
    const seen = await tab.evaluate(
      async ({ data, wanted }) => {
        const image = new Image();
        image.src = `data:image/png;base64,${data}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [image.width, image.height];
        const context = canvas.getContext('2d')!;
        context.drawImage(image, 0, 0);
        const pixels = context.getImageData(0, 0, image.width, image.height).data;
        let sum = 0;
        let squares = 0;
        const rgb = wanted.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
        const found = wanted.map(() => 0);
        for (let i = 0; i < pixels.length; i += 4) {
          const grey = (pixels[i]! + pixels[i + 1]! + pixels[i + 2]!) / 3;
          sum += grey;
          squares += grey * grey;
          rgb.forEach((c, k) => {
            if (c.every((v, j) => Math.abs(v - pixels[i + j]!) <= 8)) found[k]! += 1;
          });
        }
        const n = pixels.length / 4;
        return { width: image.width, variance: squares / n - (sum / n) ** 2, found };
      },
      { data: png.toString('base64'), wanted: colours.filter((c) => /^#[0-9a-f]{6}$/i.test(c)) },
    );
    expect(seen.width).toBeGreaterThanOrEqual(1000);
    expect(seen.variance).toBeGreaterThan(100);
    expect(seen.found.length).toBeGreaterThan(0);
    for (const count of seen.found) expect(count).toBeGreaterThan(50);
    expect(outside).toEqual([]);
    if (process.env.UPDATE_DOCS_PICTURE === 'true') await writeFile(DOCS_PICTURE, png);
  }, 120_000);

  it('keeps such a picture in docs/', async () => {
    const kept = await readFile(DOCS_PICTURE);
    expect(kept.subarray(1, 4).toString()).toBe('PNG');
    expect(kept.length).toBeGreaterThan(20_000);
  });
});
