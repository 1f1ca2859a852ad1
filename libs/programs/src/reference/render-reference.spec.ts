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
});
