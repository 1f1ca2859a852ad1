import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsFromEntries } from '../src/aggregate';
import type { CountsOutputSpec } from '../src/manifest';
import { IP_PROTOCOL, XDPCOUNT_KEY, XDPCOUNT_L3, xdpcount } from '../src/xdpcount/xdpcount';
import { attachAsPlanned } from './support/attach-plan';
import { ObjectBtf } from './support/btf';
import { buildPrograms } from './support/build';
import { loadProgram, trackKernelObjects } from './support/kernel';

const track = trackKernelObjects();

// A veth pair: HOST_IF in this namespace (where the program attaches, by name), its peer in a
// namespace of the test's own, on a private /30 picked from the pid so parallel runs do not clash.
const tag = process.pid % 10000;
const NS = `ft-xdp-${process.pid}`;
const HOST_IF = `ftxdp${tag}a`;
const PEER_IF = `ftxdp${tag}b`;
const SUBNET = `10.252.${process.pid % 250}`;
const HOST_IP = `${SUBNET}.1`;
const PEER_IP = `${SUBNET}.2`;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function removeNetwork(): void {
  // Deleting either end deletes the pair; deleting the namespace would too, but the host end first makes sure.
  try {
    ip('link', 'del', HOST_IF);
  } catch {}
  try {
    ip('netns', 'del', NS);
  } catch {}
}

beforeAll(() => {
  buildPrograms();
  removeNetwork();
  ip('netns', 'add', NS);
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('-n', NS, 'addr', 'add', `${PEER_IP}/30`, 'dev', PEER_IF);
  ip('-n', NS, 'link', 'set', PEER_IF, 'up');
  ip('-n', NS, 'link', 'set', 'lo', 'up');
}, 120_000);

afterAll(() => {
  removeNetwork();
  expect(ip('link', 'show').includes(HOST_IF), 'veth left behind').toBe(false);
  expect(ip('netns', 'list').includes(NS), 'netns left behind').toBe(false);
});

/** Pings the peer `count` times; returns how many replies came back. */
function ping(count: number): number {
  const out = execFileSync('ping', ['-n', '-q', '-c', String(count), '-i', '0.02', '-W', '2', PEER_IP], { encoding: 'utf8' });
  return Number(/(\d+) (packets )?received/.exec(out)![1]);
}

describe('xdpcount in the kernel', () => {
  it('has a key layout matching the compiled struct', () => {
    const btf = new ObjectBtf(xdpcount.objectPath).struct('xdpcount_key');
    expect(XDPCOUNT_KEY.size).toBe(btf.size);
    expect(XDPCOUNT_KEY.fields.map((f) => [f.name, f.offset])).toEqual(btf.members.map((m) => [m.name, m.offset]).slice(0, 2));
  });

  it('counts the ICMP replies arriving on a veth by protocol, and passes every packet on', async () => {
    const pings = 20;
    const params = { interface: HOST_IF };
    const [packetsSpec, bytesSpec] = xdpcount.outputs as CountsOutputSpec[];
    const obj = track(loadProgram(xdpcount, params, { cgroupId: null }));
    try {
      expect(attachAsPlanned(obj, xdpcount, params).map((l) => l.kind)).toEqual(['xdp']);
      // Every reply gets through: the program passes what it counts.
      expect(ping(pings)).toBe(pings);
      const packets = countsFromEntries(packetsSpec, obj.map(packetsSpec.map).entries());
      const bytes = countsFromEntries(bytesSpec, obj.map(bytesSpec.map).entries());
      const icmp = { l3: XDPCOUNT_L3.ipv4, l4: IP_PROTOCOL.icmp };
      const find = (entries: typeof packets.entries) => entries.find((e) => e.key.l3 === icmp.l3 && e.key.l4 === icmp.l4)?.value ?? 0;
      // Echo replies come in on HOST_IF (the requests leave by it, which XDP does not see).
      expect(find(packets.entries)).toBeGreaterThanOrEqual(pings);
      // An echo reply of ping's default 56 data bytes is 98 bytes on the wire from the Ethernet header.
      expect(find(bytes.entries)).toBeGreaterThanOrEqual(pings * 98);
      expect(find(bytes.entries) % 98).toBe(0);
    } finally {
      await obj.close();
    }
    // Detached: the interface carries no XDP program any more.
    expect(ip('link', 'show', HOST_IF)).not.toMatch(/prog\/xdp/);
  }, 30_000);
});
