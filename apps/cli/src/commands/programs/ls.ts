import type { ProgramView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { printData, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';

export function programsDataset(programs: readonly ProgramView[]): Dataset {
  const rows = programs.map((p) => ({
    name: p.name,
    outputs: p.outputs.map((o) => `${o.kind} ${o.name}`).join(', '),
    hosts: `${p.hosts.supported.length}/${p.hosts.supported.length + p.hosts.unsupported.length}`,
    summary: p.summary,
  }));
  return { columns: ['name', 'outputs', 'hosts', 'summary'], rows };
}

/** The catalog; HOSTS is how many of the online hosts can run each program. */
export const ls: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const programs = await withClient(input, io, (client) => client.programs());
  await printData(io.stdout, print, programs, programsDataset(programs));
  return ExitCode.ok;
};
