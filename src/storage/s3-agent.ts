/**
 * The agents the S3 client connects through, the SDK's own settings (keep-alive, 50 sockets), with
 * two things more, so that a copy's memory stays flat whatever the object's size. A copy streams a
 * download into an upload chunk by chunk, and every chunk it touches is fresh memory outside V8's
 * heap, which the collector frees only after tens of megabytes of it have piled up:
 * - a socket releases an owned chunk (process/owned.ts) as soon as it has written it;
 * - a socket releases each buffer it read into once Node's HTTP parser has taken it: the parser
 *   copies what it parses (a response's headers, and each piece of its body into memory of its
 *   own), so the read buffer is garbage the moment the parser returns.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { own, release } from '../process/owned.js';

type WriteCallback = (error?: Error | null) => void;

/** Wraps the socket's write so that each owned chunk is released once written (or failed). */
function releasingWrites<S extends Duplex>(socket: S): S {
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

/**
 * Wraps the socket's push (where Node hands it each read) so that a read is released once the
 * HTTP parser alone has had it: handed on at once (not queued in the socket for later), to the
 * only reader, the parser of an exchange still under way. A read the socket queued, one anyone
 * else listens to, or one after the parser let go of the socket (a parse error keeps the read on
 * the error; an upgrade hands the rest to its user) is left to the collector.
 */
function releasingReads<S extends Duplex>(socket: S): S {
  const push = socket.push.bind(socket);
  socket.push = (chunk: unknown, encoding?: BufferEncoding) => {
    const queued = socket.readableLength;
    const more = push(chunk, encoding);
    if (chunk instanceof Uint8Array && socket.readableLength === queued && parsedOnly(socket)) {
      release(own(chunk));
    }
    return more;
  };
  return socket;
}

/** Node's HTTP client sets `parser` on a socket while an exchange uses it, and clears it after. */
function parsedOnly(socket: Duplex): boolean {
  const { parser } = socket as Duplex & { parser?: unknown };
  return !socket.destroyed && parser != null && socket.listenerCount('data') === 1;
}

const releasing = <S extends Duplex>(socket: S): S => releasingReads(releasingWrites(socket));

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
