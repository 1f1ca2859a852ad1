import { probeCapabilities } from '@fleettrace/bpf-loader';
import type { CapabilityReport, KernelRequirements } from '@fleettrace/contracts';
import { catalog } from '@fleettrace/programs';
import { kernelHooks } from './kernel-hooks';
import { programVerdicts } from './program-verdicts';
import { measureStartTimings } from './start-timings';

/**
 * What this host's kernel can do, with a verdict on each program of the catalog the daemon ships:
 * its requirements checked against the probed report and this kernel's own tracepoints and BTF, so
 * the API can answer `unsupported` at planning, naming what is missing, instead of a run failing late.
 */
export async function probeHostCapabilities(
  programs: Readonly<Record<string, { requires: KernelRequirements }>> = catalog,
  hooks = kernelHooks(undefined, Object.values(programs).flatMap((program) => program.requires.rawTracepoints ?? [])),
  /**
   * Also measure what a run's start costs here (start-timings.ts), for the API to scale the host's
   * start allowance by. The SSH runner does (its hosts may be slow: an emulated guest); the daemon
   * does not yet, as it probes before it registers and bpftrace's start would delay that.
   */
  options: { startTimings?: boolean } = {},
): Promise<CapabilityReport> {
  const report = await probeCapabilities();
  const started = performance.now();
  const verdicts = programVerdicts(programs, { ...report, ...hooks });
  // Looking the hooks up (libbpf parsing the kernel's BTF once) is part of the probe's cost.
  const probeDurationMs = Math.round(report.probeDurationMs + performance.now() - started);
  const startTimings = options.startTimings ? await measureStartTimings().catch(() => undefined) : undefined;
  return { ...report, programs: verdicts, probeDurationMs, ...(startTimings ? { startTimings } : {}) };
}
