import type { CatalogProgram } from '../manifest';
import { cell, code } from './markdown';

function fallbacks(program: CatalogProgram): string {
  const declared = program.fallbacks ?? [];
  if (declared.length === 0) return 'none: a host without one of the above gets an `unsupported` run';
  return declared.map((f) => `without ${f.lacking}, ${f.instead}`).join('; ');
}

/** A program's "Requirements" table: what planning checks a host for, and what the program falls back to. */
export function requirementsTable(program: CatalogProgram): string[] {
  const { attachTypes, minKernel, btf, mapTypes = [], tracepoints = [], rawTracepoints = [] } = program.requires;
  const rows: Array<[string, string]> = [
    ['attach types', attachTypes.join(', ')],
    ['minimum kernel', minKernel ?? '—'],
    ['kernel BTF', btf ? 'yes (/sys/kernel/btf/vmlinux)' : 'no'],
    ['map types', mapTypes.join(', ') || '—'],
  ];
  if (tracepoints.length > 0) rows.push(['tracepoints', tracepoints.map(code).join(', ')]);
  if (rawTracepoints.length > 0) rows.push(['raw tracepoints (in the kernel BTF)', rawTracepoints.map(code).join(', ')]);
  rows.push(['fallbacks', fallbacks(program)]);
  return ['| requirement | |', '|---|---|', ...rows.map(([what, value]) => `| ${what} | ${cell(value)} |`)];
}
