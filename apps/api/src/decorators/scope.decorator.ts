import { SetMetadata } from '@nestjs/common';
import type { ApiScope } from '@fleettrace/contracts';

/**
 * The scope a route needs. `program` means the scope depends on the program in the body
 * (jobs:catalog, jobs:bpftrace or jobs:c: `jobCreateScope`), which the service checks once it has
 * the validated request. Every route must say: the guard refuses to start without it.
 */
export type RouteScope = ApiScope | 'program';

export const ROUTE_SCOPE = 'fleettrace:route-scope';

export const Scope = (scope: RouteScope): MethodDecorator => SetMetadata(ROUTE_SCOPE, scope);
