import { describe, expect, it } from 'vitest';
import { CAPABILITIES_RESEND_MS, type HostInfo, type ResultMessage } from '@fleettrace/contracts';
import { Heartbeat } from './heartbeat';

const capabilities = { kernelRelease: '6.18' } as unknown as NonNullable<HostInfo['capabilities']>;
const host: HostInfo = {
  id: 'h1',
  name: 'h1',
  labels: {},
  kernelRelease: '6.18',
  arch: 'x64',
  btf: true,
  daemonVersion: '0.1.0',
  cgroup: null,
  tools: { clang: true, bpftrace: true },
  capabilities,
};

describe('Heartbeat', () => {
  it('sends the capability report with the first beat and then only every CAPABILITIES_RESEND_MS', async () => {
    const sent: ResultMessage[] = [];
    let now = 1_000;
    const heartbeat = new Heartbeat({ publish: async (m) => void sent.push(m) }, host, () => {}, () => now);
    await heartbeat.beat();
    now += 3_000;
    await heartbeat.beat();
    now += CAPABILITIES_RESEND_MS;
    await heartbeat.beat();
    const carried = sent.map((m) => m.type === 'host' && m.host.capabilities !== undefined);
    expect(carried).toEqual([true, false, true]);
    expect(sent.every((m) => m.type === 'host' && m.host.id === 'h1')).toBe(true);
  });
});
