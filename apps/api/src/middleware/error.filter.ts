import { randomUUID } from 'node:crypto';
import { Catch, HttpException, HttpStatus, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ErrorBody } from '@fleettrace/contracts';
import { ResultsQueryError } from '@fleettrace/results';
import { isDatabaseUnavailable } from '../utils/database-errors';

/** Seconds a client is told to wait before trying again while the database is away. */
export const RETRY_AFTER_SECONDS = 5;
/** The answer to any request while the database is away (the OpenAPI document shows it too). */
export const DATABASE_UNAVAILABLE: ErrorBody = {
  statusCode: HttpStatus.SERVICE_UNAVAILABLE,
  error: 'Service Unavailable',
  message: 'the database is unavailable; try again shortly',
};

/**
 * Every error leaves as an ErrorBody. Expected ones (HttpException) say what was wrong; anything else
 * is a bug or an outage: logged with a correlation id that the 500 body repeats, details kept inside.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse();
    if (isDatabaseUnavailable(exception)) {
      // An outage, not a bug: the client should come back, and nothing needs a correlation id.
      this.logger.warn(`database unavailable: ${(exception as Error).message}`);
      this.adapterHost.httpAdapter.setHeader(response, 'retry-after', String(RETRY_AFTER_SECONDS));
      this.adapterHost.httpAdapter.reply(response, DATABASE_UNAVAILABLE, DATABASE_UNAVAILABLE.statusCode);
      return;
    }
    const body = this.toBody(exception);
    this.adapterHost.httpAdapter.reply(response, body, body.statusCode);
  }

  private toBody(exception: unknown): ErrorBody {
    // A question the results math cannot answer as asked (a filter on a field no key has): the caller's to fix.
    if (exception instanceof ResultsQueryError) return { statusCode: HttpStatus.BAD_REQUEST, error: 'Bad Request', message: exception.message };
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const details = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
      const message = Array.isArray(details.message) ? details.message.join('; ') : String(details.message ?? response);
      const body: ErrorBody = { statusCode, error: String(details.error ?? statusText(statusCode)), message };
      if (typeof details.verifierLog === 'string') body.verifierLog = details.verifierLog;
      return body;
    }
    const correlationId = randomUUID();
    this.logger.error(`unhandled error ${correlationId}: ${(exception as Error)?.stack ?? String(exception)}`);
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: 'Internal Server Error',
      message: `internal error (correlation id ${correlationId})`,
      correlationId,
    };
  }
}

function statusText(status: number): string {
  const name = HttpStatus[status];
  return name ? name.toLowerCase().split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') : 'Error';
}
