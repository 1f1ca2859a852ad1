import { join } from 'node:path';
import type { AuditPage, HostView, JobView } from '@fleettrace/contracts';
import { runInCgroup } from '../src/cgroup';
import { ApiClient } from '../stack/api-client';
import { readStackState } from '../stack/local-stack';
import { REPO_ROOT } from '../stack/repo-root';
import { waitFor } from '../stack/services/process';
import { formatResults } from './format';

const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');
const DURATION_SECONDS = 5;

async function submit(client: ApiClient, program: string): Promise<JobView> {
  const { status, body } = await client.request<JobView & { message?: string }>('POST', '/v1/jobs', { program, durationSeconds: DURATION_SECONDS, targets: { all: true } });
  if (status !== 201) throw new Error(`submitting ${program}: HTTP ${status} ${body.message ?? ''}`);
  return client.everyRun(body);
}

async function waitUntil(client: ApiClient, jobId: string, done: (job: JobView) => boolean, what: string): Promise<void> {
  await waitFor(what, async () => done(await client.job(jobId)), 60_000, 200);
}

/** Some ordinary activity in one host: a few execs, and sleeps that make run-queue wakeups. */
async function workload(cgroupPath: string, hostId: string): Promise<void> {
  await runInCgroup(cgroupPath, '/bin/sh', ['-c', `uname -r >/dev/null; ls / >/dev/null; echo ${hostId} | tr a-z A-Z >/dev/null`]);
  await runInCgroup(cgroupPath, WORKLOAD, ['sleep', '300', '2000']);
}

/**
 * How each host came to be trusted, from the audit trail: the stack enrolled it with a one-time
 * token, and it runs on a Redis user of its own (its queue and its results stream only).
 */
async function trustPath(client: ApiClient, hosts: readonly HostView[]): Promise<string> {
  const enrolments = (await client.get<AuditPage>('/v1/audit?action=host.enrol&limit=100')).items;
  return hosts
    .map((h) => {
      // Newest first: the enrolment of this `up`.
      const record = enrolments.find((e) => e.subject === h.id);
      return record
        ? `trust: ${h.id} enrolled at ${record.at} with a one-time token (audit record ${record.id}, actor ${record.actor}); it runs as Redis user ${String(record.detail.redisUser)}, which reaches its own queue and results stream only\n`
        : `trust: ${h.id} has no enrolment: it runs on the shared Redis credential\n`;
    })
    .join('');
}

async function main(): Promise<void> {
  const state = readStackState();
  if (!state) throw new Error('no local stack is up');
  const client = new ApiClient(state.url, state.token);
  const hosts = await client.hosts();
  process.stderr.write(`fleet: ${hosts.map((h) => `${h.id} (${Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(',')}, kernel ${h.kernelRelease})`).join('; ')}\n`);
  process.stderr.write(await trustPath(client, hosts));

  const exec = await submit(client, 'execsnoop');
  const runq = await submit(client, 'runqlat');
  process.stderr.write(`submitted execsnoop ${exec.id} and runqlat ${runq.id} for ${DURATION_SECONDS} s on ${exec.runs.length} hosts\n`);
  for (const job of [exec, runq]) {
    await waitUntil(client, job.id, (j) => j.runs.every((r) => r.state !== 'queued' && r.state !== 'dispatched' && r.state !== 'loading'), `job ${job.id} running`);
  }
  process.stderr.write('programs attached on every host; running workload in each host\n');
  await Promise.all(state.daemons.map((d) => workload(d.cgroupPath, d.hostId)));
  for (const job of [exec, runq]) await waitUntil(client, job.id, (j) => j.state === 'completed', `job ${job.id} completed`);

  for (const [title, job] of [['execsnoop: which processes exec, fleet-wide', exec], ['runqlat: run-queue latency, fleet-wide', runq]] as const) {
    process.stdout.write(`\n${formatResults(title, await client.get(`/v1/jobs/${job.id}/results?eventsLimit=200`))}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
