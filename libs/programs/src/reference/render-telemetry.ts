import type { OutputSpec } from '../manifest';
import type { OtelCounter } from '../telemetry';
import { code } from './markdown';

/** Key fields grouped by the attribute they become: "user_stack_id, kernel_stack_id → fleettrace.stack.folded". */
function attributes(counter: OtelCounter): string {
  const fieldsByKey = new Map<string, string[]>();
  for (const [field, key] of Object.entries(counter.attributes)) fieldsByKey.set(key, [...(fieldsByKey.get(key) ?? []), field]);
  return [...fieldsByKey].map(([key, fields]) => `${fields.map(code).join(', ')} → ${code(key)}`).join(', ');
}

/** The OpenTelemetry cell of an output's row: instrument, name, unit and attributes. */
export function otelCell(output: OutputSpec): string {
  const otel = output.otel;
  if (!otel) return '—';
  switch (otel.instrument) {
    case 'event':
      return `event ${code(otel.name)}`;
    case 'histogram':
      return `histogram ${code(otel.name)} (${code(otel.unit)})`;
    case 'counter':
      return `counter ${code(otel.name)} (${code(otel.unit)}); ${attributes(otel)}`;
  }
}
