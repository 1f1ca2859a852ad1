import type { HostView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { chooseColumns, printDocument, printOptions, printRows, writeLines } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { checkSelector } from '../../job-request/targets';
import { styleFor } from '../../views/style';
import { renderTable } from '../../views/table';
import { ago } from '../../views/time';

export function hostsDataset(hosts: readonly HostView[], now = Date.now()): Dataset {
  const rows = [...hosts]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((h) => ({
      id: h.id,
      name: h.name,
      online: h.online,
      kernel: h.kernelRelease,
      arch: h.arch,
      labels: Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(','),
      tools: [h.btf && 'btf', h.tools.bpftrace && 'bpftrace', h.tools.clang && 'clang'].filter(Boolean).join(','),
      seen: ago(h.lastHeartbeatAt, now),
      daemon: h.daemonVersion,
      cgroup: h.cgroup,
      lastHeartbeatAt: h.lastHeartbeatAt,
      registeredAt: h.registeredAt,
    }));
  return { columns: ['id', 'name', 'online', 'kernel', 'arch', 'labels', 'tools', 'seen'], rows };
}

export const ls: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const selector = input.options.selector === undefined ? undefined : checkSelector(String(input.options.selector));
  const hosts = await withClient(input, io, (client) => client.hosts(selector));
  if (print.format === 'json' || print.format === 'yaml') {
    await printDocument(io.stdout, print.format, hosts);
    return ExitCode.ok;
  }
  const dataset = chooseColumns(hostsDataset(hosts), print.fields);
  if (print.format === 'csv' || print.format === 'ndjson') {
    printRows(io.stdout, print.format, dataset);
    return ExitCode.ok;
  }
  const style = styleFor(io.stdout.color);
  const rows = dataset.rows.map((row) => ({ ...row, online: row.online ? style.green('yes') : style.red('no') }));
  const none = selector === undefined ? 'no hosts have registered' : `no host matches ${selector}`;
  writeLines(io.stdout, hosts.length === 0 ? [none] : renderTable(dataset.columns.map((key) => ({ key, header: key.toUpperCase() })), rows, io.stdout.color));
  return ExitCode.ok;
};
