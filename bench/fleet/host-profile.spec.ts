import { describe, expect, it } from 'vitest';
import { CapabilityReport, matchesSelector, parseSelector } from '@fleettrace/contracts';
import { simulatedHost } from './host-profile';

const fleet = Array.from({ length: 60 }, (_, i) => simulatedHost('n60', i, new Date(0)));
const selected = (selector: string) => fleet.filter((host) => matchesSelector(parseSelector(selector), host)).length;

describe('simulated hosts', () => {
  it('have ids of their own', () => {
    expect(new Set(fleet.map((h) => h.id)).size).toBe(60);
    expect(fleet[0]!.id).toBe('sim-n60-0001');
  });

  it('differ in labels, kernel and arch, so selectors pick parts of the fleet', () => {
    expect(selected('fleet=n60')).toBe(60);
    expect(selected('fleet=n10')).toBe(0);
    expect(selected('tier=web')).toBe(20);
    expect(selected('tier in (db,cache),zone=a')).toBe(10);
    expect(selected('kernel>=6.1')).toBe(45);
    expect(selected('kernel<6.1')).toBe(15);
    expect(selected('arch=arm64')).toBe(12);
  });

  it('send a capability report as large as a real one, judged by the daemon\'s own rule', () => {
    const old = fleet[0]!.capabilities!;
    expect(CapabilityReport.parse(old)).toEqual(old);
    expect(JSON.stringify(old).length).toBeGreaterThan(4000);
    expect(old.kernelRelease).toBe(fleet[0]!.kernelRelease);
    expect(old.programs!.execsnoop).toEqual({ supported: true });
    expect(old.programs!.biolatency).toEqual({ supported: false, reason: 'has kernel 5.15.0-91-generic < 6.5 required' });
  });
});
