import { kernelRequirementProblems, type KernelFacts, type KernelRequirements, type ProgramVerdict } from '@fleettrace/contracts';

/** Whether this host can run each program, naming everything it lacks for those it cannot. */
export function programVerdicts(
  programs: Readonly<Record<string, { requires: KernelRequirements }>>,
  host: KernelFacts,
): Record<string, ProgramVerdict> {
  return Object.fromEntries(
    Object.entries(programs).map(([name, program]) => {
      const problems = kernelRequirementProblems(program.requires, host);
      return [name, problems.length === 0 ? { supported: true } : { supported: false, reason: problems.join('; ') }];
    }),
  );
}
