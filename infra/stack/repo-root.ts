import { fileURLToPath } from 'node:url';

/** The repository checkout this stack code lives in; processes start from here so `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
