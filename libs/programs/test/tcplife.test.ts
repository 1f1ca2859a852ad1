import { createServer, type Server } from 'node:net';
import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordDecoder } from '../src/decode';
import { TCPLIFE_EVENT, tcplife } from '../src/tcplife/tcplife';
import { buildPrograms } from './support/build';
import { collectEvents, createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let server: Server;
let port: number;
/** What the test's server sends each client before waiting for the client to close. */
const REPLY_BYTES = 3000;

beforeAll(async () => {
  buildPrograms();
  scope = createScope('tcplife');
  // The test's own server, outside the scope: replies, then closes once the client has.
  server = createServer((socket) => {
    socket.on('error', () => {});
    socket.resume();
    socket.write(Buffer.alloc(REPLY_BYTES, 0x79));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  scope?.remove();
  await new Promise((resolve) => server?.close(resolve));
});

/** A node client (comm "node"): connects, sends `bytes`, holds the connection `holdMs`, closes first. */
const CLIENT = `
const [port, bytes, holdMs] = process.argv.slice(1).map(Number);
const s = require('net').connect(port, '127.0.0.1', () => {
  s.write(Buffer.alloc(bytes, 0x78));
  setTimeout(() => s.end(), holdMs);
});
s.resume();
s.on('close', () => process.exit(0));
s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
const clientArgs = (bytes: number, holdMs: number): string[] => ['-e', CLIENT, String(port), String(bytes), String(holdMs)];

function trace(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, tcplife, params, scope.filter, async () => {
    await workload();
    // The server's half closes after the client has gone; give it a moment to reach CLOSE.
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
}

describe('tcplife in the kernel', () => {
  it("reports a session from the scope with its lifespan and bytes, charged to the connecting task", async () => {
    const sent = 100_000;
    const events = await trace({}, () => scope.runInside(process.execPath, clientArgs(sent, 200)));

    // The client's session only: the server's end of it belongs to the test process, outside the scope.
    expect(events).toHaveLength(1);
    const [session] = events;
    expect(session).toMatchObject({
      family: 2,
      saddr: '127.0.0.1',
      daddr: '127.0.0.1',
      dport: port,
      comm: 'node',
      uid: process.getuid!(),
      pid_from_close: 0,
    });
    expect(session.sport).toBeGreaterThan(0);
    // Held 200 ms after connecting; the handshake and the close add little on loopback.
    const durationMs = (session.duration_us as number) / 1000;
    expect(durationMs).toBeGreaterThanOrEqual(200);
    expect(durationMs).toBeLessThan(400);
    // bytes_acked counts the sequence numbers of the SYN and the FIN too.
    expect(session.tx_bytes).toBeGreaterThanOrEqual(sent);
    expect(session.tx_bytes).toBeLessThanOrEqual(sent + 2);
    expect(session.rx_bytes).toBeGreaterThanOrEqual(REPLY_BYTES);
  });

  it('reports nothing for sessions of tasks outside the scope', async () => {
    const events = await trace({}, () => scope.runOutside(process.execPath, clientArgs(1000, 20)));
    expect(events).toEqual([]);
  });

  it('traces both ends of a session without a scope, the server end charged to the task that closed it', async () => {
    const decode = createRecordDecoder(TCPLIFE_EVENT);
    const events: EventRecord[] = [];
    const obj = track(loadProgram(tcplife, {}, { cgroupId: null }));
    try {
      obj.ringBuffer('events', (batch) => batch.forEach((buf, offset) => events.push(decode(buf, offset))));
      obj.attachAll();
      await scope.runOutside(process.execPath, clientArgs(5000, 50));
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await obj.close();
    }
    const client = events.filter((e) => e.dport === port);
    const serverEnd = events.filter((e) => e.sport === port);
    expect(client).toEqual([expect.objectContaining({ comm: 'node', pid_from_close: 0 })]);
    expect(client[0].pid).not.toBe(process.pid);
    // The server end was born in softirq and closed by this process's shutdown (LAST_ACK).
    expect(serverEnd).toEqual([expect.objectContaining({ pid: process.pid, pid_from_close: 0, oldstate: 'LAST_ACK' })]);
    expect(serverEnd[0].rx_bytes).toBeGreaterThanOrEqual(5000);
  });

  it('reports only the remote port asked for', async () => {
    const events = await trace({ dport: port + 1 === 65536 ? 1 : port + 1 }, () => scope.runInside(process.execPath, clientArgs(10, 0)));
    expect(events).toEqual([]);
  });

  it('drops sessions shorter than minDurationMs', async () => {
    const events = await trace({ minDurationMs: 150 }, async () => {
      await scope.runInside(process.execPath, clientArgs(10, 0));
      await scope.runInside(process.execPath, clientArgs(10, 250));
    });
    expect(events).toHaveLength(1);
    expect(events[0].duration_us).toBeGreaterThanOrEqual(250_000);
  });
});
