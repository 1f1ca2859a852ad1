/** ANSI styling that turns into plain text when colors are off (not a TTY, or NO_COLOR). */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

const COLORED: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39) };
const identity = (text: string): string => text;
const PLAIN: Style = { bold: identity, dim: identity, red: identity, green: identity, yellow: identity };

export function styleFor(color: boolean): Style {
  return color ? COLORED : PLAIN;
}

/** Characters as a terminal shows them: escape sequences take no room. */
export function visibleLength(text: string): number {
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}
