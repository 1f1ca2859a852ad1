import { describe, expect, it } from 'vitest';
import { catalog } from './catalog';

const outputs = Object.values(catalog).flatMap((program) => program.outputs.map((output) => ({ program: program.name, output })));
const INSTRUMENT = { events: 'event', hist: 'histogram', counts: 'counter' } as const;

describe('OpenTelemetry names of the catalog outputs', () => {
  it.each(outputs)('$program $output.name has a default name and instrument of its kind, under fleettrace.$program', ({ program, output }) => {
    expect(output.otel?.instrument).toBe(INSTRUMENT[output.kind]);
    expect(output.otel?.name).toMatch(new RegExp(`^fleettrace\\.${program}(\\.[a-z][a-z0-9_]*)+$`));
  });

  it('gives every output a name of its own', () => {
    const names = outputs.map(({ output }) => output.otel?.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('uses UCUM units, {annotations} for counted things, and the output unit for histograms', () => {
    for (const { output } of outputs) {
      if (output.otel?.instrument === 'event') continue;
      expect(output.otel?.unit).toMatch(/^(us|ns|ms|s|By|\{[a-z]+\})$/);
      if (output.kind === 'hist') expect(output.otel?.unit).toBe(output.unit);
    }
  });

  it('maps every key field of a counter, and nothing else, to an attribute; a stack\'s pid is left out', () => {
    for (const { output } of outputs) {
      if (output.kind !== 'counts') continue;
      const kept = output.keyFields.filter((field) => field !== output.stacks?.pidField);
      expect(Object.keys(output.otel?.attributes ?? {}).sort()).toEqual(kept.sort());
      for (const key of Object.values(output.otel?.attributes ?? {})) expect(key).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
    }
  });
});
