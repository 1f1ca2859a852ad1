import type { ProgramView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { printData, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { renderTable } from '../../views/table';

const PROGRAM_NAME = /^[a-z][a-z0-9_]{0,63}$/;

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** A parameter's type as a person reads it: `integer 1..4194304`, `one of exact, prefix`, `string (at most 15)`. */
export function schemaType(schema: JsonSchema): string {
  if (schema.enum) return `one of ${schema.enum.map(String).join(', ')}`;
  if (schema.anyOf) return schema.anyOf.map(schemaType).filter((t) => t !== 'null').join(' or ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : (schema.type ?? 'any');
  const range = schema.minimum !== undefined || schema.maximum !== undefined ? ` ${schema.minimum ?? ''}..${schema.maximum ?? ''}` : '';
  const length = schema.maxLength !== undefined ? ` (at most ${schema.maxLength} characters)` : '';
  return `${type}${range}${length}`;
}

/** The parameters of a program from its JSON Schema: a row each, the required ones saying so. */
export function parametersDataset(parameters: Record<string, unknown>): Dataset {
  const schema = parameters as JsonSchema;
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    type: schemaType(property),
    default: property.default === undefined ? (required.has(name) ? '(required)' : '') : JSON.stringify(property.default),
    description: property.description ?? '',
  }));
  return { columns: ['name', 'type', 'default', 'description'], rows };
}

/** `kernel >= 5.8, btf, tracepoint sched:sched_switch`: the requirements object flattened to one line each. */
function requirementLines(requires: Record<string, unknown>): string[] {
  return Object.entries(requires)
    .filter(([, value]) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `  ${key}: ${Array.isArray(value) ? value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
}

function detailLines(program: ProgramView, parameters: Dataset, color: boolean): string[] {
  const outputs = renderTable(
    ['kind', 'name', 'unit', 'keys', 'otel'].map((key) => ({ key, header: key.toUpperCase() })),
    program.outputs.map((o) => ({
      kind: o.kind,
      name: o.name,
      unit: o.unit ?? '',
      keys: o.keyFields?.join(',') ?? '',
      otel: o.otel ? `${o.otel.instrument} ${o.otel.name}${o.otel.unit ? ` (${o.otel.unit})` : ''}` : '',
    })),
    color,
  );
  const { supported, unsupported } = program.hosts;
  return [
    `${program.name}: ${program.summary}`,
    '',
    'parameters:',
    ...(parameters.rows.length > 0 ? renderTable(parameters.columns.map((key) => ({ key, header: key.toUpperCase() })), parameters.rows, color) : ['(none)']),
    '',
    'outputs:',
    ...outputs,
    '',
    'requires:',
    ...requirementLines(program.requires),
    ...program.fallbacks.map((f) => `  without ${f.lacking}: ${f.instead}`),
    '',
    `runs on ${supported.length} of ${supported.length + unsupported.length} online hosts${supported.length > 0 ? `: ${supported.join(', ')}` : ''}`,
    ...unsupported.map((h) => `  not ${h.hostId}: ${h.reason}`),
  ];
}

/** One catalog program; -o csv / ndjson print its parameters, a row each. */
export const show: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const name = input.args[0] ?? '';
  if (!PROGRAM_NAME.test(name)) throw new UsageError(`program must be a catalog name like "execsnoop", got "${name}"`);
  const program = await withClient(input, io, (client) => client.program(name));
  const parameters = parametersDataset(program.parameters);
  await printData(io.stdout, print, program, parameters, () => detailLines(program, parameters, io.stdout.color));
  return ExitCode.ok;
};
