import { z } from 'zod';
import type { CatalogProgram, OutputSpec } from '../manifest';

interface JsonSchemaProperty {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
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

function outputRow(output: OutputSpec): string {
  switch (output.kind) {
    case 'events':
      return `| \`${output.name}\` | events | — | ${output.layout.fields.map((f) => `\`${f.name}\``).join(', ')} |`;
    case 'hist':
      return `| \`${output.name}\` | hist (log2) | ${output.unit} | buckets [2^i, 2^(i+1)) |`;
    case 'counts':
      return `| \`${output.name}\` | counts | ${output.unit} | keyed by ${output.keyFields.map((f) => `\`${f}\``).join(', ')} |`;
  }
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
    '| program | attach types | summary |',
    '|---|---|---|',
    ...names.map((name) => `| [\`${name}\`](#${name}) | ${catalog[name].requires.attachTypes.join(', ')} | ${cell(catalog[name].summary.split('. ')[0].replace(/\.$/, ''))} |`),
  ];
  for (const name of names) {
    const program = catalog[name];
    lines.push('', `## ${name}`, '', program.summary, '', `Requires: ${program.requires.attachTypes.join(', ')}.`, '', '### Parameters', '');
    lines.push(...paramsTable(program));
    lines.push('', '### Outputs', '', '| output | kind | unit | fields |', '|---|---|---|---|', ...program.outputs.map(outputRow));
  }
  return `${lines.join('\n')}\n`;
}
