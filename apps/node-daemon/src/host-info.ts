import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch, release } from 'node:os';
import type { CapabilityReport, HostInfo } from '@fleettrace/contracts';
import type { DaemonConfig } from './config';

export const DAEMON_VERSION = '0.1.0';

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What the API needs to plan runs onto this host; probed once at start. */
export function collectHostInfo(config: DaemonConfig, capabilities: CapabilityReport | undefined): HostInfo {
  return {
    id: config.hostId,
    name: config.name,
    labels: config.labels,
    kernelRelease: release(),
    arch: arch(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    daemonVersion: DAEMON_VERSION,
    cgroup: config.cgroupPath,
    tools: { clang: hasTool('clang'), bpftrace: hasTool('bpftrace') },
    // Its run queue's worker takes this many runs at once (daemon.ts): the API releases no more.
    runSlots: config.concurrency,
    ...(capabilities ? { capabilities } : {}),
  };
}
