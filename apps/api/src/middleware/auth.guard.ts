import { Inject, Injectable, createParamDecorator, type CanActivate, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AuthService, type AuthContext } from '../services/auth.service';
import { ROUTE_SCOPE, type RouteScope } from '../decorators/scope.decorator';

interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  ip: string;
  method: string;
  routeOptions?: { url?: string };
  url: string;
  auth?: AuthContext;
}

/**
 * Global guard: every controller route needs a valid bearer token and the scope its @Scope names.
 * A route without @Scope is a start-up error, so no route is ever open by omission. The only open
 * paths, /openapi.json and /docs, are plain Fastify routes (bootstrap.ts) that Nest's guards never see.
 */
@Injectable()
export class AuthGuard implements CanActivate, OnModuleInit {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
  ) {}

  onModuleInit(): void {
    const missing = routesWithoutScope(this.discovery.getControllers().map((wrapper) => wrapper.metatype as { prototype: object; name: string } | null));
    if (missing.length > 0) throw new Error(`routes without @Scope: ${missing.join(', ')}`);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    // The route pattern, not the URL: a record never carries a query string.
    const described = { address: request.ip, method: request.method, route: request.routeOptions?.url ?? request.url.split('?')[0] };
    const scope = this.reflector.get<RouteScope | undefined>(ROUTE_SCOPE, context.getHandler());
    if (scope === undefined) throw new Error(`route ${described.method} ${described.route} has no @Scope`);
    if (scope === 'enrolment-token') return true;
    request.auth = await this.auth.authenticate(Array.isArray(header) ? header[0] : header, described);
    if (scope !== 'program') await this.auth.require(request.auth, scope, `${described.method} ${described.route}`);
    return true;
  }
}

/** `Controller.method` of every route handler without a @Scope. */
export function routesWithoutScope(controllers: ReadonlyArray<{ prototype: object; name: string } | null>): string[] {
  const missing: string[] = [];
  for (const controller of controllers) {
    if (!controller) continue;
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const isRoute = Reflect.getMetadata(METHOD_METADATA, handler) !== undefined && Reflect.getMetadata(PATH_METADATA, handler) !== undefined;
      if (isRoute && Reflect.getMetadata(ROUTE_SCOPE, handler) === undefined) missing.push(`${controller.name}.${name}`);
    }
  }
  return missing;
}

/** The caller, as the guard authenticated them. */
export const Auth = createParamDecorator((_: unknown, context: ExecutionContext): AuthContext => {
  const auth = context.switchToHttp().getRequest<AuthenticatedRequest>().auth;
  if (!auth) throw new Error('route reached without the auth guard');
  return auth;
});
