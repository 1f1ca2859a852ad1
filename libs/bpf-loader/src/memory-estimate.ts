// How much kernel memory an object's maps will take, from their definitions alone, so a run over
// its map-memory limit fails before anything touches the kernel.
//
// The estimate follows the kernel's own allocation (kernel/bpf/{arraymap,hashtab,ringbuf,
// stackmap}.c), rounded the way it rounds:
//   - values (and hash keys) are rounded up to 8 bytes, as the kernel stores them;
//   - per-CPU values count once per possible CPU, plus the per-element pointer to them;
//   - hash maps are preallocated (the default; BPF_F_NO_PREALLOC maps take up to the same when
//     full): max_entries elements of a 48-byte header + key + value (per-CPU: + an 8-byte pointer),
//     plus one extra element per CPU for plain hash maps, plus a power-of-two table of 16-byte buckets;
//   - a ring buffer is its data size plus its two control pages, plus the page-pointer array of its
//     double mapping (the mapping itself costs no extra memory);
//   - the maps behind data sections (.rodata/.data/.bss) are mmap-able arrays: their value
//     rounded up to pages, plus a page for the array header;
//   - stack-trace maps: max_entries buckets of a 16-byte header + value, plus a power-of-two table
//     of 8-byte pointers;
//   - fd arrays (perf_event_array, prog_array, maps of maps...) one 8-byte slot per entry;
//   - every map of a page or more is rounded up to whole pages (large areas come from vmalloc);
//     smaller ones get the ~320-byte struct bpf_map/bpf_array header instead.
// Checked against the kernel's own figure (bpftool's bytes_memlock, i.e. map_mem_usage()) for the
// fixtures' hash, per-CPU array, ring buffer, stack-trace and data-section maps: within a few
// percent (test/memory-estimate.test.ts). Not exact: slab rounding and the struct bpf_map of large
// maps are left out.
import type { MapSpec } from './object-spec';

export const PAGE_SIZE = 4096;
const HTAB_ELEM_HEADER = 48;
const HTAB_BUCKET = 16;
const STACK_BUCKET_HEADER = 16;
const POINTER = 8;
const GENERIC_ELEM_HEADER = 48;
const SMALL_MAP_HEADER = 320;

export interface MapMemoryEstimate {
  readonly map: string;
  readonly type: string;
  readonly maxEntries: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly bytes: number;
}

export interface ObjectMemoryEstimate {
  readonly totalBytes: number;
  /** Largest first. */
  readonly maps: readonly MapMemoryEstimate[];
  readonly possibleCpus: number;
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;
const powerOfTwoAtLeast = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));

/** Estimated bytes of one map once created. */
export function estimateMapBytes(
  map: Pick<MapSpec, 'type' | 'keySize' | 'valueSize' | 'maxEntries'> & { readonly name?: string; readonly internal?: boolean },
  possibleCpus: number,
): number {
  const n = map.maxEntries;
  // libbpf makes data-section maps mmap-able, except those of sections without globals (merged strings).
  if (map.internal && map.type === 'array' && !/\.str/.test(map.name ?? '')) return roundUp(Math.max(map.valueSize, 1), PAGE_SIZE) + PAGE_SIZE;
  const key = roundUp(map.keySize, 8);
  const value = roundUp(map.valueSize, 8);
  let bytes: number;
  switch (map.type) {
    case 'array':
      bytes = n * value;
      break;
    case 'percpu_array':
      bytes = n * (POINTER + value * possibleCpus);
      break;
    case 'hash':
    case 'lru_hash':
      bytes = (n + (map.type === 'hash' ? possibleCpus : 0)) * (HTAB_ELEM_HEADER + key + value) + powerOfTwoAtLeast(n) * HTAB_BUCKET;
      break;
    case 'percpu_hash':
    case 'lru_percpu_hash':
      bytes = n * (HTAB_ELEM_HEADER + key + POINTER + value * possibleCpus) + powerOfTwoAtLeast(n) * HTAB_BUCKET;
      break;
    case 'ringbuf':
    case 'user_ringbuf':
      bytes = n + 2 * PAGE_SIZE + 2 * (n / PAGE_SIZE + 2) * POINTER;
      break;
    case 'stack_trace':
      bytes = n * (STACK_BUCKET_HEADER + value) + powerOfTwoAtLeast(n) * POINTER;
      break;
    case 'perf_event_array':
    case 'prog_array':
    case 'cgroup_array':
    case 'array_of_maps':
    case 'cpumap':
    case 'devmap':
    case 'xskmap':
    case 'sockmap':
      bytes = n * POINTER;
      break;
    case 'queue':
    case 'stack':
      bytes = (n + 1) * value;
      break;
    default:
      // hash_of_maps, lpm_trie, devmap_hash, sockhash, ...: an element header, key and value per entry.
      bytes = n * (GENERIC_ELEM_HEADER + key + value);
  }
  return bytes < PAGE_SIZE ? bytes + SMALL_MAP_HEADER : roundUp(bytes, PAGE_SIZE);
}

export function estimateObjectMemory(
  maps: readonly (Pick<MapSpec, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries'> & { readonly internal?: boolean })[],
  possibleCpus: number,
): ObjectMemoryEstimate {
  const estimates = maps
    .map((m) => ({ map: m.name, type: m.type, maxEntries: m.maxEntries, keySize: m.keySize, valueSize: m.valueSize, bytes: estimateMapBytes(m, possibleCpus) }))
    .sort((a, b) => b.bytes - a.bytes);
  return { totalBytes: estimates.reduce((sum, m) => sum + m.bytes, 0), maps: estimates, possibleCpus };
}

/** "12.5 MiB", "640 KiB", "512 B". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Thrown by ObjectSpec.load({ mapMemoryLimitBytes }) before anything is created in the kernel. */
export class MapMemoryLimitError extends Error {
  override readonly name = 'MapMemoryLimitError';
  readonly limitBytes: number;
  readonly estimate: ObjectMemoryEstimate;

  constructor(objectName: string, limitBytes: number, estimate: ObjectMemoryEstimate) {
    const largest = estimate.maps[0];
    const detail = largest
      ? `; largest map '${largest.map}' (${largest.type}, ${largest.maxEntries} entries, key ${largest.keySize} B, value ${largest.valueSize} B` +
        `${/percpu/.test(largest.type) ? `, × ${estimate.possibleCpus} CPUs` : ''}) ≈ ${formatBytes(largest.bytes)}`
      : '';
    super(
      `maps of '${objectName}' need an estimated ${formatBytes(estimate.totalBytes)} (${estimate.totalBytes} bytes), ` +
        `over the run's map-memory limit of ${formatBytes(limitBytes)} (${limitBytes} bytes)${detail}`,
    );
    this.limitBytes = limitBytes;
    this.estimate = estimate;
  }
}
