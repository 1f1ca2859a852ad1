/** The entry and exit tracepoints of each syscall, as "syscalls:sys_enter_<name>", "syscalls:sys_exit_<name>". */
export function syscallTracepoints(...syscalls: string[]): string[] {
  return syscalls.flatMap((name) => [`syscalls:sys_enter_${name}`, `syscalls:sys_exit_${name}`]);
}
