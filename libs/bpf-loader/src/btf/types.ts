// The BTF type model: one plain object per type id, as the kernel's uapi/linux/btf.h lays it out.
// Type id 0 is void.

export interface BtfVoid {
  readonly kind: 'void';
  readonly id: 0;
  readonly name: '';
}

export interface BtfInt {
  readonly kind: 'int';
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
  /** Value bits; fewer than size * 8 only for old-style bitfield ints. */
  readonly bits: number;
  readonly bitOffset: number;
}

export interface BtfPtr {
  readonly kind: 'ptr';
  readonly id: number;
  readonly name: string;
  readonly type: number;
}

export interface BtfArray {
  readonly kind: 'array';
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly indexType: number;
  readonly length: number;
}

export interface BtfMember {
  /** '' for an anonymous struct or union member, whose fields read as the parent's. */
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  /** Non-zero for a bitfield. */
  readonly bitSize: number;
}

export interface BtfComposite {
  readonly kind: 'struct' | 'union';
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly members: readonly BtfMember[];
}

export interface BtfEnumValue {
  readonly name: string;
  /** A bigint only for enum64 values beyond 2^53. */
  readonly value: number | bigint;
}

export interface BtfEnum {
  readonly kind: 'enum' | 'enum64';
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

export interface BtfFwd {
  readonly kind: 'fwd';
  readonly id: number;
  readonly name: string;
  readonly union: boolean;
}

/** Types that only qualify or rename another: resolved through when decoding. */
export interface BtfModifier {
  readonly kind: 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag';
  readonly id: number;
  readonly name: string;
  readonly type: number;
}

export interface BtfFunc {
  readonly kind: 'func';
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly linkage: number;
}

export interface BtfFuncProto {
  readonly kind: 'func_proto';
  readonly id: number;
  readonly name: string;
  readonly returnType: number;
  readonly params: readonly { readonly name: string; readonly type: number }[];
}

export interface BtfVar {
  readonly kind: 'var';
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly linkage: number;
}

export interface BtfVarSecInfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec {
  readonly kind: 'datasec';
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly vars: readonly BtfVarSecInfo[];
}

export interface BtfFloat {
  readonly kind: 'float';
  readonly id: number;
  readonly name: string;
  readonly size: number;
}

export interface BtfDeclTag {
  readonly kind: 'decl_tag';
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfModifier
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

export type BtfKind = BtfType['kind'];

export const MODIFIER_KINDS: ReadonlySet<BtfKind> = new Set(['typedef', 'volatile', 'const', 'restrict', 'type_tag']);
