import { appendFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditedRequestLine } from '@fleettrace/contracts';
import { MUTATING_METHODS, owedRecord, subjectFromAnswer } from '../utils/audited-routes';

const STARTED = Symbol('fleettrace.auditedRequestStarted');
type Tracked = FastifyRequest & { [STARTED]?: number; auth?: { tokenId?: string } };

/**
 * For tests only (FLEETTRACE_AUDITED_REQUEST_LOG): appends a line for each mutating or refused
 * request with the audit record it owes (utils/audited-routes.ts), so the e2e suite can check the
 * trail holds one for every mutation and refusal any test, CLI or daemon caused. Never a secret:
 * only ids, route patterns and the caller's token id. Off, no hook exists at all.
 */
export function installAuditedRequestLog(server: FastifyInstance, file: string): void {
  server.addHook('onRequest', async (request) => {
    (request as Tracked)[STARTED] = Date.now();
  });
  // Written before the answer leaves: a client that acts on it (stops this API, say) finds the line there.
  server.addHook('onSend', async (request, reply, payload) => {
    const tracked = request as Tracked;
    const route = request.routeOptions.url;
    let answer: unknown;
    if (reply.statusCode < 300 && subjectFromAnswer(request.method, route) && typeof payload === 'string') {
      try {
        answer = JSON.parse(payload);
      } catch {
        // not JSON: the owed record names its subject as missing, and the check says so
      }
    }
    const owed = owedRecord({
      method: request.method,
      route,
      status: reply.statusCode,
      params: (request.params ?? {}) as Record<string, unknown>,
      query: (request.query ?? {}) as Record<string, unknown>,
      body: request.body,
      answer,
      tokenId: tracked.auth?.tokenId,
    });
    if (owed || MUTATING_METHODS.has(request.method)) {
      const line: AuditedRequestLine = {
        startedAt: tracked[STARTED] ?? Date.now(),
        endedAt: Date.now(),
        method: request.method,
        route: route ?? '(none)',
        path: request.url.split('?')[0]!,
        status: reply.statusCode,
        ...(owed ? { owed } : {}),
      };
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    }
    return payload;
  });
}
