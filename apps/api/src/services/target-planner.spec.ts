import { describe, expect, it } from 'vitest';
import { HOST_ONLINE_WINDOW_MS } from '@fleettrace/contracts';
import { planTargets, type PlannableHost } from './target-planner';

const now = 1_700_000_000_000;
const host = (id: string, labels: Record<string, string>, ageMs: number, extra: Partial<PlannableHost> = {}): PlannableHost => ({
  id,
  name: id,
  labels,
  kernelRelease: '6.1.0-13-amd64',
  arch: 'x64',
  lastHeartbeatAt: new Date(now - ageMs),
  ...extra,
});
const hosts = [
  host('web-1', { role: 'web', zone: 'a' }, 1000),
  host('web-2', { role: 'web', zone: 'b' }, 2000, { kernelRelease: '6.8.0-31-generic' }),
  host('db-1', { role: 'db', zone: 'a' }, 500, { name: 'primary' }),
  host('web-old', { role: 'web', zone: 'a' }, HOST_ONLINE_WINDOW_MS + 1),
];
const ids = (result: ReturnType<typeof planTargets<PlannableHost>>) => ('plan' in result ? result.plan.chosen.map((h) => h.id).sort() : result);

describe('planTargets', () => {
  it('no targets: every online host; offline ones are listed apart', () => {
    const result = planTargets({}, hosts, now);
    expect(ids(result)).toEqual(['db-1', 'web-1', 'web-2']);
    expect('plan' in result && result.plan.offline.map((h) => h.id)).toEqual(['web-old']);
  });

  it('a selector: online hosts it matches, by labels and kernel version', () => {
    expect(ids(planTargets({ selector: 'role=web,zone=a' }, hosts, now))).toEqual(['web-1']);
    expect(ids(planTargets({ selector: 'role=web,kernel>=6.5' }, hosts, now))).toEqual(['web-2']);
    expect(ids(planTargets({ selector: 'role in (web,db),!zone' }, hosts, now))).toEqual([]);
  });

  it('named hosts, by id or name, are kept even offline; duplicates count once', () => {
    expect(ids(planTargets({ hosts: ['web-old', 'primary', 'db-1'] }, hosts, now))).toEqual(['db-1', 'web-old']);
  });

  it('names every unknown host, and refuses a name two hosts share', () => {
    expect(planTargets({ hosts: ['a', 'db-1', 'b'] }, hosts, now)).toEqual({ error: 'targets.hosts: unknown hosts a, b' });
    const twins = [...hosts, host('web-3', {}, 0, { name: 'primary' })];
    expect(planTargets({ hosts: ['primary'] }, twins, now)).toEqual({ error: 'targets.hosts: name "primary" is shared by hosts db-1, web-3; name one by its id' });
  });

  it('a seeded sample then maxHosts: the same seed picks the same hosts, and says how many it left out', () => {
    const fleet = Array.from({ length: 40 }, (_, i) => host(`h-${i}`, { tier: 'web' }, 0));
    const a = planTargets({ selector: 'tier=web', sample: '25%', seed: 's1' }, fleet, now);
    const b = planTargets({ selector: 'tier=web', sample: '25%', seed: 's1' }, [...fleet].reverse(), now);
    expect(ids(a)).toHaveLength(10);
    expect(ids(a)).toEqual(ids(b));
    expect(ids(planTargets({ sample: '25%', seed: 's2' }, fleet, now))).not.toEqual(ids(a));
    const capped = planTargets({ sample: '25%', seed: 's1', maxHosts: 3 }, fleet, now);
    expect(ids(capped)).toHaveLength(3);
    expect('plan' in capped && capped.plan.sampledOut).toBe(37);
    expect(ids(a)).toEqual(expect.arrayContaining(ids(capped) as string[]));
  });
});
