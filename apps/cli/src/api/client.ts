import * as http from 'node:http';
import type { IncomingMessage } from 'node:http';
import {
  type AuditPage,
  type CreatedTokenView,
  type CreateTokenRequest,
  type TokenView,
  type CreateJobInput,
  type CreateScheduleInput,
  type ErrorBody,
  type EventPage,
  type HostDetailView,
  type HostView,
  type SshHostView,
  type JobComparisonView,
  type JobPage,
  type JobPlanView,
  type JobResultsView,
  type JobView,
  MAX_RUNS_PAGE,
  withEveryRun,
  type ProgramView,
  type RunPage,
  type ScheduleDetailView,
  type ScheduleView,
  type UpdateScheduleRequest,
} from '@fleettrace/contracts';
import { CliError } from '../errors';
import type { ApiTarget } from '../config/config';
import { deferredCaOptions, type CaOptions } from './deferred-ca';

/** The API answered with an error body: its status and its one-sentence message. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody>,
  ) {
    super(body.message ?? `the API answered ${status}`);
  }
}

/** Query parameters; undefined ones are left out. */
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.append(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

interface Response {
  status: number;
  contentType: string;
  text: string;
}

/** node:http, or node:https for an https:// API: the same request and Agent. */
export type Transport = Pick<typeof http, 'request' | 'Agent'>;

/**
 * The REST API over node:http rather than fetch: loading undici would cost the start-up of every
 * command. One keep-alive connection serves a command's requests; `close()` lets the process end.
 */
export class ApiClient {
  private readonly agent: http.Agent;

  /** node:https (with tls and crypto) only for an https:// API: tens of ms of start-up otherwise spent for nothing. */
  static async for(target: ApiTarget): Promise<ApiClient> {
    if (!target.url.startsWith('https:')) return new ApiClient(target, http);
    const [https, tls] = await Promise.all([import('node:https'), deferredCaOptions()]);
    return new ApiClient(target, https, tls);
  }

  constructor(
    private readonly target: ApiTarget,
    readonly transport: Transport,
    /** TLS options of every connection (the CA certificates node was started without, see deferred-ca.ts). */
    readonly tls: CaOptions = {},
  ) {
    this.agent = new transport.Agent({ keepAlive: true, maxSockets: 2, ...tls });
  }

  get url(): string {
    return this.target.url;
  }

  close(): void {
    this.agent.destroy();
  }

  /** The job as created, with every run (the API's answer carries the first page of them). */
  async createJob(request: CreateJobInput): Promise<JobView> {
    return this.everyRun(await this.json<JobView>('POST', '/v1/jobs', request));
  }

  planJob(request: CreateJobInput): Promise<JobPlanView> {
    return this.json<JobPlanView>('POST', '/v1/jobs?dryRun=true', request);
  }

  async cancelJob(jobId: string, reason?: string): Promise<JobView> {
    return this.everyRun(await this.json<JobView>('POST', `/v1/jobs/${encodeURIComponent(jobId)}/cancel`, reason === undefined ? {} : { reason }));
  }

  createToken(request: CreateTokenRequest): Promise<CreatedTokenView> {
    return this.json<CreatedTokenView>('POST', '/v1/tokens', request);
  }

  tokens(): Promise<TokenView[]> {
    return this.json<TokenView[]>('GET', '/v1/tokens');
  }

  async revokeToken(id: string): Promise<void> {
    const response = await this.send('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
    if (response.status !== 204 && response.status !== 200) throw this.failure(response);
  }

  audit(query: Query): Promise<AuditPage> {
    return this.json<AuditPage>('GET', `/v1/audit${queryString(query)}`);
  }

  jobs(query: Query): Promise<JobPage> {
    return this.json<JobPage>('GET', `/v1/jobs${queryString(query)}`);
  }

  events(jobId: string, query: Query): Promise<EventPage> {
    return this.json<EventPage>('GET', `/v1/jobs/${encodeURIComponent(jobId)}/events${queryString(query)}`);
  }

  /** Every event of the job, a JSON object a line, handed on line by line as the API streams them. */
  eventLines(jobId: string, query: Query, onLine: (line: string) => void): Promise<void> {
    return this.lines(`/v1/jobs/${encodeURIComponent(jobId)}/events.ndjson${queryString(query)}`, onLine);
  }

  compare(jobA: string, jobB: string, top?: number): Promise<JobComparisonView> {
    return this.json<JobComparisonView>('GET', `/v1/jobs/${encodeURIComponent(jobA)}/compare/${encodeURIComponent(jobB)}${queryString({ top })}`);
  }

  /** The job with every run: its view carries the first page, the rest are paged in here. */
  async job(jobId: string): Promise<JobView> {
    return this.everyRun(await this.json<JobView>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`));
  }

  runs(jobId: string, query: Query): Promise<RunPage> {
    return this.json<RunPage>('GET', `/v1/jobs/${encodeURIComponent(jobId)}/runs${queryString(query)}`);
  }

  /** Every CLI view of a job (progress, the per-host table, wait's outcome) speaks of every host. */
  private everyRun(job: JobView): Promise<JobView> {
    return withEveryRun(job, (cursor) => this.runs(job.id, { cursor, limit: MAX_RUNS_PAGE }));
  }

  results(jobId: string, eventsLimit?: number): Promise<JobResultsView> {
    const query = eventsLimit === undefined ? '' : `?eventsLimit=${eventsLimit}`;
    return this.json<JobResultsView>('GET', `/v1/jobs/${encodeURIComponent(jobId)}/results${query}`);
  }

  hosts(selector?: string): Promise<HostView[]> {
    return this.json<HostView[]>('GET', `/v1/hosts${queryString({ selector })}`);
  }

  host(hostId: string): Promise<HostDetailView> {
    return this.json<HostDetailView>('GET', `/v1/hosts/${encodeURIComponent(hostId)}`);
  }

  sshHost(hostId: string): Promise<SshHostView> {
    return this.json<SshHostView>('GET', `/v1/hosts/ssh/${encodeURIComponent(hostId)}`);
  }

  /** POST /v1/hosts/ssh/:id/bootstrap or /uninstall: the host's daemon asked for, or asked away. */
  sshDaemon(hostId: string, action: 'bootstrap' | 'uninstall'): Promise<SshHostView> {
    return this.json<SshHostView>('POST', `/v1/hosts/ssh/${encodeURIComponent(hostId)}/${action}`);
  }

  programs(): Promise<ProgramView[]> {
    return this.json<ProgramView[]>('GET', '/v1/programs');
  }

  program(name: string): Promise<ProgramView> {
    return this.json<ProgramView>('GET', `/v1/programs/${encodeURIComponent(name)}`);
  }

  createSchedule(request: CreateScheduleInput): Promise<ScheduleDetailView> {
    return this.json<ScheduleDetailView>('POST', '/v1/schedules', request);
  }

  schedules(): Promise<ScheduleView[]> {
    return this.json<ScheduleView[]>('GET', '/v1/schedules');
  }

  schedule(id: string): Promise<ScheduleDetailView> {
    return this.json<ScheduleDetailView>('GET', `/v1/schedules/${encodeURIComponent(id)}`);
  }

  updateSchedule(id: string, patch: UpdateScheduleRequest): Promise<ScheduleDetailView> {
    return this.json<ScheduleDetailView>('PATCH', `/v1/schedules/${encodeURIComponent(id)}`, patch);
  }

  async removeSchedule(id: string): Promise<void> {
    const response = await this.send('DELETE', `/v1/schedules/${encodeURIComponent(id)}`);
    if (response.status !== 204 && response.status !== 200) throw this.failure(response);
  }

  /** Headers every request carries: the token, on this client's connections or on a stream of its own. */
  headers(accept: string): Record<string, string> {
    return { authorization: `Bearer ${this.target.token}`, accept };
  }

  /** A refusal of the API as the error this client throws for it (the stream's failed connection uses it too). */
  failureOf(status: number, contentType: string, text: string): CliError {
    return this.failure({ status, contentType, text });
  }

  /** What a request that could not reach the API throws. */
  unreachable(error: NodeJS.ErrnoException): CliError {
    return new CliError(`cannot reach the API at ${this.target.url} (${this.target.source}): ${error.code ?? error.message}`);
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    if (response.status >= 200 && response.status < 300) {
      try {
        return JSON.parse(response.text) as T;
      } catch {
        throw new CliError(`${method} ${path}: the API answered ${response.status} with a body that is not JSON`);
      }
    }
    throw this.failure(response);
  }

  private failure(response: Response): CliError {
    let body: Partial<ErrorBody> = {};
    if (response.contentType.includes('json')) {
      try {
        body = JSON.parse(response.text) as Partial<ErrorBody>;
      } catch {
        // not an ErrorBody after all: the status says enough
      }
    }
    if (response.status === 401) return new CliError(`the API at ${this.target.url} refused the token from ${this.target.source}: ${body.message ?? 'unauthorized'}`);
    return new ApiError(response.status, body);
  }

  /** A GET whose body is handed on a line at a time as it arrives; a refusal throws as json() does. */
  private lines(path: string, onLine: (line: string) => void): Promise<void> {
    const url = new URL(path, `${this.target.url}/`);
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, { method: 'GET', agent: this.agent, headers: this.headers('application/x-ndjson') }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const contentType = String(res.headers['content-type'] ?? '');
        let pending = '';
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (status !== 200) return void chunks.push(chunk);
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) if (line !== '') onLine(line);
        });
        res.on('end', () => {
          if (status !== 200) return reject(this.failure({ status, contentType, text: Buffer.concat(chunks).toString('utf8') }));
          if (pending !== '') onLine(pending);
          resolve();
        });
        res.on('error', reject);
      });
      req.on('error', (error: NodeJS.ErrnoException) => reject(this.unreachable(error)));
      req.end();
    });
  }

  private send(method: string, path: string, body?: unknown): Promise<Response> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(path, `${this.target.url}/`);
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.headers('application/json'),
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => reject(this.unreachable(error)));
      req.end(payload);
    });
  }
}
