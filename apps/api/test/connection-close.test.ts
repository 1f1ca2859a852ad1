import { maxHeaderSize } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@fleettrace/testing/wait';
import { ADMIN_TOKEN, startApi, type TestApi } from './support/api';

// Requests refused before or while their bytes arrive (a request line past Node's header limit, bytes
// that are not HTTP, a body past 1 MiB) are answered with `Connection: close`, and the API reads what
// the client still sends instead of resetting the connection under it: the client reads the answer,
// and never reuses the connection. Raw sockets, since fetch hides both (middleware/client-error.ts).
/** Lingers far longer than any test here takes, so a loaded machine cannot make the linger run out mid-test. */
let t: TestApi;
/** Lingers as the API does by default (LINGER_LIMITS). */
let defaults: TestApi;
/** The API's side of each connection, by the client's port. */
const accepted = new Map<number, Socket>();
/** Every request Node's parser handed on, by URL. */
const parsed: string[] = [];

beforeAll(async () => {
  t = await startApi('connection-close', { lingerLimits: { idleMs: 60_000, totalMs: 120_000 } });
  defaults = await startApi('connection-close-defaults');
  for (const server of [t.api.app.getHttpServer(), defaults.api.app.getHttpServer()]) {
    server.on('connection', (socket: Socket) => accepted.set(socket.remotePort!, socket));
    server.on('request', (request: { url: string }) => parsed.push(request.url));
  }
});

afterAll(async () => {
  await t?.close();
  await defaults?.close();
});

interface Exchange {
  socket: Socket;
  /** The API's side (its 'connection' event and our connect callback come in either order). */
  ours(): Promise<Socket>;
  /** Everything the API sent, once it has ended its side. */
  answer: Promise<string>;
  /** Resolves when the connection is closed, with the error the client saw, if any. */
  closed: Promise<string | undefined>;
}

/** A connection that stays open for writing after the API ends its side, so the client can go on sending. */
function open(api: TestApi = t): Promise<Exchange> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true }, () => {
      const chunks: Buffer[] = [];
      let error: string | undefined;
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
      const answer = new Promise<string>((done) => socket.once('end', () => done(Buffer.concat(chunks).toString('latin1'))));
      const closed = new Promise<string | undefined>((done) => socket.once('close', () => done(error)));
      const port = socket.localPort!;
      resolve({ socket, ours: () => waitFor('the API to accept the connection', async () => accepted.get(port)), answer, closed });
    });
    socket.once('error', reject);
  });
}

/** Writes `total` bytes of `byte` in 64 KiB pieces, each after the last was taken, as a client still uploading would. */
async function writeMore(socket: Socket, total: number, byte = 0x61): Promise<void> {
  const piece = Buffer.alloc(64 * 1024, byte);
  for (let sent = 0; sent < total; sent += piece.length) {
    await new Promise<void>((done, fail) => socket.write(piece.subarray(0, Math.min(piece.length, total - sent)), (e) => (e ? fail(e) : done())));
  }
}

/**
 * Once the client has ended: the API read every byte the client sent and closed because the client
 * ended its side, not because its linger ran out.
 */
async function readToTheEnd(c: Exchange, sent: number): Promise<void> {
  expect(await c.closed).toBeUndefined();
  const ours = await c.ours();
  await waitFor('the API to close its side', async () => ours.destroyed);
  expect({ read: ours.bytesRead, clientEnded: ours.readableEnded }).toEqual({ read: sent, clientEnded: true });
}

function parse(answer: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head, body] = answer.split('\r\n\r\n');
  const [statusLine, ...lines] = head!.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body!) };
}

describe('a connection the API closes is read to its end, never reset under the client', () => {
  it('a request line past the header limit: 431 naming the limit, Connection: close, the rest of the line read', async () => {
    const c = await open();
    const line = `GET /v1/jobs?bogus=${'a'.repeat(maxHeaderSize)}`;
    c.socket.write(line);
    const answer = parse(await c.answer);
    expect(answer).toMatchObject({
      status: 431,
      headers: { connection: 'close', 'content-type': 'application/json; charset=utf-8' },
      body: { statusCode: 431, error: 'Request Header Fields Too Large', message: `the request line and headers are larger than the ${maxHeaderSize} bytes accepted` },
    });
    // The client is still sending its request line after the answer: the API takes it and waits.
    await writeMore(c.socket, 4 * maxHeaderSize);
    const tail = ` HTTP/1.1\r\nhost: x\r\n\r\n`;
    c.socket.end(tail);
    await readToTheEnd(c, line.length + 4 * maxHeaderSize + tail.length);
  });

  it('bytes that are not HTTP: 400 saying why, Connection: close', async () => {
    const c = await open();
    const garbage = 'HELLO THERE\r\n\r\n';
    c.socket.write(garbage);
    expect(parse(await c.answer)).toMatchObject({
      status: 400,
      headers: { connection: 'close' },
      body: { statusCode: 400, error: 'Bad Request', message: 'the request is not valid HTTP: Invalid method encountered' },
    });
    c.socket.end();
    await readToTheEnd(c, garbage.length);
  });

  it('a body past 1 MiB: the 413 is read while the body is still being sent, and the body is taken to its end', async () => {
    const c = await open();
    const size = 2 * 1024 * 1024;
    const head = `POST /v1/jobs?refused HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`;
    c.socket.write(head);
    await writeMore(c.socket, 64 * 1024);
    expect(parse(await c.answer)).toMatchObject({ status: 413, headers: { connection: 'close' }, body: { statusCode: 413, message: 'Request body is too large' } });
    await writeMore(c.socket, size - 64 * 1024);
    // A request pipelined after the refused one is read and discarded, never handed to a route.
    const pipelined = `GET /v1/hosts?pipelined HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`;
    c.socket.end(pipelined);
    await readToTheEnd(c, head.length + size + pipelined.length);
    expect(parsed).toContain('/v1/jobs?refused');
    expect(parsed).not.toContain('/v1/hosts?pipelined');
  });

  it('a client that never closes is dropped once the linger runs out (LINGER_LIMITS.idleMs)', async () => {
    const c = await open(defaults);
    c.socket.write(`GET /v1/jobs?bogus=${'a'.repeat(maxHeaderSize)}`);
    expect(parse(await c.answer).status).toBe(431);
    // The client neither sends more nor closes: the API lets go of the connection anyway.
    const ours = await c.ours();
    await waitFor('the API to drop the lingering connection', async () => ours.destroyed);
    expect(ours.readableEnded).toBe(false);
    c.socket.destroy();
  });

  it('shutdown does not wait for a lingering connection', async () => {
    // An API of its own, closed here, lingering for up to 10 minutes: without the preClose hook that
    // drops lingering connections, its server.close() would wait that long, past this test's limit.
    const own = await startApi('connection-close-shutdown', { lingerLimits: { idleMs: 60_000, totalMs: 600_000 } });
    let c: Exchange | undefined;
    try {
      c = await open(own);
      c.socket.write(`GET /v1/jobs?bogus=${'a'.repeat(maxHeaderSize)}`);
      expect(parse(await c.answer).status).toBe(431);
    } finally {
      // The close under test, with the client still connected.
      await own.close();
      c?.socket.destroy();
    }
  }, 60_000);
});
