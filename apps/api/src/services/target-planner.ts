import type { TargetSelector } from '@fleettrace/contracts';
import { isHostOnline } from '../utils/host-online';

export interface PlannableHost {
  id: string;
  labels: Record<string, string>;
  lastHeartbeatAt: Date;
}

export type TargetPlan = { hostIds: string[] } | { error: string };

/**
 * Which hosts a job runs on. `all` and `labels` pick online hosts only: an offline host would just
 * miss its run. Naming hosts is explicit, so known-but-offline ones still get a run (it ends `missed`
 * if they do not come back in time), while unknown ids are a mistake worth rejecting.
 */
export function planTargets(selector: TargetSelector, hosts: readonly PlannableHost[], now: number): TargetPlan {
  if ('hostIds' in selector) {
    const known = new Set(hosts.map((h) => h.id));
    const wanted = [...new Set(selector.hostIds)];
    const unknown = wanted.filter((id) => !known.has(id));
    if (unknown.length > 0) return { error: `unknown host ids: ${unknown.join(', ')}` };
    return { hostIds: wanted };
  }
  const online = hosts.filter((h) => isHostOnline(h.lastHeartbeatAt, now));
  const chosen =
    'labels' in selector
      ? online.filter((h) => Object.entries(selector.labels).every(([name, value]) => h.labels[name] === value))
      : online;
  if (chosen.length === 0) return { error: 'targets match no online host' };
  return { hostIds: chosen.map((h) => h.id) };
}
