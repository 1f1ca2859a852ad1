import { isTerminalRunState, type CreateJobInput, type JobResultsView, type JobView, type RunState } from '@fleettrace/contracts';
import type { ApiClient } from '@fleettrace/infra/stack';
import { StopWaiting, waitFor } from '@fleettrace/infra/stack';

export async function submitJob(client: ApiClient, request: Partial<CreateJobInput>): Promise<JobView> {
  const { status, body } = await client.request<JobView>('POST', '/v1/jobs', request);
  if (status !== 201) throw new Error(`POST /v1/jobs answered ${status}: ${JSON.stringify(body)}`);
  return client.everyRun(body);
}

/** Waits until every run of the job is in one of `states` (for example all `running`). */
export async function waitForRuns(client: ApiClient, jobId: string, states: RunState[], timeoutMs = 30_000): Promise<JobView> {
  let job: JobView | undefined;
  await waitFor(`job ${jobId} runs in ${states.join('/')}`, async () => {
    job = await client.job(jobId);
    const ended = job.runs.find((run) => isTerminalRunState(run.state) && !states.includes(run.state));
    if (ended) throw new StopWaiting(`run on ${ended.hostId} already ended ${ended.state}: ${ended.error ?? ''}`);
    return job.runs.every((run) => states.includes(run.state));
  }, timeoutMs, 100);
  return job!;
}

export async function waitForJobDone(client: ApiClient, jobId: string, timeoutMs = 60_000): Promise<JobView> {
  let job: JobView | undefined;
  await waitFor(`job ${jobId} completed`, async () => {
    job = await client.job(jobId);
    return job.state === 'completed' && job.runs.every((run) => isTerminalRunState(run.state));
  }, timeoutMs, 100);
  return job!;
}

export function getResults(client: ApiClient, jobId: string): Promise<JobResultsView> {
  return client.get<JobResultsView>(`/v1/jobs/${jobId}/results`);
}
