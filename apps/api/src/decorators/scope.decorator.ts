import { SetMetadata } from '@nestjs/common';
import type { ApiScope } from '@fleettrace/contracts';

/**
 * The scope a route needs. `program` means the scope depends on the program in the body
 * (jobs:catalog, jobs:bpftrace or jobs:c: `jobCreateScope`), which the service checks once it has
 * the validated request. `enrolment-token` is the one route a daemon calls: no API token, the
 * one-time enrolment token in the body is the credential (HostTrustService checks it). Every route must say: the guard refuses to start without it.
 */
export type RouteScope = ApiScope | 'program' | 'enrolment-token';

export const ROUTE_SCOPE = 'fleettrace:route-scope';

export const Scope = (scope: RouteScope): MethodDecorator => SetMetadata(ROUTE_SCOPE, scope);
