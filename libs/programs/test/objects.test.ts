import { beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../src/catalog';
import { encodeGlobal } from '../src/encode';
import { EXECSNOOP_EVENT } from '../src/execsnoop/execsnoop';
import { BASHREADLINE_EVENT } from '../src/bashreadline/bashreadline';
import { BIOSNOOP_EVENT } from '../src/biosnoop/biosnoop';
import { EXITSNOOP_EVENT } from '../src/exitsnoop/exitsnoop';
import { FILELIFE_EVENT } from '../src/filelife/filelife';
import { OOMKILL_EVENT } from '../src/oomkill/oomkill';
import { OPENSNOOP_EVENT } from '../src/opensnoop/opensnoop';
import { SIGSNOOP_EVENT } from '../src/sigsnoop/sigsnoop';
import { FUNCCOUNT_KEY } from '../src/funccount/funccount';
import { PROFILE_KEY } from '../src/profile/profile';
import { OFFCPUTIME_KEY } from '../src/offcputime/offcputime';
import { TCPCONNECT_EVENT } from '../src/tcpconnect/tcpconnect';
import { TCPLIFE_EVENT } from '../src/tcplife/tcplife';
import { TCPRETRANS_EVENT } from '../src/tcpretrans/tcpretrans';
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
  { program: 'bashreadline', struct: 'bashreadline_event', layout: BASHREADLINE_EVENT },
  { program: 'biosnoop', struct: 'biosnoop_event', layout: BIOSNOOP_EVENT },
  { program: 'exitsnoop', struct: 'exitsnoop_event', layout: EXITSNOOP_EVENT },
  { program: 'filelife', struct: 'filelife_event', layout: FILELIFE_EVENT },
  { program: 'oomkill', struct: 'oomkill_event', layout: OOMKILL_EVENT },
  { program: 'opensnoop', struct: 'opensnoop_event', layout: OPENSNOOP_EVENT },
  { program: 'sigsnoop', struct: 'sigsnoop_event', layout: SIGSNOOP_EVENT },
  { program: 'funccount', struct: 'funccount_key', layout: FUNCCOUNT_KEY },
  { program: 'profile', struct: 'profile_key', layout: PROFILE_KEY },
  { program: 'offcputime', struct: 'offcputime_key', layout: OFFCPUTIME_KEY },
  { program: 'tcpconnect', struct: 'tcpconnect_event', layout: TCPCONNECT_EVENT },
  { program: 'tcplife', struct: 'tcplife_event', layout: TCPLIFE_EVENT },
  { program: 'tcpretrans', struct: 'tcpretrans_event', layout: TCPRETRANS_EVENT },
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
