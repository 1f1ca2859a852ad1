import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { z } from 'zod';
import type { ProgramOutputView, ProgramView } from '@fleettrace/contracts';
import { PROGRAM_CATALOG } from '../tokens';
import type { CatalogEntry, ProgramCatalog } from './program-catalog';
import { HostRepository, type HostRecord } from '../repositories/host.repository';
import { isHostOnline } from '../utils/host-online';
import { unsupportedReason } from './capability-check';
import { hostsVisibleTo } from '../utils/host-access';
import type { AuthContext } from './auth.service';

/** The catalog as clients see it: parameters as JSON Schema, outputs, requirements, and which hosts can run each. */
@Injectable()
export class ProgramService {
  constructor(
    @Inject(PROGRAM_CATALOG) private readonly catalog: ProgramCatalog,
    @Inject(HostRepository) private readonly hosts: HostRepository,
  ) {}

  async list(auth: AuthContext): Promise<ProgramView[]> {
    const online = await this.onlineHosts(auth);
    return [...this.catalog.names()].sort().map((name) => view(this.catalog.get(name)!, online));
  }

  async get(auth: AuthContext, name: string): Promise<ProgramView> {
    const entry = this.catalog.get(name);
    if (!entry) {
      const known = [...this.catalog.names()].sort().join(', ');
      throw new NotFoundException(`program "${name}" is not in the catalog (known: ${known})`);
    }
    return view(entry, await this.onlineHosts(auth));
  }

  private async onlineHosts(auth: AuthContext): Promise<HostRecord[]> {
    const now = Date.now();
    return hostsVisibleTo(auth, await this.hosts.list()).filter((h) => isHostOnline(h.lastHeartbeatAt, now));
  }
}

function view(entry: CatalogEntry, online: readonly HostRecord[]): ProgramView {
  const supported: string[] = [];
  const unsupported: Array<{ hostId: string; reason: string }> = [];
  for (const host of online) {
    const reason = unsupportedReason(host, { catalogName: entry.name, kernel: entry.requires, tools: [] });
    if (reason) unsupported.push({ hostId: host.id, reason });
    else supported.push(host.id);
  }
  return {
    name: entry.name,
    summary: entry.summary ?? '',
    parameters: z.toJSONSchema(entry.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    outputs: (entry.outputs ?? []).map(
      (output): ProgramOutputView => ({
        kind: output.kind === 'counts' && output.stacks ? 'stacks' : output.kind,
        name: output.name,
        unit: output.unit ?? null,
        ...(output.kind === 'counts' && !output.stacks ? { keyFields: output.keyFields ?? [] } : {}),
        otel: output.otel ? { instrument: output.otel.instrument, name: output.otel.name, ...(output.otel.unit ? { unit: output.otel.unit } : {}) } : null,
      }),
    ),
    requires: entry.requires as unknown as Record<string, unknown>,
    fallbacks: [...(entry.fallbacks ?? [])],
    hosts: { supported, unsupported },
  };
}
