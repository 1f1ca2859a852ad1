import { matchesSelector, parseSelector, seededOrder, selectHosts, type SelectableHost, type TargetsV2 } from '@fleettrace/contracts';
import { isHostOnline } from '../utils/host-online';

export interface PlannableHost extends SelectableHost {
  lastHeartbeatAt: Date;
}

export interface TargetPlan<H extends PlannableHost> {
  /** Hosts that get a run, in the seeded order a rollout takes them in. */
  chosen: H[];
  /** Hosts the targets match that are offline, left out (named hosts are never left out: see planTargets). */
  offline: H[];
  /** Online matching hosts that `sample` or `maxHosts` left out. */
  sampledOut: number;
}

export type TargetPlanResult<H extends PlannableHost> = { plan: TargetPlan<H> } | { error: string };

/**
 * Which hosts a job runs on: the named `hosts` (by id or name) if any, else every host; narrowed by
 * the `selector`; online ones only, except that named hosts are kept offline (naming a host is
 * explicit: it may come back before the start deadline, else its run ends `missed`); then a seeded
 * `sample`, then `maxHosts`. Unknown or ambiguous names are a mistake worth rejecting.
 */
export function planTargets<H extends PlannableHost>(targets: TargetsV2, hosts: readonly H[], now: number): TargetPlanResult<H> {
  let candidates: H[];
  const named = targets.hosts !== undefined;
  if (targets.hosts) {
    const resolved = resolveNames(targets.hosts, hosts);
    if ('error' in resolved) return resolved;
    candidates = resolved.hosts;
  } else {
    candidates = [...hosts];
  }
  if (targets.selector !== undefined) {
    const selector = parseSelector(targets.selector);
    candidates = candidates.filter((host) => matchesSelector(selector, host));
  }
  const offline = named ? [] : candidates.filter((host) => !isHostOnline(host.lastHeartbeatAt, now));
  const eligible = named ? candidates : candidates.filter((host) => isHostOnline(host.lastHeartbeatAt, now));
  const kept = new Set(selectHosts(eligible.map((h) => h.id), { sample: targets.sample, seed: targets.seed, maxHosts: targets.maxHosts }));
  const byId = new Map(eligible.map((h) => [h.id, h]));
  const chosen = seededOrder([...kept], targets.seed).map((id) => byId.get(id)!);
  return { plan: { chosen, offline, sampledOut: eligible.length - chosen.length } };
}

/** Each name is a host id, else a host name that only one host has. */
function resolveNames<H extends PlannableHost>(names: readonly string[], hosts: readonly H[]): { hosts: H[] } | { error: string } {
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const byName = new Map<string, H[]>();
  for (const host of hosts) byName.set(host.name, [...(byName.get(host.name) ?? []), host]);
  const found = new Map<string, H>();
  const unknown: string[] = [];
  for (const name of names) {
    const host = byId.get(name) ?? (byName.get(name)?.length === 1 ? byName.get(name)![0] : undefined);
    if (host) found.set(host.id, host);
    else if ((byName.get(name)?.length ?? 0) > 1) {
      return { error: `targets.hosts: name "${name}" is shared by hosts ${byName.get(name)!.map((h) => h.id).join(', ')}; name one by its id` };
    } else unknown.push(name);
  }
  if (unknown.length > 0) return { error: `targets.hosts: unknown ${unknown.length === 1 ? 'host' : 'hosts'} ${unknown.join(', ')}` };
  return { hosts: [...found.values()] };
}
