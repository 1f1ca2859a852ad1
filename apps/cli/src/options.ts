import type { OptionSpec } from './spec';

/** Options shared by several commands, each defined once here. */

export const OUTPUT_FORMATS = ['table', 'json', 'ndjson', 'yaml', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const FORMAT_OPTION: OptionSpec = {
  name: 'format',
  shorthand: 'o',
  argument: 'FORMAT',
  choices: OUTPUT_FORMATS,
  description: 'how to print data on stdout (default: table)',
};

export const FIELDS_OPTION: OptionSpec = {
  name: 'fields',
  argument: 'LIST',
  description: 'columns to print, comma-separated; "-name" drops one from the default columns (table, csv, ndjson)',
};

export const LIMIT_OPTION: OptionSpec = {
  name: 'limit',
  argument: 'N',
  description: 'rows of each top-N table (default 20)',
};

export const EVENTS_LIMIT_OPTION: OptionSpec = {
  name: 'events-limit',
  argument: 'N',
  description: 'events to fetch per output, 0 to 10000 (default 1000)',
};

export const FLAMEGRAPH_OPTION: OptionSpec = {
  name: 'flamegraph',
  argument: 'FILE',
  description: 'write a flame graph SVG of the stacks output to FILE',
};

export const PPROF_OPTION: OptionSpec = {
  name: 'pprof',
  argument: 'FILE',
  description: 'write the stacks output as a gzipped pprof profile to FILE',
};

/** Global: which profile of ~/.config/fleettrace/config.json to talk to. */
export const PROFILE_OPTION: OptionSpec = {
  name: 'profile',
  argument: 'NAME',
  description: 'the profile of ~/.config/fleettrace/config.json to use',
};

/** Options of every command that prints results (run, local run, jobs results). */
export const RESULT_VIEW_OPTIONS: readonly OptionSpec[] = [FORMAT_OPTION, FIELDS_OPTION, LIMIT_OPTION, FLAMEGRAPH_OPTION, PPROF_OPTION];
