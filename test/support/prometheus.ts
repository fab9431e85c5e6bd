/**
 * Prometheus' own programs from Debian: promtool (package `prometheus`) to check what the tool
 * writes and the example rules, and a real Pushgateway (`prometheus-pushgateway`) on loopback.
 * Where one is missing, the tests that need it go through requireInCI: skipped here, failed under
 * CI=true.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

function onPath(program: string): boolean {
  return spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Why promtool cannot run here, for requireInCI; undefined when it can. */
export const NO_PROMTOOL = onPath('promtool')
  ? undefined
  : 'promtool is not on PATH (apt-get install prometheus)';

/** Why promtool or the Pushgateway cannot run here, for requireInCI; undefined when both can. */
export const NO_PROMETHEUS =
  NO_PROMTOOL ??
  (onPath('prometheus-pushgateway')
    ? undefined
    : 'prometheus-pushgateway is not on PATH (apt-get install prometheus-pushgateway)');

export interface ToolRun {
  code: number;
  output: string;
}

/** Runs promtool with `args`, `input` on its standard input; its exit code and everything it printed. */
export function promtool(args: string[], input = ''): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', args, (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
      if (error && Number.isNaN(code)) reject(error);
      else resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(input);
  });
}

/** `promtool check metrics` on a metrics text: the problems it prints, '' when there are none. */
export async function metricsProblems(text: string): Promise<string> {
  const run = await promtool(['check', 'metrics'], text);
  return run.code === 0 && run.output.trim() === '' ? '' : `exit ${run.code}: ${run.output}`;
}

export interface Pushgateway {
  url: string;
  /** What the gateway exposes on /metrics now. */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a Pushgateway on a free loopback port and waits until it answers. */
export async function startPushgateway(): Promise<Pushgateway> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus-pushgateway',
    // In memory only: Debian's build keeps the groups in /var/lib/prometheus by default.
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) break;
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) {
      const scrape = async () => (await fetch(`${url}/metrics`)).text();
      return { url, scrape, close };
    }
    await sleep(100);
  }
  await close();
  throw new Error(`the Pushgateway did not start on ${url}: ${log}`);
}
