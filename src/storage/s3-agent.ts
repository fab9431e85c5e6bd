/**
 * The agents the S3 client connects through, the SDK's own settings (keep-alive, 50 sockets), with
 * one thing more: a socket releases an owned chunk (process/owned.ts) as soon as it has written
 * it. A copy streams a download into an upload chunk by chunk; without this, every chunk written
 * would wait for the collector, which runs only after tens of megabytes of them have piled up,
 * and the copy's memory would grow with the object's size up to that mark.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { release } from '../process/owned.js';

type WriteCallback = (error?: Error | null) => void;

/** Wraps the socket's write so that each owned chunk is released once written (or failed). */
function releasing<S extends Duplex>(socket: S): S {
  const write = socket.write.bind(socket) as (
    chunk: unknown,
    encoding?: BufferEncoding,
    callback?: WriteCallback,
  ) => boolean;
  socket.write = ((
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    done?: WriteCallback,
  ) => {
    const [enc, callback] =
      typeof encoding === 'function' ? [undefined, encoding] : [encoding, done];
    if (!(chunk instanceof Uint8Array)) return write(chunk, enc, callback);
    return write(chunk, enc, (error) => {
      release(chunk);
      callback?.(error);
    });
  }) as S['write'];
  return socket;
}

const OPTIONS = { keepAlive: true, maxSockets: 50 };

class ReleasingHttpAgent extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>) {
    const socket = super.createConnection(...args);
    return socket ? releasing(socket) : socket;
  }
}

class ReleasingHttpsAgent extends https.Agent {
  override createConnection(...args: Parameters<https.Agent['createConnection']>) {
    const socket = super.createConnection(...args);
    return socket ? releasing(socket) : socket;
  }
}

export function releasingAgents(): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  return {
    httpAgent: new ReleasingHttpAgent(OPTIONS),
    httpsAgent: new ReleasingHttpsAgent(OPTIONS),
  };
}
