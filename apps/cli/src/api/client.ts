import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ErrorBody, HostView, JobResultsView, JobView } from '@fleettrace/contracts';
import type { CreateJobRequest } from '@fleettrace/contracts';
import { CliError } from '../errors';
import type { ApiTarget } from '../config/config';

/** The API answered with an error body: its status and its one-sentence message. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody>,
  ) {
    super(body.message ?? `the API answered ${status}`);
  }
}

interface Response {
  status: number;
  contentType: string;
  text: string;
}

/**
 * The REST API over node:http rather than fetch: loading undici would cost the start-up of every
 * command. One keep-alive connection serves a command's polling; `close()` lets the process end.
 */
export class ApiClient {
  private readonly agent: HttpAgent;
  private readonly secure: boolean;

  constructor(private readonly target: ApiTarget) {
    this.secure = target.url.startsWith('https:');
    this.agent = this.secure ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new HttpAgent({ keepAlive: true, maxSockets: 2 });
  }

  get url(): string {
    return this.target.url;
  }

  close(): void {
    this.agent.destroy();
  }

  createJob(request: CreateJobRequest): Promise<JobView> {
    return this.json<JobView>('POST', '/v1/jobs', request);
  }

  job(jobId: string): Promise<JobView> {
    return this.json<JobView>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  results(jobId: string, eventsLimit?: number): Promise<JobResultsView> {
    const query = eventsLimit === undefined ? '' : `?eventsLimit=${eventsLimit}`;
    return this.json<JobResultsView>('GET', `/v1/jobs/${encodeURIComponent(jobId)}/results${query}`);
  }

  hosts(): Promise<HostView[]> {
    return this.json<HostView[]>('GET', '/v1/hosts');
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

  private send(method: string, path: string, body?: unknown): Promise<Response> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(path, `${this.target.url}/`);
    const request = this.secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.target.token}`,
            accept: 'application/json',
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
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(new CliError(`cannot reach the API at ${this.target.url} (${this.target.source}): ${error.code ?? error.message}`)),
      );
      req.end(payload);
    });
  }
}
