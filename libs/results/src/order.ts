/** Plain code-unit order, the same on every machine and locale: ties broken by it never vary. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
