// What the program policy (contracts' program-policy.ts) needs to know of an object, read from the
// object itself before load: the helper ids its call instructions carry and the maps it declares
// with `pinning`. Nothing here trusts a declaration: a helper called through a pointer cast of its
// id is found like one called by name.
import type { ProgramObjectFacts } from '@fleettrace/contracts';
import type { Btf } from './btf/index';
import { ElfFile } from './elf/elf-file';

const SHF_EXECINSTR = 0x4;
const INSN_SIZE = 8;
/** BPF_JMP | BPF_CALL. With src_reg 0 its imm is a helper id; 1 is a call to a BPF function, 2 a kfunc. */
const OP_CALL = 0x85;
/** BPF_LD | BPF_IMM | BPF_DW: two instruction slots, the second of which is no instruction. */
const OP_LD_IMM64 = 0x18;

export type ObjectCodeFacts = Omit<ProgramObjectFacts, 'programs'>;

export function objectCodeFacts(elfBytes: Buffer, btf: () => Btf | undefined, what: string): ObjectCodeFacts {
  const elf = new ElfFile(elfBytes, what);
  const helperCalls: { helperId: number; section: string }[] = [];
  for (const section of elf.sections) {
    if ((section.flags & SHF_EXECINSTR) === 0 || section.size === 0) continue;
    const code = elf.contents(section);
    for (let at = 0; at + INSN_SIZE <= code.length; at += INSN_SIZE) {
      const op = code[at]!;
      if (op === OP_LD_IMM64) {
        at += INSN_SIZE;
        continue;
      }
      if (op === OP_CALL && code[at + 1]! >> 4 === 0) helperCalls.push({ helperId: code.readInt32LE(at + 4), section: section.name });
    }
  }
  return {
    helperCalls,
    pinnedMaps: pinnedMaps(elf, btf),
    legacyMapSections: elf.sections.filter((s) => s.name === 'maps' || s.name.startsWith('maps/')).map((s) => s.name),
  };
}

/** Maps of SEC(".maps") whose definition has a `pinning` member (libbpf pins those in bpffs). */
function pinnedMaps(elf: ElfFile, btf: () => Btf | undefined): string[] {
  if (!elf.section('.maps')) return [];
  const types = btf();
  // libbpf cannot read a .maps section without BTF either: it refuses the object at open.
  if (!types) return [];
  const maps = types.types.find((t) => t.kind === 'datasec' && t.name === '.maps');
  if (maps?.kind !== 'datasec') return [];
  const pinned: string[] = [];
  for (const v of maps.vars) {
    const variable = types.typeById(v.type);
    if (variable.kind !== 'var') continue;
    const def = types.resolve(variable.type);
    if ((def.kind === 'struct' || def.kind === 'union') && def.members.some((m) => m.name === 'pinning')) pinned.push(variable.name);
  }
  return pinned;
}
