import { kernelRequirementProblems, type HostInfo, type KernelRequirements } from '@fleettrace/contracts';

/** What a program needs of a host: of its kernel, and the tools the daemon runs for it. */
export interface ProgramRequirements {
  /** A catalog program's name: the host's own verdict on it, in its capability report, counts too. */
  catalogName?: string;
  kernel: KernelRequirements;
  tools: ReadonlyArray<keyof HostInfo['tools']>;
}

type CheckedHost = Pick<HostInfo, 'id' | 'tools' | 'btf' | 'capabilities'>;

/**
 * Why a host cannot run a program, from what it reported: a missing tool or BTF, a kernel older than
 * the program's minimum, an attach or map type its kernel refused when probed, or (for a catalog
 * program) whatever its daemon found missing, such as a tracepoint. A host that sent no capability
 * report, or a requirement the report does not cover, is given the benefit of the doubt: its daemon
 * reports the truth anyway.
 */
export function unsupportedReason(host: CheckedHost, needs: ProgramRequirements): string | undefined {
  const reasons: string[] = [];
  for (const tool of needs.tools) if (!host.tools[tool]) reasons.push(`has no ${tool}`);
  reasons.push(...kernelProblems(host, needs));
  return reasons.length > 0 ? `host ${host.id} ${reasons.join('; ')}` : undefined;
}

function kernelProblems(host: CheckedHost, needs: ProgramRequirements): string[] {
  const capabilities = host.capabilities;
  const own = kernelRequirementProblems(needs.kernel, { ...capabilities, btf: host.btf });
  const programs = capabilities?.programs;
  const verdict = needs.catalogName && programs && Object.hasOwn(programs, needs.catalogName) ? programs[needs.catalogName] : undefined;
  if (!verdict || verdict.supported || !verdict.reason) return own;
  // The daemon judged the same requirements and the hooks only it can see, so its reason holds ours,
  // unless its catalog and ours differ: then both are told.
  return own.every((problem) => verdict.reason!.includes(problem)) ? [verdict.reason] : [...own, verdict.reason];
}
