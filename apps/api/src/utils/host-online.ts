import { HOST_ONLINE_WINDOW_MS } from '@fleettrace/contracts';

/** A host is online while its last heartbeat is recent; the one rule both target planning and views use. */
export function isHostOnline(lastHeartbeatAt: Date, now: number): boolean {
  return now - lastHeartbeatAt.getTime() < HOST_ONLINE_WINDOW_MS;
}
