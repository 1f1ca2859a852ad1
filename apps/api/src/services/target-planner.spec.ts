import { describe, expect, it } from 'vitest';
import { HOST_ONLINE_WINDOW_MS } from '@fleettrace/contracts';
import { planTargets, type PlannableHost } from './target-planner';

const now = 1_700_000_000_000;
const host = (id: string, labels: Record<string, string>, ageMs: number): PlannableHost => ({
  id,
  labels,
  lastHeartbeatAt: new Date(now - ageMs),
});
const hosts = [
  host('web-1', { role: 'web', zone: 'a' }, 1000),
  host('web-2', { role: 'web', zone: 'b' }, 2000),
  host('db-1', { role: 'db', zone: 'a' }, 500),
  host('web-old', { role: 'web', zone: 'a' }, HOST_ONLINE_WINDOW_MS + 1),
];

describe('planTargets', () => {
  it('all: every online host', () => {
    expect(planTargets({ all: true }, hosts, now)).toEqual({ hostIds: ['web-1', 'web-2', 'db-1'] });
  });

  it('labels: online hosts carrying every given label', () => {
    expect(planTargets({ labels: { role: 'web', zone: 'a' } }, hosts, now)).toEqual({ hostIds: ['web-1'] });
    expect(planTargets({ labels: {} }, hosts, now)).toEqual({ hostIds: ['web-1', 'web-2', 'db-1'] });
  });

  it('no online host matching is an error', () => {
    expect(planTargets({ labels: { role: 'cache' } }, hosts, now)).toEqual({ error: 'targets match no online host' });
    expect(planTargets({ all: true }, [hosts[3]], now)).toEqual({ error: 'targets match no online host' });
  });

  it('hostIds: known hosts, offline ones included, duplicates once', () => {
    expect(planTargets({ hostIds: ['web-old', 'db-1', 'db-1'] }, hosts, now)).toEqual({ hostIds: ['web-old', 'db-1'] });
  });

  it('hostIds: names every unknown id', () => {
    expect(planTargets({ hostIds: ['a', 'db-1', 'b'] }, hosts, now)).toEqual({ error: 'unknown host ids: a, b' });
  });
});
