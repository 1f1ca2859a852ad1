import { writeFileSync } from 'node:fs';
import { catalog } from '../src/catalog';
import { CATALOG_REFERENCE_PATH } from '../src/reference/reference-path';
import { renderCatalogReference } from '../src/reference/render-reference';

writeFileSync(CATALOG_REFERENCE_PATH, renderCatalogReference(catalog));
process.stdout.write(`wrote ${CATALOG_REFERENCE_PATH}\n`);
