// Typedef names of a BTF file by prefix, read by libbpf in C: for questions about the kernel's
// whole BTF (which btf_trace_<name> raw tracepoints exist) without parsing its ~100k types in JS.
import { native } from '../binding';
import { requireString } from '../validate';

/** Typedefs of the BTF file at `path` whose names start with `prefix`, the prefix removed. BpfError if it is not BTF. */
export function btfTypedefNames(path: string, prefix: string): string[] {
  return native().btfTypedefNames(requireString(path, 'BTF path'), requireString(prefix, 'prefix'));
}
