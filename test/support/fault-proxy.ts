/**
 * A fault-injecting HTTP proxy of our own between the product and s3rver: it can fail the next N
 * requests with a status, reset the connection after N bytes of a request, or stall (never
 * answer). It records every request, so a test can say the store received none.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fault applies to the requests whose `METHOD path` matches `match` (all, when unset). */
export type Fault = { match?: RegExp } & (
  | { kind: 'status'; status: number; count: number }
  | { kind: 'reset'; afterBytes: number; count: number }
  | { kind: 'stall' }
  | { kind: 'down'; status: number }
);

export interface FaultProxy {
  endpoint: string;
  /** Method and path of every request received, faulted or not. */
  requests: string[];
  /** The Content-Length each of those requests declared (0 when none). */
  lengths: number[];
  faults: Fault[];
  /** How many requests were faulted. */
  injected: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = {
    endpoint: '',
    requests: [],
    lengths: [],
    faults: [],
    injected: 0,
    close: async () => undefined,
  };
  const stalled = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const request = `${req.method} ${req.url}`;
    proxy.requests.push(request);
    proxy.lengths.push(Number(req.headers['content-length'] ?? 0));
    const fault = takeFault(proxy, request);
    if (fault?.kind === 'stall') {
      stalled.add(res);
      req.resume();
      return;
    }
    if (fault?.kind === 'status' || fault?.kind === 'down') {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0"?><Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>`,
      );
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    if (fault?.kind === 'reset') {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= fault.afterBytes) {
          forward.destroy();
          req.socket.destroy();
        }
      });
    }
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

function takeFault(proxy: FaultProxy, request: string): Fault | undefined {
  const index = proxy.faults.findIndex((fault) => !fault.match || fault.match.test(request));
  const fault = proxy.faults[index];
  if (!fault) return undefined;
  proxy.injected += 1;
  if (fault.kind === 'status' || fault.kind === 'reset') {
    fault.count -= 1;
    if (fault.count <= 0) proxy.faults.splice(index, 1);
  }
  return fault;
}
