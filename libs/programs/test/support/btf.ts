import { execFileSync } from 'node:child_process';

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  encoding?: string;
  nr_elems?: number;
  members?: Array<{ name: string; type_id: number; bits_offset: number }>;
  vars?: Array<{ type_id: number; offset: number; size: number }>;
}

export interface BtfMember {
  name: string;
  offset: number;
  size: number;
  /** 'u8' ... 's64' for integers, `char[N]` for char arrays, `<scalar>[N]` for other arrays. */
  shape: string;
}

/** The BTF of a compiled object, as `bpftool btf dump -j` reports it. */
export class ObjectBtf {
  private readonly types = new Map<number, BtfType>();

  constructor(objectPath: string) {
    const dump = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', objectPath]).toString()) as { types: BtfType[] };
    for (const type of dump.types) this.types.set(type.id, type);
  }

  private resolve(id: number): BtfType {
    let type = this.types.get(id)!;
    while (['TYPEDEF', 'CONST', 'VOLATILE'].includes(type.kind)) type = this.types.get(type.type_id!)!;
    return type;
  }

  private shapeOf(id: number): { size: number; shape: string } {
    const type = this.resolve(id);
    if (type.kind === 'INT') {
      const shape = type.name === 'char' ? 'char' : `${type.encoding === 'SIGNED' ? 's' : 'u'}${type.size! * 8}`;
      return { size: type.size!, shape };
    }
    if (type.kind === 'ARRAY') {
      const element = this.shapeOf(type.type_id!);
      return { size: element.size * type.nr_elems!, shape: `${element.shape}[${type.nr_elems}]` };
    }
    if (type.kind === 'STRUCT') return { size: type.size!, shape: `struct ${type.name}` };
    return { size: type.size ?? 0, shape: type.kind };
  }

  struct(name: string): { size: number; members: BtfMember[] } {
    const type = [...this.types.values()].find((t) => t.kind === 'STRUCT' && t.name === name);
    if (!type) throw new Error(`no struct ${name} in the object's BTF`);
    const members = type.members!.map((m) => ({ name: m.name, offset: m.bits_offset / 8, ...this.shapeOf(m.type_id) }));
    return { size: type.size!, members };
  }

  /** Variables of an ELF section (".maps", ".rodata") with their sizes. */
  sectionVars(section: string): Map<string, number> {
    const datasec = [...this.types.values()].find((t) => t.kind === 'DATASEC' && t.name === section);
    return new Map((datasec?.vars ?? []).map((v) => [this.types.get(v.type_id)!.name!, v.size]));
  }
}
