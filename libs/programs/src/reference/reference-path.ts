import { fileURLToPath } from 'node:url';

/** The committed, generated catalog reference at the repository root. */
export const CATALOG_REFERENCE_PATH = fileURLToPath(new URL('../../../../docs/programs.md', import.meta.url));
