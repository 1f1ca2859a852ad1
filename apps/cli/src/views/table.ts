import { styleFor, visibleLength } from './style';

export interface Column {
  key: string;
  header: string;
  align?: 'left' | 'right';
  /** Counts and totals read better as 12,345; ids (a pid) must not be. */
  thousands?: boolean;
}

export type Cell = string | number | boolean | null | undefined;

export function cellText(value: unknown, thousands = false): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (thousands) return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A plain text table: a header row, then one line per row, columns two spaces apart; numbers right
 * aligned. The last column is not padded, so long values (a command line) do not pad every line.
 */
export function renderTable(columns: readonly Column[], rows: readonly Record<string, unknown>[], color = false): string[] {
  const style = styleFor(color);
  const texts = rows.map((row) => columns.map((c) => cellText(row[c.key], c.thousands)));
  const aligns = columns.map((c, i) => c.align ?? (rows.length > 0 && rows.every((row) => typeof row[c.key] === 'number' || row[c.key] == null) && texts.some((t) => t[i] !== '') ? 'right' : 'left'));
  const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...texts.map((t) => visibleLength(t[i]))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i] - visibleLength(cell)));
        if (aligns[i] === 'right') return pad + cell;
        return i === cells.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [style.bold(line(columns.map((c) => c.header))), ...texts.map(line)];
}

/** Two blocks of lines side by side, `gap` spaces apart; the shorter one padded with blank lines. */
export function besideEachOther(left: readonly string[], right: readonly string[], gap = 3): string[] {
  const width = Math.max(0, ...left.map(visibleLength));
  return Array.from({ length: Math.max(left.length, right.length) }, (_, i) => {
    const l = left[i] ?? '';
    const r = right[i];
    return r === undefined || r === '' ? l : `${l}${' '.repeat(width - visibleLength(l) + gap)}${r}`;
  });
}
