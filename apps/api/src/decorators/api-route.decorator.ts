import type { z } from 'zod';

/** One media type of an answer: its body's schema, none for opaque bytes (the response's description says how to read it). */
export interface MediaDoc {
  schema?: z.ZodType;
}

/** One answer of a route: a zod schema is a JSON body; anything else is spelled out. */
export type ResponseDoc =
  | z.ZodType
  | {
      description: string;
      content?: Record<string, MediaDoc>;
      headers?: Record<string, { description: string }>;
    };

/** Errors a route answers beyond those every route may: 400 (any input it validates), 401 and 500. */
export type RouteError = 404 | 409;

/**
 * What the OpenAPI document says of a route beyond what Nest already knows (method, path, status,
 * and the schemas of its validation pipes, which describe its parameters and body).
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Its answers by status: Nest's own (200, 201 for POST, or @HttpCode) must be among them. */
  responses: Record<number, ResponseDoc>;
  errors?: readonly RouteError[];
  /** A route that takes no API token (its body carries another credential): documented with no security. */
  withoutToken?: true;
}

const API_ROUTE = Symbol('fleettrace:api-route');

/** Documents a controller route. A route without it is a start-up error: the document would miss it. */
export function ApiRoute(doc: RouteDoc): MethodDecorator {
  return (_target, _method, descriptor) => {
    Reflect.defineMetadata(API_ROUTE, doc, descriptor.value as object);
  };
}

export function routeDocOf(handler: object): RouteDoc | undefined {
  return Reflect.getMetadata(API_ROUTE, handler);
}
