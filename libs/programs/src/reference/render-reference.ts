import { z } from 'zod';
import type { CatalogProgram, OutputSpec } from '../manifest';
import { stackRootFields } from '../stacks';
import { cell } from './markdown';
import { requirementsTable } from './render-requirements';
import { otelCell } from './render-telemetry';

interface JsonSchemaProperty {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

function describeParam(property: JsonSchemaProperty): { type: string; constraints: string } {
  const type = property.enum ? property.enum.map((v) => JSON.stringify(v)).join(' \\| ') : [property.type ?? 'any'].flat().join(' \\| ');
  const bounds = [
    property.minimum !== undefined ? `≥ ${property.minimum}` : '',
    property.maximum !== undefined ? `≤ ${property.maximum}` : '',
    property.minLength !== undefined ? `length ≥ ${property.minLength}` : '',
    property.maxLength !== undefined ? `length ≤ ${property.maxLength}` : '',
  ].filter(Boolean);
  return { type, constraints: bounds.join(', ') };
}

function paramsTable(program: CatalogProgram): string[] {
  const schema = z.toJSONSchema(program.params as z.ZodType, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchemaProperty>;
    required?: string[];
  };
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) return ['No parameters.'];
  const rows = properties.map(([name, property]) => {
    const { type, constraints } = describeParam(property);
    const fallback = property.default === undefined ? (schema.required?.includes(name) ? 'required' : '—') : `\`${JSON.stringify(property.default)}\``;
    return `| \`${name}\` | ${type} | ${cell(constraints) || '—'} | ${fallback} |`;
  });
  return ['| parameter | type | constraints | default |', '|---|---|---|---|', ...rows];
}

function outputColumns(output: OutputSpec): string {
  switch (output.kind) {
    case 'events':
      return `events | — | ${output.layout.fields.map((f) => `\`${f.name}\``).join(', ')}`;
    case 'hist':
      return `hist (log2) | ${output.unit} | buckets [2^i, 2^(i+1))`;
    case 'counts':
      if (output.stacks) {
        // The runner reports stack-keyed counts as folded stacks (ids mean nothing off the host).
        const roots = stackRootFields(output).map((f) => `\`${f}\``);
        return `stacks | ${output.unit} | folded: ${[...roots, 'user frames', 'kernel frames'].join(' ; ')}, outermost first, symbolized on the host`;
      }
      return `counts | ${output.unit} | keyed by ${output.keyFields.map((f) => `\`${f}\``).join(', ')}`;
  }
}

function outputRow(output: OutputSpec): string {
  return `| \`${output.name}\` | ${outputColumns(output)} | ${cell(otelCell(output))} |`;
}

/** docs/programs.md: the catalog as a user reads it, generated from the manifests alone. */
export function renderCatalogReference(catalog: Readonly<Record<string, CatalogProgram>>): string {
  const names = Object.keys(catalog).sort();
  const lines = [
    '# Program catalog',
    '',
    '<!-- Generated from libs/programs/src/*/*.ts by `npm run docs -w @fleettrace/programs`; do not edit by hand. -->',
    '',
    `${names.length} programs. Every one filters in the kernel on the host's cgroup scope and takes the common \`pid\`/\`comm\` filters unless its parameters say otherwise.`,
    '',
    "When a job is planned, each host is checked against the program's requirements: a host whose kernel is too " +
      'old, refused an attach or map type, or lacks a tracepoint (its daemon looks each one up) gets an `unsupported` ' +
      'run that names what is missing. Outputs carry the names they are exported under to OpenTelemetry by default.',
    '',
    '| program | attach types | min kernel | summary |',
    '|---|---|---|---|',
    ...names.map((name) => {
      const { requires, summary } = catalog[name];
      return `| [\`${name}\`](#${name}) | ${requires.attachTypes.join(', ')} | ${requires.minKernel ?? '—'} | ${cell(summary.split('. ')[0].replace(/\.$/, ''))} |`;
    }),
  ];
  for (const name of names) {
    const program = catalog[name];
    lines.push('', `## ${name}`, '', program.summary, '', '### Requirements', '', ...requirementsTable(program));
    lines.push('', '### Parameters', '', ...paramsTable(program));
    lines.push('', '### Outputs', '', '| output | kind | unit | fields | OpenTelemetry |', '|---|---|---|---|---|', ...program.outputs.map(outputRow));
  }
  return `${lines.join('\n')}\n`;
}
