import { XMLParser } from 'fast-xml-parser';

export interface SvgFrame {
  title: string;
  x: number;
  y: number;
  width: number;
  text: string;
}

/** The frames of a flame graph SVG as an XML parser reads them: each <g> with its title, rect and label. */
export function framesOf(svg: string): SvgFrame[] {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'g' }).parse(svg) as {
    svg: { g?: Array<{ title: string; rect: Record<string, string>; text: string | { '#text'?: string } }> };
  };
  return (doc.svg.g ?? []).map((g) => ({
    title: String(g.title),
    x: Number(g.rect.x),
    y: Number(g.rect.y),
    width: Number(g.rect.width),
    text: typeof g.text === 'object' ? String(g.text['#text'] ?? '') : String(g.text ?? ''),
  }));
}
