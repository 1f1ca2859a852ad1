import type { Redis } from 'ioredis';
import { SshHostEntry, sshHostsKey } from '@fleettrace/contracts';

/** The SSH hosts the API wants reached, as it keeps them in Redis (ssh-host-registry.repository.ts). */
export class SshHostDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: (line: string) => void,
  ) {}

  async read(): Promise<Map<string, SshHostEntry>> {
    const raw = await this.redis.hgetall(sshHostsKey(this.prefix));
    const entries = new Map<string, SshHostEntry>();
    for (const [id, json] of Object.entries(raw)) {
      try {
        entries.set(id, SshHostEntry.parse(JSON.parse(json)));
      } catch (error) {
        this.log(`ignoring the malformed SSH host entry ${id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return entries;
  }
}

/** Whether an agent can go on with the new entry, or must reconnect: where and as whom, and the key. */
export function sameConnection(a: SshHostEntry, b: SshHostEntry): boolean {
  return a.host === b.host && a.port === b.port && a.user === b.user && a.name === b.name;
}
