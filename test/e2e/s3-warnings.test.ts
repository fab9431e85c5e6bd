/**
 * The AWS SDK's own warnings reach the run's warnings, in our words and once, never raw on stderr.
 * A store (a real HTTP server of our own) answers every read with an `Expires` header that is not
 * a date, as some S3-compatible servers do (`Expires: 0`): the SDK warns of it, and with no logger
 * of ours that warning went nowhere, while its HTTP handler's own warnings went to console.warn.
 * The store is opened as a run opens it (openStore), with the real SDK.
 *
 * Covers: src/storage/s3-logger.ts, src/storage/s3.ts, src/storage/index.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/storage/index.js';
import { sdkWarningText } from '../../src/storage/s3-logger.js';

const BODY = Buffer.from('{"hello":"world"}');
const server = http.createServer((request, response) => {
  request.resume();
  response
    .writeHead(200, {
      'content-length': BODY.length,
      expires: '0',
      'last-modified': new Date().toUTCString(),
    })
    .end(BODY);
});

beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the SDK’s warnings', () => {
  it('a header the SDK cannot parse is said once, in our words, through the run’s warnings', async () => {
    const { port } = server.address() as AddressInfo;
    const warnings: string[] = [];
    const raw = vi.spyOn(console, 'warn');
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const store = await openStore(
        { kind: 's3', bucket: 'shop', prefix: 'set' },
        {
          endpoint: `http://127.0.0.1:${port}`,
          keys: { from: 'AWS', accessKeyId: 'id', secretAccessKey: 'secret' },
        },
        (message) => warnings.push(message),
        {},
      );
      for (const key of ['a.json', 'b.json', 'c.json']) {
        expect((await store.read(key, 1000)).equals(BODY)).toBe(true);
      }
      expect(warnings).toEqual([
        'S3: the store answered GetObject with an Expires header that is not a date (0); ignored',
      ]);
      const printed = [...raw.mock.calls, ...stderr.mock.calls].map((call) => String(call[0]));
      expect(printed.filter((text) => /smithy|aws-sdk|Expires/i.test(text))).toEqual([]);
    } finally {
      raw.mockRestore();
      stderr.mockRestore();
    }
  });

  it('the handler’s socket warning is said in our words; one we have no words for, its first line', () => {
    const handler = `@smithy/node-http-handler:WARN - socket usage at capacity=50 and 131 additional requests are enqueued.
See https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-configuring-maxsockets.html`;
    expect(sdkWarningText(handler)).toBe(
      'S3: all 50 connections to the store are busy and 131 more requests wait for one; the store answers slowly, and the run goes on at its pace',
    );
    expect(sdkWarningText('Missing timestamp format, using http date\nat x')).toBe(
      'S3: the AWS SDK warns: Missing timestamp format, using http date',
    );
  });
});
