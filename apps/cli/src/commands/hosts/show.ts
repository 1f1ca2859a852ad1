import type { HostDetailView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { printData, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { styleFor } from '../../views/style';
import { renderTable } from '../../views/table';
import { ago, localTime } from '../../views/time';

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Each catalog program and whether this host can run it: the rows of -o csv / ndjson. */
export function verdictsDataset(host: HostDetailView): Dataset {
  return { columns: ['program', 'supported', 'reason'], rows: host.programs.map((p) => ({ program: p.name, supported: p.supported, reason: p.reason ?? '' })) };
}

/** What the kernel can do, in a few lines: attach kinds, how events travel, BPF stats. */
function capabilityLines(host: HostDetailView): string[] {
  const caps = host.capabilities;
  if (!caps) return ['capabilities  not reported yet'];
  const attach = Object.entries(caps.attachTypes);
  const yes = attach.filter(([, probe]) => probe.supported).map(([kind]) => kind);
  const no = attach.filter(([, probe]) => !probe.supported).map(([kind]) => kind);
  return [
    `attach        ${yes.join(', ') || 'none'}`,
    ...(no.length > 0 ? [`cannot attach ${no.join(', ')}`] : []),
    `events        ${caps.eventTransport === 'ringbuf' ? 'BPF ring buffer' : 'perf buffer'}; BPF stats ${caps.bpfStats.available ? (caps.bpfStats.enabled ? 'on' : 'available, off') : 'unavailable'}`,
    `probed        ${localTime(caps.probedAt)} in ${Math.round(caps.probeDurationMs)} ms`,
  ];
}

function detailLines(host: HostDetailView, color: boolean): string[] {
  const style = styleFor(color);
  const labels = Object.entries(host.labels).map(([k, v]) => `${k}=${v}`).join(',');
  const tools = [host.btf && 'btf', host.tools.bpftrace && 'bpftrace', host.tools.clang && 'clang'].filter(Boolean).join(', ');
  const header = [
    `host          ${host.id}${host.name !== host.id ? ` (${host.name})` : ''}`,
    `online        ${host.online ? style.green('yes') : style.red('no')}, last heartbeat ${ago(host.lastHeartbeatAt)}`,
    `kernel        ${host.kernelRelease} ${host.arch}`,
    `labels        ${labels || '(none)'}`,
    `tools         ${tools || '(none)'}`,
    `daemon        ${host.daemonVersion}${host.cgroup ? `, traces cgroup ${host.cgroup}` : ''}`,
    ...capabilityLines(host),
  ];
  const programs = renderTable(
    [
      { key: 'program', header: 'PROGRAM' },
      { key: 'supported', header: 'RUNS' },
      { key: 'reason', header: 'WHY NOT' },
    ],
    host.programs.map((p) => ({ program: p.name, supported: p.supported ? style.green('yes') : style.red('no'), reason: p.reason ?? '' })),
    color,
  );
  const runs =
    host.recentRuns.length === 0
      ? ['no runs yet']
      : renderTable(
          ['job', 'program', 'state', 'queued', 'error'].map((key) => ({ key, header: key.toUpperCase() })),
          host.recentRuns.map((r) => ({ job: r.jobId, program: r.program, state: r.state, queued: ago(r.queuedAt), error: r.error ?? '' })),
          color,
        );
  return [...header, '', ...programs, '', 'recent runs:', ...runs];
}

/** One host: what it is, what its kernel can do, which catalog programs it can run (and why not), its last runs. */
export const show: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = input.args[0] ?? '';
  if (!HOST_ID.test(id)) throw new UsageError(`host id must be 1 to 128 of A-Z a-z 0-9 _ . -, got "${id}"`);
  const host = await withClient(input, io, (client) => client.host(id));
  await printData(io.stdout, print, host, verdictsDataset(host), () => detailLines(host, io.stdout.color));
  return ExitCode.ok;
};
