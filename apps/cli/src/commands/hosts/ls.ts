import type { HostView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { chooseColumns, printDocument, printOptions, printRows, writeLines } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { styleFor } from '../../views/style';
import { renderTable } from '../../views/table';

/** `3s ago`, `5m ago`, `2h ago`, `4d ago`. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

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
  const hosts = await withClient(input, io, (client) => client.hosts());
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
  writeLines(io.stdout, hosts.length === 0 ? ['no hosts have registered'] : renderTable(dataset.columns.map((key) => ({ key, header: key.toUpperCase() })), rows, io.stdout.color));
  return ExitCode.ok;
};
