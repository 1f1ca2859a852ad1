// Typedefs of a BTF file looked up by name, by libbpf in C (btf__find_by_name_kind): for questions
// about the kernel's whole BTF (does btf_trace_<name> exist) without parsing its ~100k types in JS
// or copying their names into the JS heap.
import { native } from '../binding';
import { requireString } from '../validate';

/** For each name, whether the BTF file at `path` declares a typedef of that name. BpfError if it is not BTF. */
export function btfHasTypedefs(path: string, names: readonly string[]): boolean[] {
  if (!Array.isArray(names)) throw new TypeError('typedef names must be an array of strings');
  return native().btfHasTypedefs(requireString(path, 'BTF path'), names.map((name) => requireString(name, 'typedef name')));
}
