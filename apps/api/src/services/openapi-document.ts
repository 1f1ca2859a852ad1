import { createRequire } from 'node:module';
import { RequestMethod, type Type } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { z } from 'zod';
import { apiComponents, documentationOf, type ApiSide, type ErrorBody } from '@fleettrace/contracts';
import { routeDocOf, type ResponseDoc, type RouteDoc, type RouteError } from '../decorators/api-route.decorator';
import { prefixedQueryDoc } from '../dtos/prefixed-query';
import { DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS } from '../middleware/error.filter';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';

/** Served beside the controllers' routes, without a token: the document, and a page that reads it. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, JsonSchema>;
    schemas: Record<string, JsonSchema>;
    responses: Record<string, JsonSchema>;
  };
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  responses: Record<string, JsonSchema>;
}

/** A controller route as Nest registers it, with what its decorators and pipes say about it. */
interface ControllerRoute {
  method: string;
  /** In Nest's and Fastify's form: `/v1/jobs/:id`. */
  path: string;
  owner: string;
  tag: string;
  doc: RouteDoc | undefined;
  /** Nest's status for a handler that returns its answer; undefined when it writes the reply itself. */
  status: number | undefined;
  params: Map<string, z.ZodType>;
  query: z.ZodType | undefined;
  body: z.ZodType | undefined;
}

/**
 * The OpenAPI 3.1 document of the API, generated from the controllers: Nest's own metadata gives each
 * route's method, path and status, its validation pipes the schemas of its parameters and body, and
 * its @ApiRoute what it answers. Schemas are converted by zod's own `z.toJSONSchema` (2020-12, which
 * OpenAPI 3.1 schemas are). A route without @ApiRoute, or whose documented answers leave out the
 * status Nest gives it, is an error: the document may not silently miss or contradict a route.
 */
export function buildOpenApiDocument(controllers: readonly Type[]): OpenApiDocument {
  const schemas = new SchemaSet();
  const paths: OpenApiDocument['paths'] = {};
  const problems: string[] = [];
  for (const route of controllerRoutes(controllers)) {
    const where = `${route.method} ${route.path} (${route.owner})`;
    if (!route.doc) {
      problems.push(`${where} has no @ApiRoute`);
      continue;
    }
    if (route.status !== undefined && !(route.status in route.doc.responses)) {
      problems.push(`${where} answers ${route.status} but documents ${Object.keys(route.doc.responses).join(', ')}`);
    }
    try {
      (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation(route, route.doc, schemas);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new Error(`OpenAPI document: ${problems.join('; ')}`);
  paths[OPENAPI_PATH] = { get: selfOperation('openapi', 'This document: every route, its parameters, body and answers (OpenAPI 3.1).', 'application/json') };
  paths[DOCS_PATH] = { get: selfOperation('docs', 'A page to read this document and try the routes (Swagger UI).', 'text/html') };

  return {
    openapi: '3.1.0',
    info: {
      title: 'fleettrace API',
      version: API_VERSION,
      description: 'Runs eBPF tracing programs on many Linux hosts at once and gives back one merged answer with every host\'s own beside it.',
    },
    security: [{ bearerAuth: [] }],
    tags: [...new Set(Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op.tags ?? [])))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token, e.g. FLEETTRACE_TOKEN of the local stack (`source .fleettrace/local.env`).' },
      },
      schemas: schemas.resolve(),
      responses: Object.fromEntries(Object.values(ERRORS).map((error) => [error.name, errorResponse(error)])),
    },
  };
}

/**
 * The start-up check: `served` (what Fastify was given, as `GET /v1/jobs/:id`) is exactly what the
 * document describes. A route served but not described, or the reverse, is an error.
 */
export function checkRoutesDocumented(served: ReadonlySet<string>, document: OpenApiDocument): void {
  const documented = new Set(
    Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)),
  );
  const problems = [
    ...[...served].filter((route) => !documented.has(route)).map((route) => `${route} is served but not documented`),
    ...[...documented].filter((route) => !served.has(route)).map((route) => `${route} is documented but not served`),
  ];
  if (problems.length > 0) throw new Error(`OpenAPI document: ${problems.join('; ')}`);
}

const API_VERSION: string = createRequire(import.meta.url)('../../package.json').version;

function controllerRoutes(controllers: readonly Type[]): ControllerRoute[] {
  const routes: ControllerRoute[] = [];
  for (const controller of controllers) {
    const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method: RequestMethod | undefined = Reflect.getMetadata(METHOD_METADATA, handler);
      if (method === undefined) continue;
      const args: Record<string, { index: number; data?: unknown; pipes?: unknown[] }> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {};
      const route: ControllerRoute = {
        method: RequestMethod[method],
        path: `/${[prefix, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'),
        owner: `${controller.name}.${name}`,
        tag: controller.name.replace(/Controller$/, '').toLowerCase(),
        doc: routeDocOf(handler),
        status: Reflect.getMetadata(HTTP_CODE_METADATA, handler) ?? (method === RequestMethod.POST ? 201 : 200),
        params: new Map(),
        query: undefined,
        body: undefined,
      };
      for (const [key, arg] of Object.entries(args)) {
        const type = Number(key.split(':')[0]);
        const schema = arg.pipes?.find((pipe): pipe is ZodValidationPipe<z.ZodType> => pipe instanceof ZodValidationPipe)?.schema;
        if (type === RouteParamtypes.RESPONSE) route.status = undefined;
        else if (type === RouteParamtypes.PARAM && schema && typeof arg.data === 'string') route.params.set(arg.data, schema);
        else if (type === RouteParamtypes.QUERY && schema) route.query = arg.data === undefined ? schema : z.object({ [String(arg.data)]: schema });
        else if (type === RouteParamtypes.BODY && schema) route.body = schema;
      }
      routes.push(route);
    }
  }
  return routes;
}

function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

function operation(route: ControllerRoute, doc: RouteDoc, schemas: SchemaSet): Operation {
  const parameters: JsonSchema[] = [];
  for (const [, name] of route.path.matchAll(/:(\w+)/g)) {
    const schema = route.params.get(name);
    parameters.push({ name, in: 'path', required: true, schema: schema ? inputSchema(schema) : { type: 'string' } });
  }
  if (route.query) parameters.push(...queryParameters(route.query));
  const op: Operation = {
    operationId: `${route.tag}.${route.owner.split('.')[1]}`,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [route.tag],
    ...(doc.withoutToken ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    responses: {},
  };
  if (route.body) {
    op.requestBody = {
      // A body that may be left out (cancel's reason) is one zod accepts as undefined.
      required: !route.body.safeParse(undefined).success,
      content: { 'application/json': { schema: schemas.use(route.body, 'request') } },
    };
  }
  for (const [status, response] of Object.entries(doc.responses)) op.responses[status] = successResponse(Number(status), response, schemas);
  const validates = parameters.some((p) => p.in === 'query') || route.params.size > 0 || route.body !== undefined;
  const errors: Array<keyof typeof ERRORS> = [
    ...(validates ? [400 as const] : []),
    401,
    // Every route needs a scope (docs/security.md), and failed authentication is throttled.
    403,
    ...(doc.errors ?? []),
    // Fastify's own answers to a body it will not read, before any route code runs.
    ...(route.body ? [413 as const, 415 as const] : []),
    429,
    500,
    // Every route reads the database, if only for its token.
    503,
  ];
  for (const status of errors) op.responses[status] = { $ref: `#/components/responses/${ERRORS[status].name}` };
  return op;
}

/**
 * A query as the parameters a client sends. A prefixed query (`key.<field>=value`) validates a free
 * record, so its fixed parameters and the prefixed ones come from its own description.
 */
function queryParameters(query: z.ZodType): JsonSchema[] {
  const prefixed = prefixedQueryDoc(query);
  const object = inputSchema(prefixed?.fixed ?? query);
  if (object.type !== 'object' || typeof object.properties !== 'object') throw new Error('its query schema is not an object of parameters');
  const required = new Set((object.required as string[] | undefined) ?? []);
  const parameters: JsonSchema[] = Object.entries(object.properties as Record<string, JsonSchema>).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema,
  }));
  if (prefixed) {
    const { name, schema, description } = prefixed.prefixed;
    // A form-exploded object: each of its properties is sent as its own `name=value` pair.
    parameters.push({ name, in: 'query', description, style: 'form', explode: true, schema: inputSchema(schema) });
  }
  return parameters;
}

function successResponse(status: number, response: ResponseDoc, schemas: SchemaSet): JsonSchema {
  if (response instanceof z.ZodType) {
    return { description: STATUS_TEXT[status] ?? String(status), content: { 'application/json': { schema: schemas.use(response, 'response') } } };
  }
  const content = Object.entries(response.content ?? {}).map(([type, media]) => [type, media.schema ? { schema: schemas.use(media.schema, 'response') } : {}]);
  const headers = Object.entries(response.headers ?? {}).map(([name, header]) => [name, { ...header, schema: { type: 'string' } }]);
  return {
    description: response.description,
    ...(content.length > 0 ? { content: Object.fromEntries(content) } : {}),
    ...(headers.length > 0 ? { headers: Object.fromEntries(headers) } : {}),
  };
}

function selfOperation(name: string, summary: string, type: string): Operation {
  return { operationId: `docs.${name}`, summary, tags: ['docs'], security: [], responses: { 200: { description: 'OK', content: { [type]: {} } } } };
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content' };

interface ErrorDoc {
  name: string;
  description: string;
  example: ErrorBody;
  headers?: Record<string, JsonSchema>;
}

/** The errors every route may answer (400 when it validates anything, 413 and 415 when it reads a body, 401, 500, 503) and those @ApiRoute lists. */
export const ERRORS: Record<RouteError | 400 | 401 | 403 | 413 | 415 | 429 | 500 | 503, ErrorDoc> = {
  400: {
    name: 'BadRequest',
    description: 'The request is not valid: one sentence names the first bad parameter or field and why.',
    example: { statusCode: 400, error: 'Bad Request', message: 'durationSeconds must be at most 3600 s' },
  },
  401: {
    name: 'Unauthorized',
    description: 'No bearer token, or one the API does not know, or one revoked or expired.',
    example: { statusCode: 401, error: 'Unauthorized', message: 'missing bearer token' },
  },
  403: {
    name: 'Forbidden',
    description: 'The token lacks the scope this route (or this program kind) needs; the message names it.',
    example: { statusCode: 403, error: 'Forbidden', message: 'this token lacks the jobs:bpftrace scope' },
  },
  404: {
    name: 'NotFound',
    description: 'What the path names does not exist.',
    example: { statusCode: 404, error: 'Not Found', message: 'job 3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a4b not found' },
  },
  409: {
    name: 'Conflict',
    description: 'The request does not fit the state it would change.',
    example: { statusCode: 409, error: 'Conflict', message: 'job 3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a4b already completed' },
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'The body is over 1 MiB.',
    example: { statusCode: 413, error: 'Payload Too Large', message: 'Request body is too large' },
  },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body is of a type the API does not read: send application/json.',
    example: { statusCode: 415, error: 'Unsupported Media Type', message: 'Unsupported Media Type' },
  },
  429: {
    name: 'TooManyRequests',
    description: 'Too many failed authentications from this client address: try again after Retry-After seconds.',
    example: { statusCode: 429, error: 'Too Many Requests', message: 'too many failed authentications from this address; retry in 42 s' },
    headers: { 'retry-after': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } } },
  },
  500: {
    name: 'InternalServerError',
    description: 'A bug or an outage: logged by the API under the correlation id the body repeats.',
    example: {
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error (correlation id 0d6f4c1e-2b7a-4e55-9a1c-5f3e8d2b7c90)',
      correlationId: '0d6f4c1e-2b7a-4e55-9a1c-5f3e8d2b7c90',
    },
  },
  503: {
    name: 'ServiceUnavailable',
    description: 'The database cannot be reached (an outage, not a bug): try again after Retry-After seconds.',
    example: DATABASE_UNAVAILABLE,
    headers: {
      'retry-after': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', const: RETRY_AFTER_SECONDS } },
    },
  },
};

function errorResponse(error: ErrorDoc): JsonSchema {
  return {
    description: error.description,
    ...(error.headers ? { headers: error.headers } : {}),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' }, example: error.example } },
  };
}

/** A schema alone, as clients send it; parameters hold no named schemas, so no reference to resolve. */
function inputSchema(schema: z.ZodType): JsonSchema {
  return embeddable(z.toJSONSchema(schema, { io: 'input', metadata: z.registry(), unrepresentable: documented }) as JsonSchema);
}

/** A converted schema as part of the document: no dialect or id of its own (the document's apply). */
function embeddable(json: JsonSchema): JsonSchema {
  const part = { ...json };
  delete part.$schema;
  delete part.$id;
  return part;
}

/** Hand-checked request fields are described by the schema registered for them (`documentAs`). */
function documented({ zodSchema }: { zodSchema: z.core.$ZodType }): JsonSchema | 'throw' {
  const documentation = documentationOf(zodSchema);
  return documentation ? inputSchema(documentation) : 'throw';
}

/**
 * The bodies of the document, converted side by side so that a named schema (`apiComponent`) is one
 * component that the others reference. `use` hands out a placeholder that `resolve` fills in.
 */
class SchemaSet {
  private readonly uses: Array<{ schema: z.ZodType; side: ApiSide; placeholder: JsonSchema }> = [];

  use(schema: z.ZodType, side: ApiSide): JsonSchema {
    const placeholder: JsonSchema = {};
    this.uses.push({ schema, side, placeholder });
    return placeholder;
  }

  /** Fills every placeholder in; returns the named schemas, the document's components. */
  resolve(): Record<string, JsonSchema> {
    const components: Record<string, JsonSchema> = {};
    for (const side of ['request', 'response'] as const) {
      // A registry per side: zod converts all of its schemas at once, naming those with an id.
      const registry = z.registry<{ id: string }>();
      const idOf = new Map<z.ZodType, string>();
      for (const [id, schema] of apiComponents(side)) {
        registry.add(schema, { id });
        idOf.set(schema, id);
      }
      const uses = this.uses.filter((use) => use.side === side);
      for (const { schema } of uses) {
        if (idOf.has(schema)) continue;
        const id = `${INLINE}${idOf.size}`;
        registry.add(schema, { id });
        idOf.set(schema, id);
      }
      const converted = z.toJSONSchema(registry, {
        io: side === 'request' ? 'input' : 'output',
        uri: (id) => `#/components/schemas/${id}`,
        unrepresentable: documented,
      }).schemas as Record<string, JsonSchema>;
      const text = JSON.stringify(converted);
      if (text.includes(`"$ref":"#/components/schemas/${INLINE}`)) throw new Error(`OpenAPI document: a ${side} schema is used both alone and inside another; name it with apiComponent`);
      if (text.includes('"$defs"')) throw new Error(`OpenAPI document: zod extracted shared ${side} definitions; name the schemas they hold with apiComponent`);
      for (const [id, json] of Object.entries(converted)) if (!id.startsWith(INLINE)) components[id] = embeddable(json);
      for (const { schema, placeholder } of uses) {
        const id = idOf.get(schema)!;
        Object.assign(placeholder, id.startsWith(INLINE) ? embeddable(converted[id]!) : { $ref: `#/components/schemas/${id}` });
      }
    }
    return components;
  }
}

const INLINE = '_inline';
