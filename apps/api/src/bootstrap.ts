import 'reflect-metadata';
import { BadRequestException, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { ApiConfig } from './config';
import { API_CONTROLLERS, AppModule } from './app.module';
import { DOCS_PATH, OPENAPI_PATH, buildOpenApiDocument, checkRoutesDocumented, type OpenApiDocument } from './services/openapi-document';
import { StderrLogger } from './utils/stderr-logger';
import { installHttpSpans } from './telemetry/http-spans';
import { installAuditedRequestLog } from './middleware/audited-request-log';
import { answerClientError, installLingeringClose } from './middleware/client-error';
import { checkMutationsAudited } from './utils/audited-routes';

export interface RunningApi {
  app: NestFastifyApplication;
  /** Base URL of the HTTP server; undefined when the process runs without the http role. */
  url: string | undefined;
  /**
   * Graceful, in Nest's order: consumers stop and queues close (destroy and before-shutdown hooks),
   * then the HTTP server stops taking requests and lets those in flight finish, then the pool and
   * the streams' clients close (shutdown hooks); last, the HTTP spans still buffered are sent.
   */
  close(): Promise<void>;
}

export interface BootstrapOptions {
  /** Nest log levels; false silences Nest's logger (tests). */
  logLevels?: LogLevel[] | false;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

export async function bootstrap(config: ApiConfig, options: BootstrapOptions = {}): Promise<RunningApi> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, clientErrorHandler: answerClientError }),
    {
      logger: options.logLevels === false ? false : new StderrLogger({ logLevels: options.logLevels ?? ['log', 'warn', 'error'] }),
      abortOnError: false,
    },
  );
  // Fastify's own message for bad JSON names parser internals; ours says what is wrong.
  const defaultJsonParser = app.getHttpAdapter().getInstance().getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT_BYTES }, (request, body, done) => {
    defaultJsonParser(request as Parameters<typeof defaultJsonParser>[0], body.toString(), (error, parsed) => {
      if (error) done(new BadRequestException('request body is not valid JSON'), undefined);
      else done(null, parsed);
    });
  });

  installLingeringClose(app.getHttpAdapter().getInstance(), config.lingerLimits);
  const tracesUrl = config.otlpExport?.tracesUrl;
  const httpSpans = tracesUrl && config.roles.has('http') ? installHttpSpans(app.getHttpAdapter().getInstance(), tracesUrl) : undefined;
  if (config.auditedRequestLog) installAuditedRequestLog(app.getHttpAdapter().getInstance(), config.auditedRequestLog);
  const closeAll = async () => {
    await app.close();
    await httpSpans?.shutdown();
  };

  try {
    const served = recordRoutes(app);
    const document = buildOpenApiDocument(API_CONTROLLERS);
    await serveOpenApi(app, document);
    await app.init();
    checkRoutesDocumented(served, document);
    checkMutationsAudited(served);
    if (!config.roles.has('http')) return { app, url: undefined, close: closeAll };
    await app.listen(config.httpPort, config.httpHost);
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  const host = config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost;
  return { app, url: `http://${host}:${port}`, close: closeAll };
}

/** Every (method, path) Fastify is given from here on, HEAD twins and the docs page's assets aside. */
function recordRoutes(app: NestFastifyApplication): Set<string> {
  const routes = new Set<string>();
  app.getHttpAdapter().getInstance().addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && !route.url.startsWith(`${DOCS_PATH}/`)) routes.add(`${method} ${route.url}`);
    }
  });
  return routes;
}

/**
 * The document at /openapi.json and a page that reads it at /docs (Swagger UI, its assets bundled:
 * no CDN). Plain Fastify routes, outside Nest, so the auth guard never sees them: both need no token.
 */
async function serveOpenApi(app: NestFastifyApplication, document: OpenApiDocument): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get(OPENAPI_PATH, async () => document);
  await fastify.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await fastify.register(fastifySwaggerUi, { routePrefix: DOCS_PATH });
}
