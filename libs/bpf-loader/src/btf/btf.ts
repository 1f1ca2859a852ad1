// An object's (or the kernel's) BTF: types by id and by name, and decoders generated from them.
import { type DecodedValue, type Decoder, DecoderCompiler, type TypeGraph } from './decoder';
import { parseBtf } from './parse';
import { type BtfKind, type BtfType, MODIFIER_KINDS } from './types';

/** A type name, optionally with its C tag: "event", "struct event", "union value", "enum state". */
export type TypeRef = string | number | BtfType;

export class BtfTypeNotFoundError extends Error {
  readonly key: string;

  constructor(key: string, detail = '') {
    super(`BTF type ${key} not found${detail ? ` (${detail})` : ''}`);
    this.name = 'BtfTypeNotFoundError';
    this.key = key;
  }
}

/** The BTF types of a BPF map declared in SEC(".maps") or backing a data section. */
export interface MapBtfTypes {
  /** Absent for maps declared with key_size only, and for data sections (u32 index). */
  readonly key?: BtfType;
  /** Absent for maps declared with value_size only. */
  readonly value?: BtfType;
}

const TAGS: Record<string, BtfKind> = { struct: 'struct', union: 'union', enum: 'enum' };
const MAX_RESOLVE = 32;

export class Btf implements TypeGraph {
  readonly types: readonly BtfType[];
  readonly #byName = new Map<string, number[]>();
  readonly #sizes = new Map<number, number>();
  readonly #compiler = new DecoderCompiler(this);

  constructor(types: readonly BtfType[]) {
    this.types = types;
    for (const t of types) {
      if (!t.name) continue;
      const ids = this.#byName.get(t.name);
      if (ids) ids.push(t.id);
      else this.#byName.set(t.name, [t.id]);
    }
  }

  /** From raw BTF bytes (a .BTF section, /sys/kernel/btf/vmlinux). */
  static parse(bytes: Buffer): Btf {
    return new Btf(parseBtf(bytes));
  }

  typeById(id: number): BtfType {
    const t = this.types[id];
    if (t === undefined || !Number.isInteger(id)) throw new BtfTypeNotFoundError(`id ${id}`, `ids go up to ${this.types.length - 1}`);
    return t;
  }

  /**
   * A named type. `name` may carry its C tag ("struct event"); `kind` narrows further. Without
   * either, a full definition wins over a forward declaration.
   */
  typeByName(name: string, kind?: BtfKind): BtfType {
    let bare = name.trim();
    let wanted = kind;
    const tagged = /^(struct|union|enum)\s+(\S+)$/.exec(bare);
    if (tagged) {
      wanted ??= TAGS[tagged[1]!];
      bare = tagged[2]!;
    }
    const candidates = (this.#byName.get(bare) ?? []).map((id) => this.types[id]!);
    const matching = wanted
      ? candidates.filter((t) => t.kind === wanted || (wanted === 'enum' && t.kind === 'enum64'))
      : candidates.filter((t) => t.kind !== 'fwd');
    const found = matching[0] ?? (wanted ? undefined : candidates[0]);
    if (!found) {
      const others = candidates.map((t) => t.kind).join(', ');
      throw new BtfTypeNotFoundError(`'${name}'${kind ? ` of kind ${kind}` : ''}`, others ? `there is: ${others}` : '');
    }
    return found;
  }

  /** The type behind typedefs and const/volatile/restrict/type_tag qualifiers. */
  resolve(ref: TypeRef): BtfType {
    let t = this.#type(ref);
    for (let i = 0; MODIFIER_KINDS.has(t.kind); i++) {
      if (i === MAX_RESOLVE) throw new Error(`BTF type ${t.id}: modifier chain too long (a loop?)`);
      t = this.typeById((t as { type: number }).type);
    }
    return t;
  }

  /** sizeof(type) in bytes. */
  sizeOf(ref: TypeRef): number {
    const id = this.#type(ref).id;
    let size = this.#sizes.get(id);
    if (size === undefined) {
      const t = this.resolve(id);
      switch (t.kind) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'datasec':
        case 'float':
          size = t.size;
          break;
        case 'ptr':
          size = 8;
          break;
        case 'array':
          size = t.length * this.sizeOf(t.type);
          break;
        case 'var':
          size = this.sizeOf(t.type);
          break;
        default:
          throw new TypeError(`BTF type ${describe(t)} has no size`);
      }
      this.#sizes.set(id, size);
    }
    return size;
  }

  /**
   * A decoder for values of the type, generated on first use and cached by type id: structs and
   * unions as objects, arrays as arrays, char[] as strings, enums as their names, u64 as a number
   * (a decimal string beyond 2^53), pointers as addresses.
   */
  decoderFor<T = DecodedValue>(ref: TypeRef): Decoder<T> {
    return this.#compiler.decoder(this.#type(ref).id) as Decoder<T>;
  }

  /** The generated decoder's expression, to see what a type decodes into. */
  decoderSource(ref: TypeRef): string {
    return this.#compiler.source(this.#type(ref).id);
  }

  /**
   * Key and value types of a map: for SEC(".maps") definitions from their `key`/`value` members
   * (what libbpf hands the kernel as btf_key_type_id/btf_value_type_id); for .data/.bss/.rodata
   * maps the section's DATASEC. undefined if the BTF does not describe the map.
   */
  mapTypes(mapName: string): MapBtfTypes | undefined {
    const maps = this.types.find((t) => t.kind === 'datasec' && t.name === '.maps');
    if (maps?.kind === 'datasec') {
      for (const v of maps.vars) {
        const variable = this.typeById(v.type);
        if (variable.kind !== 'var' || variable.name !== mapName) continue;
        const def = this.resolve(variable.type);
        if (def.kind !== 'struct') return undefined;
        const pointee = (member: string): BtfType | undefined => {
          const m = def.members.find((x) => x.name === member);
          const ptr = m ? this.resolve(m.type) : undefined;
          return ptr?.kind === 'ptr' ? this.typeById(ptr.type) : undefined;
        };
        return { key: pointee('key'), value: pointee('value') };
      }
    }
    const section = this.types.find((t) => t.kind === 'datasec' && t.name === mapName);
    return section ? { value: section } : undefined;
  }

  #type(ref: TypeRef): BtfType {
    if (typeof ref === 'number') return this.typeById(ref);
    if (typeof ref === 'string') return this.typeByName(ref);
    if (this.types[ref.id] !== ref) throw new TypeError(`BTF type ${describe(ref)} belongs to another Btf`);
    return ref;
  }
}

function describe(t: BtfType): string {
  return `${t.id} (${t.kind}${t.name ? ` '${t.name}'` : ''})`;
}
