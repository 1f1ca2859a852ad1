// BTF of a BPF object file. clang leaves DATASEC sizes and variable offsets at 0 in the object
// (libbpf fills them in at open from the ELF section and symbol tables); we do the same, so data
// sections (.data, .bss, .rodata) decode like any struct.
import { ElfFile } from '../elf/elf-file';
import { NotSupportedError } from '../errors';
import { Btf } from './btf';
import { parseBtf } from './parse';
import type { BtfType } from './types';

export function btfFromElf(elfBytes: Buffer, objectName = 'BPF object'): Btf {
  const elf = new ElfFile(elfBytes, objectName);
  const section = elf.section('.BTF');
  if (!section) throw new NotSupportedError('BTF', `'${objectName}' has no .BTF section (compile with clang -g)`);
  return new Btf(fixDatasecs(parseBtf(elf.contents(section)), elf));
}

function fixDatasecs(types: BtfType[], elf: ElfFile): BtfType[] {
  const symbols = elf.symbols();
  return types.map((t) => {
    if (t.kind !== 'datasec') return t;
    const section = elf.section(t.name);
    if (!section) return t;
    const offsets = new Map(symbols.filter((s) => s.shndx === section.index).map((s) => [s.name, s.value]));
    const vars = t.vars.map((v) => {
      const variable = types[v.type];
      const offset = variable?.kind === 'var' ? offsets.get(variable.name) : undefined;
      return offset === undefined ? v : { ...v, offset };
    });
    return { ...t, size: t.size || section.size, vars };
  });
}
