import type { HostView } from '@fleettrace/contracts';
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

/** Minimal authenticated HTTP client for the stack's own readiness checks and the demo. */
export class ApiClient {
  constructor(readonly baseUrl: string, private readonly token: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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

  /** Every answer passes here first: the tests' client checks it against the API's /openapi.json. */
  protected received(_response: ReceivedResponse): void {}
}
