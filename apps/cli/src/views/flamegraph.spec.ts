import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { framesOf, type SvgFrame as Frame } from '../testing/svg-frames';
import { escapeXml, flameGraphSvg } from './flamegraph';

const name = (frame: Frame) => frame.title.replace(/ \(.*$/, '');

describe('flameGraphSvg', () => {
  const entries = [
    { stack: 'app;main;work;compute', value: 60 },
    { stack: 'app;main;work;io_wait_[k]', value: 20 },
    { stack: 'app;main;idle', value: 20 },
  ];

  it('is well-formed XML with one <g><title/><rect/><text/></g> per frame, merged by path from the root', () => {
    const svg = flameGraphSvg({ name: 'samples', unit: 'samples', entries });
    expect(XMLValidator.validate(svg)).toBe(true);
    const frames = framesOf(svg);
    expect(frames.map(name).sort()).toEqual(['all', 'app', 'compute', 'idle', 'io_wait_[k]', 'main', 'work'].sort());
    expect(frames.find((f) => name(f) === 'work')!.title).toBe('work (80 samples, 80.00%)');
  });

  it('draws widths proportional to value and each child above its parent, inside it', () => {
    const frames = framesOf(flameGraphSvg({ name: 'samples', unit: 'samples', entries }, { width: 1020 }));
    const of = (n: string) => frames.find((f) => name(f) === n)!;
    expect(of('all').width).toBeCloseTo(1000, 0);
    expect(of('work').width).toBeCloseTo(800, 0);
    expect(of('compute').width).toBeCloseTo(600, 0);
    expect(of('idle').width).toBeCloseTo(200, 0);
    expect(of('work').y).toBe(of('main').y - 16);
    expect(of('compute').x).toBeGreaterThanOrEqual(of('work').x);
    expect(of('compute').x + of('compute').width).toBeLessThanOrEqual(of('work').x + of('work').width + 0.2);
    // Siblings in name order, side by side: idle, then work.
    expect(of('idle').x + of('idle').width).toBeCloseTo(of('work').x, 0);
  });

  it('escapes names that XML would read as markup, and shortens labels that do not fit', () => {
    const svg = flameGraphSvg({ name: 's', unit: 'samples', entries: [{ stack: 'a<b>&"c\';std::vector<int>::push_back', value: 1 }] });
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(framesOf(svg).map(name)).toContain('std::vector<int>::push_back');
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
    const narrow = framesOf(flameGraphSvg({ name: 's', unit: 'samples', entries: [{ stack: 'a_very_long_function_name_indeed', value: 1 }, { stack: 'b', value: 99 }] }, { width: 220 }));
    const long = narrow.find((f) => name(f) === 'a_very_long_function_name_indeed');
    expect(long === undefined || long.text === '' || long.text.endsWith('..')).toBe(true);
  });

  it('says so when there is nothing to draw', () => {
    const svg = flameGraphSvg({ name: 's', unit: 'samples', entries: [] });
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('no samples');
  });
});
