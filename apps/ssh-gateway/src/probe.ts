import type { HostInfo } from '@fleettrace/contracts';
import type { SshSession } from './ssh/ssh-session';

export const GATEWAY_VERSION = '0.1.0';

/** What the gateway learns of a host over SSH: what the daemon learns of its own at start. */
export interface HostProbe {
  kernelRelease: string;
  /** In Node's names (x64, arm64), as a daemon reports process.arch. */
  arch: string;
  btf: boolean;
  /** `bpftrace --version`'s line, or null when it is not installed. */
  bpftrace: string | null;
  /** `node --version`, or null. */
  node: string | null;
  clang: boolean;
  /** Root itself, or passwordless sudo (the session found which). */
  root: 'root' | 'sudo';
}

/** One constant script: nothing of the host's enrolment or of any user goes into it. */
export const PROBE_SCRIPT = [
  'echo "kernel=$(uname -r)"',
  'echo "machine=$(uname -m)"',
  'if [ -e /sys/kernel/btf/vmlinux ]; then echo btf=yes; else echo btf=no; fi',
  'echo "bpftrace=$(bpftrace --version 2>/dev/null | head -n 1)"',
  'echo "node=$(node --version 2>/dev/null)"',
  'if command -v clang >/dev/null 2>&1; then echo clang=yes; else echo clang=no; fi',
].join('\n');

const NODE_ARCH: Record<string, string> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64', i686: 'ia32', i386: 'ia32', armv7l: 'arm', ppc64le: 'ppc64', s390x: 's390x', riscv64: 'riscv64' };

export function parseProbe(output: string, root: HostProbe['root']): HostProbe {
  const fields = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const kernelRelease = fields.get('kernel');
  const machine = fields.get('machine');
  if (!kernelRelease || !machine) throw new Error(`the host's probe said nothing of its kernel: ${output.slice(0, 200)}`);
  return {
    kernelRelease,
    arch: NODE_ARCH[machine] ?? machine,
    btf: fields.get('btf') === 'yes',
    bpftrace: fields.get('bpftrace') || null,
    node: fields.get('node') || null,
    clang: fields.get('clang') === 'yes',
    root,
  };
}

export async function probeHost(session: SshSession): Promise<HostProbe> {
  const result = await session.run(['sh', '-c', PROBE_SCRIPT]);
  if (result.code !== 0) throw new Error(`probing ${session.address} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`);
  return parseProbe(result.stdout, session.sudo ? 'sudo' : 'root');
}

/**
 * The heartbeat a daemon would send for this host, but its capability report: that is made on the
 * host by the uploaded runner (remote-runner.ts remoteCapabilities) and added by the host's agent.
 */
export function hostInfoOf(host: { id: string; name: string; labels: Record<string, string> }, probe: HostProbe, runSlots: number): HostInfo {
  return {
    id: host.id,
    name: host.name,
    labels: host.labels,
    kernelRelease: probe.kernelRelease,
    arch: probe.arch,
    btf: probe.btf,
    daemonVersion: `ssh-gateway/${GATEWAY_VERSION}`,
    cgroup: null,
    tools: { clang: probe.clang, bpftrace: probe.bpftrace !== null },
    kind: 'ssh',
    // This gateway's per-host cap. Another gateway sharing the host adds its own, so the API's
    // count is on the safe side: it may hold a run it could have released, never queue one to miss.
    runSlots,
  };
}
