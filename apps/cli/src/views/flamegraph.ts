import type { StacksOutput } from '@fleettrace/contracts';

/**
 * A flame graph of folded stacks as a standalone SVG, drawn here (no flamegraph.pl, no Perl): the
 * root at the bottom, each frame a <g> of a <title> (name, value, share: the tooltip), a <rect>
 * whose width is proportional to its value, and a <text> label when the frame is wide enough.
 * Frames are merged by their path from the root, children in name order, as flamegraph.pl does.
 */

export interface FlameGraphOptions {
  title?: string;
  /** What the values count, for the tooltips: "samples", "us". */
  unit?: string;
  width?: number;
}

interface Frame {
  name: string;
  value: number;
  children: Map<string, Frame>;
}

const FRAME_HEIGHT = 16;
const FONT_SIZE = 12;
/** Average glyph width of the 12 px sans-serif font, to fit labels without measuring text. */
const CHAR_WIDTH = 7;
const PAD_X = 10;
const PAD_TOP = 34;
const PAD_BOTTOM = 10;
/** Frames narrower than this are left out, as flamegraph.pl's --minwidth does: invisible, and they bloat the file. */
const MIN_WIDTH = 0.1;
const KERNEL_SUFFIX = '_[k]';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Characters XML 1.0 does not allow at all; a frame name with one (odd symbol, binary junk) must not break the file. */
function xmlSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?');
}

function buildTree(entries: StacksOutput['entries']): Frame {
  const root: Frame = { name: 'all', value: 0, children: new Map() };
  for (const { stack, value } of entries) {
    if (!(value > 0)) continue;
    root.value += value;
    let node = root;
    for (const name of stack.split(';')) {
      let child = node.children.get(name);
      if (!child) node.children.set(name, (child = { name, value: 0, children: new Map() }));
      child.value += value;
      node = child;
    }
  }
  return root;
}

function depthOf(frame: Frame): number {
  let deepest = 0;
  for (const child of frame.children.values()) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

/** flamegraph.pl's colors: warm hues for user code, orange for the kernel, a hash of the name picking the shade so a function keeps its color. */
function colorOf(name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  const v1 = (hash % 1000) / 1000;
  const v2 = ((hash >>> 10) % 1000) / 1000;
  if (name.endsWith(KERNEL_SUFFIX)) return `rgb(${205 + Math.round(50 * v1)},${120 + Math.round(50 * v2)},${Math.round(30 * v1)})`;
  if (name.startsWith('[')) return `rgb(${180 + Math.round(40 * v1)},${180 + Math.round(40 * v1)},${180 + Math.round(40 * v1)})`;
  return `rgb(${205 + Math.round(50 * v1)},${Math.round(230 * v2)},${Math.round(55 * v2)})`;
}

function label(name: string, width: number): string {
  const fits = Math.floor((width - 6) / CHAR_WIDTH);
  if (fits < 3) return '';
  return name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
}

function format(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
}

export function flameGraphSvg(output: Pick<StacksOutput, 'entries' | 'name' | 'unit'>, options: FlameGraphOptions = {}): string {
  const width = options.width ?? 1200;
  const unit = options.unit ?? output.unit;
  const root = buildTree(output.entries);
  const depth = root.value > 0 ? depthOf(root) : 1;
  const height = PAD_TOP + depth * FRAME_HEIGHT + PAD_BOTTOM;
  const scale = root.value > 0 ? (width - 2 * PAD_X) / root.value : 0;
  const frames: string[] = [];

  const draw = (frame: Frame, x: number, level: number): void => {
    const w = frame.value * scale;
    if (w < MIN_WIDTH) return;
    const y = height - PAD_BOTTOM - (level + 1) * FRAME_HEIGHT;
    const share = root.value > 0 ? (frame.value / root.value) * 100 : 0;
    const name = xmlSafe(frame.name);
    const title = `${name} (${format(frame.value)} ${unit}, ${share.toFixed(2)}%)`;
    const text = label(name, w);
    frames.push(
      `<g><title>${escapeXml(title)}</title>` +
        `<rect x="${(PAD_X + x).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${FRAME_HEIGHT - 1}" fill="${colorOf(frame.name)}" rx="2" ry="2"/>` +
        `<text x="${(PAD_X + x + 3).toFixed(1)}" y="${y + FRAME_HEIGHT - 4}">${escapeXml(text)}</text></g>`,
    );
    let childX = x;
    for (const child of [...frame.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      draw(child, childX, level + 1);
      childX += child.value * scale;
    }
  };
  draw(root, 0, 0);

  const title = xmlSafe(options.title ?? `Flame graph: ${output.name}`);
  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<style>text { font-family: Verdana, sans-serif; font-size: ${FONT_SIZE}px; fill: #000; } .title { font-size: 17px; } g:hover rect { stroke: #000; stroke-width: 0.5; }</style>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f8"/>`,
    `<text class="title" x="${width / 2}" y="24" text-anchor="middle">${escapeXml(title)}</text>`,
    ...(root.value > 0 ? frames : [`<text x="${width / 2}" y="${PAD_TOP + 12}" text-anchor="middle">no samples</text>`]),
    '</svg>',
    '',
  ].join('\n');
}
