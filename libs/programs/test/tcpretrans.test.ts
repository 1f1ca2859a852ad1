import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { EventRecord } from '@fleettrace/contracts';
import { cgroupId } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilterContext } from '../src/manifest';
import { tcpretrans } from '../src/tcpretrans/tcpretrans';
import { buildPrograms } from './support/build';
import { collectEvents, createScope, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;

// Two namespaces joined by a veth pair on a private /30 that exists only inside them. The
// receiver's namespace drops a fifth of incoming TCP packets (netem is not built here; nf_tables is).
const SENDER_NS = `ft-retx-s-${process.pid}`;
const RECEIVER_NS = `ft-retx-r-${process.pid}`;
const SENDER_IP = '10.213.77.1';
const RECEIVER_IP = '10.213.77.2';
const DROP_RULES = `table inet ft_retx {
  chain in {
    type filter hook input priority 0;
    meta l4proto tcp numgen random mod 5 == 0 drop
  }
}
`;
let receiver: ChildProcess | undefined;
let receiverPort: number;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function deleteNamespaces(): void {
  // Deleting a namespace deletes its end of the veth pair (and so the pair) and its nft tables.
  for (const ns of [SENDER_NS, RECEIVER_NS]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // never created
    }
  }
}

/** A receiver in its namespace: reads everything, closes when the sender has; resolves to its port. */
function startReceiver(): Promise<number> {
  const script = `const srv = require('net').createServer((s) => { s.on('error', () => {}); s.resume(); s.on('end', () => s.end()); });
srv.listen(0, process.argv[1], () => console.log(srv.address().port));`;
  receiver = spawn('ip', ['netns', 'exec', RECEIVER_NS, process.execPath, '-e', script, RECEIVER_IP], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    receiver!.once('error', reject);
    receiver!.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
    receiver!.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
}

beforeAll(async () => {
  buildPrograms();
  scope = createScope('tcpretrans');
  execFileSync('nft', ['--version'], { stdio: 'ignore' }); // fails clearly when nftables is missing
  deleteNamespaces();
  ip('netns', 'add', SENDER_NS);
  ip('netns', 'add', RECEIVER_NS);
  ip('link', 'add', 'ftretx0', 'netns', SENDER_NS, 'type', 'veth', 'peer', 'name', 'ftretx1', 'netns', RECEIVER_NS);
  ip('-n', SENDER_NS, 'addr', 'add', `${SENDER_IP}/30`, 'dev', 'ftretx0');
  ip('-n', RECEIVER_NS, 'addr', 'add', `${RECEIVER_IP}/30`, 'dev', 'ftretx1');
  ip('-n', SENDER_NS, 'link', 'set', 'ftretx0', 'up');
  ip('-n', RECEIVER_NS, 'link', 'set', 'ftretx1', 'up');
  execFileSync('ip', ['netns', 'exec', RECEIVER_NS, 'nft', '-f', '-'], { input: DROP_RULES });
  receiverPort = await startReceiver();
}, 120_000);

afterAll(async () => {
  if (receiver && receiver.exitCode === null) {
    const exited = new Promise((resolve) => receiver!.once('exit', resolve));
    receiver.kill();
    await exited;
  }
  deleteNamespaces();
  scope?.remove();
});

/** Sends `bytes` from the sender namespace to the receiver and waits for the close. */
const SENDER = `const [host, port, bytes] = process.argv.slice(1);
const s = require('net').connect(+port, host, () => s.end(Buffer.alloc(+bytes, 0x61)));
s.resume();
s.on('close', () => process.exit(0));
s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
const TRANSFER_BYTES = 2 * 1024 * 1024;
const senderArgs = (): string[] => ['netns', 'exec', SENDER_NS, process.execPath, '-e', SENDER, RECEIVER_IP, String(receiverPort), String(TRANSFER_BYTES)];

function trace(params: unknown, filter: FilterContext, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, tcpretrans, params, filter, workload);
}

describe('tcpretrans in the kernel', () => {
  it('sees the retransmissions of a lossy transfer, on the whole host, with the socket cgroup', async () => {
    const events = await trace({ port: receiverPort }, { cgroupId: null }, () => scope.runOutside('ip', senderArgs()));
    const sent = events.filter((e) => e.sport !== receiverPort);
    expect(sent.length).toBeGreaterThan(0);
    for (const e of sent) {
      expect(e).toMatchObject({ family: 2, saddr: SENDER_IP, daddr: RECEIVER_IP, dport: receiverPort, cgroup_id: Number(cgroupId(scope.outside)) });
      expect(e.state).toEqual(expect.any(String));
    }
    expect(Math.max(...sent.map((e) => e.total_retrans as number))).toBeGreaterThan(0);
  }, 60_000);

  it("scopes by the socket's cgroup: a sender in the scope is seen, one outside it is not", async () => {
    const events = await trace({}, scope.filter, async () => {
      await scope.runInside('ip', senderArgs());
      await scope.runOutside('ip', senderArgs());
    });
    expect(events.length).toBeGreaterThan(0);
    const inside = Number(cgroupId(scope.inside));
    // The receiver (outside the scope) may retransmit too, a FIN whose ACK was dropped: not seen either.
    for (const e of events) expect(e).toMatchObject({ cgroup_id: inside, saddr: SENDER_IP, dport: receiverPort });
  }, 60_000);

  it('refuses pid and comm filters, which have no meaning in softirq', () => {
    const result = tcpretrans.params.safeParse({ pid: 1 });
    expect(result.success ? undefined : result.error.issues[0].message).toMatch(/^tcpretrans cannot filter by pid: retransmissions run in softirq/);
    expect(tcpretrans.params.safeParse({ comm: 'x' }).success).toBe(false);
  });
});
