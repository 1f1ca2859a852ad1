// Parses raw BTF (the .BTF section of a BPF object, or /sys/kernel/btf/vmlinux) into the type model.
// Layout: uapi/linux/btf.h — a header, then the type section, then the string section.
import type { BtfEnumValue, BtfMember, BtfType } from './types';

const BTF_MAGIC = 0xeb9f;
const KINDS = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
] as const;

export class BtfFormatError extends Error {
  constructor(detail: string) {
    super(`malformed BTF: ${detail}`);
    this.name = 'BtfFormatError';
  }
}

/** Every type, indexed by id (index 0 is void). */
export function parseBtf(bytes: Buffer): BtfType[] {
  if (bytes.length < 24) throw new BtfFormatError('shorter than its header');
  const magic = bytes.readUInt16LE(0);
  if (magic !== BTF_MAGIC) {
    throw new BtfFormatError(magic === 0x9feb ? 'big-endian BTF is not supported' : `bad magic 0x${magic.toString(16)}`);
  }
  const hdrLen = bytes.readUInt32LE(4);
  const typeOff = hdrLen + bytes.readUInt32LE(8);
  const typeEnd = typeOff + bytes.readUInt32LE(12);
  const strOff = hdrLen + bytes.readUInt32LE(16);
  const strEnd = strOff + bytes.readUInt32LE(20);
  if (typeEnd > bytes.length || strEnd > bytes.length) throw new BtfFormatError('sections overrun the data');
  const strings = bytes.subarray(strOff, strEnd);
  const str = (off: number): string => {
    if (off === 0) return '';
    if (off >= strings.length) throw new BtfFormatError(`string offset ${off} out of bounds`);
    const end = strings.indexOf(0, off);
    return strings.toString('utf8', off, end < 0 ? strings.length : end);
  };

  const types: BtfType[] = [{ kind: 'void', id: 0, name: '' }];
  let o = typeOff;
  while (o < typeEnd) {
    if (o + 12 > typeEnd) throw new BtfFormatError(`truncated type ${types.length}`);
    const id = types.length;
    const name = str(bytes.readUInt32LE(o));
    const info = bytes.readUInt32LE(o + 4);
    const sizeOrType = bytes.readUInt32LE(o + 8);
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const kind = KINDS[(info >>> 24) & 0x1f];
    o += 12;
    switch (kind) {
      case 'int': {
        const enc = bytes.readUInt32LE(o);
        o += 4;
        const encoding = (enc >>> 24) & 0x0f;
        types.push({
          kind, id, name, size: sizeOrType,
          signed: (encoding & 1) !== 0, char: (encoding & 2) !== 0, bool: (encoding & 4) !== 0,
          bits: enc & 0xff, bitOffset: (enc >>> 16) & 0xff,
        });
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        types.push(kind === 'ptr' ? { kind, id, name, type: sizeOrType } : { kind, id, name, type: sizeOrType });
        break;
      case 'array':
        types.push({ kind, id, name, type: bytes.readUInt32LE(o), indexType: bytes.readUInt32LE(o + 4), length: bytes.readUInt32LE(o + 8) });
        o += 12;
        break;
      case 'struct':
      case 'union': {
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++, o += 12) {
          const offset = bytes.readUInt32LE(o + 8);
          members.push({
            name: str(bytes.readUInt32LE(o)),
            type: bytes.readUInt32LE(o + 4),
            bitOffset: kindFlag ? offset & 0xffffff : offset,
            bitSize: kindFlag ? offset >>> 24 : 0,
          });
        }
        types.push({ kind, id, name, size: sizeOrType, members });
        break;
      }
      case 'enum': {
        const values: BtfEnumValue[] = [];
        for (let i = 0; i < vlen; i++, o += 8) {
          const raw = bytes.readUInt32LE(o + 4);
          values.push({ name: str(bytes.readUInt32LE(o)), value: kindFlag ? raw | 0 : raw });
        }
        types.push({ kind, id, name, size: sizeOrType, signed: kindFlag, values });
        break;
      }
      case 'enum64': {
        const values: BtfEnumValue[] = [];
        for (let i = 0; i < vlen; i++, o += 12) {
          const lo = BigInt(bytes.readUInt32LE(o + 4));
          const hi = BigInt(bytes.readUInt32LE(o + 8));
          const big = kindFlag ? BigInt.asIntN(64, (hi << 32n) | lo) : (hi << 32n) | lo;
          const asNumber = Number(big);
          values.push({ name: str(bytes.readUInt32LE(o)), value: Number.isSafeInteger(asNumber) ? asNumber : big });
        }
        types.push({ kind, id, name, size: sizeOrType, signed: kindFlag, values });
        break;
      }
      case 'fwd':
        types.push({ kind, id, name, union: kindFlag });
        break;
      case 'func':
        types.push({ kind, id, name, type: sizeOrType, linkage: vlen });
        break;
      case 'func_proto': {
        const params = [];
        for (let i = 0; i < vlen; i++, o += 8) params.push({ name: str(bytes.readUInt32LE(o)), type: bytes.readUInt32LE(o + 4) });
        types.push({ kind, id, name, returnType: sizeOrType, params });
        break;
      }
      case 'var':
        types.push({ kind, id, name, type: sizeOrType, linkage: bytes.readUInt32LE(o) });
        o += 4;
        break;
      case 'datasec': {
        const vars = [];
        for (let i = 0; i < vlen; i++, o += 12) {
          vars.push({ type: bytes.readUInt32LE(o), offset: bytes.readUInt32LE(o + 4), size: bytes.readUInt32LE(o + 8) });
        }
        types.push({ kind, id, name, size: sizeOrType, vars });
        break;
      }
      case 'float':
        types.push({ kind, id, name, size: sizeOrType });
        break;
      case 'decl_tag':
        types.push({ kind, id, name, type: sizeOrType, componentIdx: bytes.readInt32LE(o) });
        o += 4;
        break;
      default:
        throw new BtfFormatError(`type ${id} has unknown kind ${(info >>> 24) & 0x1f}`);
    }
  }
  if (o !== typeEnd) throw new BtfFormatError('type section ends inside a type');
  return types;
}
