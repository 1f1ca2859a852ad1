// Kernel addresses to names through /proc/kallsyms: text symbols sorted once, then a binary search
// per address. The table is shared by every symbolizer until refreshed.
import { readFileSync } from 'node:fs';
import type { Frame } from './frame';

/** Kernel text lies in the top 2^48 bytes: addresses are kept as distances from here, exact doubles. */
const KERNEL_BASE = 0xffff_0000_0000_0000n;
/** A symbol this far below an address is not the function it is in (kallsyms gives no sizes). */
const MAX_SYMBOL_SIZE = 1 << 20;
const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

interface KallsymsTable {
  /** Sorted distances from KERNEL_BASE. */
  readonly addresses: Float64Array;
  readonly names: readonly string[];
  readonly modules: readonly string[];
}

let shared: KallsymsTable | undefined;

export class KernelSymbolizer {
  readonly #table: KallsymsTable;

  /**
   * Reads /proc/kallsyms on first use (needs root for real addresses) and reuses the table after;
   * `refresh` re-reads it, e.g. to name BPF programs loaded since.
   */
  constructor(opts: { refresh?: boolean; path?: string } = {}) {
    if (opts.path !== undefined) this.#table = parseKallsyms(readFileSync(opts.path, 'latin1'));
    else {
      if (!shared || opts.refresh) shared = parseKallsyms(readFileSync('/proc/kallsyms', 'latin1'));
      this.#table = shared;
    }
  }

  get size(): number {
    return this.#table.names.length;
  }

  symbolize(address: bigint): Frame {
    const { addresses, names, modules } = this.#table;
    if (address < KERNEL_BASE) return { address };
    const at = Number(address - KERNEL_BASE);
    // Last symbol at or below the address.
    let lo = 0;
    let hi = addresses.length - 1;
    if (hi < 0 || at < addresses[0]!) return { address };
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (addresses[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    const offset = at - addresses[lo]!;
    if (offset >= MAX_SYMBOL_SIZE) return { address };
    return { address, symbol: names[lo]!, offset, module: modules[lo]! };
  }
}

function parseKallsyms(text: string): KallsymsTable {
  const rows: { at: number; name: string; module: string }[] = [];
  for (const line of text.split('\n')) {
    // "ffffffff81000000 T _text" or "ffffffffc0a01000 t fn\t[module]"
    const sp1 = line.indexOf(' ');
    if (sp1 !== 16 || !line.startsWith('ffff') || !TEXT_TYPES.has(line[17]!)) continue;
    const at = parseInt(line.slice(4, 16), 16);
    if (at === 0) continue;
    const rest = line.slice(19);
    const tab = rest.indexOf('\t');
    const name = tab < 0 ? rest : rest.slice(0, tab);
    const module = tab < 0 ? '[kernel]' : rest.slice(tab + 1).trim();
    rows.push({ at, name, module });
  }
  if (rows.length === 0) throw new Error('/proc/kallsyms has no text symbols with addresses (not root, or kptr_restrict)');
  rows.sort((a, b) => a.at - b.at);
  return {
    addresses: Float64Array.from(rows, (r) => r.at),
    names: rows.map((r) => r.name),
    modules: rows.map((r) => r.module),
  };
}

let sharedNames: ReadonlySet<string> | undefined;

/**
 * Names of the kernel's text symbols (vmlinux, modules, BPF programs), from /proc/kallsyms once;
 * unlike symbolizing, this needs no root: unprivileged readers see every name, with zero addresses.
 * Tells kernel frames of an already symbolized stack (bpftrace's) from user ones.
 */
export function kernelFunctionNames(opts: { refresh?: boolean; path?: string } = {}): ReadonlySet<string> {
  if (opts.path !== undefined) return parseNames(readFileSync(opts.path, 'latin1'));
  if (!sharedNames || opts.refresh) sharedNames = parseNames(readFileSync('/proc/kallsyms', 'latin1'));
  return sharedNames;
}

function parseNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    // "ffffffff81000000 T _text" (or zeros when unprivileged), "... t fn\t[module]"
    const sp1 = line.indexOf(' ');
    if (sp1 < 0 || !TEXT_TYPES.has(line[sp1 + 1]!)) continue;
    const rest = line.slice(sp1 + 3);
    const tab = rest.indexOf('\t');
    names.add(tab < 0 ? rest : rest.slice(0, tab));
  }
  return names;
}
