import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The headers a user's C program compiles against (c-compile.ts): vmlinux.h and libbpf's headers
 * that stand alone (bpf_endian.h and usdt.bpf.h need kernel UAPI headers, which are not shipped).
 */
export const LIBBPF_HEADERS = ['bpf_helpers.h', 'bpf_helper_defs.h', 'bpf_tracing.h', 'bpf_core_read.h'] as const;
/** Where a host's libbpf-dev puts them. */
export const SYSTEM_LIBBPF_INCLUDE = '/usr/include/bpf';

/**
 * A bundle shipped to hosts (the SSH runner's, a bootstrapped daemon's) brings its own copy, here
 * relative to this module (copyShippedHeaders, libs/build-tools, puts them there): `bpf/<header>`
 * for each of LIBBPF_HEADERS and a vmlinux.h generated from the build machine's BTF. A checkout has
 * none and uses the host's.
 */
const SHIPPED_INCLUDE = fileURLToPath(new URL('../include/', import.meta.url));

export interface HeaderSources {
  /** The directory holding LIBBPF_HEADERS. */
  libbpf: string;
  /**
   * vmlinux.h to use when this host's cannot be generated (no bpftool): CO-RE relocates a program's
   * field accesses to this kernel's layout at load, so another kernel's types do, as libbpf-tools
   * ships one per architecture. Undefined when none is shipped.
   */
  fallbackVmlinux: string | undefined;
}

/**
 * The shipped libbpf headers when this runner came with them (the same on every host, whatever its
 * libbpf-dev, or without one), else the host's; and the shipped vmlinux.h as a fallback.
 */
export function headerSources(shippedDir: string = SHIPPED_INCLUDE): HeaderSources {
  const shipped = LIBBPF_HEADERS.every((header) => existsSync(`${shippedDir}bpf/${header}`));
  return {
    libbpf: shipped ? `${shippedDir}bpf` : SYSTEM_LIBBPF_INCLUDE,
    fallbackVmlinux: existsSync(`${shippedDir}vmlinux.h`) ? `${shippedDir}vmlinux.h` : undefined,
  };
}
