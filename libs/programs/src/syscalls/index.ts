import { X86_64_SYSCALLS } from './x86_64';

/** Syscall tables by Node's `process.arch`; other architectures show syscall numbers. */
const TABLES: Partial<Record<NodeJS.Architecture, ReadonlyMap<number, string>>> = { x64: X86_64_SYSCALLS };

/**
 * The name of syscall `nr` of this machine's native ABI, or `syscall_<nr>` for a number the table
 * does not know (newer than the header it was generated from, or another architecture).
 */
export function syscallName(nr: number, arch: NodeJS.Architecture = process.arch): string {
  return TABLES[arch]?.get(nr) ?? `syscall_${nr}`;
}
