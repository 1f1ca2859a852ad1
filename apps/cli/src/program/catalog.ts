import { catalog, getProgram, type CatalogProgram } from '@fleettrace/programs';
import { CliError } from '../errors';

export { getProgram };
export type { CatalogProgram };

export function programNames(): string[] {
  return Object.keys(catalog).sort();
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counting as one (execsnopo). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Catalog names a mistyped one was probably meant to be, closest first: a few edits away (more for
 * longer names), or one containing the other ("exec" → execsnoop).
 */
export function nearMatches(name: string, names: readonly string[] = programNames()): string[] {
  const wanted = name.toLowerCase();
  const allowed = Math.max(1, Math.floor(wanted.length / 3));
  return names
    .map((candidate) => ({ candidate, distance: editDistance(wanted, candidate) }))
    .filter(({ candidate, distance }) => distance <= allowed || (wanted.length >= 3 && (candidate.includes(wanted) || wanted.includes(candidate))))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .map(({ candidate }) => candidate);
}

/** `unknown program "execsnop"; did you mean execsnoop?`, or the whole catalog when nothing is near. */
export function unknownProgramError(name: string): CliError {
  const near = nearMatches(name);
  const hint = near.length > 0 ? `did you mean ${near.join(', ')}?` : `programs: ${programNames().join(', ')}`;
  return new CliError(`unknown program "${name}"; ${hint}`);
}
