import { STATUS_CODES, maxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long a connection we close is still read, what comes discarded, so the client reads our answer
 * rather than a reset: at most this long without a byte from the client, and at most the total.
 */
export const LINGER_LIMITS = { idleMs: 2000, totalMs: 30_000 } as const;

interface ClientError extends Error {
  code?: string;
  /** llhttp's words for what was wrong, e.g. "Invalid method encountered". */
  reason?: string;
}

/**
 * Answers a request Node's HTTP parser refused before any route saw it: a request line and headers
 * past `http.maxHeaderSize` (431), bytes that are not HTTP (400), a request not received in time (408).
 * Given to Fastify as its `clientErrorHandler`.
 *
 * Fastify's default handler writes its answer without `Connection: close` and destroys the socket at
 * once. A keep-alive client (fetch, the CLI, a proxy) reads a complete answer that does not say the
 * connection ends, puts the connection back in its pool, and the next request it sends there fails
 * ("other side closed" or ECONNRESET) though nothing was wrong with it: 5 short requests in a stress
 * run of 4,000 431s and 10,000 short requests, 8 at a time; once in the API fuzz test in CI. So the
 * answer says `Connection: close`, and the connection lingers (lingerThenClose) rather than being
 * reset under a long request line still arriving.
 */
export function answerClientError(error: ClientError, socket: Socket): void {
  // A reset connection has nothing to answer; an ended one has been answered.
  if (error.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  // An answer already started on this connection (to a pipelined request before this one) cannot be
  // followed by ours without corrupting it: as Node's own handler does, only close.
  if ((socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, message] = describe(error);
  const body = JSON.stringify({ statusCode: status, message, error: STATUS_CODES[status] });
  // What else arrives would go to the parser, which has failed and would only report it again.
  socket.removeAllListeners('data');
  socket.on('data', () => undefined);
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  lingerThenClose(socket);
}

/**
 * Responses that close their connection (Fastify's 413 for a body past the limit and 400 for one it
 * cannot parse, a client's own `Connection: close`) linger too. Node ends such a socket and destroys
 * it as soon as the answer is flushed (`destroySoon`, its only caller being the end of a response
 * that closes), and a client still sending the body it was refused for gets EPIPE or ECONNRESET
 * instead of the 413 that names the limit: 7–10 % of 2 MiB bodies in that stress run. Node itself
 * pulls the rest of an unread body off the wire (`req._dump()`), so only `destroySoon` is replaced,
 * once a connection.
 */
export function installLingeringClose(server: Server): void {
  server.on('connection', (socket: Socket & { destroySoon?: () => void }) => {
    socket.destroySoon = () => lingerThenClose(socket);
  });
}

/**
 * Ends our side after what has been written and keeps reading, as nginx's lingering close does:
 * unread bytes at close make the kernel send a reset, which can discard our answer at the client
 * before it is read. The socket is destroyed when the client closes its side, or when LINGER_LIMITS
 * run out, whichever is first.
 */
function lingerThenClose(socket: Socket): void {
  if (socket.destroyed) return;
  const idle = setTimeout(() => socket.destroy(), LINGER_LIMITS.idleMs).unref();
  const total = setTimeout(() => socket.destroy(), LINGER_LIMITS.totalMs).unref();
  socket.on('data', () => idle.refresh());
  socket.once('end', () => socket.destroy());
  socket.once('close', () => {
    clearTimeout(idle);
    clearTimeout(total);
  });
  socket.end();
  socket.resume();
}

function describe(error: ClientError): [number, string] {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, `the request line and headers are larger than the ${maxHeaderSize} bytes accepted`];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'the request was not received in time'];
    default:
      return [400, `the request is not valid HTTP${error.reason ? `: ${error.reason}` : ''}`];
  }
}
