import { execsnoop } from './execsnoop/execsnoop';
import type { CatalogProgram } from './manifest';
import { runqlat } from './runqlat/runqlat';
import { syscount } from './syscount/syscount';

/** Every built-in program by name; each name is its directory under src/ and its object's name. */
export const catalog: Readonly<Record<string, CatalogProgram>> = { execsnoop, syscount, runqlat };

/** The catalog program called `name`, or undefined for a name the catalog does not have. */
export function getProgram(name: string): CatalogProgram | undefined {
  return Object.hasOwn(catalog, name) ? catalog[name] : undefined;
}

export function programNames(): string[] {
  return Object.keys(catalog);
}
