import { matchesSelector, type SelectableHost } from '@fleettrace/contracts';
import type { AuthContext } from '../services/auth.service';

/**
 * A token limited to a host selector lives in a fleet of only the hosts it matches (by their labels
 * now): it lists and targets no other, and a host outside it is "not found" rather than forbidden,
 * so the token learns nothing of the rest of the fleet.
 */
export function canSeeHost(auth: Pick<AuthContext, 'hostSelector'>, host: SelectableHost): boolean {
  return !auth.hostSelector || matchesSelector(auth.hostSelector.parsed, host);
}

export function hostsVisibleTo<H extends SelectableHost>(auth: Pick<AuthContext, 'hostSelector'>, hosts: readonly H[]): H[] {
  return auth.hostSelector ? hosts.filter((host) => canSeeHost(auth, host)) : [...hosts];
}
