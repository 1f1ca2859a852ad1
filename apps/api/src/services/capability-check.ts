import { ATTACH_KINDS, type AttachKind, type HostInfo } from '@fleettrace/contracts';

const KNOWN_KINDS: ReadonlySet<string> = new Set(ATTACH_KINDS);

/** What a program needs of a host: attach types its kernel must allow, and tools the daemon runs. */
export interface ProgramRequirements {
  attachTypes: readonly string[];
  tools: ReadonlyArray<keyof HostInfo['tools']>;
  btf: boolean;
}

type CheckedHost = Pick<HostInfo, 'id' | 'tools' | 'btf' | 'capabilities'>;

/**
 * Why a host cannot run a program, from what it reported: a missing tool or BTF, or an attach type
 * its kernel refused when probed. A host that sent no capability report, or a requirement the probe
 * does not cover, is given the benefit of the doubt: its daemon reports the truth anyway.
 */
export function unsupportedReason(host: CheckedHost, needs: ProgramRequirements): string | undefined {
  const reasons: string[] = [];
  for (const tool of needs.tools) if (!host.tools[tool]) reasons.push(`has no ${tool}`);
  if (needs.btf && !host.btf) reasons.push('has no kernel BTF (/sys/kernel/btf/vmlinux)');
  const capabilities = host.capabilities;
  if (capabilities) {
    const refused = needs.attachTypes
      .filter((kind): kind is AttachKind => KNOWN_KINDS.has(kind))
      .filter((kind) => !capabilities.attachTypes[kind].supported)
      .map((kind) => `${kind}${capabilities.attachTypes[kind].reason ? ` (${capabilities.attachTypes[kind].reason})` : ''}`);
    if (refused.length > 0) reasons.push(`cannot attach ${refused.join(', ')} on kernel ${capabilities.kernelRelease}`);
  }
  return reasons.length > 0 ? `host ${host.id} ${reasons.join('; ')}` : undefined;
}
