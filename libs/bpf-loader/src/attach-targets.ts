// Typed attach targets of LoadedObject, and the host lookups they need (interfaces, CPUs).
import { readFileSync } from 'node:fs';
import { NotFoundError } from './errors';

export interface UprobeTarget {
  /** A path, a shared library by name ("libc.so.6", "libc"), or a program on PATH. */
  readonly binary: string;
  /** Function name, optionally versioned: "malloc", "malloc@@GLIBC_2.2.5", "memcpy@GLIBC_2.2.5". */
  readonly symbol?: string;
  /** With `symbol`: bytes into the function. Without: the file offset to attach at. */
  readonly offset?: number;
  /** Only this process (default: every process running the binary). */
  readonly pid?: number;
  /** Fire on return instead of entry. */
  readonly retprobe?: boolean;
}

export interface UsdtTarget {
  readonly binary: string;
  readonly provider: string;
  readonly name: string;
  readonly pid?: number;
}

export interface PerfEventTarget {
  /** Samples per second per CPU (CPU-clock). */
  readonly frequency: number;
  /** Which CPUs to sample: 'all' online CPUs (default) or a list. */
  readonly cpus?: 'all' | readonly number[];
}

export interface KprobeTarget {
  /** Bytes into the function (kprobe only). */
  readonly offset?: number;
}

export interface XdpTarget {
  readonly interface: string;
}

export interface TcTarget {
  readonly interface: string;
  readonly direction: 'ingress' | 'egress';
  /**
   * 'auto' (default): a tcx BPF link where the kernel has it (6.6+; removed by the kernel when the
   * process goes), else a clsact filter over netlink. 'tcx' / 'netlink' force one.
   */
  readonly mechanism?: 'auto' | 'tcx' | 'netlink';
}

const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** The interface's index in this process's network namespace. */
export function interfaceIndex(name: string): number {
  if (typeof name !== 'string' || !INTERFACE_NAME.test(name) || name === '.' || name === '..') {
    throw new TypeError(`interface must be a network interface name, got ${JSON.stringify(name)}`);
  }
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch {
    throw new NotFoundError('interface', name, "this process's network namespace", []);
  }
}

/** Parses a kernel CPU list ("0-3,6,8-9"). */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) cpus.push(c);
  }
  return cpus;
}

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}
