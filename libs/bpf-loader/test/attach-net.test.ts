import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedObject, NotFoundError, openObject } from '../src/index';
import { fixturePath } from '../src/testing/index';
import { CYCLES, expectNoLeaksOver } from './support/cycles';
import { trackKernelObjects } from './support/kernel-leaks';
import { createVethPair, type VethPair } from './support/veth';

const kernel = trackKernelObjects();
const PINGS = 10;
// Ethernet + IPv4 + ICMP header + ping's default 56 bytes of payload.
const ECHO_FRAME_BYTES = 14 + 20 + 8 + 56;
const COUNTERS = ['xdpEcho', 'xdpReply', 'tcInEcho', 'tcInReply', 'tcOutEcho', 'tcOutReply', 'xdpBytes'] as const;

let veth: VethPair;
let obj: LoadedObject | undefined;
beforeAll(() => {
  veth = createVethPair('n');
});
afterAll(() => veth?.destroy());
afterEach(async () => {
  await obj?.close();
  obj = undefined;
});

function load(): LoadedObject {
  obj = openObject(fixturePath('attach_net')).load();
  kernel.track(obj);
  return obj;
}

function counters(o: LoadedObject): Record<(typeof COUNTERS)[number], number> {
  const raw = o.readGlobal('counters');
  return Object.fromEntries(COUNTERS.map((name, i) => [name, Number(raw.readBigUInt64LE(i * 8))])) as never;
}

describe('XDP', () => {
  it('counts the packets arriving on an interface; they pass unmodified', () => {
    const o = load();
    const link = o.attachXdp('ft_xdp_count', { interface: veth.host });
    expect(link.id).toBeGreaterThan(0);
    expect(veth.ping(PINGS)).toBe(PINGS);
    const c = counters(o);
    // Ingress on our end: the peer's replies (our requests leave through it, unseen by XDP).
    expect(c.xdpReply).toBe(PINGS);
    expect(c.xdpEcho).toBe(0);
    expect(c.xdpBytes).toBe(PINGS * ECHO_FRAME_BYTES);
    link.close();
    expect(veth.ping(2)).toBe(2);
    expect(counters(o).xdpReply).toBe(PINGS);
  });

  it('names a missing interface', () => {
    const o = load();
    expect(() => o.attachXdp('ft_xdp_count', { interface: 'ft-no-such-if' })).toThrow(NotFoundError);
    expect(() => o.attachXdp('ft_xdp_count', { interface: '../etc' })).toThrow(TypeError);
  });

  it(`leaves nothing after ${CYCLES} load/attach/close cycles`, async () => {
    const spec = openObject(fixturePath('attach_net'));
    await expectNoLeaksOver(CYCLES, () => {
      const o = spec.load({ programs: ['ft_xdp_count'] });
      return { obj: o, link: o.attachXdp('ft_xdp_count', { interface: veth.host }) };
    });
    expect(veth.ping(2)).toBe(2);
  }, 60_000);
});

describe('tc', () => {
  for (const mechanism of ['auto', 'netlink'] as const) {
    it(`counts ingress and egress packets (${mechanism}); they pass unmodified`, () => {
      const o = load();
      const ingress = o.attachTc('ft_tc_ingress', { interface: veth.host, direction: 'ingress', mechanism });
      const egress = o.attachTc('ft_tc_egress', { interface: veth.host, direction: 'egress', mechanism });
      // auto takes a tcx BPF link on this kernel (6.6+); netlink filters are not BPF links.
      expect(ingress.ids.length).toBe(mechanism === 'auto' ? 1 : 0);
      expect(veth.tc('qdisc').includes('clsact')).toBe(mechanism === 'netlink');
      expect(veth.ping(PINGS)).toBe(PINGS);
      const c = counters(o);
      expect([c.tcInReply, c.tcInEcho, c.tcOutEcho, c.tcOutReply]).toEqual([PINGS, 0, PINGS, 0]);
      ingress.close();
      egress.close();
      expect(veth.ping(2)).toBe(2);
      expect(counters(o).tcOutEcho).toBe(PINGS);
    });
  }

  it('netlink: removes its filters, and the clsact qdisc it created', () => {
    const o = load();
    const ingress = o.attachTc('ft_tc_ingress', { interface: veth.host, direction: 'ingress', mechanism: 'netlink' });
    const egress = o.attachTc('ft_tc_egress', { interface: veth.host, direction: 'egress', mechanism: 'netlink' });
    expect(veth.tc('qdisc')).toContain('clsact');
    expect(veth.tc('filter', 'ingress')).toContain('ft_tc_ingress');
    ingress.close();
    // The egress filter still needs the qdisc.
    expect(veth.tc('qdisc')).toContain('clsact');
    expect(veth.tc('filter', 'ingress')).toBe('');
    egress.close();
    expect(veth.tc('qdisc')).not.toContain('clsact');
  });

  it("netlink: leaves a clsact qdisc it did not create, removing only its own filter", () => {
    execFileSync('tc', ['qdisc', 'add', 'dev', veth.host, 'clsact']);
    try {
      const o = load();
      o.attachTc('ft_tc_ingress', { interface: veth.host, direction: 'ingress', mechanism: 'netlink' }).close();
      expect(veth.tc('qdisc')).toContain('clsact');
      expect(veth.tc('filter', 'ingress')).toBe('');
    } finally {
      execFileSync('tc', ['qdisc', 'del', 'dev', veth.host, 'clsact']);
    }
  });

  it('LoadedObject.close() detaches netlink filters too', async () => {
    const o = load();
    o.attachTc('ft_tc_ingress', { interface: veth.host, direction: 'ingress', mechanism: 'netlink' });
    await o.close();
    expect(veth.tc('qdisc')).not.toContain('clsact');
  });

  for (const mechanism of ['auto', 'netlink'] as const) {
    it(`leaves nothing after ${CYCLES} load/attach/close cycles (${mechanism})`, async () => {
      const spec = openObject(fixturePath('attach_net'));
      await expectNoLeaksOver(CYCLES, () => {
        const o = spec.load({ programs: ['ft_tc_ingress'] });
        return { obj: o, link: o.attachTc('ft_tc_ingress', { interface: veth.host, direction: 'ingress', mechanism }) };
      });
      expect(veth.tc('qdisc')).not.toContain('clsact');
      expect(veth.ping(2)).toBe(2);
    }, 60_000);
  }
});
