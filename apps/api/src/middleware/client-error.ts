import { STATUS_CODES, maxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * How long a connection the API closes is still read (what arrives is discarded), so the client
 * reads our answer rather than a reset: at most this long without a byte from the client, and at
 * most the total. Each is less than the 72 s an idle keep-alive connection is already kept.
 */
export const LINGER_LIMITS: LingerLimits = { idleMs: 2000, totalMs: 30_000 };

export interface LingerLimits {
  idleMs: number;
  totalMs: number;
}

interface ClientError extends Error {
  code?: string;
  /** llhttp's words for what was wrong, e.g. "Invalid method encountered" (a fixed string, never request bytes). */
  reason?: string;
}

/** What Node's HTTP server keeps on an accepted socket that this module uses. */
type ServerSocket = Socket & {
  [IDLE_TIMER]?: NodeJS.Timeout;
  server?: Server;
  destroySoon?: () => void;
  _handle?: { reading: boolean; readStart(): number } | null;
  _httpMessage?: { _headerSent?: boolean } | null;
};

/** The connections of one server that linger now, whether it is shutting down, and its limits. */
interface Lingering {
  sockets: Set<Socket>;
  closing: boolean;
  limits: LingerLimits;
}

/** A socket's idle timer, once it lingers: what the discarding 'data' listener refreshes. */
const IDLE_TIMER = Symbol('linger idle timer');

const lingeringByServer = new WeakMap<Server, Lingering>();

/**
 * Answers a request Node's HTTP parser refused before any route saw it: a request line and headers
 * past `http.maxHeaderSize` (431), chunk extensions past Node's limit (413), bytes that are not HTTP
 * (400), a request not received in time (408). Given to Fastify as its `clientErrorHandler`.
 *
 * Fastify's default handler writes its answer without `Connection: close` and destroys the socket at
 * once. A keep-alive client (fetch, the CLI, a proxy) reads a complete answer that does not say the
 * connection ends, puts the connection back in its pool, and the next request it sends there fails
 * ("other side closed" or ECONNRESET) though nothing was wrong with it: 5 short requests in a stress
 * run of 4,000 431s and 10,000 short requests, 8 at a time; once in the API fuzz test in CI. So the
 * answer says `Connection: close`, and the connection lingers (lingerThenClose) rather than being
 * reset under a long request line still arriving. Nothing is logged, as Fastify's default logged
 * only at trace level: these are the client's mistakes, answered.
 */
export function answerClientError(error: ClientError, socket: ServerSocket): void {
  // A reset connection has nothing to answer. An ended one has been answered, or lingers: Node may
  // report more errors on it (a client ending in the middle of a refused body: HPE_INVALID_EOF_STATE).
  if (error.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  // An answer already being written on this connection (to a pipelined request before this one)
  // cannot be followed by ours without corrupting it: as Node's own handler does, only close.
  if (socket._httpMessage?._headerSent) {
    socket.destroy();
    return;
  }
  const [status, message] = describe(error);
  const body = JSON.stringify({ statusCode: status, message, error: STATUS_CODES[status] });
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const lingering = socket.server && lingeringByServer.get(socket.server);
  if (lingering && !lingering.closing) lingerThenClose(socket, lingering);
  else socket.destroy();
}

/**
 * Every response that closes its connection lingers too: Fastify's 413 for a body past the limit and
 * 400 for one it cannot parse, and a client's own `Connection: close`. Node ends such a socket and
 * destroys it as soon as the answer is flushed (`destroySoon`, which Node's HTTP server calls only
 * there), and a client still sending the body it was refused for gets EPIPE or ECONNRESET instead of
 * the 413 that names the limit: 596 of 6,000 2 MiB bodies in that stress run. So `destroySoon` is
 * replaced, once a connection. Not covered: what Node's parser takes before the answer is flushed
 * (a refused chunked body with a request pipelined right behind it in the same read) is parsed, as
 * without this module; from then on nothing is.
 *
 * While the server shuts down, connections close as Node closes them, and those lingering then are
 * destroyed (preClose): shutdown never waits on a client that trickles bytes.
 */
export function installLingeringClose(fastify: FastifyInstance, limits: LingerLimits = LINGER_LIMITS): void {
  const lingering: Lingering = { sockets: new Set(), closing: false, limits };
  lingeringByServer.set(fastify.server, lingering);
  fastify.server.on('connection', (socket: ServerSocket) => {
    const destroySoon = socket.destroySoon!;
    socket.destroySoon = () => (lingering.closing ? destroySoon.call(socket) : lingerThenClose(socket, lingering));
  });
  fastify.addHook('preClose', (done) => {
    lingering.closing = true;
    for (const socket of lingering.sockets) socket.destroy();
    done();
  });
}

/**
 * Ends our side after what has been written and reads on, discarding, as nginx's lingering close
 * does: bytes still unread when a socket is closed make the kernel send a reset, which can discard
 * our answer at the client before it is read. The socket is destroyed when the client ends its side,
 * or when LINGER_LIMITS run out, whichever is first.
 */
function lingerThenClose(socket: ServerSocket, lingering: Lingering): void {
  if (socket.destroyed) return;
  // A stalled event loop runs timers before the reads waiting behind them: look once more at what
  // was read before deciding the client went quiet.
  const idle = setTimeout(() => {
    const read = socket.bytesRead;
    setImmediate(() => (socket.bytesRead === read ? socket.destroy() : idle.refresh()));
  }, lingering.limits.idleMs).unref();
  const total = setTimeout(() => socket.destroy(), lingering.limits.totalMs).unref();
  socket[IDLE_TIMER] = idle;
  lingering.sockets.add(socket);
  socket.once('close', () => {
    clearTimeout(idle);
    clearTimeout(total);
    lingering.sockets.delete(socket);
  });
  // Once the client has ended its side, and what we wrote has gone out (a client that stopped
  // reading may end before our answer is flushed).
  socket.once('end', () => (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy())));
  offTheParser(socket);
  socket.end();
}

/**
 * Takes a socket off Node's HTTP parser: what arrives from then on is read and discarded, never
 * parsed, so a request pipelined behind a refused body is not handed to a route, and a failed parser
 * does not report its error for every chunk.
 */
function offTheParser(socket: ServerSocket): void {
  socket.removeAllListeners('data');
  // Node wraps `on` of an HTTP server's sockets: adding a 'data' listener also takes the socket's
  // reads back from the parser (unconsume), so the bytes come here.
  socket.on('data', () => socket[IDLE_TIMER]?.refresh());
  // The parser may have stopped reading (a body nobody read filled its buffer), and the stream still
  // believes a read is pending, so resume() alone would never read again: start the handle reading,
  // as Node's own onSocketResume does.
  if (socket._handle && !socket._handle.reading) {
    socket._handle.reading = true;
    socket._handle.readStart();
  }
  socket.resume();
}

function describe(error: ClientError): [number, string] {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, `the request line and headers are larger than the ${maxHeaderSize} bytes accepted`];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'the chunk extensions are larger than accepted'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'the request was not received in time'];
    default:
      return [400, `the request is not valid HTTP${error.reason ? `: ${error.reason}` : ''}`];
  }
}
