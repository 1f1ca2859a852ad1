import { MAX_RUNS_PAGE, withEveryRun, type HostView, type JobView, type RunPage } from '@fleettrace/contracts';
import { recordSecret, secretsInAnswer } from './services/secret-record';

/** An answer as received, before its body is parsed. */
export interface ReceivedResponse {
  method: string;
  /** Path and query, as requested. */
  path: string;
  status: number;
  contentType: string;
  text: string;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Minimal authenticated HTTP client for the stack's own readiness checks and the demo. */
export class ApiClient {
  constructor(readonly baseUrl: string, private readonly token: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const send = () =>
      fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response: Response;
    try {
      response = await send();
    } catch (error) {
      // A server may close a kept-alive connection just as the next request goes out on it ("other
      // side closed", no answer at all). As HTTP clients do, a request that may be repeated
      // (RFC 9110 9.2.2) is sent once more, on a new connection; any other is not: it may have run.
      if (!IDEMPOTENT_METHODS.has(method) || (error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
      response = await send();
    }
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    this.received({ method, path, status: response.status, contentType, text });
    // JSON bodies parsed; text ones (folded stacks are text/plain) as they are.
    const json = contentType.includes('json');
    const parsed = (json ? (text ? JSON.parse(text) : undefined) : text) as T;
    for (const secret of secretsInAnswer(method, path, response.status, parsed)) recordSecret(secret.value, secret.what);
    return { status: response.status, body: parsed };
  }

  async get<T>(path: string): Promise<T> {
    const { status, body } = await this.request<T>('GET', path);
    if (status !== 200) throw new Error(`GET ${path} answered ${status}: ${JSON.stringify(body)}`);
    return body;
  }

  hosts(): Promise<HostView[]> {
    return this.get<HostView[]>('/v1/hosts');
  }

  /** The job with every run: its view carries the first page, the rest are paged in from GET /v1/jobs/:id/runs. */
  async job(jobId: string): Promise<JobView> {
    return this.everyRun(await this.get<JobView>(`/v1/jobs/${jobId}`));
  }

  /** A job view (as GET, POST or cancel answer it) completed with the runs past its first page. */
  everyRun(job: JobView): Promise<JobView> {
    return withEveryRun(job, (cursor) => this.get<RunPage>(`/v1/jobs/${job.id}/runs?limit=${MAX_RUNS_PAGE}&cursor=${encodeURIComponent(cursor)}`));
  }

  /** Every answer passes here first: the tests' client checks it against the API's /openapi.json. */
  protected received(_response: ReceivedResponse): void {}
}
