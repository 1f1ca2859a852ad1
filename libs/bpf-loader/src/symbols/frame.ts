// A symbolized instruction pointer.
export interface Frame {
  readonly address: bigint;
  /** Function name; undefined when no symbol covers the address. */
  readonly symbol?: string;
  /** Bytes from the symbol's start. */
  readonly offset?: number;
  /** Kernel module ("[kernel]" for vmlinux, "[bpf]" for BPF programs) or the mapped file's path. */
  readonly module?: string;
}

/** "busy_leaf", or for an unknown address "[module+0x1f0]" / "[0xffffffff81000000]". */
export function frameName(frame: Frame): string {
  if (frame.symbol !== undefined) return frame.symbol;
  if (frame.module !== undefined) return `[${frame.module.slice(frame.module.lastIndexOf('/') + 1)}]`;
  return `[0x${frame.address.toString(16)}]`;
}
