import { Inject, Injectable, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AuthService, type AuthContext } from '../services/auth.service';

interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  auth?: AuthContext;
}

/**
 * Global guard: every controller route needs a valid bearer token. The only open paths,
 * /openapi.json and /docs, are plain Fastify routes (bootstrap.ts) that Nest's guards never see.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    request.auth = await this.auth.authenticate(Array.isArray(header) ? header[0] : header);
    return true;
  }
}

/** The caller, as the guard authenticated them. */
export const Auth = createParamDecorator((_: unknown, context: ExecutionContext): AuthContext => {
  const auth = context.switchToHttp().getRequest<AuthenticatedRequest>().auth;
  if (!auth) throw new Error('route reached without the auth guard');
  return auth;
});
