import { createServer, type Server } from 'node:net';
import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpconnect } from '../src/tcpconnect/tcpconnect';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
const servers: Server[] = [];

beforeAll(() => {
  buildPrograms();
  scope = createScope('tcpconnect');
}, 120_000);

afterAll(async () => {
  scope?.remove();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A listener of the test's own on `host`, accepting and dropping connections; resolves to its port. */
async function listen(host: string): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('listener has no port');
  return address.port;
}

/** A node process (comm "node") that connects to host:port, then closes. */
const CONNECT = `const s = require('net').connect(+process.argv[1], process.argv[2], () => s.end()); s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
const connectArgs = (host: string, port: number): string[] => ['-e', CONNECT, String(port), host];

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, tcpconnect, params, scope.filter, workload);
}

describe('tcpconnect in the kernel', () => {
  it('reports an IPv4 connect from the cgroup scope with its address and port, and none from outside', async () => {
    const insidePort = await listen('127.0.0.1');
    const outsidePort = await listen('127.0.0.1');
    const events = await snoop({}, async () => {
      await scope.runInside(process.execPath, connectArgs('127.0.0.1', insidePort));
      await scope.runOutside(process.execPath, connectArgs('127.0.0.1', outsidePort));
    });

    const seen = events.filter((e) => e.dport === insidePort);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ family: 2, daddr: '127.0.0.1', saddr: '127.0.0.1', comm: 'node', uid: process.getuid!() });
    expect(seen[0].pid).toBeGreaterThan(0);
    expect(seen[0].time_ns).toBeGreaterThan(0);
    expect(events.filter((e) => e.dport === outsidePort)).toEqual([]);
  });

  it('reports IPv6 connects with their addresses', async () => {
    const port = await listen('::1');
    const events = await snoop({}, () => scope.runInside(process.execPath, connectArgs('::1', port)));
    expect(events.filter((e) => e.dport === port)).toEqual([expect.objectContaining({ family: 10, daddr: '::1', saddr: '::1', comm: 'node' })]);
  });

  it('reports only the remote port asked for', async () => {
    const wanted = await listen('127.0.0.1');
    const other = await listen('127.0.0.1');
    const events = await snoop({ dport: wanted }, async () => {
      await scope.runInside(process.execPath, connectArgs('127.0.0.1', other));
      await scope.runInside(process.execPath, connectArgs('127.0.0.1', wanted));
    });
    expect(events.map((e) => e.dport)).toEqual([wanted]);
  });

  it('reports only the comm asked for', async () => {
    const port = await listen('127.0.0.1');
    const events = await snoop({ comm: 'no-such-comm' }, () => scope.runInside(process.execPath, connectArgs('127.0.0.1', port)));
    expect(events).toEqual([]);
  });
});
