import type { HostView } from '@fleettrace/contracts';
import type { HostRecord } from '../repositories/host.repository';
import { isHostOnline } from '../utils/host-online';

export function mapHost(host: HostRecord, now: number): HostView {
  const { registeredAt, lastHeartbeatAt, ...info } = host;
  return {
    ...info,
    online: isHostOnline(lastHeartbeatAt, now),
    lastHeartbeatAt: lastHeartbeatAt.toISOString(),
    registeredAt: registeredAt.toISOString(),
  };
}
