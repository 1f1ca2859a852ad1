import { beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../src/catalog';
import { encodeGlobal } from '../src/encode';
import { EXECSNOOP_EVENT } from '../src/execsnoop/execsnoop';
import type { FieldType, RecordLayout } from '../src/layout';
import { PROCESS_KEY, SYSCALL_KEY } from '../src/syscount/syscount';
import { buildPrograms } from './support/build';
import { ObjectBtf } from './support/btf';
import { objectRequirements } from './support/object-requirements';
import { minimalParams } from './support/required-params';

/** The TypeScript half of each shared <tool>.h struct, against the C half as compiled. */
const SHARED_STRUCTS: Array<{ program: string; struct: string; layout: RecordLayout }> = [
  { program: 'execsnoop', struct: 'execsnoop_event', layout: EXECSNOOP_EVENT },
  { program: 'syscount', struct: 'syscount_syscall_key', layout: SYSCALL_KEY },
  { program: 'syscount', struct: 'syscount_process_key', layout: PROCESS_KEY },
];

function shapeOf(type: FieldType): string {
  if (typeof type === 'string') return type;
  if ('char' in type) return `char[${type.char}]`;
  return `${type.array}[${type.length}]`;
}

beforeAll(buildPrograms, 120_000);

describe('compiled objects', () => {
  it.each(SHARED_STRUCTS)('$struct matches its TypeScript layout', ({ program, struct, layout }) => {
    const btf = new ObjectBtf(catalog[program].objectPath).struct(struct);
    expect(layout.size).toBe(btf.size);
    expect(layout.fields.map((f) => ({ name: f.name, offset: f.offset, shape: shapeOf(f.type) }))).toEqual(
      btf.members.map((m) => ({ name: m.name, offset: m.offset, shape: m.shape })),
    );
  });

  it.each(Object.values(catalog))('$name has every map its outputs read and every global it sets', (program) => {
    const btf = new ObjectBtf(program.objectPath);
    const maps = btf.sectionVars('.maps');
    for (const output of program.outputs) expect(maps.has(output.kind === 'events' ? output.ringBuffer : output.map)).toBe(true);
    const rodata = btf.sectionVars('.rodata');
    const globals = program.globals(program.params.parse(minimalParams(program.name)), { cgroupId: null });
    for (const [name, value] of Object.entries(globals)) {
      expect(rodata.get(name), name).toBe(encodeGlobal(value).length);
    }
  });

  it.each(Object.values(catalog))('$name declares the attach types, hooks and map types its object uses', (program) => {
    const sorted = (values: readonly string[] = []) => [...values].sort();
    const { attachTypes, tracepoints, rawTracepoints, mapTypes } = program.requires;
    expect({
      attachTypes: sorted(attachTypes),
      tracepoints: sorted(tracepoints),
      rawTracepoints: sorted(rawTracepoints),
      mapTypes: sorted(mapTypes),
    }).toEqual(objectRequirements(program.objectPath));
  });
});
