import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog } from '../catalog';
import { CATALOG_REFERENCE_PATH } from './reference-path';
import { renderCatalogReference } from './render-reference';

describe('docs/programs.md', () => {
  it('is what the manifests generate (run `npm run docs -w @fleettrace/programs` after changing one)', () => {
    expect(readFileSync(CATALOG_REFERENCE_PATH, 'utf8')).toBe(renderCatalogReference(catalog));
  });

  it('documents every program with its parameters, defaults and outputs', () => {
    const text = renderCatalogReference(catalog);
    for (const name of Object.keys(catalog)) expect(text).toContain(`## ${name}\n`);
    expect(text).toMatch(/\| `commMatch` \| "exact" \\\| "prefix" \| — \| `"exact"` \|/);
    expect(text).toContain('| `latency` | hist (log2) | us |');
  });

  it('shows each program\'s requirements, minimum kernel and fallbacks', () => {
    const text = renderCatalogReference(catalog);
    expect(text).toContain('| [`biolatency`](#biolatency) | tp_btf | 6.5 |');
    expect(text).toContain('| minimum kernel | 6.5 |');
    expect(text).toContain('| raw tracepoints (in the kernel BTF) | `block_io_start`, `block_rq_issue`, `block_rq_complete` |');
    expect(text).toContain('| tracepoints | `raw_syscalls:sys_enter` |');
    expect(text).toContain('| map types | array, hash, percpu_hash |');
    expect(text).toContain('| fallbacks | without task_struct.__state (kernels before 5.14), reads the task state from task_struct.state');
    expect(text).toContain('| fallbacks | none: a host without one of the above gets an `unsupported` run |');
  });

  it('shows the OpenTelemetry name, instrument, unit and attributes of every output', () => {
    const text = renderCatalogReference(catalog);
    expect(text).toContain('| histogram `fleettrace.runqlat.latency` (`us`) |');
    expect(text).toContain('| event `fleettrace.execsnoop.exec` |');
    expect(text).toContain('counter `fleettrace.syscount.process.syscalls` (`{call}`); `pid` → `process.pid`, `comm` → `process.executable.name` |');
    expect(text).toContain('counter `fleettrace.profile.samples` (`{sample}`); `comm`, `user_stack_id`, `kernel_stack_id` → `fleettrace.stack.folded` |');
  });
});
