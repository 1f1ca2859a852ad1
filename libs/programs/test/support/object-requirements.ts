import { openObject } from '@fleettrace/bpf-loader';

/** What a compiled object needs of the kernel, read from its ELF: section names and map types. */
export interface ObjectRequirements {
  attachTypes: string[];
  tracepoints: string[];
  rawTracepoints: string[];
  mapTypes: string[];
}

// SEC() prefixes libbpf knows, by the attach type of the capability report they need.
const SECTIONS: ReadonlyArray<[RegExp, string]> = [
  [/^(?:tracepoint|tp)\/([^/]+)\/([^/]+)$/, 'tracepoint'],
  [/^tp_btf\/(.+)$/, 'tp_btf'],
  [/^(?:raw_tp|raw_tracepoint)\/(.+)$/, 'raw_tp'],
  [/^uprobe(?:\/|$)/, 'uprobe'],
  [/^uretprobe(?:\/|$)/, 'uretprobe'],
  [/^perf_event$/, 'perf_event'],
  [/^xdp$/, 'xdp'],
  [/^tc(?:x\/.*)?$/, 'tc'],
];

const sortedUnique = (values: string[]) => [...new Set(values)].sort();

export function objectRequirements(objectPath: string): ObjectRequirements {
  const spec = openObject(objectPath);
  try {
    const attachTypes: string[] = [];
    const tracepoints: string[] = [];
    const rawTracepoints: string[] = [];
    for (const { section } of spec.programs) {
      const found = SECTIONS.find(([pattern]) => pattern.test(section));
      if (!found) throw new Error(`${objectPath}: no attach type known for SEC("${section}")`);
      const [pattern, kind] = found;
      const match = pattern.exec(section)!;
      attachTypes.push(kind);
      if (kind === 'tracepoint') tracepoints.push(`${match[1]}:${match[2]}`);
      if (kind === 'tp_btf' || kind === 'raw_tp') rawTracepoints.push(match[1]!);
    }
    return {
      attachTypes: sortedUnique(attachTypes),
      tracepoints: sortedUnique(tracepoints),
      rawTracepoints: sortedUnique(rawTracepoints),
      mapTypes: sortedUnique(spec.maps.map((map) => map.type)),
    };
  } finally {
    spec.close();
  }
}
